// The OCSP responder actor: one per responder URL (the first AIA OCSP URL of the certificates
// it serves), keeping the stapled responses of every certificate registered with it fresh.
//
// Who sends what (interface: ocsp_responder_actor in actors/actors.hpp): the stapling actor
// registers the current certificates of each stapling MD
// (staple_atom, ocsp_registration{md, certs, replace=true}) at start and after activation;
// the httpd glue may add MDStapleOthers certificates (owner "other", replace=false). Anyone
// may ask (get_atom) for the stapling entries.
// What it does, per certificate (key = hex SHA-1 of its DER, ocsp/persist.hpp):
// - on registration the stored response ocsp/<owner>/ocsp-<key>.json is read; the cert is
//   due at once without one, else at refresh_at(valid, MDStaplingRenewWindow);
// - due certificates are fetched (ocsp/fetch.hpp) as blocking jobs on the io pool, at most
//   `max_parallel` at a time (mod_md: 6); apply_fetch saves a good/revoked answer and keeps
//   the previous good response on failure;
// - a failure counts an error for the certificate and retries at core/backoff.hpp's
//   next_retry (MDRetryDelay doubling, jitter), logging "ocsp-error" in the owner's job;
// - every result goes to the status actor (put_atom, stapling_info); the owner's job.json
//   is saved (ocsp/<owner>/job.json).
// - `revoked` answers are told to cfg.listener (revoked_atom, owner, sha256 fingerprint).
// - events: "ocsp-renewed" after every good/revoked answer, "ocsp-errored" after a failure
//   (mod_md hollers them from its OCSP watchdog), delivered as the domain actor's events
//   (core/event_commands.hpp): rate limited against the OWNER'S OCSP job (ocsp-renewed 1 d,
//   ocsp-errored 1 h), MDMessageCmd run on the io pool as "<cmd> <reason> <owner>" (owner
//   "other" for certificates of no MD, as mod_md), "message-<reason>" or "message-error"
//   logged in that job. cfg.listener hears of every event before the rate limit
//   (ocsp_event_atom, owner, reason).
// - job.json writes of one owner are coalesced and in order; every status entry of an owner
//   carries its job (stapling_info::renewal) and is re-sent when the job changes.
// Not here: startup cleanup (ocsp::remove_old_responses) and loading certificates (the
// stapling actor, actors/ocsp_stapling.hpp), the handshake cache (httpd glue).
// Limitation: an MD whose certificates name two responders has its job.json written by two
// actors; the last write wins.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/actors.hpp"
#include "actors/clock.hpp"
#include "core/backoff.hpp"
#include "core/duration.hpp"
#include "core/event_commands.hpp"
#include "http/http_client.hpp"
#include "messages/domain.hpp"
#include "messages/ocsp.hpp"
#include "ocsp/persist.hpp"
#include "ocsp/request.hpp"
#include "status/snapshot.hpp"
#include "store/store.hpp"

namespace mda {

struct ocsp_responder_config {
  std::string url;                                 ///< the responder
  std::shared_ptr<store> st;                       ///< required
  std::shared_ptr<acme::http_transport> transport; ///< required (thread-safe)
  worker_pool_actor io_pool;                       ///< required
  status_actor status;                             ///< optional
  actor_env env;
  timeslice renew_window = default_stapling_renew_window(); ///< MDStaplingRenewWindow
  retry_policy retry;                              ///< MDRetryDelay for failures
  std::size_t max_parallel = 6;                    ///< fetches in flight (mod_md: 6)
  /// Told of "revoked" answers and of every event before its rate limit (the stapling actor;
  /// delivery of events is this actor's own, see above). Optional.
  ocsp_listener_actor listener;
  event_commands commands;                         ///< MDNotifyCmd (unused here), MDMessageCmd
  milliseconds command_timeout{60'000};            ///< MDCommandTimeout
  command_runner run_command;                      ///< empty = process_command_runner()
  std::function<void(const std::string&)> log;
  /// MDStoreEtcd: true when another server of the cluster fetches this owner's responses
  /// (docs/cluster.md). A due certificate then waits `defer_delay` for that server's response
  /// (the cluster copies it into this store), reads the store again and fetches only when it
  /// is still due. Empty = fetch everything here.
  std::function<bool(const std::string& owner)> defer;
  milliseconds defer_delay{120'000};
};

struct ocsp_entry {
  std::string owner;
  ocsp_cert cert;
  ocsp::cert_id id;
  std::string key;                       ///< hex SHA-1 of the leaf
  std::optional<ocsp::stored_response> current;
  bool deferred = false;                 ///< waited once for the cluster's response (defer)
  sys_time next_run{};
  int errors = 0;
  bool in_flight = false;
  bool loaded = false;                   ///< the stored file was read
};

struct ocsp_responder_state {
  static inline const char* name = "ocsp-responder";
  ocsp_responder_config cfg;
  std::map<std::string, ocsp_entry> entries; ///< by key
  std::map<std::string, job> jobs;           ///< by owner
  std::size_t in_flight = 0;
  std::uint64_t timer_gen = 0;
  std::uint64_t fetches = 0;                 ///< fetches started (tests)
  std::set<std::string> job_writing;         ///< owners whose job.json write is in flight
  std::set<std::string> job_dirty;           ///< owners whose job changed since that write
};

using ocsp_responder_pointer = ocsp_responder_actor::stateful_pointer<ocsp_responder_state>;

ocsp_responder_actor::behavior_type ocsp_responder_behavior(ocsp_responder_pointer self,
                                                            ocsp_responder_config cfg);
ocsp_responder_actor spawn_ocsp_responder(caf::actor_system& sys, ocsp_responder_config cfg);

/// The status entry of one registered certificate.
stapling_info stapling_of(const ocsp_entry& e, const std::string& url, const timeslice& window);

} // namespace mda
