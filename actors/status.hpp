// The status actor: the engine's live view of every managed domain (MD).
//
// Who sends what: domain actors send (put_atom, md_snapshot) whenever their MD changes (state,
// certificates, job, next run, errors, CA in use) and (delete_atom, name) when it goes; the
// status socket listener (ipc/status_socket.hpp, through status_actor_source) and in-process
// readers ask (get_atom, snapshot_atom) for all MDs or (get_atom, snapshot_atom, name) for
// one; anyone may ask (get_atom, stats_atom).
// What it does:
// - keeps one status_snapshot (status/snapshot.hpp) of all MDs;
// - publishes it to `file` (the text of render_json(to_json(snapshot)), status/snapshot.hpp)
//   atomically: temp file, rename (store/fs_io.hpp write_file_atomic, not durable), the write
//   running as a job on the worker pool, never in this actor's handler;
// - keeps each MD's and each stapling entry's text of that file rendered (whenever a file is
//   configured, with or without a socket), re-rendering an entry in the handler of the update that changed it; a
//   publish hands the shared texts to the pool job, which joins them with the document's
//   head and tail (snapshot_join) into one string and writes it: no copy of the snapshot, no
//   JSON tree of all MDs (10,000 MDs: the tree was ~50 MB and most of the engine's CPU);
// - paces the writes: at most one per status_write_spacing(min_interval, the last write's
//   duration), i.e. every `min_interval`, or 10 x the last write's duration when that is
//   longer, so a huge store on a slow disk never keeps a core busy writing; updates in between
//   are coalesced into the next write, one write is in flight at a time, nothing is written
//   when nothing changed (an MD sent again unchanged is no change). The first snapshot
//   (`seed`: every MD as the store shows it, or no MD) is written right at start, so
//   readers always find a file.
// - with a `socket_path`, serves live queries on a unix-domain socket (ipc/status_socket.hpp),
//   started by spawn_status and stopped when this actor ends; for its "GET md-status" and
//   "GET snapshot <name>" keeps each MD's md-status fragment and snapshot texts
//   (md_status_cache; the file's texts when there is a file), re-rendering an MD's texts in
//   the handler of an update that changes the MD or its staplings, and its metric samples
//   (status/metrics.hpp) the same way, for "GET metrics". Without a socket no md-status
//   fragment is rendered. A socket that cannot be bound (its directory missing,
//   no permission) is reported through `warn` and left out; the actor runs on.
// - with a `live_file` (MDActivation live), keeps the announcement of the sets served live
//   (store/live.hpp): an MD whose snapshot says it is served from staging/ is listed with the
//   fingerprints of its certificates and since when; each change (an MD added, its
//   certificates changed) raises the generation and rewrites the file (a small file: at
//   once, one write in flight, changes meanwhile written after it). An MD that stops being
//   served from staging (a new run started) stays listed: the workers keep serving it.
// Not here: how md-status is rendered (status/md_status.hpp), gathering MD state (domain
// actors).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include <caf/actor_system.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/timespan.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/actors.hpp"
#include "actors/clock.hpp"
#include "ipc/status_socket.hpp"
#include "store/live.hpp"

namespace mda {

/// Status files are written at most this often: readers see changes within half a second,
/// and a burst of 100 MD updates costs one write and one fsync, not 100.
constexpr caf::timespan k_default_status_interval = std::chrono::milliseconds(500);

/// How long after the start of one status file write the next may start: `min_interval`, or
/// 10 x `last_write_took` (the write job's own time: join + write, not its wait in the pool's
/// queue) when that is longer.
caf::timespan status_write_spacing(caf::timespan min_interval, caf::timespan last_write_took);

/// How long the socket listener waits for the status actor before answering with an error.
constexpr caf::timespan k_default_status_ask_timeout = std::chrono::milliseconds(200);
/// How long a RENEW of the socket waits for the domain actor's decision: its check loads the
/// MD's files on the io pool first, behind whatever is queued there.
constexpr caf::timespan k_renew_ask_timeout = std::chrono::seconds(30);

struct status_config {
  std::string file;        ///< the published status file; "" = none
  /// The engine and the httpd workers run as the same User: nobody else reads the status
  /// (it names every domain, account and error).
  mode_t file_mode = 0600;
  caf::timespan min_interval = k_default_status_interval;
  std::string socket_path; ///< the unix-domain socket for live queries; "" = none
  mode_t socket_mode = 0600;
  /// Told once when the socket cannot be bound: the actor then runs without it (readers fall
  /// back to `file`); an optional part never stops the engine. Empty = not told.
  std::function<void(const std::string&)> warn;
  caf::timespan ask_timeout = k_default_status_ask_timeout;
  std::string cert_check_name; ///< MDCertificateCheck (copied into the snapshot)
  std::string cert_check_url;
  worker_pool_actor pool;      ///< runs the file writes (required when `file` is set)
  actor_env env;               ///< the clock ("published", pacing); required
  /// Each MD's entry as known before its domain actor reports (made by the Apache parent from
  /// the store at start): the first snapshot already lists every MD. A domain actor's put
  /// replaces its MD's entry.
  std::vector<md_snapshot> seed;
  std::string live_file;       ///< the live announcement (store/live.hpp); "" = none
  /// What the metrics say of the engine: its restarts (told by the Apache parent) and start.
  engine_figures engine;
};

/// The warning for a status socket that could not be bound: the path, why, what serves the
/// status instead and how to get the socket.
std::string status_socket_unavailable(const std::string& path, const std::string& why);

/// No error, or what is wrong, e.g. "status: a status file needs a worker pool".
caf::error validate(const status_config& cfg);

class status_socket_server;

struct status_state {
  static inline const char* name = "status";
  status_config cfg;
  std::map<std::string, md_snapshot> mds; ///< by MD name
  std::map<std::pair<std::string, std::string>, stapling_info> staplings; ///< by (domain, id)
  status_stats stats;
  bool dirty = false;                  ///< changed since the last write began
  bool timer_armed = false;            ///< a publish_atom is on its way
  bool writing = false;                ///< a write job is in flight
  std::optional<mono_time> last_write; ///< when the last write began
  caf::timespan last_write_took{0};    ///< the last write job's own time (join + write)
  /// Each MD's (by name) and each stapling entry's (by domain, id) text in the status file
  /// (snapshot_md_text / snapshot_stapling_text), kept in step with `mds` and `staplings`;
  /// shared with the write job in flight.
  std::map<std::string, std::shared_ptr<const std::string>> file_mds;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<const std::string>> file_staplings;
  /// Every MD's md-status fragment, shared with the socket listener; filled only when a
  /// socket is configured, kept in step with `mds` and `staplings` by the handlers.
  std::shared_ptr<md_status_cache> md_status = std::make_shared<md_status_cache>();
  live_table live;                     ///< what live_file announces (or is about to)
  bool live_dirty = false;             ///< changed since the last write began
  bool live_writing = false;           ///< a write of live_file is in flight
  /// Where RENEW requests go (held weakly: the supervisor monitors this actor); none until told.
  caf::actor_addr supervisor;

  /// The snapshot of all MDs, "published" = `now`.
  status_snapshot current(sys_time now) const;
  /// The snapshot of one MD: the one named `name`, else the first (by name) listing it as a
  /// domain ignoring case, with its stapling entries; no MD when none matches.
  status_snapshot one(const std::string& name, sys_time now) const;
};

using status_pointer = status_actor::stateful_pointer<status_state>;

/// The actor's behaviour (spawn with spawn_status, which also starts the socket).
status_actor::behavior_type status_behavior(status_pointer self, status_config cfg);

/// The status socket listener's source of snapshots: each answer thread gets its own scoped
/// actor asking `status` (held weakly: the listener never keeps the actor alive) with
/// `ask_timeout`; "the status actor did not answer in time" or "the status actor is gone"
/// otherwise. Its renew function asks the actor's RENEW (k_renew_ask_timeout).
snapshot_source_maker status_actor_source(caf::actor_system& sys, const status_actor& status,
                                          caf::timespan ask_timeout);

/// Validates the config, binds the socket when one is configured (so a bad path fails here,
/// e.g. "bind('/x/s') failed: No such file or directory"), spawns the actor and starts the
/// listener, which ends with the actor.
caf::expected<status_actor> spawn_status(caf::actor_system& sys, status_config cfg);

} // namespace mda
