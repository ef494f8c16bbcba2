// X.509 certificates: reading and writing (PEM, DER, PEM chains) and the inspection mod_md
// needs for renewal decisions, status output, OCSP and ARI.
//
// - Validity, serial (BN_bn2hex form, what md.json and md-status show), SHA-256 fingerprint,
//   issuer name (X509_NAME_oneline), subject CN, subjectAltNames, AIA (OCSP and caIssuers URLs),
//   the must-staple TLS feature (RFC 7633), self-signature, key match.
// - Name coverage with mod_md's wildcard rule (md_dns_matches): "*.x.y" covers exactly one more
//   label, never "x.y" itself; IP literals (RFC 8738) compare as addresses.
// - The ARI certificate identifier of RFC 9773 §4.1.
// Not here: chain verification against trust stores, revocation, OCSP (see the ocsp module),
// certificate creation (csr.hpp, certgen.hpp).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/x509.h>

#include "core/error.hpp"
#include "core/ossl_ptr.hpp"
#include "core/pkey.hpp"
#include "core/timefmt.hpp"

namespace mda {

/// A parsed certificate. Copies share the underlying X509, which is never modified after
/// creation, so copies may be used from several threads.
class certificate {
 public:
  certificate() = default;

  /// The first "BEGIN CERTIFICATE" block of `pem` (other PEM blocks before it are skipped).
  /// Errors (crypto_errc::bad_encoding) start with `source`, the file or origin of the text.
  static expected<certificate> from_pem(std::string_view pem, const std::string& source);
  /// Exactly one DER certificate; trailing bytes are an error.
  static expected<certificate> from_der(std::string_view der, const std::string& source);
  /// Wraps an X509, taking ownership (for freshly built certificates).
  static certificate adopt(X509* x);

  expected<std::string> to_pem() const;
  expected<std::string> to_der() const;

  bool valid() const { return static_cast<bool>(x_); }
  X509* get() const { return x_.get(); }

  /// Validity bounds. Certificates read by from_pem/from_der always have readable times;
  /// for an adopted one with unreadable times these return the epoch.
  sys_time not_before() const;
  sys_time not_after() const;

  /// Serial number as uppercase hex without leading zeros, BN_bn2hex style ("87654321",
  /// "-1F" for a negative one, "0" for zero).
  std::string serial_hex() const;
  /// SHA-256 of the DER encoding, lowercase hex (64 characters).
  std::string fingerprint_sha256() const;
  /// Issuer as X509_NAME_oneline prints it: "/C=US/O=Example/CN=Example CA".
  std::string issuer_name() const;
  /// Subject as X509_NAME_oneline prints it.
  std::string subject_name() const;
  /// The first commonName of the subject, "" when there is none.
  std::string subject_cn() const;
  /// subjectAltName DNS names (as written) and IP addresses as text: IPv4 dotted,
  /// IPv6 in RFC 5952 form ("2001:db8::1"). Other name types are left out.
  std::vector<std::string> alt_names() const;
  /// Authority Information Access URLs (RFC 5280 §4.2.2.1), in certificate order.
  std::vector<std::string> ocsp_urls() const;
  std::vector<std::string> ca_issuers_urls() const;
  /// True when the TLS feature extension (RFC 7633, 1.3.6.1.5.5.7.1.24) lists
  /// status_request (5): the "must-staple" flag.
  bool must_staple() const;
  /// Issuer equals subject and the signature verifies with the certificate's own key.
  bool is_self_signed() const;
  /// True when `key` is the private half of the certificate's public key.
  bool matches_key(const private_key& key) const;
  /// True when every name is covered by a subjectAltName (wildcards as md_dns_matches, IP
  /// literals compared in canonical form). A certificate without SANs covers nothing.
  bool covers(const std::vector<std::string>& names) const;
  /// The same certificate (X509_cmp).
  bool same_as(const certificate& other) const;

  /// RFC 9773 §4.1 certificate identifier: base64url(AKI keyIdentifier) "." base64url(the
  /// content octets of the DER serial INTEGER, a leading 0x00 included when present).
  /// Fails (crypto_errc::unsupported) when the certificate has no AKI keyIdentifier.
  expected<std::string> ari_cert_id() const;

 private:
  explicit certificate(X509* x) : x_(x, ossl_free<X509, X509_free>{}) {}
  std::shared_ptr<X509> x_;
};

/// Reads a PEM chain, leaf first, as written by the CA (RFC 8555 §7.4.2) or found in
/// pubcert.pem. Non-certificate PEM blocks are skipped. No certificate at all, or a damaged
/// block, is an error naming `source`.
expected<std::vector<certificate>> read_pem_chain(std::string_view pem, const std::string& source);

/// The chain as concatenated PEM blocks, in the given order.
expected<std::string> write_pem_chain(const std::vector<certificate>& chain);

/// mod_md's name match (md_dns_matches): equal ignoring case, or `pattern` "*.rest" and
/// `name` one label followed by ".rest".
bool dns_name_matches(std::string_view pattern, std::string_view name);

/// True for an IPv4 or IPv6 address literal ("192.0.2.1", "2001:db8::1").
bool is_ip_literal(const std::string& name);

} // namespace mda
