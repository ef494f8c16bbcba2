#include "acme/account_store.hpp"

#include <cstdio>

#include "http/http_client.hpp"
#include "store/accounts.hpp"

namespace mda::acme {

namespace {

using acme::acme_errc;
using acme::acme_result;

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

/// Registers (or, when the CA already knows the key, finds) the account of a reserved id and
/// writes its account.json: the last file, the one that makes the account usable.
acme_result<account_choice> register_with_key(acme::client& c, store& st,
                                              const acme::account_options& opts,
                                              const std::string& id, const private_key& key) {
  auto found = acme::find_account(c, key);
  auto reg = found && found->file.status == account_status::valid
                 ? std::move(found)
                 : acme::register_account(c, key, opts);
  if (!reg) {
    // The CA answered and refused: it does not know the key, so the reservation goes. Without
    // an answer (unreachable) the key stays for the next attempt to complete.
    if (reg.prob() && reg.prob()->http_status > 0) (void)st.purge(store_group::accounts, id);
    return reg.failure<account_choice>();
  }
  if (auto s = save_account(st, id, reg->file, reg->key); !s)
    return s.error().prefixed("storing the new account " + reg->url());
  return account_choice{*reg, id, false};
}

} // namespace

expected<std::string> reserve_account_id(store& st, const std::string& prefix,
                                         const private_key& key) {
  for (int n = 0; n < k_max_account_ids; ++n) {
    char num[8];
    std::snprintf(num, sizeof num, "%04d", n);
    const std::string id = prefix + num;
    if (st.exists(store_group::accounts, id, aspect::account)) continue;
    auto saved = st.save_key(store_group::accounts, id, aspect::account_key, key, true);
    if (!saved && saved.error().code == store_errc::exists) continue;
    if (!saved) return saved.error();
    return id;
  }
  return error(store_errc::exists, "no free account id " + prefix + "0000 .. " + prefix +
                                       std::to_string(k_max_account_ids - 1));
}


expected<std::string> account_id_prefix(const std::string& ca_url) {
  auto url = acme::parse_url(ca_url);
  if (!url) return url.error();
  return account_id_prefix_for_host(url->host);
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
  // An account key filed before its registration finished (a process killed in between):
  // take that account over rather than registering a second one.
  for (const auto& id : ids ? *ids : std::vector<std::string>{}) {
    if (st.exists(store_group::accounts, id, aspect::account) ||
        !st.exists(store_group::accounts, id, aspect::account_key))
      continue;
    auto key = st.load_key(store_group::accounts, id, aspect::account_key);
    if (!key) continue;
    log("completing account " + id + " (its key was stored, its account.json not)");
    return register_with_key(c, st, opts, id, *key);
  }
  // The CA first: an unreachable one costs no key (an RSA 3072 key is ~0.3-1 s of CPU).
  if (auto dir = c.get_directory(); !dir) return dir.failure<account_choice>();
  auto key = acme::make_account_key();
  if (!key) return key.error();
  auto id = reserve_account_id(st, *prefix, *key);
  if (!id) return id.error();
  return register_with_key(c, st, opts, *id, *key);
}

} // namespace mda::acme
