#include "core/certgen.hpp"

#include <memory>

#include <openssl/bn.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "core/digest.hpp"
#include "core/ossl_ptr.hpp"

namespace mda {

namespace {

using x509_ptr = ossl_ptr<X509, X509_free>;

/// Serial bytes as mod_md draws them (mk_x509: 20 random bytes).
constexpr size_t k_serial_bytes = 20;
constexpr int k_seconds_per_day = 24 * 60 * 60;

status set_random_serial(X509* x) {
  auto rnd = random_bytes(k_serial_bytes);
  if (!rnd) return rnd.error();
  ossl_ptr<BIGNUM, BN_free> bn(
      BN_bin2bn(reinterpret_cast<const unsigned char*>(rnd->data()), static_cast<int>(rnd->size()), nullptr));
  if (!bn) return openssl_error("BN_bin2bn()");
  ossl_ptr<ASN1_INTEGER, ASN1_INTEGER_free> serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!serial) return openssl_error("BN_to_ASN1_INTEGER()");
  if (!X509_set_serialNumber(x, serial.get())) return openssl_error("X509_set_serialNumber()");
  return {};
}

status set_names(X509* x, const char* cn) {
  ossl_ptr<X509_NAME, X509_NAME_free> name(X509_NAME_new());
  if (!name) return openssl_error("X509_NAME_new()");
  if (!X509_NAME_add_entry_by_NID(name.get(), NID_commonName, MBSTRING_ASC,
                                  reinterpret_cast<const unsigned char*>(cn), -1, -1, 0))
    return openssl_error("X509_NAME_add_entry_by_NID(CN)");
  if (!X509_set_subject_name(x, name.get())) return openssl_error("X509_set_subject_name()");
  if (!X509_set_issuer_name(x, name.get())) return openssl_error("X509_set_issuer_name()");
  return {};
}

// notBefore = now, notAfter = now + the validity rounded up to whole days (mk_x509).
status set_validity(X509* x, sys_time now, std::chrono::hours validity) {
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(validity).count();
  auto days = static_cast<int>((secs + k_seconds_per_day - 1) / k_seconds_per_day);
  auto t = static_cast<time_t>(to_unix(now));
  if (!ASN1_TIME_set(X509_getm_notBefore(x), t)) return openssl_error("ASN1_TIME_set(notBefore)");
  if (!ASN1_TIME_adj(X509_getm_notAfter(x), t, days, 0)) return openssl_error("ASN1_TIME_adj(notAfter)");
  return {};
}

status add_extension(X509* x, expected<x509_extension_ptr> ext) {
  if (!ext) return ext.error();
  if (!X509_add_ext(x, ext->get(), -1)) return openssl_error("X509_add_ext()");
  return {};
}

// An extension from OpenSSL's configuration syntax; only for our own constant values.
status add_conf_extension(X509* x, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) return openssl_error(std::string("X509V3_EXT_conf_nid(") + OBJ_nid2sn(nid) + ")");
  return add_extension(x, x509_extension_ptr(ext));
}

expected<x509_extension_ptr> acme_identifier_extension(std::string_view key_authorization) {
  ossl_ptr<ASN1_OBJECT, ASN1_OBJECT_free> oid(OBJ_txt2obj(k_acme_identifier_oid, 1));
  if (!oid) return openssl_error("OBJ_txt2obj(id-pe-acmeIdentifier)");
  auto value = acme_identifier_value(key_authorization);
  ossl_ptr<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free> octets(ASN1_OCTET_STRING_new());
  if (!octets || !ASN1_OCTET_STRING_set(octets.get(), reinterpret_cast<const unsigned char*>(value.data()),
                                        static_cast<int>(value.size())))
    return openssl_error("ASN1_OCTET_STRING_set(acmeIdentifier)");
  X509_EXTENSION* ext = X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), 1, octets.get());
  if (!ext) return openssl_error("X509_EXTENSION_create_by_OBJ(acmeIdentifier)");
  return x509_extension_ptr(ext);
}

// What mk_x509 does: version, serial, names, basicConstraints, key, validity.
expected<x509_ptr> new_x509(const private_key& key, const char* cn, sys_time now,
                            std::chrono::hours validity) {
  x509_ptr x(X509_new());
  if (!x) return openssl_error("X509_new()");
  if (!X509_set_version(x.get(), X509_VERSION_3)) return openssl_error("X509_set_version()");
  if (auto st = set_random_serial(x.get()); !st) return st.error();
  if (auto st = set_names(x.get(), cn); !st) return st.error();
  if (auto st = add_conf_extension(x.get(), NID_basic_constraints, "critical,CA:FALSE"); !st)
    return st.error();
  if (!X509_set_pubkey(x.get(), key.get())) return openssl_error("X509_set_pubkey()");
  if (auto st = set_validity(x.get(), now, validity); !st) return st.error();
  return x;
}

expected<certificate> sign(x509_ptr x, const private_key& key, const EVP_MD* md) {
  if (X509_sign(x.get(), key.get(), md) <= 0) return openssl_error("X509_sign()");
  return certificate::adopt(x.release());
}

} // namespace

std::string acme_identifier_value(std::string_view key_authorization) {
  // DER OCTET STRING, tag 0x04, length 32 (X.690 §8.7).
  return std::string("\x04\x20", 2) + sha256(key_authorization);
}

expected<certificate> make_fallback_certificate(const private_key& key,
                                                const std::vector<std::string>& domains, sys_time now) {
  if (domains.empty())
    return error{crypto_errc::bad_encoding, "no domains for the fallback certificate"};
  auto md = signing_digest(key);
  if (!md) return md.error();
  auto x = new_x509(key, k_fallback_cn, now, k_fallback_validity);
  if (!x) return x.error();
  if (auto st = add_extension(x->get(), make_san_extension(domains)); !st) return st.error();
  if (auto st = add_conf_extension(x->get(), NID_key_usage, "critical,digitalSignature"); !st)
    return st.error();
  if (auto st = add_conf_extension(x->get(), NID_ext_key_usage, "serverAuth"); !st) return st.error();
  return sign(std::move(*x), key, *md);
}

expected<certificate> make_tls_alpn_01_certificate(const private_key& key, const std::string& identifier,
                                                   std::string_view key_authorization, sys_time now) {
  if (key_authorization.empty())
    return error{crypto_errc::bad_encoding, "no key authorization for the tls-alpn-01 certificate"};
  auto md = signing_digest(key);
  if (!md) return md.error();
  auto x = new_x509(key, k_tls_alpn_01_cn, now, k_tls_alpn_01_validity);
  if (!x) return x.error();
  if (auto st = add_extension(x->get(), make_san_extension({identifier})); !st) return st.error();
  if (auto st = add_extension(x->get(), acme_identifier_extension(key_authorization)); !st)
    return st.error();
  return sign(std::move(*x), key, *md);
}

} // namespace mda
