// JOSE as ACME needs it: the public JWK of an account key and its thumbprint (RFC 7638), key
// authorizations for challenges (RFC 8555 §8.1, §8.4), JWS in the flattened JSON serialization
// (RFC 7515 §7.2.2, RFC 8555 §6.2) signed with RS256, ES256, ES384 or HS256 (RFC 7518 §3), the
// External Account Binding object (RFC 8555 §7.3.4), and verification of such JWS.
//
// Not here: the compact and the general JSON serializations, unprotected headers, JWE, ES512 and
// EdDSA, nonce handling and HTTP (the ACME client does those), private JWK members.
// mod_md itself signs with RS256 only; EC account keys are an extension of ours.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "core/error.hpp"
#include "core/pkey.hpp"

namespace mda {

/// A public key for verification and JWKs. Made from a private_key (sharing its EVP_PKEY, only
/// the public half is used) or read from a JWK. Copies share the never-modified EVP_PKEY.
class public_key {
 public:
  public_key() = default;
  /// The public half of a private key (implicit: every API taking a public_key takes a private_key).
  public_key(const private_key& key);
  /// Wraps an EVP_PKEY, taking ownership.
  static public_key adopt(EVP_PKEY* key);

  bool valid() const { return static_cast<bool>(key_); }
  EVP_PKEY* get() const { return key_.get(); }

  /// SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY"), e.g. for the `openssl` command line.
  expected<std::string> pem() const;

 private:
  std::shared_ptr<EVP_PKEY> key_;
};

// --- JWK (RFC 7517, RFC 7518 §6) -------------------------------------------------------------

/// The public JWK with only the members RFC 7638 §3.2 requires, in lexicographic order:
/// RSA {"e","kty":"RSA","n"} (unsigned big-endian, no leading zero bytes) and
/// EC {"crv":"P-256|P-384|P-521","kty":"EC","x","y"} (coordinates padded to the field size).
/// Other key types -> crypto_errc::unsupported.
expected<nlohmann::ordered_json> jwk_of(const public_key& key);

/// The canonical compact text of a JWK (RFC 7638 §3.3): its required members only, sorted,
/// no whitespace. Extra members (alg, kid, use...) are left out; missing ones are an error.
expected<std::string> jwk_canonical(const nlohmann::ordered_json& jwk);

/// RFC 7638 thumbprint: base64url(SHA-256(canonical JWK)).
expected<std::string> jwk_thumbprint(const nlohmann::ordered_json& jwk);
expected<std::string> jwk_thumbprint(const public_key& key);

/// A public key from an RSA or EC (P-256/P-384/P-521) JWK; built with EVP_PKEY_fromdata.
/// EC points must lie on the curve and coordinates be of the full field size (RFC 7518 §6.2.1.2).
/// Errors name the offending member.
expected<public_key> public_key_from_jwk(const nlohmann::ordered_json& jwk);
/// The same from JSON text; text that is not a JSON object -> crypto_errc::bad_encoding.
expected<public_key> public_key_from_jwk_text(std::string_view text);

// --- challenges --------------------------------------------------------------------------

/// token "." thumbprint (RFC 8555 §8.1). The token must be non-empty base64url (RFC 8555 §8.3):
/// it comes from the CA and ends up in files and command lines.
expected<std::string> key_authorization(std::string_view token, const public_key& account_key);

/// The dns-01 TXT record value: base64url(SHA-256(key authorization)) (RFC 8555 §8.4).
std::string dns01_txt_value(std::string_view key_authorization);

// --- JWS ---------------------------------------------------------------------------------

enum class jws_alg {
  rs256, ///< RSASSA-PKCS1-v1_5 with SHA-256
  es256, ///< ECDSA P-256 with SHA-256, signature r||s of 2x32 bytes
  es384, ///< ECDSA P-384 with SHA-384, signature r||s of 2x48 bytes
  hs256, ///< HMAC with SHA-256 (External Account Binding)
};

/// "RS256", "ES256", "ES384", "HS256".
const char* to_string(jws_alg alg);

/// The algorithm for an account key: RSA -> RS256, P-256 -> ES256, P-384 -> ES384; anything
/// else -> crypto_errc::unsupported "unsupported key for JWS: ...".
expected<jws_alg> jws_alg_for(const public_key& key);

/// The raw signature (not base64url) over a JWS signing input, alg chosen by jws_alg_for.
/// ECDSA signatures are converted from DER to r||s (RFC 7518 §3.4).
expected<std::string> jws_signature(const private_key& key, std::string_view signing_input);
/// HS256: HMAC-SHA-256 of the signing input under the raw key bytes.
std::string jws_hmac_signature(std::string_view key, std::string_view signing_input);

/// The protected header of an ACME request (RFC 8555 §6.2).
struct jws_header {
  std::string url;   ///< required (RFC 8555 §6.4)
  std::string nonce; ///< RFC 8555 §6.5; left out when empty (inner JWS of keyChange, §7.3.5)
  std::string kid;   ///< the account URL; when empty the account JWK is embedded as "jwk"
};

/// A flattened JWS {"protected","payload","signature"}; protected = {"alg", "jwk"|"kid",
/// "nonce", "url"}. `payload` are the bytes to sign (JSON text, or "" for POST-as-GET).
expected<nlohmann::ordered_json> jws_sign(const private_key& key, std::string_view payload,
                                          const jws_header& header);

/// The External Account Binding object (RFC 8555 §7.3.4): protected {"alg":"HS256","kid":eab_kid,
/// "url":new_account_url}, payload = the account JWK as compact JSON, HMAC key = the base64url
/// decoded `hmac`. An hmac that does not decode -> crypto_errc::bad_encoding (the secret is
/// not repeated in the message).
expected<nlohmann::ordered_json> eab_jws(std::string_view eab_kid, std::string_view hmac,
                                         const public_key& account_key,
                                         std::string_view new_account_url);

/// What a verified JWS carried.
struct jws_content {
  nlohmann::ordered_json header; ///< the decoded protected header
  std::string payload;           ///< the decoded payload bytes
};

/// Verifies a flattened JWS against a public key: the header's "alg" must be the one
/// jws_alg_for gives for the key (no "none", no HS256 with a public key), and the signature
/// must match. A mismatch -> crypto_errc::bad_key "JWS signature does not verify".
expected<jws_content> jws_verify(const nlohmann::ordered_json& jws, const public_key& key);
/// The same for HS256 with raw HMAC key bytes.
expected<jws_content> jws_verify_hmac(const nlohmann::ordered_json& jws, std::string_view key);

} // namespace mda
