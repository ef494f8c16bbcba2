#include "store/accounts.hpp"

#include <sys/stat.h>

#include <cstdio>

namespace mda {

namespace {

/// mod_md shortens long host names to their tail (md_acme_create).
constexpr std::size_t k_sname_max = 16;

std::string account_path(const std::string& id) {
  return std::string("accounts/") + id + "/" + aspect::account;
}

bool md_has_eab(const md_eab& eab) {
  return !eab.kid.empty() && eab.kid != "none" && !eab.hmac.empty();
}

} // namespace

std::string account_id_prefix_for_host(std::string_view host) {
  if (host.size() > k_sname_max) host = host.substr(host.size() - k_sname_max);
  return "ACME-" + std::string(host) + "-";
}

expected<std::string> url_host(std::string_view url) {
  const auto fail = [&](const char* why) {
    return error(store_errc::invalid, "invalid CA url '" + std::string(url) + "': " + why);
  };
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) return fail("no host");
  std::string_view auth = url.substr(scheme_end + 3);
  auth = auth.substr(0, auth.find_first_of("/?#"));
  if (auto at = auth.rfind('@'); at != std::string_view::npos) auth = auth.substr(at + 1);
  std::string_view host;
  if (!auth.empty() && auth.front() == '[') {
    const auto close = auth.find(']');
    if (close == std::string_view::npos) return fail("unterminated IPv6 address");
    host = auth.substr(1, close - 1);
  } else {
    host = auth.substr(0, auth.rfind(':'));
  }
  if (host.empty()) return fail("no host");
  return std::string(host);
}

expected<std::string> account_id_prefix_for_url(std::string_view ca_url) {
  auto host = url_host(ca_url);
  if (!host) return host.error();
  return account_id_prefix_for_host(*host);
}

status save_account(store& st, const std::string& id, const account_file& file,
                    const private_key& key) {
  account_file copy = file;
  copy.registration = nullptr;
  if (auto s = st.save_json(store_group::accounts, id, aspect::account, to_json(copy)); !s)
    return s;
  return st.save_key(store_group::accounts, id, aspect::account_key, key);
}

expected<std::string> save_account_new_id(store& st, const std::string& prefix,
                                          const account_file& file, const private_key& key) {
  account_file copy = file;
  copy.registration = nullptr;
  const auto json = to_json(copy);
  for (int n = 0; n < k_max_account_ids; ++n) {
    char num[8];
    std::snprintf(num, sizeof num, "%04d", n);
    const std::string id = prefix + num;
    auto saved = st.save_json(store_group::accounts, id, aspect::account, json, true);
    if (!saved && saved.error().code == store_errc::exists) continue;
    if (!saved) return saved.error();
    if (auto k = st.save_key(store_group::accounts, id, aspect::account_key, key); !k) {
      (void)st.purge(store_group::accounts, id);
      return k.error();
    }
    return id;
  }
  return error(store_errc::exists, "no free account id " + prefix + "0000 .. " + prefix +
                                       std::to_string(k_max_account_ids - 1));
}

bool account_fits_eab(const account_file& file, const md_eab& eab) {
  const bool acct_has = !file.eab_kid.empty() && !file.eab_hmac.empty();
  if (!md_has_eab(eab)) return !acct_has;
  return acct_has && file.eab_kid == eab.kid && file.eab_hmac == eab.hmac;
}

std::vector<std::string> protect_eab_accounts(store& st) {
  std::vector<std::string> out;
  auto ids = st.list_names(store_group::accounts);
  for (const auto& id : ids ? *ids : std::vector<std::string>{}) {
    auto path = st.file_path(store_group::accounts, id, aspect::account);
    struct stat sb {};
    if (!path || ::lstat(path->c_str(), &sb) != 0 || (sb.st_mode & 0007) == 0) continue;
    auto j = st.load_json(store_group::accounts, id, aspect::account);
    if (!j || !j->contains("eab") || !(*j)["eab"].is_object() || !(*j)["eab"].contains("hmac")) continue;
    if (st.save_json(store_group::accounts, id, aspect::account, *j)) out.push_back(id);
  }
  return out;
}

std::optional<std::string> find_account_id(const store& st, const std::string& ca_url,
                                           const md_eab& eab) {
  auto ids = st.list_names(store_group::accounts);
  if (!ids) return std::nullopt;
  for (const auto& id : *ids) {
    auto j = st.load_json(store_group::accounts, id, aspect::account);
    if (!j) continue;
    auto file = account_from_json(*j, account_path(id));
    if (!file || file->status != account_status::valid) continue;
    if (file->ca_url == ca_url && account_fits_eab(*file, eab)) return id;
  }
  return std::nullopt;
}

} // namespace mda
