// ACME authorizations (RFC 8555 §7.1.4, §7.5): parsing, choosing a challenge, responding,
// polling, and the poll schedule shared with the order.
//
// - valid -> nothing to do; invalid -> fail with the challenge's error (type and detail);
//   pending -> choose, set up (challenge_setup), POST {} to the challenge (§7.5.1), poll.
// - Choice, as mod_md's md_acme_authz_respond but with the limits of the identifier: walk the
//   configured types (or the automatic list tls-alpn-01, http-01, dns-01) IN ORDER and keep
//   those the CA offers, the setup supports, and the identifier allows (a wildcard only dns-01,
//   RFC 8555 §7.1.3; an IP only http-01 / tls-alpn-01, RFC 8738 §7). When one fails to set up,
//   the next is tried. None left -> mod_md's "challenge-mismatch" problem.
// - Polling (§7.5.1): the authorization is re-fetched with a backoff (100 ms doubling to 10 s,
//   as mod_md), or at the server's Retry-After, within a bounded total wait (300 s default).
//
// Not here: putting answers in place (challenge_setup implementations), orders (order.hpp).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "acme/challenge.hpp"
#include "acme/client.hpp"
#include "acme/problem.hpp"
#include "core/timefmt.hpp"

namespace mda::acme {

/// Problem types of our own (mod_md's ids, as job.json shows them).
inline constexpr const char* k_problem_challenge_mismatch = "challenge-mismatch";
inline constexpr const char* k_problem_challenge_setup = "challenge-setup-failure";

/// One challenge of an authorization (§8).
struct acme_challenge {
  std::string type;   ///< as sent ("http-01", "tls-alpn-01", "dns-01", others kept)
  std::string url;
  std::string token;
  std::string status; ///< "pending", "processing", "valid", "invalid"
  std::optional<problem> error;
};

struct authorization {
  std::string url;
  identifier ident;   ///< for a wildcard: the base domain (§7.1.4)
  std::string status; ///< "pending", "valid", "invalid", "deactivated", "expired", "revoked"
  std::optional<sys_time> expires;
  bool wildcard = false;
  std::vector<acme_challenge> challenges;
};

/// Parses an authorization object fetched from `url`; missing identifier/status/challenges
/// -> acme_errc::bad_response naming the URL.
expected<authorization> parse_authorization(const std::string& url, const nlohmann::json& j);

/// An RFC 7807 problem object embedded in an authorization's challenge or an order ("error").
problem problem_from_object(const nlohmann::json& e, const std::string& url);

/// mod_md's automatic list: tls-alpn-01, http-01, dns-01.
std::vector<challenge_type> default_challenge_types();

/// What the server can answer, for the automatic choice below.
struct challenge_abilities {
  bool can_http = true;        ///< reachable on (mapped) port 80
  bool can_https = true;       ///< reachable on (mapped) port 443
  bool acme_tls_1 = false;     ///< some https vhost of the MD allows the acme-tls/1 protocol
  bool dns01_command = false;  ///< MDChallengeDns01 is configured (globally or for the MD)
};

/// The challenge types an MD's orders may use (mod_md's ACME driver init): MDCAChallenges as
/// configured, unfiltered (unknown names skipped, which may leave none: then every
/// authorization fails with challenge-mismatch); without it default_challenge_types()
/// minus http-01 when !can_http, tls-alpn-01 when !can_https or without acme-tls/1, dns-01
/// without a command. Nothing left: an error (acme_errc::config) saying why each type was
/// dropped; neither port reachable and no dns-01 command: mod_md's MDPortMap advice.
expected<std::vector<challenge_type>> effective_challenges(const std::vector<std::string>& configured,
                                                           const challenge_abilities& can);

/// The challenge types an authorization may use: MDCAChallenges as understood (names we do
/// not know dropped, so "invalid-01" alone leaves none and every authorization fails with
/// challenge-mismatch, as with mod_md), or nullopt: default_challenge_types().
using challenge_choice = std::optional<std::vector<challenge_type>>;

/// The challenges to try, in order of preference (indices into a.challenges). Only
/// pending/processing challenges of known types count. `supported` tells whether the setup
/// can answer a type.
std::vector<std::size_t> choose_challenges(const authorization& a, const challenge_choice& configured,
                                           const std::function<bool(challenge_type)>& supported);

/// "None of offered challenge types for domain %s are supported. The server offered '%s' and
/// available are: '%s'." — offered and available as space-separated lists.
std::string challenge_mismatch_message(const authorization& a,
                                       const std::vector<challenge_type>& available);

/// How to poll: backoff between attempts and the total bound.
struct poll_policy {
  std::chrono::milliseconds initial{100};
  std::chrono::milliseconds max_delay{std::chrono::seconds(10)};
  std::chrono::milliseconds total{std::chrono::seconds(300)};
};

/// The wait before poll number `attempt` (0-based): min(initial * 2^attempt, max_delay), or the
/// time until `retry_after` when the server gave one (never less than `initial`), cut to what
/// is left of the total. nullopt when nothing is left (`waited` >= total).
std::optional<std::chrono::milliseconds> next_poll_delay(const poll_policy& p, int attempt,
                                                         std::chrono::milliseconds waited,
                                                         std::optional<sys_time> retry_after,
                                                         sys_time now);

/// Waits between polls of one resource: next_poll_delay over the sleeps done and the
/// monotonic time passed, whichever is larger.
class poller {
 public:
  poller(poll_policy p, const time_source& clock, sleep_fn sleep);
  /// Sleeps before the next poll; false (without sleeping) when the total wait is used up.
  bool wait(std::optional<sys_time> retry_after);
  int attempts() const { return attempt_; }

 private:
  poll_policy policy_;
  const time_source& clock_;
  sleep_fn sleep_;
  mono_time start_;
  std::chrono::milliseconds slept_{0};
  int attempt_ = 0;
};

/// Progress texts, mod_md's where they exist ("Setting up challenge 'http-01' for domain D").
using progress_fn = std::function<void(const std::string&)>;

/// What authorizing needs besides client and account.
struct authz_context {
  challenge_setup* setup = nullptr;           ///< required
  challenge_choice challenges;                ///< configured types; nullopt = automatic
  std::string md_name;                        ///< for challenge_data and messages
  poll_policy poll;
  sleep_fn sleep;                             ///< empty = real_sleep()
  progress_fn progress;                       ///< optional
  /// Called with "http-01:<dns>" / "dns-01:<dns> <token>" when a challenge was set up (for
  /// order.json "challenge-setups", so a restarted engine can tear it down).
  std::function<void(const std::string&)> on_setup;
};

/// "http-01:<dns>", "tls-alpn-01:<dns>", "dns-01:<dns> <token>" (order.json challenge-setups).
std::string challenge_setup_entry(const challenge_data& c);

/// The data to hand to challenge_setup for challenge `ch` of `a`.
expected<challenge_data> make_challenge_data(const authorization& a, const acme_challenge& ch,
                                             const private_key& account_key,
                                             const std::string& md_name);

/// An authorization on its way to valid: answered (a challenge set up and the CA told), or
/// valid already (no answer).
struct started_authz {
  authorization authz;                ///< as fetched before answering
  std::optional<challenge_data> answer; ///< the challenge set up, to tear down afterwards
  std::optional<sys_time> retry_after;  ///< of the CA's reply to the challenge POST
};

/// First half of authorize(): fetch; valid -> done; invalid -> failure with the challenge
/// error; pending -> choose a challenge, set it up, POST {} (RFC 8555 §7.5.1). The setup stays
/// until finish_authorization or abandon_authorization; on failure nothing stays set up. An
/// order starts all its authorizations first and then waits for them, as mod_md does, so the
/// CA validates them at the same time. `check` (optional) looks at the fetched authorization
/// before anything is set up; a non-empty answer is the failure (acme_errc::bad_response).
acme_result<started_authz> start_authorization(
  client& c, const signer& who, const std::string& authz_url, const authz_context& ctx,
  const std::function<std::string(const authorization&)>& check = {});

/// Second half: polls until the authorization leaves pending/processing (failure with the
/// challenge error unless valid), then tears the setup down.
acme_result<authorization> finish_authorization(client& c, const signer& who, const started_authz& started,
                                                const authz_context& ctx);

/// Tears the setup of a started authorization down without waiting for it (another one of
/// the order failed).
void abandon_authorization(const started_authz& started, const authz_context& ctx);

/// Both halves for one authorization.
acme_result<authorization> authorize(client& c, const signer& who, const std::string& authz_url,
                                     const authz_context& ctx);

} // namespace mda::acme
