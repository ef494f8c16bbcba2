#include "tools/a2md_acme.hpp"

#include <cerrno>
#include <cstdio>
#include <memory>

#include "acme/account.hpp"
#include "acme/account_store.hpp"
#include "acme/client.hpp"
#include "acme/dns01_command.hpp"
#include "acme/order.hpp"
#include "acme/store_challenges.hpp"
#include "core/config_values.hpp"
#include "core/job.hpp"
#include "core/md_spec.hpp"
#include "http/http_client.hpp"
#include "store/staging.hpp"
#include "tools/a2md_registry.hpp"

namespace mda::a2md {
namespace {

/// An ACME failure in a2md's terms: a refused connection keeps the system's text
/// ("Connection refused", as apr_strerror gives it), the rest its message.
error acme_failure(const std::string& what, const error& e) {
  if (e.message.find("connection refused") != std::string::npos)
    return error(std::error_code(ECONNREFUSED, std::generic_category()), what + ": " + e.message);
  if (e.code == acme::acme_errc::not_found) return not_found(what + ": " + e.message);
  if (e.code == acme::acme_errc::invalid || e.code == acme::acme_errc::unauthorized || e.code == acme::acme_errc::bad_url)
    return invalid_argument(what + ": " + e.message);
  return general_error(what + ": " + e.message);
}

/// The client for one CA directory.
expected<std::unique_ptr<acme::client>> make_client(const acme_context& ctx, const std::string& ca_url) {
  if (ca_url.empty()) return invalid_argument("no ACME server given (use -a url)");
  acme::http_options ho;
  ho.ca_file = ctx.ca_file;
  ho.proxy_url = ctx.proxy_url;
  auto transport = acme::httplib_transport::create(ho);
  if (!transport) return acme_failure("creating acme instance " + ca_url, transport.error());
  return std::make_unique<acme::client>(*transport, acme::client_options{ca_url},
                                        std::make_shared<system_time_source>());
}

struct stored_account {
  acme::account acct;
  std::string id;
};

/// accounts/<id>: account.json and account.pem; an absent account is not_found.
expected<stored_account> load_account(const store& st, const std::string& id) {
  if (!st.exists(store_group::accounts, id, aspect::account)) return not_found("unknown account: " + id);
  auto j = st.load_json(store_group::accounts, id, aspect::account);
  if (!j) return j.error();
  auto file = account_from_json(*j, "accounts/" + id + "/" + aspect::account);
  if (!file) return file.error();
  auto key = st.load_key(store_group::accounts, id, aspect::account_key);
  if (!key) return key.error();
  return stored_account{acme::account{*key, *file}, id};
}

/// The account to drive `md` with (see the header): its id and the account.
expected<stored_account> account_for_md(store& st, acme::client& c, const managed_domain& md,
                                        const std::string& ca_url, const say_fn& say) {
  if (!md.ca.account.empty()) {
    auto known = load_account(st, md.ca.account);
    if (known && known->acct.file.ca_url == ca_url && known->acct.file.status == account_status::valid) {
      auto fresh = acme::fetch_account(c, known->acct);
      if (fresh && fresh->file.status == account_status::valid) {
        known->acct = *fresh;
        return known;
      }
      if (!fresh && fresh.error().code != acme::acme_errc::not_found &&
          fresh.error().code != acme::acme_errc::unauthorized && fresh.error().code != acme::acme_errc::invalid)
        return acme_failure("validating account " + md.ca.account, fresh.error());
    }
    say(md.name + ": account " + md.ca.account + " is not usable, looking for another one");
  }
  acme::account_options ao;
  ao.contacts = md.contacts;
  ao.agreement = md.ca.agreement;
  if (!md.eab.kid.empty() && md.eab.kid != "none") ao.eab = acme::eab_credentials{md.eab.kid, md.eab.hmac};
  auto chosen = acme::select_or_register_account(c, st, ao, say);
  if (!chosen) {
    if (chosen.error().message.find("no contact information") != std::string::npos)
      return invalid_argument("No contact information is available for MD " + md.name +
                              ". Configure one using the MDContactEmail or ServerAdmin directive.");
    return acme_failure(md.name + ": account", chosen.error());
  }
  return stored_account{chosen->acct, chosen->id};
}

} // namespace

expected<std::string> new_registration(store& st, const acme_context& ctx,
                                       const std::vector<std::string>& contacts,
                                       const std::string& tos) {
  for (const auto& c : contacts)
    if (auto s = check_abs_uri(c); !s) return invalid_argument("contact invalid (" + s.error().message + "): " + c);
  auto client = make_client(ctx, ctx.ca_url);
  if (!client) return client.error();
  auto dir = (*client)->get_directory();
  if (!dir) return acme_failure("register new account", dir.error());
  if (tos.empty() && !dir->terms_of_service.empty())
    return invalid_argument("register new account: must agree to terms of service " +
                            dir->terms_of_service + " (use -t accepted)");
  auto prefix = acme::account_id_prefix(ctx.ca_url);
  if (!prefix) return invalid_argument(prefix.error().message);
  auto key = acme::make_account_key();
  if (!key) return key.error();
  auto id = acme::reserve_account_id(st, *prefix, *key);
  if (!id) return id.error();
  const auto forget = [&] { st.purge(store_group::accounts, *id); };
  acme::account_options ao;
  ao.contacts = contacts;
  ao.agreement = tos;
  auto reg = acme::register_account(**client, *key, ao);
  if (!reg) {
    forget();
    return acme_failure("register new account", reg.error());
  }
  // As mod_md: the account exists once the CA answers for it.
  auto back = acme::fetch_account(**client, *reg);
  if (!back) {
    forget();
    return acme_failure("register new account", back.error());
  }
  back->file.registration = reg->file.registration;
  if (auto s = st.save_json(store_group::accounts, *id, aspect::account, to_json(back->file)); !s) {
    forget();
    return s.error();
  }
  return *id;
}

status validate_account(store& st, const acme_context& ctx, const std::string& id) {
  auto known = load_account(st, id);
  if (!known) return known.error();
  const std::string ca = ctx.ca_url.empty() ? known->acct.file.ca_url : ctx.ca_url;
  if (known->acct.file.ca_url != ca)
    return not_found("account " + id + " is for " + known->acct.file.ca_url + ", not " + ca);
  auto client = make_client(ctx, ca);
  if (!client) return client.error();
  auto fresh = acme::fetch_account(**client, known->acct);
  if (!fresh) return acme_failure("validating account: " + id, fresh.error());
  if (fresh->file.status != account_status::valid)
    return not_found("validating account: " + id + ": the CA no longer takes it (" +
                     (fresh->file.status == account_status::deactivated ? "deactivated" : "revoked") + ")");
  return {};
}

status agree_tos(store& st, const acme_context& ctx, const std::string& id, const std::string& tos) {
  auto known = load_account(st, id);
  if (!known) return known.error();
  auto client = make_client(ctx, ctx.ca_url.empty() ? known->acct.file.ca_url : ctx.ca_url);
  if (!client) return client.error();
  const std::string agreement = tos.empty() ? "accepted" : tos;
  nlohmann::json payload = {{"termsOfServiceAgreed", true}};
  auto r = (*client)->post(known->acct.url(), payload, known->acct.as_signer());
  if (!r) return acme_failure("agree to terms-of-service " + agreement, r.error());
  known->acct.file.agreement = agreement;
  return st.save_json(store_group::accounts, id, aspect::account, to_json(known->acct.file));
}

status delete_account(store& st, const std::string& id) {
  if (auto s = st.remove(store_group::accounts, id, aspect::account, true); !s) return s;
  if (auto s = st.remove(store_group::accounts, id, aspect::account_key, true); !s) return s;
  auto left = st.list_aspects(store_group::accounts, id);
  if (left && left->empty()) return st.purge(store_group::accounts, id);
  return {};
}

status drive_md(store& st, const acme_context& ctx, const managed_domain& md,
                const drive_options& opts, const say_fn& say) {
  if (md.state == md_state::error)
    return general_error(md.name + ": in error state. Please check the server logs or run this "
                                   "command in very verbose form and check the output.");
  const sys_time now = sys_clock::now();
  if (!opts.force && !should_renew(st, md, now)) {
    say(md.name + ": complete.");
    return {};
  }
  say(md.name + (md.state == md_state::complete
                     ? std::string(": should renew") + (opts.force ? " (forced)." : ".")
                     : ": needs new certificate (is incomplete)."));
  const std::string proto = md.ca.proto.empty() ? "ACME" : md.ca.proto;
  if (proto != "ACME") return general_error(md.name + ": Unknown CA protocol '" + proto + "'");
  const std::string ca_url = md.ca.urls.empty() ? ctx.ca_url : md.ca.urls.front();
  if (ca_url.empty()) return invalid_argument(md.name + ": no CA url configured");

  std::optional<acme::challenge_type> forced;
  if (!opts.challenge.empty()) {
    forced = acme::parse_challenge_type(opts.challenge);
    if (!forced) return invalid_argument(md.name + ": unknown challenge type '" + opts.challenge + "'");
  }
  if (opts.reset)
    if (auto s = st.purge(store_group::staging, md.name); !s) return s;

  auto client = make_client(ctx, ca_url);
  if (!client) return client.error();
  if (auto dir = (*client)->get_directory(); !dir) return acme_failure(md.name + ": contacting " + ca_url, dir.error());
  auto acct = account_for_md(st, **client, md, ca_url, say);
  if (!acct) return acct.error();

  const auto specs = effective_key_specs(md);
  acme::store_challenges_options co;
  co.key_specs = specs;
  if (!md.dns01_cmd.empty()) { // the MD's MDChallengeDns01, as mod_md's drive uses it
    acme::dns01_command_options dopts;
    dopts.command = md.dns01_cmd;
    auto dns01 = acme::dns01_command::create(dopts);
    if (!dns01) return invalid_argument(md.name + ": " + dns01.error().message);
    co.dns01 = std::make_shared<acme::dns01_command>(std::move(*dns01));
  }
  acme::store_challenges responder(st, co);
  std::vector<staged_cert> certs;
  for (const auto& spec : specs) {
    acme::order_options o;
    o.md_name = md.name;
    o.domains = md.domains;
    o.spec = spec;
    o.must_staple = md.must_staple;
    o.profile = md.profile;
    o.profile_mandatory = md.profile_mandatory;
    if (forced) {
      o.challenges = std::vector<acme::challenge_type>{*forced};
    } else if (!md.ca.challenges.empty()) {
      std::vector<acme::challenge_type> types;
      for (const auto& name : md.ca.challenges)
        if (auto t = acme::parse_challenge_type(name)) types.push_back(*t);
      o.challenges = types;
    } else {
      // Free to choose, as mod_md: tls-alpn-01 only for an MD with names that a virtual host
      // answers acme-tls/1 for (none for an MD a2md added), then http-01, then dns-01 when the
      // MD has a command for it.
      std::vector<acme::challenge_type> types;
      if (!md.acme_tls_1_domains.empty()) types.push_back(acme::challenge_type::tls_alpn_01);
      types.push_back(acme::challenge_type::http_01);
      if (co.dns01) types.push_back(acme::challenge_type::dns_01);
      o.challenges = types;
    }
    o.setup = &responder;
    o.progress = [&](const std::string& line) { say(md.name + ": " + line); };
    auto got = acme::obtain(**client, acct->acct.as_signer(), o);
    if (!got) return acme_failure(md.name + ": certificate(" + spec.name() + ")", got.error());
    certs.push_back(staged_cert{spec, got->key, got->chain, got->chain_pem});
  }

  managed_domain staged = md;
  staged.ca.url = ca_url;
  staged.ca.account = acct->id;
  job jb;
  jb.name = md.name;
  jb.finished = true;
  jb.last_run = now;
  jb.log_finished(now);
  if (auto s = write_staging(st, staged, certs, jb, std::nullopt); !s) return s;
  auto activated = activate_staging(st, md.name);
  if (!activated) return activated.error();
  if (!*activated) return general_error(md.name + ": the staged set was not complete");
  say(md.name + ": new certificate installed in the store.");
  return {};
}

} // namespace mda::a2md
