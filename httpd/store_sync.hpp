// The store work of the module's post_config in the parent (reference §2.1, §2.5, §2.6, §5.1,
// §5.2; mod_md src/md_reg.c md_reg_set_props, md_reg_sync_finish, md_reg_load_stagings):
//
// - sync_httpd_json: httpd.json = {"proto":{"http":bool,"https":bool}}, written only when
//   the reachability differs from what the file holds (an absent file counts as both true,
//   so a server reachable on 80 and 443 has none, as with mod_md). A corrupt file is removed
//   and counts as absent (mod_md #369).
// - activate_staged_sets: for every MD with staging/<md>/md.json, activate_staging
//   (store/staging.hpp). With MDStoreLocks the store lock is held around it; when it cannot be
//   taken nothing is activated (mod_md AH10398: the start goes on).
// - sync_md_json: domains/<md>/md.json from the configured MD: contacts, ca.url and
//   ca.account kept from the stored file when the configuration has none; state and
//   state-descr recomputed from the certificates in domains/ (state_init). Written when
//   absent, unreadable, or when its content would change.
// Deviation: mod_md compares a fixed list of properties before writing; we compare the whole
// md.json, so e.g. a changed MDProfile reaches the file too. What is written is the same.
// - announce_installed: the "installed" event of every activated MD (reference §2.6 step 6,
//   §5.6), as mod_md raises it in the parent after the move: rate limited against the
//   activated domains/<md>/job.json, MDMessageCmd "<cmd> installed <md>" run (as the caller:
//   root), the outcome recorded in that job.json.
// - rename_moved_mds (mod_md md_reg_sync_start, reference §2.8): a configured MD without a
//   domains/ dir takes over a stored MD that no configured MD names — the one whose domains
//   contain all of its domains, else the one sharing the most names — renamed in domains/
//   and staging/, so a renamed <MDomain> keeps its certificates and needs no new order.
// Not here: httpd.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "actors/events.hpp"

#include "core/config_values.hpp"
#include "core/engine_config.hpp"
#include "core/error.hpp"
#include "core/md.hpp"
#include "store/store.hpp"

namespace mda::httpd {

/// What sync_httpd_json did.
struct httpd_json_sync {
  bool written = false;
  std::optional<error> corrupt; ///< the damaged file that was removed
};

/// See above. Errors name the file (store errors).
expected<httpd_json_sync> sync_httpd_json(store& st, bool can_http, bool can_https);

struct activation_report {
  std::vector<std::string> activated; ///< MD names, in configuration order
  std::vector<error> errors;          ///< one per MD whose set could not be activated
  std::optional<error> lock_error;    ///< the store lock was not taken: nothing was tried
};

/// See above. `store_dir` is the store's base directory (for store.lock).
activation_report activate_staged_sets(store& st, const std::string& store_dir,
                                       const std::vector<engine_md>& mds, const store_locks& locks);

/// See above. Blocking for as long as the command runs (bounded by `timeout`). Returns one
/// line per failure (the command's, or a job.json that could not be saved), naming the MD.
std::vector<std::string> announce_installed(store& st, const std::vector<std::string>& activated,
                                            const event_commands& cmds,
                                            std::chrono::milliseconds timeout,
                                            const command_runner& run, sys_time now);

/// A stored MD taken over by a configured one (see above).
struct md_rename {
  std::string from;
  std::string to;
};

/// See above. Runs before activation and md.json sync; the renamed md.json keeps the old
/// name inside until sync_md_json rewrites it. An unreadable stored md.json is ignored
/// (that MD is not a candidate). Errors: renames that failed, with both names.
std::vector<md_rename> rename_moved_mds(store& st, const std::vector<engine_md>& mds,
                                        std::vector<error>* errors = nullptr);

/// What sync_md_json did.
struct md_json_sync {
  bool written = false;
  std::optional<error> replaced; ///< the unreadable md.json that was overwritten
};

/// See above. `md` is completed in place (kept contacts / ca.url / ca.account, state).
expected<md_json_sync> sync_md_json(store& st, managed_domain& md);

} // namespace mda::httpd
