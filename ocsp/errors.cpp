#include "ocsp/errors.hpp"

namespace mda::ocsp {

namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ocsp"; }
  std::string message(int v) const override {
    switch (static_cast<ocsp_errc>(v)) {
      case ocsp_errc::ok: return "success";
      case ocsp_errc::no_responder: return "no OCSP responder";
      case ocsp_errc::request: return "OCSP request not built";
      case ocsp_errc::bad_response: return "not an OCSP response";
      case ocsp_errc::unsuccessful: return "OCSP response unsuccessful";
      case ocsp_errc::nonce_mismatch: return "OCSP nonce mismatch";
      case ocsp_errc::no_status: return "no status for the certificate";
      case ocsp_errc::bad_signature: return "OCSP response signature not acceptable";
      case ocsp_errc::bad_time: return "OCSP response not current";
      case ocsp_errc::cert_unknown: return "certificate unknown to the responder";
    }
    return "unknown ocsp error";
  }
};

} // namespace

const std::error_category& ocsp_category() noexcept {
  static const category c;
  return c;
}

std::error_code make_error_code(ocsp_errc e) noexcept {
  return {static_cast<int>(e), ocsp_category()};
}

std::string responder_suffix(const std::string& url) {
  return " (OCSP responder '" + url + "')";
}

error responder_error(ocsp_errc code, const std::string& what, const std::string& url) {
  return error(code, what + responder_suffix(url));
}

} // namespace mda::ocsp
