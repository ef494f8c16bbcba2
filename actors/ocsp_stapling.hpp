// The stapling actor: decides which certificates are stapled and which responder actor
// (actors/ocsp_responder.hpp) asks for each, one responder actor per OCSP URL.
//
// Who sends what (interface: ocsp_stapling_actor in actors/actors.hpp): the supervisor spawns
// it for the MDs with stapling on (MDStapling, in use by a vhost) and the MDStapleOthers
// files, hands it each domain actor (put_atom, name, handle; again after a restart), then
// starts it (check_atom); after an in-process activation the MD's domain actor asks it to
// look at that MD again (staple_atom, name). Responder actors report
// revocations (revoked_atom, owner, sha256): forwarded to the owner's domain actor, which
// renews at once (reference §7); their events (ocsp_event_atom) need nothing here.
// What it does: on start, ocsp::remove_old_responses (MDStaplingKeepResponse) on the io pool;
// then per MD (and once for "other") the certificate files are read on the io pool
// (load_md_staple_set / load_other_staple_set), grouped by their first AIA OCSP URL, and
// registered with that URL's responder actor (spawned and linked on first use):
// (staple_atom, ocsp_registration{owner, certs, replace}) — MDs replace, "other" adds. An MD
// whose set of certificates did not change is not registered again. A certificate without an
// OCSP URL is quietly left out; unreadable files or a missing issuer are logged.
// Not here: fetching and events (the responder actors), the handshake (httpd glue).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/actors.hpp"
#include "actors/clock.hpp"
#include "actors/ocsp_responder.hpp"
#include "core/backoff.hpp"
#include "core/duration.hpp"
#include "core/event_commands.hpp"
#include "core/md.hpp"
#include "http/http_client.hpp"
#include "messages/ocsp.hpp"
#include "store/store.hpp"

namespace mda {

/// The responder URL -> transport to it (blocking; called on a worker).
using ocsp_transport_factory =
    std::function<expected<std::shared_ptr<acme::http_transport>>(const std::string& url)>;

struct ocsp_stapling_config {
  std::vector<managed_domain> mds;          ///< the MDs to staple
  std::vector<std::string> other_files;     ///< MDStapleOthers files ("other"); empty = none
  std::shared_ptr<store> st;                ///< required
  worker_pool_actor io_pool;                ///< required
  status_actor status;                      ///< optional
  actor_env env;
  ocsp_transport_factory transports;        ///< required
  timeslice renew_window = default_stapling_renew_window();   ///< MDStaplingRenewWindow
  timeslice keep_response = default_stapling_keep_response(); ///< MDStaplingKeepResponse
  retry_policy retry;                       ///< MDRetryDelay
  event_commands commands;                  ///< MDMessageCmd
milliseconds command_timeout{60'000};
  /// MDStoreEtcd: passed to each responder actor (ocsp_responder_config::defer).
  std::function<bool(const std::string& owner)> defer;
  command_runner run_command;               ///< empty = process_command_runner()
  std::function<void(const std::string&)> log;
  /// MDActivation live: an MD whose staged set is served (staged_set_live) staples the
  /// certificates of staging/<md>, not those of domains/.
  bool live = false;
};

/// The certificates of one owner to staple, by responder URL.
struct staple_set {
  std::string owner;
  std::map<std::string, std::vector<ocsp_cert>> by_url;
  std::vector<std::string> keys;     ///< cert_key() of every certificate, sorted
  std::vector<std::string> problems; ///< files not read, certificates without issuer
};

/// Reads one PEM chain file (leaf first; the issuer is the first later certificate that issued
/// the leaf) into `out`. Without an OCSP URL the certificate is skipped without a problem.
/// The file is read through the store (store::read_outside), which may hold the parent's copy.
void add_chain_file(const store& st, staple_set& out, const std::string& path);
/// The MD's certificates: its static MDCertificateFile files, or domains/<md>/pubcert*.pem
/// (read through the store; the unprivileged engine cannot open domains/); owner = md.name.
/// `live`: when the MD's staged set is served live (store/live.hpp staged_set_live), the
/// certificates of staging/<md> instead.
staple_set load_md_staple_set(const store& st, const managed_domain& md, bool live = false);
/// The MDStapleOthers files; owner "other".
staple_set load_other_staple_set(const store& st, const std::vector<std::string>& files);

struct ocsp_stapling_state {
  static inline const char* name = "ocsp-stapling";
  ocsp_stapling_config cfg;
  std::map<std::string, domain_actor> domains;                 ///< by MD name
  std::map<std::string, ocsp_responder_actor> responders;      ///< by URL
  std::map<std::string, std::vector<std::string>> registered;  ///< owner -> keys registered
  std::map<std::string, std::vector<std::string>> owner_urls;  ///< owner -> URLs used
  bool started = false;
};

using ocsp_stapling_pointer = ocsp_stapling_actor::stateful_pointer<ocsp_stapling_state>;

ocsp_stapling_actor::behavior_type ocsp_stapling_behavior(ocsp_stapling_pointer self,
                                                          ocsp_stapling_config cfg);
ocsp_stapling_actor spawn_ocsp_stapling(caf::actor_system& sys, ocsp_stapling_config cfg);

} // namespace mda
