// JWS in the flattened JSON serialization (RFC 7515 §7.2.2) as ACME uses it (RFC 8555 §6.2),
// External Account Binding (RFC 8555 §7.3.4), and verification. The JWK half of core/jws.hpp
// lives in jwk.cpp.
#include "core/jws.hpp"

#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/objects.h>

#include "core/base64.hpp"
#include "core/digest.hpp"
#include "core/ossl_ptr.hpp"

namespace mda {

namespace {

using ojson = nlohmann::ordered_json;

using md_ctx_ptr = ossl_ptr<EVP_MD_CTX, EVP_MD_CTX_free>;
using sig_ptr = ossl_ptr<ECDSA_SIG, ECDSA_SIG_free>;

/// The digest of an asymmetric alg and, for ECDSA, the size of r and s (RFC 7518 §3.4).
const EVP_MD* alg_md(jws_alg alg) { return alg == jws_alg::es384 ? EVP_sha384() : EVP_sha256(); }
size_t ec_part_size(jws_alg alg) {
  return alg == jws_alg::es256 ? 32 : alg == jws_alg::es384 ? 48 : 0;
}

expected<std::string> compact(const ojson& j, const char* what) {
  try {
    return j.dump();
  } catch (const nlohmann::json::exception& e) {
    return error{crypto_errc::bad_encoding, std::string(what) + " cannot be serialized: " + e.what()};
  }
}

/// ECDSA-Sig-Value DER -> r||s, each left-padded to n bytes.
expected<std::string> der_to_raw(const std::string& der, size_t n) {
  auto p = reinterpret_cast<const unsigned char*>(der.data());
  sig_ptr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return openssl_error("d2i_ECDSA_SIG()");
  const BIGNUM *r = nullptr, *s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string raw(2 * n, '\0');
  auto out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(r, out, static_cast<int>(n)) < 0 || BN_bn2binpad(s, out + n, static_cast<int>(n)) < 0)
    return openssl_error("BN_bn2binpad(ECDSA r/s)");
  return raw;
}

/// r||s -> ECDSA-Sig-Value DER; a raw signature of the wrong length is a bad signature.
expected<std::string> raw_to_der(const std::string& raw, size_t n) {
  if (raw.size() != 2 * n)
    return error{crypto_errc::bad_key, "JWS signature is " + std::to_string(raw.size()) +
                                           " bytes long, expected " + std::to_string(2 * n)};
  auto in = reinterpret_cast<const unsigned char*>(raw.data());
  sig_ptr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(in, static_cast<int>(n), nullptr);
  BIGNUM* s = BN_bin2bn(in + n, static_cast<int>(n), nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return openssl_error("ECDSA_SIG_set0()");
  }
  int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return openssl_error("i2d_ECDSA_SIG()");
  std::string der(static_cast<size_t>(len), '\0');
  auto out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &out) != len) return openssl_error("i2d_ECDSA_SIG()");
  return der;
}

expected<std::string> digest_sign(EVP_PKEY* k, const EVP_MD* md, std::string_view input) {
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, k) != 1)
    return openssl_error("EVP_DigestSignInit()");
  auto data = reinterpret_cast<const unsigned char*>(input.data());
  size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, data, input.size()) != 1)
    return openssl_error("EVP_DigestSign()");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, data,
                     input.size()) != 1)
    return openssl_error("EVP_DigestSign()");
  sig.resize(len);
  return sig;
}

status digest_verify(EVP_PKEY* k, const EVP_MD* md, std::string_view input, const std::string& sig) {
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, k) != 1)
    return openssl_error("EVP_DigestVerifyInit()");
  int rc = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                            reinterpret_cast<const unsigned char*>(input.data()), input.size());
  if (rc != 1) {
    openssl_error_text(); // drop the queue entries of a plain mismatch
    return error{crypto_errc::bad_key, "JWS signature does not verify"};
  }
  return {};
}

/// Builds {"protected","payload","signature"} with `sign` producing raw signature bytes.
template <class Sign>
expected<ojson> flattened(const ojson& header, std::string_view payload, Sign&& sign) {
  auto text = compact(header, "JWS protected header");
  if (!text) return text.error();
  ojson jws;
  jws["protected"] = base64url_encode(*text);
  jws["payload"] = base64url_encode(payload);
  expected<std::string> sig = sign(jws["protected"].get<std::string>() + "." +
                                   jws["payload"].get<std::string>());
  if (!sig) return sig.error();
  jws["signature"] = base64url_encode(*sig);
  return jws;
}

/// A flattened JWS taken apart: the signing input, the decoded parts and the header's alg.
struct parsed_jws {
  std::string signing_input;
  jws_content content;
  std::string alg;
  std::string signature;
};

expected<std::string> jws_member(const ojson& jws, const char* name) {
  auto it = jws.find(name);
  if (it == jws.end() || !it->is_string())
    return error{crypto_errc::bad_encoding, std::string("JWS member '") + name + "' is missing or not a string"};
  return it->get<std::string>();
}

expected<std::string> jws_decoded(const std::string& text, const char* name) {
  auto bytes = base64url_decode(text);
  if (!bytes) return bytes.error().prefixed(std::string("JWS member '") + name + "'");
  return bytes;
}

expected<parsed_jws> parse_jws(const ojson& jws) {
  if (!jws.is_object()) return error{crypto_errc::bad_encoding, "JWS is not a JSON object"};
  auto prot = jws_member(jws, "protected");
  if (!prot) return prot.error();
  auto payload = jws_member(jws, "payload");
  if (!payload) return payload.error();
  auto sig_text = jws_member(jws, "signature");
  if (!sig_text) return sig_text.error();
  parsed_jws out;
  auto header_text = jws_decoded(*prot, "protected");
  if (!header_text) return header_text.error();
  out.content.header = ojson::parse(*header_text, nullptr, /*allow_exceptions=*/false);
  if (!out.content.header.is_object())
    return error{crypto_errc::bad_encoding, "JWS protected header is not a JSON object"};
  auto alg = out.content.header.find("alg");
  if (alg == out.content.header.end() || !alg->is_string())
    return error{crypto_errc::bad_encoding, "JWS protected header has no 'alg'"};
  out.alg = alg->get<std::string>();
  auto body = jws_decoded(*payload, "payload");
  if (!body) return body.error();
  out.content.payload = std::move(*body);
  auto sig = jws_decoded(*sig_text, "signature");
  if (!sig) return sig.error();
  out.signature = std::move(*sig);
  out.signing_input = *prot + "." + *payload;
  return out;
}

status check_alg(const parsed_jws& jws, jws_alg want) {
  if (jws.alg != to_string(want))
    return error{crypto_errc::bad_key, "JWS alg '" + jws.alg + "' does not fit the key (expected '" +
                                           to_string(want) + "')"};
  return {};
}

} // namespace

const char* to_string(jws_alg alg) {
  switch (alg) {
    case jws_alg::rs256: return "RS256";
    case jws_alg::es256: return "ES256";
    case jws_alg::es384: return "ES384";
    case jws_alg::hs256: return "HS256";
  }
  return "?";
}

expected<jws_alg> jws_alg_for(const public_key& key) {
  EVP_PKEY* k = key.get();
  if (!k) return error{crypto_errc::bad_key, "no key to sign with"};
  int type = EVP_PKEY_get_base_id(k);
  if (type == EVP_PKEY_RSA) return jws_alg::rs256;
  if (type == EVP_PKEY_EC) {
    char group[80] = {0};
    size_t len = 0;
    EVP_PKEY_get_group_name(k, group, sizeof group, &len);
    if (std::string_view(group) == "prime256v1") return jws_alg::es256;
    if (std::string_view(group) == "secp384r1") return jws_alg::es384;
    return error{crypto_errc::unsupported, std::string("unsupported key for JWS: EC curve '") + group + "'"};
  }
  const char* name = OBJ_nid2sn(type);
  return error{crypto_errc::unsupported,
               std::string("unsupported key for JWS: type '") + (name ? name : "unknown") + "'"};
}

expected<std::string> jws_signature(const private_key& key, std::string_view signing_input) {
  auto alg = jws_alg_for(key);
  if (!alg) return alg.error();
  auto sig = digest_sign(key.get(), alg_md(*alg), signing_input);
  if (!sig || *alg == jws_alg::rs256) return sig;
  return der_to_raw(*sig, ec_part_size(*alg));
}

std::string jws_hmac_signature(std::string_view key, std::string_view signing_input) {
  return hmac_sha256(key, signing_input);
}

expected<nlohmann::ordered_json> jws_sign(const private_key& key, std::string_view payload,
                                          const jws_header& header) {
  auto alg = jws_alg_for(key);
  if (!alg) return alg.error();
  if (header.url.empty())
    return error{crypto_errc::bad_encoding, "JWS protected header needs a 'url' (RFC 8555 §6.4)"};
  ojson prot;
  prot["alg"] = to_string(*alg);
  if (header.kid.empty()) {
    auto jwk = jwk_of(key);
    if (!jwk) return jwk.error();
    prot["jwk"] = std::move(*jwk);
  } else {
    prot["kid"] = header.kid;
  }
  if (!header.nonce.empty()) prot["nonce"] = header.nonce;
  prot["url"] = header.url;
  return flattened(prot, payload, [&](const std::string& input) { return jws_signature(key, input); });
}

expected<nlohmann::ordered_json> eab_jws(std::string_view eab_kid, std::string_view hmac,
                                         const public_key& account_key,
                                         std::string_view new_account_url) {
  if (eab_kid.empty()) return error{crypto_errc::bad_key, "external account binding kid is empty"};
  auto mac_key = base64url_decode(hmac);
  if (!mac_key)
    return error{crypto_errc::bad_encoding,
                 "external account binding hmac is not base64url: " + mac_key.error().message};
  if (mac_key->empty()) return error{crypto_errc::bad_key, "external account binding hmac is empty"};
  auto jwk = jwk_of(account_key);
  if (!jwk) return jwk.error();
  auto payload = compact(*jwk, "JWK");
  if (!payload) return payload.error();
  ojson prot;
  prot["alg"] = to_string(jws_alg::hs256);
  prot["kid"] = std::string(eab_kid);
  prot["url"] = std::string(new_account_url);
  return flattened(prot, *payload, [&](const std::string& input) -> expected<std::string> {
    return jws_hmac_signature(*mac_key, input);
  });
}

expected<jws_content> jws_verify(const nlohmann::ordered_json& jws, const public_key& key) {
  auto alg = jws_alg_for(key);
  if (!alg) return alg.error();
  auto parsed = parse_jws(jws);
  if (!parsed) return parsed.error();
  if (auto ok = check_alg(*parsed, *alg); !ok) return ok.error();
  std::string sig = parsed->signature;
  if (*alg != jws_alg::rs256) {
    auto der = raw_to_der(sig, ec_part_size(*alg));
    if (!der) return der.error();
    sig = std::move(*der);
  }
  if (auto ok = digest_verify(key.get(), alg_md(*alg), parsed->signing_input, sig); !ok)
    return ok.error();
  return std::move(parsed->content);
}

expected<jws_content> jws_verify_hmac(const nlohmann::ordered_json& jws, std::string_view key) {
  auto parsed = parse_jws(jws);
  if (!parsed) return parsed.error();
  if (auto ok = check_alg(*parsed, jws_alg::hs256); !ok) return ok.error();
  std::string want = jws_hmac_signature(key, parsed->signing_input);
  if (want.size() != parsed->signature.size() ||
      CRYPTO_memcmp(want.data(), parsed->signature.data(), want.size()) != 0)
    return error{crypto_errc::bad_key, "JWS signature does not verify"};
  return std::move(parsed->content);
}

} // namespace mda
