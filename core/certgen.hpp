// Self-signed certificates mod_md makes itself (md_crypt.c mk_x509 and its two users):
//
// - The fallback certificate (reference §4.1), served with "503 Service Unavailable" until an
//   MD has a real certificate: CN "Apache Managed Domain Fallback", SAN = all MD domains.
// - The tls-alpn-01 challenge certificate (RFC 8737 §3, reference §4.3): CN
//   "tls-alpn-01-challenge", SAN = the identifier, critical id-pe-acmeIdentifier holding
//   SHA-256 of the key authorization.
//
// Common to both, as mod_md makes them: v3; a random 20-byte serial (as a positive INTEGER,
// so leading zero bytes drop and a 0x00 sign byte may be added); subject = issuer = the CN
// alone; notBefore = now, notAfter = now + whole days; basicConstraints critical CA:FALSE as
// the first extension; signed with the certificate's own key, SHA-256 (no digest for
// Ed25519/Ed448). IP literals go into the SAN as iPAddress (RFC 8738 §3, §6) where mod_md
// writes every name as dNSName.
// Not here: where the files go (store), answering the handshake (the acme-tls/1 SNI name for an
// IP identifier is its reverse-DNS form, RFC 8738 §6 — the TLS glue handles that).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/csr.hpp"
#include "core/pkey.hpp"
#include "core/timefmt.hpp"
#include "core/x509.hpp"

namespace mda {

inline constexpr char k_fallback_cn[] = "Apache Managed Domain Fallback";
/// mod_md: md_cert_self_sign(..., apr_time_from_sec(14 * MD_SECS_PER_DAY)).
inline constexpr std::chrono::hours k_fallback_validity{14 * 24};

inline constexpr char k_tls_alpn_01_cn[] = "tls-alpn-01-challenge";
/// mod_md: md_cert_make_tls_alpn_01(..., apr_time_from_sec(7 * MD_SECS_PER_DAY)).
inline constexpr std::chrono::hours k_tls_alpn_01_validity{7 * 24};

/// id-pe-acmeIdentifier (RFC 8737 §6.1).
inline constexpr char k_acme_identifier_oid[] = "1.3.6.1.5.5.7.1.31";

/// The fallback certificate for `domains` (all names of the MD, in order), valid from `now`
/// for 14 days. Extensions in mod_md's order: basicConstraints=critical,CA:FALSE,
/// subjectAltName, keyUsage=critical,digitalSignature, extendedKeyUsage=serverAuth.
expected<certificate> make_fallback_certificate(const private_key& key,
                                                const std::vector<std::string>& domains, sys_time now);

/// The tls-alpn-01 certificate for one identifier (DNS name or IP literal), valid from `now`
/// for 7 days. Extensions: basicConstraints=critical,CA:FALSE, subjectAltName, and critical
/// id-pe-acmeIdentifier = acme_identifier_value(key_authorization).
expected<certificate> make_tls_alpn_01_certificate(const private_key& key, const std::string& identifier,
                                                   std::string_view key_authorization, sys_time now);

/// The extnValue of id-pe-acmeIdentifier: DER OCTET STRING of SHA-256(key authorization),
/// 04 20 <32 bytes> (RFC 8737 §3, "Authorization ::= OCTET STRING (SIZE (32))").
std::string acme_identifier_value(std::string_view key_authorization);

} // namespace mda
