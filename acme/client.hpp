// An ACME session with one CA (RFC 8555 §6, §7.1): the directory (fetched once and cached),
// anti-replay nonces, and signed requests.
//
// - Signed POST: a flattened JWS (core/jws.hpp) with "jwk" (newAccount, onlyReturnExisting) or
//   "kid" = the account URL (everything else), content type application/jose+json (§6.2).
// - POST-as-GET (§6.3): the same with an empty payload "".
// - Nonces (§6.5): every Replay-Nonce of every answer feeds the pool; an empty pool is refilled
//   by HEAD newNonce. badNonce is retried at once with the fresh nonce, at most
//   `max_bad_nonce_retries` times (§6.5: clients should retry).
// - Every non-2xx answer is a failure carrying the parsed problem (acme/problem.hpp): status,
//   type, detail, subproblems, Retry-After. A transport failure carries a problem too
//   (problem_from_error), so callers can `classify` every failure.
// - An observer (client_options::observe), when given, is told of every HTTP exchange with
//   the CA (directory, newNonce, POST, POST-as-GET, GET) with its result label
//   (acme/request_result.hpp), each badNonce attempt on its own; the engine counts them for
//   its metrics. The client itself keeps no counts.
// - Thread-safe: one client may be shared by several threads (the directory cache and the
//   nonce pool are locked; requests themselves run concurrently). No global state: time and
//   transport are injected.
//
// Not here: accounts, orders, authorizations (account.hpp, order.hpp, authz.hpp), redirects,
// retrying anything but badNonce (the caller classifies and waits).
#pragma once

#include <cassert>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include <nlohmann/json.hpp>

#include "acme/directory.hpp"
#include "acme/nonce_pool.hpp"
#include "acme/problem.hpp"
#include "acme/request_result.hpp"
#include "core/error.hpp"
#include "core/pkey.hpp"
#include "core/timefmt.hpp"
#include "http/errors.hpp"
#include "http/http_client.hpp"

namespace mda::acme {

/// Either a value, or a failure: an mda::error (code + message naming URL and step) and, when
/// the failure came from talking to the CA, the problem behind it.
template <class T>
class acme_result {
 public:
  acme_result(T value) : v_(std::move(value)) {}
  /// A failure of a request: error = to_error(p).
  acme_result(acme::problem p) : v_(fail{to_error(p), std::move(p)}) {}
  /// A failure without a CA answer to show (bad JSON, a key that does not sign, ...).
  acme_result(mda::error err) : v_(fail{std::move(err), std::nullopt}) {}
  acme_result(mda::error err, std::optional<acme::problem> p) : v_(fail{std::move(err), std::move(p)}) {}

  explicit operator bool() const noexcept { return v_.index() == 0; }
  bool ok() const noexcept { return v_.index() == 0; }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const mda::error& error() const { assert(!ok()); return std::get<1>(v_).err; }
  /// The CA's problem of a failure, if there was one.
  const std::optional<acme::problem>& prob() const { assert(!ok()); return std::get<1>(v_).prob; }

  /// The failure of this result carried into a result of another type.
  template <class U>
  acme_result<U> failure() const { return acme_result<U>(error(), prob()); }
  /// Drops the problem.
  expected<T> to_expected() && {
    if (ok()) return std::move(*this).value();
    return error();
  }

 private:
  struct fail {
    mda::error err;
    std::optional<acme::problem> prob;
  };
  std::variant<T, fail> v_;
};

/// An acme_result without a value.
using acme_status = acme_result<std::monostate>;

/// Who signs a request: the account key and, once the account exists, its URL ("kid").
/// An empty kid embeds the public JWK instead (§6.2).
struct signer {
  private_key key;
  std::string kid;
};

/// What a successful request returned, with its JSON body parsed when it had one.
struct acme_response {
  http_response http;
  nlohmann::json body; ///< null when the answer had no JSON body
};

/// Sleeps for a duration; injected so tests and the engine control waiting. The client
/// itself never sleeps; pollers (order.hpp, authz.hpp) do.
using sleep_fn = std::function<void(std::chrono::milliseconds)>;

/// A sleep_fn that really sleeps (std::this_thread::sleep_for).
sleep_fn real_sleep();

/// Which exchange a request_event is about.
enum class request_kind { directory, new_nonce, post, post_as_get, get };

/// One HTTP exchange of the client with its CA, as its observer is told of it.
struct request_event {
  const std::string& ca;   ///< the client's directory URL
  request_kind kind;
  std::string_view result; ///< one of request_result_labels()
};

/// Told of every exchange, on the thread that made it: several threads may call it at once.
using request_observer = std::function<void(const request_event&)>;

struct client_options {
  std::string directory_url;
  int max_bad_nonce_retries = 9; ///< extra attempts after badNonce (mod_md: max_retries 9)
  std::size_t nonce_capacity = 16;
  request_observer observe = {}; ///< empty = nobody is told
};

class client {
 public:
  client(std::shared_ptr<http_transport> transport, client_options opts,
         std::shared_ptr<const time_source> clock);

  /// The directory, fetched on first use and cached (a failed fetch is not cached).
  acme_result<directory> get_directory();
  /// Forgets the cached directory (e.g. after a CA maintenance answer).
  void reset_directory();

  /// Signed POST of JSON `payload` (§6.2). Non-2xx -> failure with its problem.
  acme_result<acme_response> post(const std::string& url, const nlohmann::json& payload,
                                  const signer& who);
  /// POST-as-GET (§6.3): signed, empty payload.
  acme_result<acme_response> post_as_get(const std::string& url, const signer& who);
  /// Unauthenticated GET (directory, renewalInfo). Non-2xx -> failure with its problem.
  acme_result<http_response> get(const std::string& url);

  const std::string& directory_url() const { return opts_.directory_url; }
  const time_source& clock() const { return *clock_; }
  nonce_pool& nonces() { return nonces_; }

 private:
  /// One nonce: from the pool, else HEAD newNonce.
  acme_result<std::string> next_nonce();
  acme_result<acme_response> signed_request(request_kind kind, const std::string& url,
                                            const std::string& payload, const signer& who);
  /// Tells the observer, if any, of one exchange.
  void report(request_kind kind, std::string_view result) const;
  /// Tells the observer of a failed exchange and gives its problem back.
  problem report(request_kind kind, problem p) const;

  std::shared_ptr<http_transport> transport_;
  client_options opts_;
  std::shared_ptr<const time_source> clock_;
  nonce_pool nonces_;
  std::mutex dir_mu_;
  std::optional<directory> dir_;
};

/// The JSON body of a response: empty bodies are null; a body that does not parse, or whose
/// media type is neither application/json nor application/problem+json nor absent, is an
/// acme_errc::bad_response error naming `step` and the URL.
expected<nlohmann::json> json_body(const http_response& res, const std::string& step);

/// The Retry-After of a response as an absolute time (delta seconds or HTTP-date).
std::optional<sys_time> retry_after_of(const http_response& res, sys_time now);

} // namespace mda::acme
