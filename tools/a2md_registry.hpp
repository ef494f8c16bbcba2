// a2md's registry: the managed domains of a store's domains/ group as mod_md's command-line
// tool reads and changes them (mod_md 2.6 a2md "add", "update", "list", "store ..."; its
// md_reg_add / md_reg_update / md_reg_get / state_init), over our store (store/store.hpp), so
// a store changed by mod_md's a2md is read here and the other way round.
//
// - An MD as a2md makes it (new_md): the names compacted (lowercase, duplicates dropped, order
//   kept), the first one its name, protocol "ACME", the CA URL given with -a, and mod_md's
//   "not configured" values: renew-mode -1, transitive 0, windows "33%" / "10%" once stored,
//   no key spec (one RSA certificate), stapling, must-staple, ARI and profile-mandatory off.
// - Checks before anything is written (check_values): every name a DNS name with at least one
//   dot (ASCII letters, digits, '-', no empty label) or "*." and such a name; no name shared
//   with another stored MD (compared case-insensitively); contacts, CA URLs and a ToS URL
//   (other than "accepted") absolute URIs by mod_md's rules (core/config_values.hpp
//   check_abs_uri). A failed check is invalid_argument with mod_md's log text.
// - The state is never taken from md.json: load_md recomputes it from domains/<md>'s
//   certificates (core/renewal.hpp assess_certificates), as state_init does on every load.
// - "renew" (md_reg_should_renew): the MD is incomplete, a certificate is missing, or the
//   renew window (md.json's, else 33%) of a certificate has started.
// Errors use std::errc codes, which a2md turns into mod_md's exit status and JSON "status"
// (apr_status): no_such_file_or_directory (2) for an unknown MD, invalid_argument (22) for a
// refused value; store errors keep their message and become APR_EGENERAL.
// Not here: the command line and its output (tools/a2md.cpp), ACME (tools/a2md_acme.hpp).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/timefmt.hpp"
#include "core/error.hpp"
#include "core/md.hpp"
#include "store/store.hpp"

namespace mda::a2md {

/// mod_md's status numbers (APR): what a2md prints as JSON "status" and exits 1 on.
inline constexpr int k_apr_success = 0;
inline constexpr int k_apr_enoent = 2;
inline constexpr int k_apr_einval = 22;
inline constexpr int k_apr_egeneral = 20014;
inline constexpr int k_apr_enotimpl = 70023;

/// The APR status of an error (see above).
int apr_status(const error& e);
/// apr_strerror's text for the statuses a2md reports ("No such file or directory", ...), cut
/// to 31 characters as mod_md's a2md prints it.
std::string apr_description(int status);

error invalid_argument(std::string message);
error not_found(std::string message);
error general_error(std::string message);
error not_implemented(std::string message);

/// md_dns_is_name(need_fqdn = 1) || md_dns_is_wildcard.
bool valid_domain_name(const std::string& name);

/// The MD of `add` / `store add` for these names (see above). The names are compacted; none
/// left is invalid_argument.
expected<managed_domain> new_md(const std::vector<std::string>& names, const std::string& ca_url);

/// What an update changes (md_reg_update's fields).
struct md_update {
  std::optional<std::vector<std::string>> domains;
  std::optional<std::vector<std::string>> ca_urls; ///< an empty list removes them
  std::optional<std::string> ca_proto;
  std::optional<std::string> ca_account;            ///< "" removes it
  std::optional<std::vector<std::string>> contacts;
  std::optional<std::string> agreement;             ///< "" removes it
  bool empty() const { return !domains && !ca_urls && !ca_proto && !ca_account && !contacts && !agreement; }
};

/// check_values: the fields `u` sets, checked against the store's other MDs (not `self`).
status check_update(const store& st, const std::string& self, const md_update& u);

/// domains/<name>/md.json with its state recomputed. Unknown -> not_found.
expected<managed_domain> load_md(const store& st, const std::string& name);
/// The stored MD whose domains contain `domain` (case-insensitively), when there is one.
std::optional<managed_domain> find_md(const store& st, const std::string& domain);
/// Every stored MD, by name. An unreadable md.json is left out (`skipped` gets its error).
std::vector<managed_domain> list_mds(const store& st, std::vector<error>* skipped = nullptr);

/// md_reg_should_renew at `now` (see above).
bool should_renew(const store& st, const managed_domain& md, sys_time now);

/// md_reg_add: checked (names, overlap, contacts, CA URL), state computed, md.json written
/// create-only. Returns the MD as stored.
expected<managed_domain> add_md(store& st, managed_domain md);
/// md_reg_update: the fields of `u` checked and applied to the stored MD, md.json rewritten
/// (nothing written when `u` is empty). Returns the MD as stored afterwards.
expected<managed_domain> update_md(store& st, const std::string& name, const md_update& u);

/// `store add`: md.json written create-only without checks or state (mod_md md_save).
expected<managed_domain> store_add(store& st, const managed_domain& md);
/// `store update`: domains and/or the CA URL replaced, no checks. `ca_url` "" = unchanged.
expected<managed_domain> store_update(store& st, const std::string& name,
                                      const std::optional<std::vector<std::string>>& domains,
                                      const std::string& ca_url);
/// `store remove`: domains/<name> purged; unknown -> not_found unless `force`.
status store_remove(store& st, const std::string& name, bool force);

} // namespace mda::a2md
