// Anti-replay nonces of one ACME server (RFC 8555 §6.5): every Replay-Nonce header feeds the
// pool, every signed request takes one. A nonce is handed out once; when the pool is empty
// the caller HEADs newNonce (whose answer feeds the pool again).
//
// - Thread-safe: requests to the same CA may run on several threads.
// - Bounded: past `capacity` the oldest nonce is dropped (servers expire old ones first);
//   take() hands out the newest.
// - Values that are not base64url (RFC 8555 §6.5.1) are ignored, as are repeats of a nonce
//   handed out recently.
//
// Not here: fetching new nonces, retrying on badNonce (the request layer does that).
#pragma once

#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>

#include "http/http_client.hpp"

namespace mda::acme {

class nonce_pool {
 public:
  explicit nonce_pool(std::size_t capacity = 16);

  /// Adds one nonce; returns false when it was refused (syntax, duplicate, already used).
  bool add(const std::string& nonce);
  /// Adds every Replay-Nonce of a response; returns how many were taken in.
  std::size_t add_from(const http_response& res);
  /// One unused nonce, or nothing (then HEAD newNonce).
  std::optional<std::string> take();

  std::size_t size() const;
  std::size_t capacity() const { return capacity_; }
  void clear();

 private:
  /// How many handed-out nonces are remembered to refuse their return.
  static constexpr std::size_t k_used_memory = 64;

  mutable std::mutex mu_;
  std::size_t capacity_;
  std::deque<std::string> fresh_; ///< oldest at the front
  std::deque<std::string> used_;  ///< recently handed out, oldest at the front
};

/// RFC 8555 §6.5.1: a nonce is a non-empty base64url string (no padding).
bool is_valid_nonce(const std::string& nonce);

} // namespace mda::acme
