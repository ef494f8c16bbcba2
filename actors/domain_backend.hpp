// The blocking steps of a domain actor, behind one interface, so the actor's state machine is
// tested without a network or a store (a scripted backend) and runs for real against the
// store and the CA (store_domain_backend).
//
// Every method blocks and is called on a worker thread of the pool, never in an actor
// handler. Calls for different MDs run concurrently; calls for one MD never overlap (its
// actor waits for each answer). No exceptions: failures are values.
//
// store_domain_backend, against a mod_md store (reference §2.1, §2.4, §2.6):
// - load: the leaves of domains/<md> per slot (store/staging.hpp load_domain_leaves),
//   staging/<md>/job.json and order.json; a corrupt one is reported in `problems`, removed,
//   and the job starts over (md.json is not touched).
// - save_job / save_order: staging/<md>/job.json, order.json (atomic writes).
// - obtain: acme::obtain with the MD's challenge setup (challenges/ group files plus, for
//   `mdctl run`, the embedded responders, via `challenge_factory`). The certificate key is
//   kept in staging/<md>/privkey[.<curve>].pem before the CSR goes out, as mod_md does, and
//   taken from there by the next run: an order resumed past finalization (the process died
//   between the CSR and the download) is downloaded, not ordered again. With order_accounts
//   the order's account is kept beside it, and a resumed order of another account (another
//   server of the cluster started it) is continued with that account while the CA still
//   answers for it.
// - stage: write_staging (encrypted keys, pubcert files, md.json, job.json, account).
// - activate: activate_staging (staging -> domains, old set archived).
// - check_live: load_live_set of staging/<md> (keys decrypted, matched, names, validity).
// - run_command: core/process.hpp with the timeout.
// - fetch_ari: GET renewalInfo per leaf (acme/ari.hpp), a random point of each window.
// Not here: decisions (core/renewal.hpp), timers, retries (the actors).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "acme/account.hpp"
#include "acme/challenge.hpp"
#include "acme/order.hpp"
#include "core/job.hpp"
#include "core/md.hpp"
#include "core/process.hpp"
#include "core/renewal.hpp"
#include "core/x509.hpp"
#include "messages/domain.hpp"
#include "store/live.hpp"
#include "store/store.hpp"

namespace mda {

/// What a check reads of one MD.
struct domain_facts {
  std::vector<std::optional<certificate>> leaves; ///< domains/<md>, one per certificate slot
  std::vector<std::optional<certificate>> staged; ///< staging/<md>, one per key spec
  job renewal;                                    ///< staging/<md>/job.json, or a fresh job
  std::optional<acme_order_file> order;           ///< staging/<md>/order.json, when valid
  std::string staged_ca_url;                      ///< staging/<md>/md.json ca.url; "" = none
  std::vector<std::string> problems;              ///< corrupt files found (and removed)
};

/// mod_md's rule for setting up tls-alpn-01: not when no name of the MD allows the acme-tls/1
/// protocol (the next challenge type is tried; the text says why), but for a name without it
/// when others have it (it may be served by a virtual host we do not see). "" = go ahead.
std::string tls_alpn01_refusal(const std::vector<std::string>& acme_tls_1_domains, const std::string& identifier);

/// One certificate to order.
struct order_request {
  managed_domain md;
  key_spec spec;
  account_grant account;
  std::optional<certificate> predecessor;   ///< the current leaf of this spec (ARI replaces)
  std::optional<acme_order_file> resume;    ///< a pending order of a previous run
  acme::progress_fn progress;               ///< mod_md's progress texts (thread-safe sink)
  std::function<void(const acme_order_file&)> on_update; ///< persists order.json
  /// Runs before each challenge is set up (the challenge-setup:<type>:<dns> event); an error
  /// fails the setup. Empty = none.
  std::function<status(const acme::challenge_data&)> before_setup;
};

/// The result of a successful run, to stage.
struct staged_result {
  managed_domain md;                          ///< md.json for staging (ca.url = the CA used)
  std::vector<key_spec> specs;                ///< one per certificate, in order
  std::vector<acme::obtained_cert> certs;
  job renewal;                                ///< job.json as it stands (finished)
  std::string account_id;
};

class domain_backend {
 public:
  virtual ~domain_backend() = default;
  virtual expected<domain_facts> load(const managed_domain& md) = 0;
  virtual status save_job(const std::string& md_name, const job& j) = 0;
  virtual status save_order(const std::string& md_name, const acme_order_file& o) = 0;
  virtual acme::acme_result<acme::obtained_cert> obtain(const order_request& r) = 0;
  virtual status stage(const staged_result& r) = 0;
  virtual status activate(const managed_domain& md) = 0;
  /// The live check of staging/<md> (store/live.hpp load_live_set, at the time of the call):
  /// the fingerprints of the staged leaves to announce, or why the set may not be served.
  virtual expected<std::vector<std::string>> check_live(const live_expectation& want) = 0;
  /// Removes staging/<md> (after a CA switch or a failed stage).
  virtual status reset_staging(const std::string& md_name) = 0;
  virtual expected<process_result> run_command(const std::vector<std::string>& argv,
                                               std::chrono::milliseconds timeout) = 0;
  /// ARI (RFC 9773): renewalInfo of every present leaf at the CA, the earliest chosen time
  /// (with its window and the next fetch). nullopt when the CA offers no renewalInfo or no
  /// answer could be used.
  virtual std::optional<ari_hint> fetch_ari(const std::string& ca_url,
                                            const std::vector<std::optional<certificate>>& leaves) = 0;
};

/// Makes the challenge setup of one MD for an order (called on a worker thread).
using challenge_factory =
    std::function<std::shared_ptr<acme::challenge_setup>(store&, const managed_domain&)>;

/// The default: the store's challenges/ group (what Apache serves), dns-01 through the MD's
/// (or the global) MDChallengeDns01 program.
challenge_factory store_challenge_factory(std::string global_dns01_cmd, int dns01_version,
                                          std::chrono::milliseconds command_timeout);

/// An ACME session with a CA, for unauthenticated requests (ARI); called on a worker thread.
using client_factory =
    std::function<expected<std::shared_ptr<acme::client>>(const std::string& ca_url)>;

struct store_backend_options {
  challenge_factory challenges;              ///< required
  client_factory clients;                    ///< for ARI; empty = no ARI
  std::chrono::seconds poll_total{300};      ///< bound of each wait for the CA
  /// First wait of each poll (doubling up to 10 s, Retry-After honoured): short, since a CA
  /// usually validates and issues within milliseconds to a second.
  std::chrono::milliseconds poll_initial{10};
  /// For the automatic challenge choice (acme::effective_challenges): the server's
  /// reachability (httpd.json) and the global MDChallengeDns01.
  bool can_http = true;
  bool can_https = true;
  std::string dns01_cmd;
  /// MDActivation live: where a set that goes live is copied (store/live.hpp
  /// live_store_dir); null: not copied (the workers then load staging/ itself).
  std::shared_ptr<store> live_copies;
  /// MDStoreEtcd: keep the account of each order in staging (store/staging.hpp order_account)
  /// and resume an order with the account it belongs to, so a server taking an MD over
  /// finishes the order another server started instead of ordering again.
  bool order_accounts = false;
};

/// The real backend over a store (which must outlive it).
std::shared_ptr<domain_backend> make_store_backend(std::shared_ptr<store> st,
                                                   store_backend_options opts);

} // namespace mda
