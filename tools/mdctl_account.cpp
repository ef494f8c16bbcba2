#include "tools/mdctl_account.hpp"

#include <cstdio>

#include "acme/http_client.hpp"

namespace mda::mdctl {

namespace {

using acme::acme_errc;
using acme::acme_result;

/// mod_md's limit for account ids: ACME-<sname>-0000 .. -0999.
constexpr int k_max_account_ids = 1000;

bool same_eab(const account_file& f, const acme::account_options& opts) {
  if (!opts.eab) return f.eab_kid.empty() && f.eab_hmac.empty();
  return f.eab_kid == opts.eab->kid && f.eab_hmac == opts.eab->hmac;
}

/// The stored account `id` when it fits the CA and EAB; nothing (and a log line) otherwise.
std::optional<acme::account> load_candidate(const store& st, const std::string& id,
                                            const std::string& ca_url,
                                            const acme::account_options& opts,
                                            const std::function<void(const std::string&)>& log) {
  auto j = st.load_json(store_group::accounts, id, aspect::account);
  if (!j) {
    log("skipping account " + id + ": " + j.error().message);
    return std::nullopt;
  }
  auto file = account_from_json(*j, "accounts/" + id + "/" + aspect::account);
  if (!file) {
    log("skipping account " + id + ": " + file.error().message);
    return std::nullopt;
  }
  if (file->ca_url != ca_url || !same_eab(*file, opts) || file->status != account_status::valid)
    return std::nullopt;
  auto key = st.load_key(store_group::accounts, id, aspect::account_key);
  if (!key) {
    log("skipping account " + id + ": " + key.error().message);
    return std::nullopt;
  }
  return acme::account{*key, *file};
}

/// Whether a validation failure means "this account is no good" rather than "CA trouble".
bool account_rejected(const acme_result<acme::account>& r) {
  const auto& code = r.error().code;
  return code == acme_errc::not_found || code == acme_errc::unauthorized ||
         code == acme_errc::invalid;
}

/// Stores a new account under the first free id.
expected<std::string> save_new_account(store& st, const std::string& prefix,
                                       const acme::account& acct) {
  account_file file = acct.file;
  file.registration = nullptr; // the accounts/ copy has none (reference §2.5)
  const auto json = to_json(file);
  for (int n = 0; n < k_max_account_ids; ++n) {
    char num[8];
    std::snprintf(num, sizeof num, "%04d", n);
    const std::string id = prefix + num;
    auto saved = st.save_json(store_group::accounts, id, aspect::account, json, true);
    if (!saved && saved.error().code == store_errc::exists) continue;
    if (!saved) return saved.error();
    if (auto k = st.save_key(store_group::accounts, id, aspect::account_key, acct.key); !k) {
      (void)st.purge(store_group::accounts, id);
      return k.error();
    }
    return id;
  }
  return error(store_errc::exists, "no free account id " + prefix + "0000 .. " + prefix +
                                       std::to_string(k_max_account_ids - 1));
}

} // namespace

expected<std::string> account_id_prefix(const std::string& ca_url) {
  auto url = acme::parse_url(ca_url);
  if (!url) return url.error();
  std::string sname = url->host;
  if (sname.size() > 16) sname = sname.substr(sname.size() - 16);
  return "ACME-" + sname + "-";
}

acme_result<account_choice> select_or_register_account(
    acme::client& c, store& st, const acme::account_options& opts,
    const std::function<void(const std::string&)>& log) {
  auto prefix = account_id_prefix(c.directory_url());
  if (!prefix) return prefix.error();
  auto ids = st.list_names(store_group::accounts, *prefix + "*");
  if (!ids && !is_not_found(ids.error())) return ids.error();
  for (const auto& id : ids ? *ids : std::vector<std::string>{}) {
    auto cand = load_candidate(st, id, c.directory_url(), opts, log);
    if (!cand) continue;
    auto checked = acme::fetch_account(c, *cand);
    if (checked && checked->file.status == account_status::valid)
      return account_choice{*checked, id, true};
    if (checked || account_rejected(checked)) {
      log("skipping account " + id + ": " +
          (checked ? std::string("the CA reports it as not valid") : checked.error().message));
      continue;
    }
    return checked.failure<account_choice>();
  }
  auto key = acme::make_account_key();
  if (!key) return key.error();
  auto reg = acme::register_account(c, *key, opts);
  if (!reg) return reg.failure<account_choice>();
  auto id = save_new_account(st, *prefix, *reg);
  if (!id) return id.error().prefixed("storing the new account " + reg->url());
  return account_choice{*reg, *id, false};
}

} // namespace mda::mdctl
