// Certificate signing requests (PKCS#10) for an ACME order's finalize call (RFC 8555 §7.4).
//
// What mod_md puts in a CSR (md_cert_req_create), and so do we:
// - every name as subjectAltName: dNSName, or iPAddress for an IP literal (RFC 8738 §3);
// - subject CN = the first name, only when it is shorter than 64 characters (longer names
//   are left to the CA, mod_md issue #227); no other subject fields;
// - with must-staple, the TLS feature extension (RFC 7633, 1.3.6.1.5.5.7.1.24) holding
//   status_request: value DER 30 03 02 01 05, not critical;
// - signed with SHA-256, or with no separate digest for Ed25519/Ed448 keys.
// Also here, shared with certgen: the subjectAltName extension for a name list and the
// signing digest for a key.
// Not here: choosing the names (md_dns_make_minimal is the order's job), sending the CSR.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <openssl/x509.h>

#include "core/error.hpp"
#include "core/ossl_ptr.hpp"
#include "core/pkey.hpp"

namespace mda {

/// A signed CSR in the two forms it travels in.
struct certificate_request {
  std::string der; ///< ACME finalize sends base64url(der) as "csr"
  std::string pem; ///< "BEGIN CERTIFICATE REQUEST", for logs and `openssl req`

  std::string der_base64url() const;
};

/// Longest name still placed in the subject CN (mod_md: strlen < 64, the X.520 upper bound).
inline constexpr size_t k_csr_cn_max = 63;

/// A CSR for `key` and `names` (first name first). Errors: no names, a name that cannot go
/// into a certificate (crypto_errc::bad_encoding), a key that cannot sign
/// (crypto_errc::unsupported), and failed OpenSSL calls named.
expected<certificate_request> make_csr(const private_key& key, const std::vector<std::string>& names,
                                       bool must_staple);

// --- building blocks shared with certgen ---

using x509_extension_ptr = ossl_ptr<X509_EXTENSION, X509_EXTENSION_free>;

/// A non-critical subjectAltName extension with one entry per name: dNSName, or iPAddress for
/// an IP literal (RFC 8738 §3). Empty lists, empty names and names outside printable ASCII
/// (IDNs must come as punycode) are errors (crypto_errc::bad_encoding).
expected<x509_extension_ptr> make_san_extension(const std::vector<std::string>& names);

/// The digest to sign certificates and CSRs with: SHA-256, none (nullptr) for Ed25519/Ed448
/// as mod_md does. Keys that cannot sign (X25519, X448) give crypto_errc::unsupported.
expected<const EVP_MD*> signing_digest(const private_key& key);

} // namespace mda
