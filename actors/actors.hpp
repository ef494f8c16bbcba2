// Every typed actor interface of the engine, one alias per actor (CAF 0.17.6:
// typed_actor<replies_to<...>::with<...>, reacts_to<...>>). Message structs are in messages/;
// each actor's config, state and spawn function are in its own file pair.
#pragma once

#include <string>
#include <vector>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "messages/domain.hpp"
#include "messages/job.hpp"
#include "messages/ocsp.hpp"
#include "messages/policy.hpp"
#include "messages/status.hpp"
#include "messages/type_ids.hpp"

namespace mda {

/// The WORKER actor interface: one detached actor per blocking job, spawned by the worker
/// pool; it runs the job, answers, and quits.
using worker_actor = caf::typed_actor<
  // Runs the job on this actor's own thread (it fills its caller's slot); replies when it
  // returned, or with engine_errc::job_failed when it threw.
  caf::replies_to<run_atom, blocking_job>::with<job_done>>;

/// The WORKER POOL actor interface: runs blocking jobs (HTTP calls, fsync, external commands)
/// off the event-based actors, at most `max_in_flight` at a time; any actor may send.
using worker_pool_actor = caf::typed_actor<
  // Runs the job when a slot is free, else queues it (first come, first served); replies
  // when it returned (its value is in the caller's slot, see make_job), or with an engine
  // error when the job threw or its worker died.
  caf::replies_to<run_atom, blocking_job>::with<job_done>,
  // The pool's counters.
  caf::replies_to<get_atom, stats_atom>::with<pool_stats>>;

/// The CA POLICY actor interface: retry delays and CA failover per MD (reference §5.4, §5.5);
/// domain actors report outcomes and ask when and where to try next.
using ca_policy_actor = caf::typed_actor<
  // A run failed: counts the error and plans the next attempt (time and CA).
  caf::replies_to<failed_atom, md_failure>::with<retry_plan>,
  // A run succeeded: the MD's error count starts over (the CA in use stays).
  caf::reacts_to<ok_atom, std::string>,
  // Seeds the memory of an MD from its job.json (on start, after a restart).
  caf::reacts_to<put_atom, md_policy_state>,
  // The memory of an MD (errors 0 and no CA for an unknown one).
  caf::replies_to<get_atom, std::string>::with<md_policy_state>,
  // Forgets an MD (removed from the configuration).
  caf::reacts_to<delete_atom, std::string>>;

/// The ACCOUNT actor interface: one per (CA URL, EAB kid, contacts); selects or registers the
/// account in the store once and hands it out; holds new orders back while the CA asked to
/// slow down.
using account_actor = caf::typed_actor<
  // The account to sign with. The first request selects or registers it (once, however many
  // ask meanwhile); answered when the rate budget allows (after a limit, at its time). A
  // failed selection answers every waiting request with the failure; the next one tries anew.
  caf::replies_to<account_atom>::with<account_answer>,
  // The CA answered rateLimited or with Retry-After: no grant before this time.
  caf::reacts_to<limit_atom, sys_time>,
  // INTERNAL: the rate budget timer ran out (its generation).
  caf::reacts_to<wake_atom, std::uint64_t>>;

/// The DOMAIN actor interface: one per managed domain (MD), running its renewal state machine
/// (check -> order -> authorizations -> challenges -> finalize -> download -> stage -> notify)
/// with every blocking step on the worker pools.
using domain_actor = caf::typed_actor<
  // Look at the MD now (ignored while a run is in progress).
  caf::reacts_to<check_atom>,
  // Renew now, whatever the renew window says (mdctl renew, through the status actor):
  // answered with the decision of the check this starts ("renewal started: <reason>"), "a
  // renewal run is in progress" during one, engine_errc::bad_request with the reason when
  // the MD is not renewed (MDRenewMode manual, a staged set awaiting the restart, busy).
  caf::replies_to<renew_atom>::with<std::string>,
  // OCSP answered "revoked" for the certificate with this SHA-256 fingerprint (lowercase hex):
  // remembered, and a check runs, whose decision renews at once (reference §7).
  caf::reacts_to<revoked_atom, std::string>,
  // The current view of the MD (what the status actor also gets after every step).
  caf::replies_to<get_atom>::with<md_snapshot>,
  // INTERNAL: a job log entry of the running order (sent by the worker running it): its type
  // ("progress", "message-challenge-setup:<type>:<dns>") and detail.
  caf::reacts_to<progress_atom, std::string, std::string>,
  // INTERNAL: a raised event of the running order whose command failed ("message-error" with
  // the reason and the failure's detail): logged, and counted as an error of the run (mod_md's
  // md_job_notify).
  caf::reacts_to<progress_atom, std::string, std::string, std::string>,
  // INTERNAL: send the MD's snapshot to the status actor now (one per burst of steps).
  caf::reacts_to<publish_atom>,
  // INTERNAL: a timer ran out (its generation; older generations are ignored).
  caf::reacts_to<wake_atom, std::uint64_t>>;

/// The OCSP LISTENER actor interface: who hears what an OCSP responder actor found (the
/// stapling actor; a test's recorder).
using ocsp_listener_actor = caf::typed_actor<
  // A certificate of an owner (MD name or "other") was answered "revoked": owner, SHA-256
  // fingerprint of the leaf (lowercase hex).
  caf::reacts_to<revoked_atom, std::string, std::string>,
  // An event of an owner ("ocsp-renewed", "ocsp-errored"), told before its rate limit:
  // owner, reason.
  caf::reacts_to<ocsp_event_atom, std::string, std::string>>;

/// The OCSP RESPONDER actor interface: one per responder URL, spawned and linked by the
/// stapling actor, which registers certificates; anyone may ask for the stapling entries.
using ocsp_responder_actor = caf::typed_actor<
  // Registers certificates of an owner (MD name or "other"), see ocsp_registration.
  caf::reacts_to<staple_atom, ocsp_registration>,
  // Fetch every due certificate now.
  caf::reacts_to<check_atom>,
  // The stapling entries of every registered certificate.
  caf::replies_to<get_atom>::with<std::vector<stapling_info>>,
  // INTERNAL: the timer ran out (its generation).
  caf::reacts_to<wake_atom, std::uint64_t>>;

/// The OCSP STAPLING actor interface: one per engine, spawned by the supervisor, which hands
/// it the domain actors; a domain actor asks it to look at its MD again after an in-process
/// activation; its responder actors tell it of revocations (as its listener).
using ocsp_stapling_actor = ocsp_listener_actor::extend<
  // The domain actor of an MD (told of revocations): added, or replaced after a restart.
  caf::reacts_to<put_atom, std::string, domain_actor>,
  // Starts (once; later ones are ignored): cleanup, then every registration.
  caf::reacts_to<check_atom>,
  // Reads the certificates of one MD again and registers them when they changed.
  caf::reacts_to<staple_atom, std::string>>;

/// The SUPERVISOR actor interface: spawns the domain and account actors, monitors them and
/// the shared actors, restarts a leaf that died abnormally (see actors/supervisor_actor.hpp).
using supervisor_actor = caf::typed_actor<
  // The current domain actor of an MD (a new handle after a restart); an engine_errc::unknown_md
  // error for an MD nobody knows.
  caf::replies_to<get_atom, std::string>::with<domain_actor>>;

/// The STATUS actor interface: keeps the live snapshot of every MD, publishes it to the status
/// file (paced) and answers queries; domain actors send updates, the status socket listener
/// and in-process readers ask. (After the supervisor's: RENEW requests go through it.)
using status_actor = caf::typed_actor<
  // Replaces the entry of one MD (by md.name) or adds it.
  caf::reacts_to<put_atom, md_snapshot>,
  // Removes the entry of an MD (no longer configured).
  caf::reacts_to<delete_atom, std::string>,
  // Replaces or adds the OCSP stapling entry of one certificate (by domain and id), sent by
  // the OCSP responder actors.
  caf::reacts_to<put_atom, stapling_info>,
  // The current snapshot ("published" = now).
  caf::replies_to<get_atom, snapshot_atom>::with<status_snapshot>,
  // The snapshot of one MD: the MD named so, else the first one listing it as a domain
  // (ignoring case), with that MD's stapling entries; no MD when none matches.
  caf::replies_to<get_atom, snapshot_atom, std::string>::with<status_snapshot>,
  // The actor's counters.
  caf::replies_to<get_atom, stats_atom>::with<status_stats>,
  // Who holds the domain actors (sent once by spawn_engine_actors): RENEW requests go there.
  caf::reacts_to<put_atom, supervisor_actor>,
  // RENEW <md> of the status socket (mdctl renew): passed to that MD's domain actor; its
  // answer, or engine_errc::unknown_md / unavailable.
  caf::replies_to<renew_atom, std::string>::with<std::string>,
  // INTERNAL: the pacing timer ran out; writes the file when something changed.
  caf::reacts_to<publish_atom>>;

} // namespace mda
