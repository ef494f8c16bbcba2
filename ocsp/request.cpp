#include "ocsp/request.hpp"

#include <openssl/bn.h>
#include <openssl/crypto.h>

#include "core/base64.hpp"
#include "core/digest.hpp"
#include "core/ossl_ptr.hpp"

namespace mda::ocsp {

expected<std::string> responder_url(const certificate& leaf) {
  auto urls = leaf.ocsp_urls();
  if (urls.empty())
    return error(ocsp_errc::no_responder,
                 "certificate with serial " + leaf.serial_hex() + " has no OCSP responder URL");
  return urls.front();
}

expected<std::string> cert_key(const certificate& leaf) {
  auto der = leaf.to_der();
  if (!der) return der.error();
  return hex_lower(sha1(*der));
}

expected<cert_id> cert_id::make(const certificate& leaf, const certificate& issuer) {
  if (!leaf.valid() || !issuer.valid())
    return error(ocsp_errc::request, "OCSP_cert_to_id() failed: no certificate given");
  OCSP_CERTID* raw = OCSP_cert_to_id(nullptr, leaf.get(), issuer.get());
  if (!raw) {
    auto e = openssl_error("OCSP_cert_to_id()");
    return error(ocsp_errc::request, e.message);
  }
  cert_id id;
  id.id_.reset(raw, deleter{});
  return id;
}

std::string cert_id::serial_hex() const {
  if (!id_) return "";
  ASN1_INTEGER* serial = nullptr;
  if (!OCSP_id_get0_info(nullptr, nullptr, nullptr, &serial, id_.get()) || !serial) return "";
  BIGNUM* bn = ASN1_INTEGER_to_BN(serial, nullptr);
  if (!bn) return "";
  char* hex = BN_bn2hex(bn);
  std::string out = hex ? hex : "";
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

bool cert_id::matches(const OCSP_CERTID* other) const {
  return id_ && other && OCSP_id_cmp(id_.get(), other) == 0;
}

namespace {


error request_failure(const std::string& call) {
  return error(ocsp_errc::request, openssl_error(call).message);
}

} // namespace

expected<request> make_request(const cert_id& id, std::string nonce) {
  if (!id.valid()) return error(ocsp_errc::request, "no CertID for the OCSP request");
  if (nonce.empty()) {
    auto bytes = random_bytes(k_nonce_length);
    if (!bytes) return error(ocsp_errc::request, bytes.error().message);
    nonce = std::move(*bytes);
  } else if (nonce.size() > k_nonce_length) {
    return error(ocsp_errc::request, "an OCSP nonce has 1 to 32 octets, not " +
                                         std::to_string(nonce.size()) + " (RFC 8954)");
  }
  ossl_ptr<OCSP_REQUEST, OCSP_REQUEST_free> req(OCSP_REQUEST_new());
  if (!req) return request_failure("OCSP_REQUEST_new()");
  OCSP_CERTID* copy = OCSP_CERTID_dup(id.get());
  if (!copy) return request_failure("OCSP_CERTID_dup()");
  if (!OCSP_request_add0_id(req.get(), copy)) {
    OCSP_CERTID_free(copy);
    return request_failure("OCSP_request_add0_id()");
  }
  // With a value, OpenSSL wraps it in an OCTET STRING: Nonce ::= OCTET STRING (RFC 8954).
  auto* val = reinterpret_cast<unsigned char*>(nonce.data());
  if (!OCSP_request_add1_nonce(req.get(), val, static_cast<int>(nonce.size())))
    return request_failure("OCSP_request_add1_nonce()");
  unsigned char* der = nullptr;
  int len = i2d_OCSP_REQUEST(req.get(), &der);
  if (len <= 0) return request_failure("i2d_OCSP_REQUEST()");
  request out{id, std::move(nonce), std::string(reinterpret_cast<char*>(der), static_cast<size_t>(len))};
  OPENSSL_free(der);
  return out;
}

} // namespace mda::ocsp
