#include "core/pkey.hpp"
#include "core/ossl_ptr.hpp"
#include "core/rsa_keygen.hpp"

#include <cstring>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

namespace mda {

namespace {

using bio_ptr = ossl_ptr<BIO, BIO_free>;

struct pass_ctx {
  const std::string* pass;
  bool asked = false;
};

// Hands OpenSSL the passphrase; with none, refuses instead of prompting on a terminal.
int pass_cb(char* buf, int size, int /*rwflag*/, void* u) {
  auto* ctx = static_cast<pass_ctx*>(u);
  ctx->asked = true;
  if (!ctx->pass || ctx->pass->empty() || static_cast<int>(ctx->pass->size()) > size) return -1;
  std::memcpy(buf, ctx->pass->data(), ctx->pass->size());
  return static_cast<int>(ctx->pass->size());
}

std::string bio_text(BIO* b) {
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  return std::string(data, static_cast<size_t>(n));
}

// Names OpenSSL's object table lacks or spells otherwise (mod_md accepts these too).
struct curve_alias {
  const char* name;
  int nid;
};
const curve_alias k_aliases[] = {
    {"secp192r1", NID_X9_62_prime192v1}, {"secp256r1", NID_X9_62_prime256v1},
    {"P-192", NID_X9_62_prime192v1},     {"P-224", NID_secp224r1},
    {"P-256", NID_X9_62_prime256v1},     {"P-384", NID_secp384r1},
    {"P-521", NID_secp521r1},            {"X25519", NID_X25519},
    {"X448", NID_X448},                  {"Ed25519", NID_ED25519},
    {"Ed448", NID_ED448},
};

bool is_ec_type(EVP_PKEY* k) { return EVP_PKEY_get_base_id(k) == EVP_PKEY_EC; }

} // namespace

int curve_nid(const std::string& name) {
  for (const auto& a : k_aliases)
    if (strcasecmp(a.name, name.c_str()) == 0) return a.nid;
  int nid = EC_curve_nist2nid(name.c_str());
  if (nid == NID_undef) nid = OBJ_sn2nid(name.c_str());
  if (nid == NID_undef) nid = OBJ_ln2nid(name.c_str());
  return nid;
}

expected<private_key> private_key::generate_rsa(unsigned bits) {
  if (bits < k_rsa_bits_min)
    return error{crypto_errc::unsupported, "RSA keys of " + std::to_string(bits) +
                                               " bits are too small, 2048 or more are needed"};
  // Even sizes the usual way of rsa_keygen.hpp (~2.5x faster); odd or huge sizes, and a
  // process in FIPS mode, get OpenSSL's own generator.
  if (bits % 2 == 0 && bits <= 8192 && EVP_default_properties_is_fips_enabled(nullptr) == 0)
    return generate_rsa_key(bits);
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits));
  if (!k) return openssl_error("EVP_PKEY_Q_keygen(RSA " + std::to_string(bits) + ")");
  return private_key(k);
}

expected<private_key> private_key::generate(const key_spec& spec) {
  if (spec.type != key_spec::kind::ec) return generate_rsa(spec.rsa_bits());
  int nid = curve_nid(spec.curve);
  if (nid == NID_undef)
    return error{crypto_errc::unsupported, "unknown curve '" + spec.curve + "'"};
  EVP_PKEY* k = nullptr;
  switch (nid) {
    case NID_X25519: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"); break;
    case NID_X448: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "X448"); break;
    case NID_ED25519: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"); break;
    case NID_ED448: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED448"); break;
    default: {
      const char* group = OBJ_nid2sn(nid);
      if (!group) return error{crypto_errc::unsupported, "unknown curve '" + spec.curve + "'"};
      k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", group);
    }
  }
  if (!k)
    return openssl_error("EVP_PKEY_Q_keygen(curve '" + spec.curve + "')", crypto_errc::unsupported);
  return private_key(k);
}

expected<private_key> private_key::from_pem(std::string_view pem, const std::string* passphrase,
                                            const std::string& source) {
  bio_ptr b(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!b) return openssl_error("BIO_new_mem_buf()");
  pass_ctx ctx{passphrase};
  ERR_clear_error();
  EVP_PKEY* k = PEM_read_bio_PrivateKey(b.get(), nullptr, pass_cb, &ctx);
  if (!k) {
    std::string reason = openssl_error_text();
    bool encrypted = pem.find("ENCRYPTED") != std::string_view::npos;
    if (encrypted && (!passphrase || passphrase->empty()))
      return error{crypto_errc::bad_passphrase, source + ": the key is encrypted and no passphrase is known"};
    if (encrypted)
      return error{crypto_errc::bad_passphrase,
                   source + ": the key does not decrypt with the store secret (wrong passphrase?)"};
    if (pem.find("-----BEGIN") == std::string_view::npos)
      return error{crypto_errc::bad_encoding, source + ": no PEM private key found"};
    return error{crypto_errc::bad_key, source + ": PEM_read_bio_PrivateKey() failed" +
                                           (reason.empty() ? "" : ": " + reason)};
  }
  return private_key(k);
}

private_key private_key::adopt(EVP_PKEY* key) { return private_key(key); }

expected<std::string> private_key::to_pem() const {
  bio_ptr b(BIO_new(BIO_s_mem()));
  if (!b || !PEM_write_bio_PKCS8PrivateKey(b.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr))
    return openssl_error("PEM_write_bio_PKCS8PrivateKey()");
  return bio_text(b.get());
}

expected<std::string> private_key::to_pem_encrypted(std::string_view passphrase) const {
  if (passphrase.empty())
    return error{crypto_errc::bad_passphrase, "an empty passphrase cannot encrypt a key"};
  bio_ptr b(BIO_new(BIO_s_mem()));
  std::string pass(passphrase);
  pass_ctx ctx{&pass};
  if (!b || !PEM_write_bio_PKCS8PrivateKey(b.get(), key_.get(), EVP_aes_256_cbc(), nullptr, 0,
                                           pass_cb, &ctx))
    return openssl_error("PEM_write_bio_PKCS8PrivateKey(aes-256-cbc)");
  return bio_text(b.get());
}

expected<std::string> private_key::public_pem() const {
  bio_ptr b(BIO_new(BIO_s_mem()));
  if (!b || !PEM_write_bio_PUBKEY(b.get(), key_.get())) return openssl_error("PEM_write_bio_PUBKEY()");
  return bio_text(b.get());
}

bool private_key::is_rsa() const { return key_ && EVP_PKEY_get_base_id(key_.get()) == EVP_PKEY_RSA; }

bool private_key::is_ec() const { return key_ && is_ec_type(key_.get()); }

int private_key::bits() const { return key_ ? EVP_PKEY_get_bits(key_.get()) : 0; }

std::string private_key::curve_name() const {
  if (!key_ || is_rsa()) return "";
  if (is_ec()) {
    char name[80] = {0};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(key_.get(), name, sizeof name, &len)) return name;
    return "";
  }
  const char* n = OBJ_nid2sn(EVP_PKEY_get_base_id(key_.get()));
  return n ? n : "";
}

bool private_key::matches(const key_spec& spec) const {
  if (!key_) return false;
  if (spec.type != key_spec::kind::ec) return is_rsa() && bits() == static_cast<int>(spec.rsa_bits());
  int want = curve_nid(spec.curve);
  if (want == NID_undef) return false;
  if (is_ec()) return curve_nid(curve_name()) == want;
  return EVP_PKEY_get_base_id(key_.get()) == want;
}

bool private_key::same_public_key(const private_key& other) const {
  return key_ && other.key_ && EVP_PKEY_eq(key_.get(), other.key_.get()) == 1;
}

} // namespace mda
