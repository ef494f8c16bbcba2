// mod_md's registry work on the store (reference §2.1, §2.5, §2.6, §5.1, §5.2; mod_md
// src/md_reg.c md_reg_set_props, md_reg_sync_finish, md_reg_load_stagings): what the
// Apache parent does to the store in post_config (httpd/mod_mdactor.cpp, httpd/ssl_hooks.cpp)
// and what its workers redo per request (refresh_from_staging), as plain functions of the
// store and the configuration, tested without Apache:
//
// - sync_httpd_json: httpd.json = {"proto":{"http":bool,"https":bool}}, written only when
//   the reachability differs from what the file holds (an absent file counts as both true,
//   so a server reachable on 80 and 443 has none, as with mod_md). A corrupt file is removed
//   and counts as absent (mod_md #369).
// - activate_staged_sets: for every configured MD, activate_staging (store/staging.hpp; an MD
//   without staging/<md>/md.json has nothing staged). With MDStoreLocks the store lock is held
//   around it; when it cannot be taken nothing is activated (mod_md AH10398: the start goes
//   on). staging/ belongs to the Apache User: a symlink there, or a file or directory owned by
//   neither root nor the User, is refused by the store (fs_store.hpp) with its path named;
//   that MD's activation fails with that error (its staged set dropped, domains/<md> kept as
//   it was), the other MDs go on, and the caller logs each error (MDA0124).
// - sync_md_json: domains/<md>/md.json from the configured MD: contacts, ca.url and
//   ca.account kept from the stored file when the configuration has none; state and
//   state-descr recomputed from the certificates in domains/ (state_init), and MDRenewMode
//   auto of an MD with MDCertificateFile made manual, as state_init does. Written when
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
// - purge_unused_challenges (mod_md md_reg_cleanup_challenges): every challenges/<name> whose
//   name is no configured MD's name is removed, at every start (challenge data left by an
//   earlier configuration or a killed run).
// - status_at_start: every configured MD's status entry as the store shows it (status/
//   md_view.hpp: domains/ and staging/ certificates, the staging job), written by the parent
//   as the status file before the engine starts and handed to the engine as its status
//   actor's first entries, so md-status knows every MD from the first request on (mod_md's
//   workers read the store per request; ours read what the engine publishes).
// Not here: Apache and its structures (httpd/ calls these and logs what they report), the
// actors (the engine never calls these), the store's file layout (fs_store.hpp).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/event_commands.hpp"

#include "core/config_values.hpp"
#include "core/engine_config.hpp"
#include "core/error.hpp"
#include "core/md.hpp"
#include "core/md_spec.hpp"
#include "status/snapshot.hpp"
#include "store/store.hpp"

namespace mda {

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

/// See above. Returns one error per name that could not be removed (or the listing's).
std::vector<error> purge_unused_challenges(store& st, const std::vector<engine_md>& mds);

/// See above. `specs` are make_md_specs(cfg). A damaged staging job.json is left out (the
/// engine reports and replaces it).
status_snapshot status_at_start(const store& st, const engine_config& cfg,
                                const std::vector<md_spec>& specs, sys_time now);

/// One MD's entry brought up to what staging/ holds now: its job.json ("renewal", present or
/// gone) and its certificates, and "renew" with them. Workers do this per request for one MD
/// when they answer from the status file (written at most every half second), as mod_md's
/// workers read the store per request. An unreadable or damaged job.json leaves "renewal".
void refresh_from_staging(const store& st, md_snapshot& m);

/// What sync_md_json did.
struct md_json_sync {
  bool written = false;
  std::optional<error> replaced; ///< the unreadable md.json that was overwritten
};

/// See above. `md` is completed in place (kept contacts / ca.url / ca.account, state).
expected<md_json_sync> sync_md_json(store& st, managed_domain& md);

} // namespace mda
