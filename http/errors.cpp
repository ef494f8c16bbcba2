#include "http/errors.hpp"

#include <string>

namespace mda::acme {

namespace {

class acme_category_impl : public std::error_category {
 public:
  const char* name() const noexcept override { return "mdactor.acme"; }
  std::string message(int ev) const override {
    switch (static_cast<acme_errc>(ev)) {
      case acme_errc::ok: return "ok";
      case acme_errc::bad_url: return "bad URL";
      case acme_errc::config: return "unusable transport configuration";
      case acme_errc::connection: return "connection failed";
      case acme_errc::timeout: return "timed out";
      case acme_errc::tls: return "TLS failure";
      case acme_errc::body_too_large: return "response body too large";
      case acme_errc::bad_response: return "unusable response";
      case acme_errc::obsolete: return "obsolete ACME version";
      case acme_errc::again: return "try again";
      case acme_errc::invalid: return "invalid request";
      case acme_errc::unauthorized: return "unauthorized";
      case acme_errc::not_found: return "not found";
      case acme_errc::rate_limited: return "rate limited";
      case acme_errc::server: return "ACME server error";
    }
    return "unknown ACME error";
  }
};

} // namespace

const std::error_category& acme_category() noexcept {
  static const acme_category_impl instance;
  return instance;
}

std::error_code make_error_code(acme_errc e) noexcept {
  return {static_cast<int>(e), acme_category()};
}

} // namespace mda::acme
