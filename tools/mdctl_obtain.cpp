#include "tools/mdctl_obtain.hpp"

#include <cctype>
#include <iostream>
#include <memory>
#include <optional>

#include "acme/account.hpp"
#include "acme/account_store.hpp"
#include "acme/dns01_command.hpp"
#include "acme/http01_responder.hpp"
#include "acme/order.hpp"
#include "acme/tls_alpn01_responder.hpp"
#include "core/md.hpp"
#include "core/timefmt.hpp"
#include "store/fs_store.hpp"

namespace mda::mdctl {

const char* const k_obtain_usage =
    "  obtain --ca URL [options] NAME...\n"
    "      Get a certificate for NAME... (DNS names, *.wildcards with dns-01, IP addresses)\n"
    "      from the ACME CA whose directory is URL, into a mod_md store: an account in\n"
    "      accounts/ (reused when one for the same CA and EAB exists), then\n"
    "      domains/<first NAME>/privkey*.pem, pubcert*.pem and md.json. The challenges are\n"
    "      answered by mdctl itself. Options:\n"
    "      --ca-file FILE       trust FILE for the CA's TLS certificate (default: system)\n"
    "      --store DIR          the store, MDStoreDir (default: ./md)\n"
    "      --key SPEC           rsa2048 (default), rsa3072, rsa4096, p256, p384, p521 or a\n"
    "                           curve name (secp384r1...); repeat for one certificate each\n"
    "      --challenge TYPE     http-01 (default), tls-alpn-01 or dns-01\n"
    "      --http-port N        port of the embedded http-01 responder (default 80)\n"
    "      --tls-port N         port of the embedded tls-alpn-01 responder (default 443)\n"
    "      --bind ADDR          address the responders listen on (default 0.0.0.0)\n"
    "      --dns-cmd 'PROG ARGS'  the dns-01 program, run as 'PROG ARGS setup DNS TOKEN' and\n"
    "                           'PROG ARGS teardown DNS' (as MDChallengeDns01; PROG must be\n"
    "                           an absolute path; TOKEN is the TXT record value)\n"
    "      --dns-version 1|2    2: teardown gets the TOKEN too (MDChallengeDns01Version)\n"
    "      --dns-timeout SECS   kill a dns-01 program still running after SECS (default 300)\n"
    "      --eab KID HMAC       External Account Binding (base64url HMAC key)\n"
    "      --profile NAME       ask for this certificate profile when the CA offers it\n"
    "      --profile-mandatory  fail when the CA does not offer the profile\n"
    "      --contact EMAIL      account contact, repeatable (a new account needs one)\n"
    "      --agree-tos          accept the CA's terms of service (a new account needs it)\n"
    "      --timeout SECS       bound of each wait for the CA (default 300)\n"
    "      Exit status 0 on success, 1 on failure (message on stderr), 2 for bad usage.\n";

namespace {

using acme::challenge_type;

error usage_error(std::string msg) {
  return error(std::make_error_code(std::errc::invalid_argument), std::move(msg));
}

struct obtain_args {
  std::string ca, ca_file, store_dir = "md", bind = "0.0.0.0";
  std::vector<key_spec> keys;
  challenge_type challenge = challenge_type::http_01;
  int http_port = 80, tls_port = 443;
  std::string dns_cmd;
  int dns_version = 1;
  int dns_timeout = 300, timeout = 300;
  std::optional<acme::eab_credentials> eab;
  std::string profile;
  bool profile_mandatory = false, agree_tos = false;
  std::vector<std::string> contacts, names;
};

expected<key_spec> parse_key(const std::string& s) {
  std::string l;
  for (char ch : s) l += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (l == "rsa") return key_spec::default_spec();
  if (l.size() > 3 && l.compare(0, 3, "rsa") == 0 &&
      l.find_first_not_of("0123456789", 3) == std::string::npos) {
    unsigned bits = static_cast<unsigned>(std::stoul(l.substr(3, 6)));
    if (bits < k_rsa_bits_min || l.size() > 8)
      return usage_error("--key '" + s + "': RSA needs 2048 bits or more");
    return key_spec::rsa(bits);
  }
  if (l == "p256" || l == "p384" || l == "p521") return key_spec::ec("P-" + l.substr(1));
  if (curve_nid(s) == 0) return usage_error("--key '" + s + "': unknown key type");
  return key_spec::ec(s);
}

expected<int> parse_int(const std::string& opt, const std::string& v, int lo, int hi) {
  bool digits =
      !v.empty() && v.size() < 10 && v.find_first_not_of("0123456789") == std::string::npos;
  int n = digits ? std::stoi(v) : -1;
  if (n < lo || n > hi)
    return usage_error(opt + " '" + v + "': expected a number from " + std::to_string(lo) + " to " +
                       std::to_string(hi));
  return n;
}

/// Applies one option taking values (args[i] is the option); false when unknown.
expected<bool> parse_valued(obtain_args& a, const std::vector<std::string>& args, size_t& i) {
  const std::string& opt = args[i];
  auto value = [&]() -> const std::string* { return i + 1 < args.size() ? &args[++i] : nullptr; };
  auto missing = [&] { return usage_error(opt + " needs a value"); };
  auto number = [&](int& into, int lo, int hi) -> expected<bool> {
    const std::string* v = value();
    if (!v) return missing();
    auto n = parse_int(opt, *v, lo, hi);
    if (!n) return n.error();
    into = *n;
    return true;
  };
  std::string* text = opt == "--ca"        ? &a.ca
                      : opt == "--ca-file" ? &a.ca_file
                      : opt == "--store"   ? &a.store_dir
                      : opt == "--bind"    ? &a.bind
                      : opt == "--dns-cmd" ? &a.dns_cmd
                      : opt == "--profile" ? &a.profile
                                           : nullptr;
  if (text) {
    const std::string* v = value();
    if (!v) return missing();
    *text = *v;
    return true;
  }
  if (opt == "--http-port") return number(a.http_port, 1, 65535);
  if (opt == "--tls-port") return number(a.tls_port, 1, 65535);
  if (opt == "--dns-version") return number(a.dns_version, 1, 2);
  if (opt == "--dns-timeout") return number(a.dns_timeout, 1, 86400);
  if (opt == "--timeout") return number(a.timeout, 1, 86400);
  const std::string* v = nullptr;
  if (opt == "--contact") {
    if (!(v = value())) return missing();
    a.contacts.push_back(*v);
  } else if (opt == "--key") {
    if (!(v = value())) return missing();
    auto spec = parse_key(*v);
    if (!spec) return spec.error();
    a.keys.push_back(*spec);
  } else if (opt == "--challenge") {
    if (!(v = value())) return missing();
    auto t = acme::parse_challenge_type(*v);
    if (!t) return usage_error("--challenge '" + *v + "': expected http-01, tls-alpn-01 or dns-01");
    a.challenge = *t;
  } else if (opt == "--eab") {
    if (i + 2 >= args.size()) return usage_error("--eab needs KID and HMAC");
    a.eab = acme::eab_credentials{args[i + 1], args[i + 2]};
    i += 2;
  } else {
    return false;
  }
  return true;
}

expected<obtain_args> parse_args(const std::vector<std::string>& args) {
  obtain_args a;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--agree-tos") {
      a.agree_tos = true;
      continue;
    }
    if (args[i] == "--profile-mandatory") {
      a.profile_mandatory = true;
      continue;
    }
    if (args[i].rfind("--", 0) != 0) {
      a.names.push_back(args[i]);
      continue;
    }
    auto known = parse_valued(a, args, i);
    if (!known) return known.error();
    if (!*known) return usage_error("unknown option '" + args[i] + "'");
  }
  if (a.ca.empty()) return usage_error("--ca URL is required");
  if (a.names.empty()) return usage_error("no NAME given");
  if (a.keys.empty()) a.keys.push_back(key_spec::default_spec());
  if (a.challenge == challenge_type::dns_01 && a.dns_cmd.empty())
    return usage_error("--challenge dns-01 needs --dns-cmd");
  for (const auto& n : a.names)
    if (n.rfind("*.", 0) == 0 && a.challenge != challenge_type::dns_01)
      return usage_error("'" + n + "': wildcard names need --challenge dns-01");
  return a;
}

/// The embedded responder (or the dns-01 program) for the chosen challenge.
expected<std::unique_ptr<acme::challenge_setup>> make_responder(const obtain_args& a) {
  std::unique_ptr<acme::challenge_setup> r;
  if (a.challenge == challenge_type::http_01) {
    auto h = acme::http01_responder::start({a.bind, a.http_port});
    if (!h) return h.error();
    r = std::move(*h);
  } else if (a.challenge == challenge_type::tls_alpn_01) {
    acme::tls_alpn01_responder_options o;
    o.address = a.bind;
    o.port = a.tls_port;
    auto t = acme::tls_alpn01_responder::start(std::move(o));
    if (!t) return t.error();
    r = std::move(*t);
  } else {
    acme::dns01_command_options o;
    o.command = a.dns_cmd;
    o.version = a.dns_version;
    o.timeout = std::chrono::seconds(a.dns_timeout);
    auto d = acme::dns01_command::create(std::move(o));
    if (!d) return d.error();
    r = std::make_unique<acme::dns01_command>(std::move(*d));
  }
  return r;
}

std::string path_of(const fs_store& st, store_group g, const std::string& name,
                    const std::string& aspect) {
  auto p = st.file_path(g, name, aspect);
  return p ? *p : aspect;
}

/// md.json for what was obtained, keeping what an existing one has beyond that.
status save_md_json(fs_store& st, const obtain_args& a, const std::string& md_name,
                    const std::vector<std::string>& domains, const std::string& account_id) {
  managed_domain md;
  if (auto old = st.load_json(store_group::domains, md_name, aspect::md); old) {
    auto parsed = md_from_json(*old, "domains/" + md_name + "/md.json");
    if (parsed) md = std::move(*parsed);
  }
  md.name = md_name;
  md.domains = domains;
  md.contacts.clear();
  for (const auto& c : a.contacts) md.contacts.push_back(acme::contact_uri(c));
  md.ca.account = account_id;
  md.ca.proto = "ACME";
  md.ca.url = a.ca;
  md.ca.urls = {a.ca};
  if (a.agree_tos) md.ca.agreement = "accepted";
  md.ca.challenges = {acme::to_string(a.challenge)};
  md.key_specs = a.keys;
  md.state = md_state::complete;
  md.state_descr.clear();
  md.eab = a.eab ? md_eab{a.eab->kid, a.eab->hmac} : md_eab{};
  md.profile = a.profile;
  md.profile_mandatory = a.profile_mandatory;
  if (a.challenge == challenge_type::dns_01) md.dns01_cmd = a.dns_cmd;
  return st.save_json(store_group::domains, md_name, aspect::md, to_json(md));
}

int fail(const std::string& msg) {
  std::cerr << "mdctl obtain: " << msg << "\n";
  return 1;
}

/// The mdctl option behind a registration refusal that speaks of Apache directives.
std::string account_hint(const obtain_args& a, const std::string& msg) {
  if (msg.find("terms-of-service") != std::string::npos && !a.agree_tos)
    return " (mdctl: give --agree-tos)";
  if (msg.find("no contact information") != std::string::npos && a.contacts.empty())
    return " (mdctl: give --contact EMAIL)";
  return "";
}

/// One order per key spec; all must succeed.
expected<std::vector<acme::obtained_cert>> obtain_all(const obtain_args& a, acme::client& c,
                                                      const acme::account& acct,
                                                      acme::challenge_setup& responder,
                                                      const std::vector<std::string>& domains) {
  std::vector<acme::obtained_cert> certs;
  for (const auto& spec : a.keys) {
    acme::order_options o;
    o.md_name = domains.front();
    o.domains = domains;
    o.spec = spec;
    o.profile = a.profile;
    o.profile_mandatory = a.profile_mandatory;
    o.challenges = {a.challenge};
    o.setup = &responder;
    o.poll.total = std::chrono::seconds(a.timeout);
    o.progress = [](const std::string& s) { std::cout << "  " << s << "\n"; };
    auto r = acme::obtain(c, acct.as_signer(), o);
    if (!r) return r.error();
    certs.push_back(std::move(*r));
  }
  return certs;
}

/// Keys, chains and md.json into domains/<md>, then where they went on stdout.
status write_results(fs_store& st, const obtain_args& a, const std::vector<std::string>& domains,
                     const std::vector<acme::obtained_cert>& certs, const std::string& account_id) {
  const std::string& md = domains.front();
  for (size_t i = 0; i < certs.size(); ++i) {
    const auto& spec = a.keys[i];
    if (auto s = st.save_key(store_group::domains, md, aspect::privkey(spec), certs[i].key); !s)
      return s;
    if (auto s = st.save_text(store_group::domains, md, aspect::pubcert(spec), certs[i].chain_pem);
        !s)
      return s;
  }
  if (auto s = save_md_json(st, a, md, domains, account_id); !s) return s;
  for (size_t i = 0; i < certs.size(); ++i) {
    const auto& spec = a.keys[i];
    std::cout << "certificate " << spec.describe() << " for";
    for (const auto& d : domains) std::cout << " " << d;
    std::cout << ", valid until " << format_rfc822(certs[i].chain.front().not_after()) << "\n"
              << "  key   " << path_of(st, store_group::domains, md, aspect::privkey(spec)) << "\n"
              << "  chain " << path_of(st, store_group::domains, md, aspect::pubcert(spec)) << "\n";
  }
  std::cout << "md.json " << path_of(st, store_group::domains, md, aspect::md) << "\n";
  return {};
}

int run(const obtain_args& a) {
  auto st = fs_store::open(a.store_dir);
  if (!st) return fail(st.error().message);
  acme::http_options ho;
  ho.ca_file = a.ca_file;
  auto transport = acme::httplib_transport::create(ho);
  if (!transport) return fail(transport.error().message);
  acme::client c(*transport, acme::client_options{a.ca}, std::make_shared<system_time_source>());
  auto responder = make_responder(a);
  if (!responder) return fail(responder.error().message);
  if (auto d = c.get_directory(); !d) return fail(d.error().message); // before making keys

  acme::account_options ao;
  ao.contacts = a.contacts;
  ao.agreement = a.agree_tos ? "accepted" : "";
  ao.eab = a.eab;
  auto acct = acme::select_or_register_account(
      c, *st, ao, [](const std::string& line) { std::cout << "  " << line << "\n"; });
  if (!acct) return fail(acct.error().message + account_hint(a, acct.error().message));
  std::cout << (acct->reused ? "reusing account " : "registered account ") << acct->id << " ("
            << acct->acct.url() << ") in "
            << path_of(*st, store_group::accounts, acct->id, aspect::account) << "\n";

  const auto domains = compact_names(a.names);
  auto certs = obtain_all(a, c, acct->acct, **responder, domains);
  if (!certs) return fail(certs.error().message);
  if (auto s = write_results(*st, a, domains, *certs, acct->id); !s) return fail(s.error().message);
  return 0;
}

} // namespace

int obtain_main(const std::vector<std::string>& args) {
  auto a = parse_args(args);
  if (!a) {
    std::cerr << "mdctl obtain: " << a.error().message << "\n"
              << "usage:\n"
              << k_obtain_usage;
    return 2;
  }
  return run(*a);
}

} // namespace mda::mdctl
