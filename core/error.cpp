#include "core/error.hpp"

#include <openssl/err.h>

namespace mda {

namespace {

class crypto_category_impl : public std::error_category {
 public:
  const char* name() const noexcept override { return "mdactor.crypto"; }
  std::string message(int ev) const override {
    switch (static_cast<crypto_errc>(ev)) {
      case crypto_errc::ok: return "ok";
      case crypto_errc::bad_encoding: return "bad encoding";
      case crypto_errc::bad_key: return "bad key";
      case crypto_errc::bad_passphrase: return "wrong passphrase";
      case crypto_errc::unsupported: return "unsupported";
      case crypto_errc::library: return "crypto library failure";
    }
    return "unknown crypto error";
  }
};

} // namespace

const std::error_category& crypto_category() noexcept {
  static const crypto_category_impl instance;
  return instance;
}

std::error_code make_error_code(crypto_errc e) noexcept {
  return {static_cast<int>(e), crypto_category()};
}

std::string openssl_error_text() {
  std::string text;
  unsigned long code;
  // Keep the last (most specific) entry, drain the rest so they do not leak into later calls.
  while ((code = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    text = buf;
  }
  return text;
}

error openssl_error(const std::string& call, crypto_errc code) {
  auto reason = openssl_error_text();
  return {code, reason.empty() ? call + " failed" : call + " failed: " + reason};
}

} // namespace mda
