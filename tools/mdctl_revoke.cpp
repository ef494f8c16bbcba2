// `mdctl revoke MD`: revokes the MD's current certificates (RFC 8555 §7.6), archives them and
// asks the engine to renew.
//
// - The certificates: domains/<md>/pubcert*.pem of each key spec md.json lists (mod_md's
//   default spec when none), the leaf of each chain that is there.
// - Signed by the account of md.json's ca.account (accounts/<id>/, its CA) by default, or,
//   --with certkey, by each certificate's own key (domains/<md>/privkey*.pem) at md.json's CA.
// - Then the revoked files are archived the way activation archives: domains/<md> is copied
//   without the revoked chains and their keys into tmp/<md>, which replaces domains/<md>; the
//   old directory becomes archive/<md>.<n>. The MD is incomplete from then on: the server
//   serves no revoked certificate after its next start, and the engine renews.
// - Then, as `mdctl renew`, the engine at --socket renews the MD and mdctl follows the run;
//   when no engine answers the renewal happens at the server's next start (said on stdout).
// Exit 0 when every certificate was revoked and archived and the renewal (if an engine
// runs) obtained a new one. Nothing is changed in the store when the CA refused (or could
// not be asked about) every certificate.
#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "acme/revoke.hpp"
#include "core/x509.hpp"
#include "tools/mdctl_admin.hpp"

namespace mda::mdctl {

const char* const k_revoke_usage =
    "  revoke MD [--reason REASON] [--with account|certkey] [--store DIR] [--ca-file FILE]\n"
    "         [--socket PATH] [--timeout SECS]\n"
    "      Revoke the current certificates of MD (domains/MD/pubcert*.pem) at its CA\n"
    "      (RFC 8555 7.6), signed with the MD's account (md.json ca.account, the default) or\n"
    "      with each certificate's own key (certkey). REASON: unspecified, keyCompromise,\n"
    "      cACompromise, affiliationChanged, superseded, cessationOfOperation,\n"
    "      certificateHold, removeFromCRL, privilegeWithdrawn, aACompromise or its number\n"
    "      (RFC 5280; default: none given). The revoked files are then archived\n"
    "      (archive/MD.N) and the engine is asked to renew MD as 'mdctl renew' does; without\n"
    "      a running engine the renewal happens at the server's next start.\n";

namespace {

const char* const k_cmd = "revoke";

/// One certificate to revoke: its key spec and leaf.
struct revoke_slot {
  key_spec spec;
  certificate leaf;
};

expected<std::vector<revoke_slot>> current_certificates(const fs_store& st,
                                                        const managed_domain& md) {
  std::vector<key_spec> specs = md.key_specs;
  if (specs.empty()) specs.push_back(key_spec::default_spec());
  std::vector<revoke_slot> out;
  for (const auto& spec : specs) {
    const std::string aspect = aspect::pubcert(spec);
    if (!st.exists(store_group::domains, md.name, aspect)) continue;
    auto pem = st.load_text(store_group::domains, md.name, aspect);
    if (!pem) return pem.error();
    auto leaf = certificate::from_pem(*pem, store_path(st, store_group::domains, md.name, aspect));
    if (!leaf) return leaf.error();
    out.push_back({spec, *leaf});
  }
  if (out.empty())
    return error(store_errc::not_found, "managed domain '" + md.name + "' has no certificate in " +
                                            st.paths().base() + "/domains/" + md.name);
  return out;
}

/// domains/<md> without the revoked chains and keys replaces domains/<md>, whose old content
/// becomes archive/<md>.<n>; returns that name.
expected<std::string> archive_revoked(fs_store& st, const std::string& md,
                                      const std::vector<revoke_slot>& revoked) {
  std::vector<std::string> drop;
  for (const auto& r : revoked) {
    drop.push_back(aspect::pubcert(r.spec));
    drop.push_back(aspect::privkey(r.spec));
  }
  auto aspects = st.list_aspects(store_group::domains, md);
  if (!aspects) return aspects.error();
  auto before = st.list_names(store_group::archive, md + ".*");
  if (auto s = st.purge(store_group::tmp, md); !s) return s.error();
  for (const auto& a : *aspects) {
    if (std::find(drop.begin(), drop.end(), a) != drop.end()) continue;
    auto text = st.load_text(store_group::domains, md, a);
    if (!text) return text.error();
    if (auto s = st.save_text(store_group::tmp, md, a, *text); !s) {
      (void)st.purge(store_group::tmp, md);
      return s.error();
    }
  }
  if (auto s = st.move(store_group::tmp, store_group::domains, md, true); !s) {
    (void)st.purge(store_group::tmp, md);
    return s.error();
  }
  auto after = st.list_names(store_group::archive, md + ".*");
  if (after)
    for (const auto& n : *after)
      if (!before || std::find(before->begin(), before->end(), n) == before->end()) return n;
  return md + ".?";
}

struct revoke_request {
  std::string md;
  std::optional<int> reason;
  bool with_certkey = false;
  std::chrono::seconds timeout{600};
};

expected<revoke_request> read_request(const admin_args& a) {
  auto bad = [](std::string m) { return error(std::make_error_code(std::errc::invalid_argument), std::move(m)); };
  if (a.positional.size() != 1) return bad("expected one MD name");
  revoke_request r;
  r.md = a.positional.front();
  if (auto reason = option(a, "--reason")) {
    r.reason = acme::parse_revocation_reason(*reason);
    if (!r.reason) return bad("--reason '" + *reason + "': not an RFC 5280 reason");
  }
  if (auto with = option(a, "--with")) {
    if (*with != "account" && *with != "certkey") return bad("--with '" + *with + "': expected account or certkey");
    r.with_certkey = *with == "certkey";
  }
  if (auto t = option(a, "--timeout")) {
    int secs = std::atoi(t->c_str());
    if (secs <= 0) return bad("--timeout '" + *t + "': expected seconds");
    r.timeout = std::chrono::seconds(secs);
  }
  return r;
}

/// Revokes the slots one by one until the CA refuses one; returns those revoked, and the
/// first failure's message in `failure`.
std::vector<revoke_slot> revoke_all(fs_store& st, const revoke_request& r, acme::client& c,
                                    const std::optional<acme::account>& acct,
                                    const std::vector<revoke_slot>& slots, std::string& failure) {
  std::vector<revoke_slot> done;
  for (const auto& slot : slots) {
    acme::signer who;
    if (r.with_certkey) {
      auto key = st.load_key(store_group::domains, r.md, aspect::privkey(slot.spec));
      if (!key) {
        failure = key.error().message;
        break;
      }
      who = acme::signer{*key, ""};
    } else {
      who = acct->as_signer();
    }
    auto res = acme::revoke_certificate(c, slot.leaf, r.reason, who);
    if (!res) {
      failure = "revoking the " + slot.spec.describe() + " certificate of '" + r.md + "' (serial " +
                slot.leaf.serial_hex() + ") failed: " + res.error().message;
      break;
    }
    std::cout << "revoked " << slot.spec.describe() << " certificate serial " << slot.leaf.serial_hex()
              << (r.reason ? ", reason " + acme::revocation_reason_name(*r.reason) : std::string())
              << "\n";
    done.push_back(slot);
  }
  return done;
}

int run(const admin_args& a, const revoke_request& r) {
  auto st = fs_store::open(a.store_dir);
  if (!st) return fail(k_cmd, st.error().message);
  auto md = load_md(*st, r.md);
  if (!md) return fail(k_cmd, md.error().message);
  auto slots = current_certificates(*st, *md);
  if (!slots) return fail(k_cmd, slots.error().message);
  std::optional<acme::account> acct;
  std::string ca_url = md->ca.url;
  if (!r.with_certkey) {
    if (md->ca.account.empty())
      return fail(k_cmd, "managed domain '" + r.md + "' names no account (md.json ca.account): use --with certkey");
    auto loaded = load_account(*st, md->ca.account);
    if (!loaded) return fail(k_cmd, loaded.error().message);
    acct = std::move(*loaded);
    ca_url = acct->file.ca_url;
  }
  if (ca_url.empty()) return fail(k_cmd, "managed domain '" + r.md + "' names no CA (md.json ca.url)");
  auto c = make_client(ca_url, a.ca_file);
  if (!c) return fail(k_cmd, c.error().message);
  std::string failure;
  auto revoked = revoke_all(*st, r, **c, acct, *slots, failure);
  if (revoked.empty()) return fail(k_cmd, failure);
  auto archived = archive_revoked(*st, r.md, revoked);
  if (!archived)
    return fail(k_cmd, "archiving the revoked files of '" + r.md + "' failed: " + archived.error().message);
  std::cout << "archived " << st->paths().base() << "/domains/" << r.md << " as "
            << st->paths().base() << "/archive/" << *archived << "\n";
  if (!failure.empty()) return fail(k_cmd, failure);
  int rc = renew_md(k_cmd, socket_path(a), r.md, r.timeout);
  if (rc == k_no_engine) {
    std::cout << "no engine answers at " << socket_path(a) << ": '" << r.md
              << "' is renewed when the server starts next\n";
    return 0;
  }
  return rc;
}

} // namespace

int revoke_main(const std::vector<std::string>& args) {
  auto a = parse_admin_args(args, {"--reason", "--with", "--timeout"}, {});
  if (!a) return usage_fail(k_cmd, a.error().message, k_revoke_usage);
  if (a->help) {
    std::cout << "usage:\n" << k_revoke_usage;
    return 0;
  }
  auto r = read_request(*a);
  if (!r) return usage_fail(k_cmd, r.error().message, k_revoke_usage);
  return run(*a, *r);
}

} // namespace mda::mdctl
