#include "core/x509.hpp"

#include <arpa/inet.h>
#include <climits>
#include <ctime>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "core/base64.hpp"
#include "core/ossl_ptr.hpp"

namespace mda {

namespace {

using bio_ptr = ossl_ptr<BIO, BIO_free>;

std::string bio_text(BIO* b) {
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  return std::string(data, static_cast<size_t>(n));
}

// Certificates are never encrypted: refuse instead of letting OpenSSL prompt on a terminal
// for a PEM block that claims to be.
int no_passphrase(char*, int, int, void*) { return -1; }

// A time OpenSSL can read, clamped to what sys_time holds (notAfter 99991231235959Z, the
// RFC 5280 "no expiry" value, lies beyond a nanosecond time_point).
bool asn1_time_to_sys(const ASN1_TIME* t, sys_time& out) {
  std::tm tm{};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return false;
  std::int64_t secs = timegm(&tm);
  const auto lim = std::chrono::duration_cast<std::chrono::seconds>(sys_time::max().time_since_epoch());
  if (secs >= lim.count()) out = sys_time::max();
  else if (secs <= -lim.count()) out = sys_time::min();
  else out = from_unix(secs);
  return true;
}

// Wraps a freshly read X509 after checking what accessors later rely on.
expected<certificate> checked(X509* x, const std::string& source) {
  auto cert = certificate::adopt(x);
  sys_time t;
  if (!asn1_time_to_sys(X509_get0_notBefore(x), t) || !asn1_time_to_sys(X509_get0_notAfter(x), t))
    return error{crypto_errc::bad_encoding, source + ": the certificate's validity times do not parse"};
  return cert;
}

bool is_no_start_line(unsigned long e) {
  return ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
}

expected<bio_ptr> memory_bio(std::string_view text, const std::string& source) {
  if (text.size() > static_cast<size_t>(INT_MAX))
    return error{crypto_errc::bad_encoding, source + ": too large for a certificate"};
  bio_ptr b(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!b) return openssl_error("BIO_new_mem_buf()");
  return b;
}

// Reads the next certificate of a PEM text; an empty certificate means "no more blocks".
expected<certificate> next_pem_cert(BIO* b, const std::string& source) {
  ERR_clear_error();
  X509* x = PEM_read_bio_X509(b, nullptr, no_passphrase, nullptr);
  if (x) return checked(x, source);
  if (is_no_start_line(ERR_peek_last_error())) {
    ERR_clear_error();
    return certificate{};
  }
  return openssl_error(source + ": PEM_read_bio_X509()", crypto_errc::bad_encoding);
}

std::string ip_text(const ASN1_OCTET_STRING* ip) {
  char buf[INET6_ADDRSTRLEN] = {};
  int len = ASN1_STRING_length(ip);
  const unsigned char* data = ASN1_STRING_get0_data(ip);
  if (len == 4 && inet_ntop(AF_INET, data, buf, sizeof buf)) return buf;
  if (len == 16 && inet_ntop(AF_INET6, data, buf, sizeof buf)) return buf;
  return {};
}

std::string asn1_utf8(const ASN1_STRING* s) {
  unsigned char* out = nullptr;
  int n = ASN1_STRING_to_UTF8(&out, s);
  if (n < 0) return {};
  std::string text(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  OPENSSL_free(out);
  return text;
}

std::string name_oneline(const X509_NAME* name) {
  if (!name) return {};
  char* s = X509_NAME_oneline(name, nullptr, 0);
  if (!s) return {};
  std::string text(s);
  OPENSSL_free(s);
  return text;
}

// URLs of one access method in the Authority Information Access extension.
std::vector<std::string> aia_urls(X509* x, int method_nid) {
  std::vector<std::string> urls;
  if (!x) return urls;
  auto* aia = static_cast<AUTHORITY_INFO_ACCESS*>(X509_get_ext_d2i(x, NID_info_access, nullptr, nullptr));
  if (!aia) return urls;
  for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(aia); ++i) {
    const ACCESS_DESCRIPTION* ad = sk_ACCESS_DESCRIPTION_value(aia, i);
    if (OBJ_obj2nid(ad->method) == method_nid && ad->location && ad->location->type == GEN_URI)
      urls.push_back(asn1_utf8(ad->location->d.uniformResourceIdentifier));
  }
  AUTHORITY_INFO_ACCESS_free(aia);
  return urls;
}

std::string canonical_ip(const std::string& name) {
  unsigned char bytes[16];
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_pton(AF_INET, name.c_str(), bytes) == 1) return inet_ntop(AF_INET, bytes, buf, sizeof buf);
  if (inet_pton(AF_INET6, name.c_str(), bytes) == 1) return inet_ntop(AF_INET6, bytes, buf, sizeof buf);
  return {};
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace

// --- reading and writing ---------------------------------------------------------------------

certificate certificate::adopt(X509* x) { return certificate(x); }

expected<certificate> certificate::from_pem(std::string_view pem, const std::string& source) {
  auto b = memory_bio(pem, source);
  if (!b) return b.error();
  auto cert = next_pem_cert(b->get(), source);
  if (cert && !cert->valid())
    return error{crypto_errc::bad_encoding, source + ": no PEM certificate found"};
  return cert;
}

expected<certificate> certificate::from_der(std::string_view der, const std::string& source) {
  if (der.empty()) return error{crypto_errc::bad_encoding, source + ": no DER certificate data"};
  if (der.size() > static_cast<size_t>(LONG_MAX))
    return error{crypto_errc::bad_encoding, source + ": too large for a certificate"};
  const auto* start = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* p = start;
  ERR_clear_error();
  X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (!x) return openssl_error(source + ": d2i_X509()", crypto_errc::bad_encoding);
  auto rest = der.size() - static_cast<size_t>(p - start);
  if (rest > 0) {
    X509_free(x);
    return error{crypto_errc::bad_encoding,
                 source + ": " + std::to_string(rest) + " bytes follow the DER certificate"};
  }
  return checked(x, source);
}

expected<std::string> certificate::to_pem() const {
  if (!x_) return error{crypto_errc::bad_encoding, "no certificate to write"};
  bio_ptr b(BIO_new(BIO_s_mem()));
  if (!b || !PEM_write_bio_X509(b.get(), x_.get())) return openssl_error("PEM_write_bio_X509()");
  return bio_text(b.get());
}

expected<std::string> certificate::to_der() const {
  if (!x_) return error{crypto_errc::bad_encoding, "no certificate to write"};
  unsigned char* out = nullptr;
  int n = i2d_X509(x_.get(), &out);
  if (n <= 0) return openssl_error("i2d_X509()");
  std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  OPENSSL_free(out);
  return der;
}

expected<std::vector<certificate>> read_pem_chain(std::string_view pem, const std::string& source) {
  auto b = memory_bio(pem, source);
  if (!b) return b.error();
  std::vector<certificate> chain;
  for (;;) {
    auto cert = next_pem_cert(b->get(), source);
    if (!cert) return cert.error();
    if (!cert->valid()) break;
    chain.push_back(std::move(*cert));
  }
  if (chain.empty()) return error{crypto_errc::bad_encoding, source + ": no PEM certificate found"};
  return chain;
}

expected<std::string> write_pem_chain(const std::vector<certificate>& chain) {
  std::string out;
  for (const auto& cert : chain) {
    auto pem = cert.to_pem();
    if (!pem) return pem.error();
    out += *pem;
  }
  return out;
}

// --- inspection ------------------------------------------------------------------------------

sys_time certificate::not_before() const {
  sys_time t{};
  if (x_) asn1_time_to_sys(X509_get0_notBefore(x_.get()), t);
  return t;
}

sys_time certificate::not_after() const {
  sys_time t{};
  if (x_) asn1_time_to_sys(X509_get0_notAfter(x_.get()), t);
  return t;
}

std::string certificate::serial_hex() const {
  if (!x_) return {};
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x_.get()), nullptr);
  if (!bn) return {};
  char* hex = BN_bn2hex(bn);
  BN_free(bn);
  if (!hex) return {};
  std::string text(hex);
  OPENSSL_free(hex);
  return text;
}

std::string certificate::fingerprint_sha256() const {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!x_ || !X509_digest(x_.get(), EVP_sha256(), md, &len)) return {};
  return hex_lower(std::string_view(reinterpret_cast<char*>(md), len));
}

std::string certificate::issuer_name() const {
  return x_ ? name_oneline(X509_get_issuer_name(x_.get())) : std::string();
}

std::string certificate::subject_name() const {
  return x_ ? name_oneline(X509_get_subject_name(x_.get())) : std::string();
}

std::string certificate::subject_cn() const {
  if (!x_) return {};
  const X509_NAME* name = X509_get_subject_name(x_.get());
  int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (idx < 0) return {};
  return asn1_utf8(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx)));
}

std::vector<std::string> certificate::alt_names() const {
  std::vector<std::string> names;
  if (!x_) return names;
  auto* gens =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x_.get(), NID_subject_alt_name, nullptr, nullptr));
  if (!gens) return names;
  for (int i = 0; i < sk_GENERAL_NAME_num(gens); ++i) {
    const GENERAL_NAME* gen = sk_GENERAL_NAME_value(gens, i);
    if (gen->type == GEN_DNS) names.push_back(asn1_utf8(gen->d.dNSName));
    else if (gen->type == GEN_IPADD) {
      auto ip = ip_text(gen->d.iPAddress);
      if (!ip.empty()) names.push_back(ip);
    }
  }
  GENERAL_NAMES_free(gens);
  return names;
}

std::vector<std::string> certificate::ocsp_urls() const { return aia_urls(x_.get(), NID_ad_OCSP); }

std::vector<std::string> certificate::ca_issuers_urls() const {
  return aia_urls(x_.get(), NID_ad_ca_issuers);
}

bool certificate::must_staple() const {
  if (!x_) return false;
  auto* features = static_cast<TLS_FEATURE*>(X509_get_ext_d2i(x_.get(), NID_tlsfeature, nullptr, nullptr));
  if (!features) return false;
  bool found = false;
  for (int i = 0; i < sk_ASN1_INTEGER_num(features); ++i)
    if (ASN1_INTEGER_get(sk_ASN1_INTEGER_value(features, i)) == 5) found = true; // status_request
  TLS_FEATURE_free(features);
  return found;
}

bool certificate::is_self_signed() const {
  if (!x_) return false;
  bool yes = X509_self_signed(x_.get(), 1) == 1;
  ERR_clear_error();
  return yes;
}

bool certificate::matches_key(const private_key& key) const {
  if (!x_ || !key.valid()) return false;
  bool yes = X509_check_private_key(x_.get(), key.get()) == 1;
  ERR_clear_error();
  return yes;
}

bool certificate::same_as(const certificate& other) const {
  return x_ && other.x_ && X509_cmp(x_.get(), other.x_.get()) == 0;
}

bool dns_name_matches(std::string_view pattern, std::string_view name) {
  if (iequals(pattern, name)) return true;
  if (pattern.size() > 2 && pattern[0] == '*' && pattern[1] == '.') {
    auto dot = name.find('.');
    if (dot != std::string_view::npos && dot > 0 && iequals(pattern.substr(1), name.substr(dot)))
      return true;
  }
  return false;
}

bool is_ip_literal(const std::string& name) { return !canonical_ip(name).empty(); }

bool certificate::covers(const std::vector<std::string>& names) const {
  const auto sans = alt_names();
  if (sans.empty()) return false;
  for (const auto& name : names) {
    auto ip = canonical_ip(name);
    bool covered = false;
    for (const auto& san : sans) {
      if (ip.empty() ? dns_name_matches(san, name) : san == ip) {
        covered = true;
        break;
      }
    }
    if (!covered) return false;
  }
  return true;
}

expected<std::string> certificate::ari_cert_id() const {
  if (!x_) return error{crypto_errc::unsupported, "no certificate for an ARI identifier"};
  const ASN1_OCTET_STRING* kid = X509_get0_authority_key_id(x_.get());
  ERR_clear_error();
  if (!kid || ASN1_STRING_length(kid) <= 0)
    return error{crypto_errc::unsupported,
                 "the certificate has no authority key identifier (RFC 9773 §4.1 needs one)"};
  unsigned char* der = nullptr;
  int n = i2d_ASN1_INTEGER(X509_get0_serialNumber(x_.get()), &der);
  if (n <= 0) return openssl_error("i2d_ASN1_INTEGER()");
  std::string serial(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  // Skip tag (0x02) and length: short form, or 0x8N followed by N length octets (X.690 §8.1.3).
  size_t header = 2;
  auto len0 = static_cast<unsigned char>(serial.size() > 1 ? serial[1] : 0);
  if (len0 & 0x80) header += len0 & 0x7f;
  if (serial.size() <= header) return error{crypto_errc::bad_encoding, "the serial number is empty"};
  std::string_view key_id(reinterpret_cast<const char*>(ASN1_STRING_get0_data(kid)),
                          static_cast<size_t>(ASN1_STRING_length(kid)));
  return base64url_encode(key_id) + "." + base64url_encode(std::string_view(serial).substr(header));
}

} // namespace mda
