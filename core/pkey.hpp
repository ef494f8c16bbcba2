// Private keys: generation for every key spec, PEM in and out as mod_md stores them.
//
// - Plain keys are PKCS#8 "BEGIN PRIVATE KEY" (store groups domains, challenges, tmp).
// - Encrypted keys are PKCS#8 "BEGIN ENCRYPTED PRIVATE KEY", PBES2 with AES-256-CBC and
//   OpenSSL's default PBKDF2 parameters, the passphrase being the 48 raw bytes of the store
//   secret (md_store.json) — what PEM_write_bio_PKCS8PrivateKey(..., EVP_aes_256_cbc()) makes,
//   so mod_md and mdactor read each other's keys (groups accounts, staging, ocsp, archive).
// - Reading accepts any PEM private key OpenSSL knows (PKCS#1 "RSA PRIVATE KEY", SEC1
//   "EC PRIVATE KEY", PKCS#8), encrypted or not.
// Not here: keys in hardware, DER files.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <openssl/evp.h>

#include "core/error.hpp"
#include "core/key_spec.hpp"
#include "core/ossl_ptr.hpp"

namespace mda {

/// A private key (holds the public half too). Copies share the underlying EVP_PKEY, which is
/// never modified after creation, so copies may be used from several threads.
class private_key {
 public:
  private_key() = default;

  /// A new key for the spec: RSA with spec.rsa_bits() (at least 2048), or a key on the named
  /// curve. Curve names: NIST (P-256, P-384, P-521), SECG (secp256r1, secp384r1, secp521r1),
  /// OpenSSL's own (prime256v1, brainpoolP256r1, ...), and X25519, X448, Ed25519, Ed448.
  static expected<private_key> generate(const key_spec& spec);

  /// An RSA key of the given size (the ACME account key is 3072 bits): even sizes up to 8192
  /// from two random primes (rsa_keygen.hpp), other sizes by OpenSSL's own generator.
  static expected<private_key> generate_rsa(unsigned bits);

  /// Reads a PEM private key. `passphrase` is used when the PEM is encrypted; an encrypted
  /// key without passphrase, or with a wrong one, fails with crypto_errc::bad_passphrase.
  /// `source` names the file or origin in error messages.
  static expected<private_key> from_pem(std::string_view pem, const std::string* passphrase,
                                        const std::string& source);

  /// Wraps an EVP_PKEY, taking ownership.
  static private_key adopt(EVP_PKEY* key);

  /// PKCS#8 PEM, plain.
  expected<std::string> to_pem() const;
  /// PKCS#8 PEM encrypted with AES-256-CBC under the passphrase (raw bytes, any length > 0).
  expected<std::string> to_pem_encrypted(std::string_view passphrase) const;

  /// The public key as SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY").
  expected<std::string> public_pem() const;

  bool valid() const { return static_cast<bool>(key_); }
  EVP_PKEY* get() const { return key_.get(); }

  bool is_rsa() const;
  bool is_ec() const; ///< EC on a prime curve (not X25519/Ed25519)
  /// RSA modulus size, EC order size.
  int bits() const;
  /// Short OpenSSL name of the curve of an EC key ("prime256v1"), or the key type name for
  /// X25519/Ed25519..., "" for RSA.
  std::string curve_name() const;

  /// True when this key is of the spec's type and size/curve (curve aliases considered).
  bool matches(const key_spec& spec) const;

  /// True when both hold the same public key.
  bool same_public_key(const private_key& other) const;

 private:
  explicit private_key(EVP_PKEY* k) : key_(k, ossl_free<EVP_PKEY, EVP_PKEY_free>{}) {}
  std::shared_ptr<EVP_PKEY> key_;
};

/// The OpenSSL NID of a configured curve name, NID_undef when OpenSSL does not know it.
int curve_nid(const std::string& name);

} // namespace mda
