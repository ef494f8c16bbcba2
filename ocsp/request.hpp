// OCSP requests (RFC 6960 §4.1) for one certificate, the way mod_md asks, plus a nonce:
//
// - The CertID uses SHA-1 for the issuer name and key hashes, as mod_md (OCSP_cert_to_id
//   with a NULL digest) and most responders expect (RFC 5019 §2.1.1).
// - The request holds exactly that one CertID, is unsigned, and carries an RFC 8954 nonce
//   extension of 32 random bytes (the maximum RFC 8954 §2.1 allows).
// - The key mod_md files a certificate under: lowercase hex SHA-1 of its DER, used in
//   "ocsp-<key>.json" (store aspect::ocsp) and as mod_ssl's stapling id (reference §7).
// - The responder is the first AIA OCSP URL of the certificate (mod_md takes the first).
// Not here: sending (fetch.hpp), checking answers (response.hpp), GET requests (RFC 6960
// Appendix A.1; mod_md always POSTs), signed requests.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include <openssl/ocsp.h>

#include "core/error.hpp"
#include "core/x509.hpp"
#include "ocsp/errors.hpp"

namespace mda::ocsp {

/// RFC 8954 §2.1: a nonce is 1..32 octets; we send the maximum.
inline constexpr std::size_t k_nonce_length = 32;

/// The first AIA OCSP URL of `leaf`. Without one: ocsp_errc::no_responder with mod_md's text
/// "certificate with serial <SERIAL> has no OCSP responder URL" (such a certificate is not
/// stapled).
expected<std::string> responder_url(const certificate& leaf);

/// Lowercase hex SHA-1 of the certificate's DER (40 characters): mod_md's id of it.
expected<std::string> cert_key(const certificate& leaf);

/// A CertID (RFC 6960 §4.1.1) with SHA-1 hashes. Copies share the immutable OCSP_CERTID.
class cert_id {
 public:
  cert_id() = default;
  /// The CertID of `leaf` as issued by `issuer` (OCSP_cert_to_id). The issuer is not
  /// checked to be the leaf's issuer here; a wrong one simply never matches a response.
  static expected<cert_id> make(const certificate& leaf, const certificate& issuer);

  OCSP_CERTID* get() const { return id_.get(); }
  bool valid() const { return static_cast<bool>(id_); }
  /// The serial number in it, uppercase hex as BN_bn2hex ("1A2B"); "" when unreadable.
  std::string serial_hex() const;
  /// Same hash algorithm, issuer hashes and serial (OCSP_id_cmp).
  bool matches(const OCSP_CERTID* other) const;

 private:
  struct deleter {
    void operator()(OCSP_CERTID* p) const { OCSP_CERTID_free(p); }
  };
  std::shared_ptr<OCSP_CERTID> id_;
};

/// A DER OCSPRequest and what the response will be checked against.
struct request {
  cert_id id;
  std::string nonce; ///< the raw nonce octets (inside the extension's OCTET STRING)
  std::string der;   ///< the OCSPRequest, ready to POST as application/ocsp-request
};

/// Builds the request for `id`. `nonce` empty: k_nonce_length random bytes; otherwise that
/// nonce (1..32 octets, else ocsp_errc::request), for tests and replays.
expected<request> make_request(const cert_id& id, std::string nonce = {});

} // namespace mda::ocsp
