// ACME accounts in the store's accounts/ group: how they are named, found and filed
// (reference §2.1, §2.5; mod_md md_acme_acct.c md_acme_acct_save / md_acme_acct_id_for_md,
// md_acme.c md_acme_create for the short name). Shared by account selection
// (acme/account_store.hpp) and staging activation (store/staging.hpp).
//
// - Ids are "ACME-<sname>-NNNN": <sname> is the host of the CA directory URL, its last 16
//   characters when longer; NNNN the first free number 0000..0999, a free number being one
//   whose account.json does not exist yet (a create-only write takes it).
// - The accounts/ copy never has "registration" (mod_md writes what it read back, and its
//   reader drops that member).
// - Lookup by CA (md_acme_acct_id_for_md): the first account, in name order, whose
//   account.json reads, has status "valid", names the same CA URL and fits the EAB: an MD
//   without EAB takes only accounts without one, an MD with EAB only the same kid and hmac.
// Not here: talking to the CA (validating an account, registering one: acme/).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/job.hpp"
#include "core/md.hpp"
#include "core/pkey.hpp"
#include "store/store.hpp"

namespace mda {

/// Numbers 0000 .. 0999 (mod_md's loop bound).
inline constexpr int k_max_account_ids = 1000;

/// "ACME-<sname>-" for the CA's host name (IPv6 without brackets).
std::string account_id_prefix_for_host(std::string_view host);

/// The host of an absolute URL as apr_uri_parse finds it: between "//" and the path, without
/// userinfo and port, IPv6 brackets removed. A URL without one is store_errc::invalid
/// ("invalid CA url '<url>': no host").
expected<std::string> url_host(std::string_view url);

/// account_id_prefix_for_host(url_host(ca_url)).
expected<std::string> account_id_prefix_for_url(std::string_view ca_url);

/// Writes account.json (without registration) and the encrypted account.pem under `id`,
/// replacing what is there.
status save_account(store& st, const std::string& id, const account_file& file,
                    const private_key& key);

/// Files the account under the first free "<prefix>NNNN" and returns that id. All taken:
/// store_errc::exists "no free account id ACME-x-0000 .. ACME-x-0999".
expected<std::string> save_account_new_id(store& st, const std::string& prefix,
                                          const account_file& file, const private_key& key);

/// Rewrites every accounts/<id>/account.json that holds an EAB hmac but is readable by
/// others (one written by mod_md, 0644): the store writes it 0640 (fs_store.hpp). Returns
/// the ids rewritten; an account that cannot be read or written is left as it is.
std::vector<std::string> protect_eab_accounts(store& st);

/// True when a stored account may serve an MD with this EAB (see above).
bool account_fits_eab(const account_file& file, const md_eab& eab);

/// The id of the first valid account for the CA and EAB (see above); nullopt when none.
std::optional<std::string> find_account_id(const store& st, const std::string& ca_url,
                                           const md_eab& eab);

} // namespace mda
