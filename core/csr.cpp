#include "core/csr.hpp"

#include <memory>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "core/base64.hpp"
#include "core/ossl_ptr.hpp"
#include "core/x509.hpp"

namespace mda {

namespace {

struct exts_deleter {
  void operator()(STACK_OF(X509_EXTENSION)* s) const { sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free); }
};
using exts_ptr = std::unique_ptr<STACK_OF(X509_EXTENSION), exts_deleter>;

// RFC 7633 §6: TLSFeature ::= SEQUENCE OF INTEGER, here { 5 } (status_request, RFC 6066).
constexpr char k_must_staple_der[] = "\x30\x03\x02\x01\x05";

expected<x509_extension_ptr> must_staple_extension() {
  ossl_ptr<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free> value(ASN1_OCTET_STRING_new());
  if (!value || !ASN1_OCTET_STRING_set(value.get(), reinterpret_cast<const unsigned char*>(k_must_staple_der),
                                       sizeof k_must_staple_der - 1))
    return openssl_error("ASN1_OCTET_STRING_set(tlsfeature)");
  X509_EXTENSION* ext = X509_EXTENSION_create_by_NID(nullptr, NID_tlsfeature, 0, value.get());
  if (!ext) return openssl_error("X509_EXTENSION_create_by_NID(tlsfeature)");
  return x509_extension_ptr(ext);
}

status push_extension(STACK_OF(X509_EXTENSION)* exts, expected<x509_extension_ptr> ext) {
  if (!ext) return ext.error();
  if (!sk_X509_EXTENSION_push(exts, ext->get())) return openssl_error("sk_X509_EXTENSION_push()");
  ext->release();
  return {};
}

status set_subject(X509_REQ* req, const std::string& first) {
  if (first.size() > k_csr_cn_max) return {};
  ossl_ptr<X509_NAME, X509_NAME_free> name(X509_NAME_new());
  if (!name) return openssl_error("X509_NAME_new()");
  if (!X509_NAME_add_entry_by_NID(name.get(), NID_commonName, MBSTRING_ASC,
                                  reinterpret_cast<const unsigned char*>(first.c_str()), -1, -1, 0))
    return openssl_error("X509_NAME_add_entry_by_NID(CN '" + first + "')");
  if (!X509_REQ_set_subject_name(req, name.get())) return openssl_error("X509_REQ_set_subject_name()");
  return {};
}

status add_extensions(X509_REQ* req, const std::vector<std::string>& names, bool must_staple) {
  exts_ptr exts(sk_X509_EXTENSION_new_null());
  if (!exts) return openssl_error("sk_X509_EXTENSION_new_null()");
  if (auto st = push_extension(exts.get(), make_san_extension(names)); !st) return st;
  if (must_staple) {
    if (auto st = push_extension(exts.get(), must_staple_extension()); !st) return st;
  }
  if (!X509_REQ_add_extensions(req, exts.get())) return openssl_error("X509_REQ_add_extensions()");
  return {};
}

expected<std::string> der_of(X509_REQ* req) {
  unsigned char* out = nullptr;
  int n = i2d_X509_REQ(req, &out);
  if (n <= 0) return openssl_error("i2d_X509_REQ()");
  std::string der(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  OPENSSL_free(out);
  return der;
}

expected<std::string> pem_of(X509_REQ* req) {
  ossl_ptr<BIO, BIO_free> b(BIO_new(BIO_s_mem()));
  if (!b || !PEM_write_bio_X509_REQ(b.get(), req)) return openssl_error("PEM_write_bio_X509_REQ()");
  char* data = nullptr;
  long n = BIO_get_mem_data(b.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

} // namespace

// --- building blocks shared with certgen ----------------------------------------------------

namespace {


bool printable_ascii(const std::string& s) {
  for (unsigned char c : s)
    if (c <= 0x20 || c >= 0x7f) return false;
  return !s.empty();
}

expected<GENERAL_NAME*> make_general_name(const std::string& name) {
  GENERAL_NAME* gen = GENERAL_NAME_new();
  if (!gen) return openssl_error("GENERAL_NAME_new()");
  if (is_ip_literal(name)) {
    ASN1_OCTET_STRING* ip = a2i_IPADDRESS(name.c_str());
    if (!ip) {
      GENERAL_NAME_free(gen);
      return openssl_error("a2i_IPADDRESS('" + name + "')");
    }
    GENERAL_NAME_set0_value(gen, GEN_IPADD, ip);
    return gen;
  }
  ASN1_IA5STRING* dns = ASN1_IA5STRING_new();
  if (!dns || !ASN1_STRING_set(dns, name.data(), static_cast<int>(name.size()))) {
    ASN1_IA5STRING_free(dns);
    GENERAL_NAME_free(gen);
    return openssl_error("ASN1_STRING_set()");
  }
  GENERAL_NAME_set0_value(gen, GEN_DNS, dns);
  return gen;
}

} // namespace

expected<x509_extension_ptr> make_san_extension(const std::vector<std::string>& names) {
  if (names.empty()) return error{crypto_errc::bad_encoding, "no names for the subjectAltName extension"};
  ossl_ptr<GENERAL_NAMES, GENERAL_NAMES_free> gens(sk_GENERAL_NAME_new_null());
  if (!gens) return openssl_error("sk_GENERAL_NAME_new_null()");
  for (const auto& name : names) {
    if (!printable_ascii(name))
      return error{crypto_errc::bad_encoding,
                   "name '" + name +
                       "' cannot go into a certificate (printable ASCII only, IDNs as punycode)"};
    auto gen = make_general_name(name);
    if (!gen) return gen.error();
    if (!sk_GENERAL_NAME_push(gens.get(), *gen)) {
      GENERAL_NAME_free(*gen);
      return openssl_error("sk_GENERAL_NAME_push()");
    }
  }
  X509_EXTENSION* ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens.get());
  if (!ext) return openssl_error("X509V3_EXT_i2d(subjectAltName)");
  return x509_extension_ptr(ext);
}

expected<const EVP_MD*> signing_digest(const private_key& key) {
  if (!key.valid()) return error{crypto_errc::bad_key, "no key to sign with"};
  switch (EVP_PKEY_get_base_id(key.get())) {
    case EVP_PKEY_ED25519:
    case EVP_PKEY_ED448: return static_cast<const EVP_MD*>(nullptr); // the algorithm fixes the hash
    case EVP_PKEY_X25519:
    case EVP_PKEY_X448:
      return error{crypto_errc::unsupported, "a key of type '" + key.curve_name() + "' cannot sign"};
    default: return EVP_sha256();
  }
}

std::string certificate_request::der_base64url() const { return base64url_encode(der); }

expected<certificate_request> make_csr(const private_key& key, const std::vector<std::string>& names,
                                       bool must_staple) {
  if (names.empty()) return error{crypto_errc::bad_encoding, "a certificate request needs at least one name"};
  auto md = signing_digest(key);
  if (!md) return md.error();
  ossl_ptr<X509_REQ, X509_REQ_free> req(X509_REQ_new());
  if (!req) return openssl_error("X509_REQ_new()");
  if (auto st = set_subject(req.get(), names.front()); !st) return st.error();
  if (auto st = add_extensions(req.get(), names, must_staple); !st) return st.error();
  if (!X509_REQ_set_pubkey(req.get(), key.get())) return openssl_error("X509_REQ_set_pubkey()");
  if (X509_REQ_sign(req.get(), key.get(), *md) <= 0) return openssl_error("X509_REQ_sign()");
  auto der = der_of(req.get());
  if (!der) return der.error();
  auto pem = pem_of(req.get());
  if (!pem) return pem.error();
  return certificate_request{std::move(*der), std::move(*pem)};
}

} // namespace mda
