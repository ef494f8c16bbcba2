// Errors of the pure core: a std::error_code from a small per-area enum plus a message that
// names the culprit (a file, a value, a library call), and expected<T> carrying either.
//
// Each area declares its own enum and category (config_errc in config_values.hpp,
// crypto_errc here, store_errc in store/store.hpp). The engine maps them onto caf::error
// at its boundary; the core itself knows nothing of CAF and throws nothing across its API.
#pragma once

#include <cassert>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

namespace mda {

/// What went wrong in cryptographic and encoding work.
enum class crypto_errc {
  ok = 0,
  bad_encoding = 1,   ///< base64, PEM or DER that does not decode
  bad_key = 2,        ///< a key that cannot be read, or of the wrong kind for the operation
  bad_passphrase = 3, ///< an encrypted key that does not open with the given secret
  unsupported = 4,    ///< a key type, curve or algorithm that is not available
  library = 5,        ///< an OpenSSL call failed; the message names it
};

const std::error_category& crypto_category() noexcept;
std::error_code make_error_code(crypto_errc e) noexcept;

/// An error: what kind (code) and a message for humans naming the culprit.
struct error {
  std::error_code code;
  std::string message;

  error() = default;
  error(std::error_code c, std::string msg) : code(c), message(std::move(msg)) {}
  template <class Enum, class = std::enable_if_t<std::is_error_code_enum<Enum>::value>>
  error(Enum e, std::string msg) : code(make_error_code(e)), message(std::move(msg)) {}

  /// The message prefixed with context, e.g. prefixed("md.json") -> "md.json: <message>".
  error prefixed(const std::string& context) const { return {code, context + ": " + message}; }
};

/// Either a value or an error. A deliberately small cousin of std::expected (C++23).
template <class T>
class expected {
 public:
  expected(T value) : v_(std::move(value)) {}
  expected(mda::error err) : v_(std::move(err)) {}

  explicit operator bool() const noexcept { return v_.index() == 0; }
  bool ok() const noexcept { return v_.index() == 0; }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const mda::error& error() const { assert(!ok()); return std::get<1>(v_); }

 private:
  std::variant<T, mda::error> v_;
};

/// Success or an error, for operations without a value.
class status {
 public:
  status() = default;
  status(mda::error err) : err_(std::move(err)), failed_(true) {}
  explicit operator bool() const noexcept { return !failed_; }
  bool ok() const noexcept { return !failed_; }
  const mda::error& error() const { assert(failed_); return err_; }

 private:
  mda::error err_;
  bool failed_ = false;
};

/// The last OpenSSL error queue entry as text, queue cleared; "" when empty.
std::string openssl_error_text();

/// An error for a failed OpenSSL call: "<call> failed[: <openssl reason>]".
error openssl_error(const std::string& call, crypto_errc code = crypto_errc::library);

} // namespace mda

namespace std {
template <>
struct is_error_code_enum<mda::crypto_errc> : true_type {};
} // namespace std
