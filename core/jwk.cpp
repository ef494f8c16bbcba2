// JWKs of public keys and back (RFC 7517, RFC 7518 §6), RFC 7638 thumbprints and ACME key
// authorizations. The JWS half of core/jws.hpp lives in jws.cpp.
#include "core/jws.hpp"
#include "core/ossl_ptr.hpp"

#include <vector>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "core/base64.hpp"
#include "core/digest.hpp"

namespace mda {

namespace {

using ojson = nlohmann::ordered_json;

using bn_ptr = ossl_ptr<BIGNUM, BN_free>;

/// The JOSE curves (RFC 7518 §6.2.1.1) with OpenSSL's group names and field sizes in bytes.
struct jose_curve {
  const char* crv;
  const char* group;
  size_t size;
};
const jose_curve k_curves[] = {
    {"P-256", "prime256v1", 32},
    {"P-384", "secp384r1", 48},
    {"P-521", "secp521r1", 66},
};

const jose_curve* curve_by_group(const std::string& group) {
  for (const auto& c : k_curves)
    if (group == c.group) return &c;
  return nullptr;
}

const jose_curve* curve_by_crv(const std::string& crv) {
  for (const auto& c : k_curves)
    if (crv == c.crv) return &c;
  return nullptr;
}

std::string group_name(EVP_PKEY* k) {
  char name[80] = {0};
  size_t len = 0;
  return EVP_PKEY_get_group_name(k, name, sizeof name, &len) ? std::string(name) : std::string();
}

/// A big-number parameter of the key as unsigned big-endian bytes, left-padded to `pad` bytes
/// (0: minimal, no leading zeros).
expected<std::string> bn_param(EVP_PKEY* k, const char* name, size_t pad) {
  BIGNUM* raw = nullptr;
  if (!EVP_PKEY_get_bn_param(k, name, &raw))
    return openssl_error(std::string("EVP_PKEY_get_bn_param(") + name + ")");
  bn_ptr bn(raw);
  size_t n = pad ? pad : static_cast<size_t>(BN_num_bytes(bn.get()));
  std::string out(n, '\0');
  if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) < 0)
    return openssl_error(std::string("BN_bn2binpad(") + name + ")");
  return out;
}

/// A required string member of a JWK, or an error naming it.
expected<std::string> member(const ojson& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string())
    return error{crypto_errc::bad_key, std::string("JWK member '") + name + "' is missing or not a string"};
  return it->get<std::string>();
}

/// A required base64url member, decoded; empty values are refused too.
expected<std::string> b64_member(const ojson& jwk, const char* name) {
  auto text = member(jwk, name);
  if (!text) return text.error();
  auto bytes = base64url_decode(*text);
  if (!bytes) return bytes.error().prefixed(std::string("JWK member '") + name + "'");
  if (bytes->empty())
    return error{crypto_errc::bad_key, std::string("JWK member '") + name + "' is empty"};
  return bytes;
}

expected<public_key> from_params(const char* type, OSSL_PARAM_BLD* bld) {
  ossl_ptr<OSSL_PARAM, OSSL_PARAM_free> params(OSSL_PARAM_BLD_to_param(bld));
  if (!params) return openssl_error("OSSL_PARAM_BLD_to_param()");
  ossl_ptr<EVP_PKEY_CTX, EVP_PKEY_CTX_free> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1)
    return openssl_error(std::string("EVP_PKEY_fromdata_init(") + type + ")");
  EVP_PKEY* k = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &k, EVP_PKEY_PUBLIC_KEY, params.get()) != 1 || !k)
    return openssl_error(std::string("EVP_PKEY_fromdata(") + type + ")", crypto_errc::bad_key);
  return public_key::adopt(k);
}

expected<public_key> rsa_from_jwk(const ojson& jwk) {
  auto n = b64_member(jwk, "n");
  if (!n) return n.error();
  auto e = b64_member(jwk, "e");
  if (!e) return e.error();
  auto to_bn = [](const std::string& s) {
    return bn_ptr(BN_bin2bn(reinterpret_cast<const unsigned char*>(s.data()),
                            static_cast<int>(s.size()), nullptr));
  };
  bn_ptr bn_n = to_bn(*n), bn_e = to_bn(*e);
  ossl_ptr<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free> bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()))
    return openssl_error("OSSL_PARAM_BLD_push_BN(RSA)");
  return from_params("RSA", bld.get());
}

expected<public_key> ec_from_jwk(const ojson& jwk) {
  auto crv = member(jwk, "crv");
  if (!crv) return crv.error();
  const jose_curve* curve = curve_by_crv(*crv);
  if (!curve)
    return error{crypto_errc::unsupported, "JWK member 'crv' has unsupported value '" + *crv + "'"};
  std::string point = "\x04"; // uncompressed point (SEC 1 §2.3.3)
  for (const char* name : {"x", "y"}) {
    auto c = b64_member(jwk, name);
    if (!c) return c.error();
    if (c->size() != curve->size)
      return error{crypto_errc::bad_key, std::string("JWK member '") + name + "' is not " +
                                             std::to_string(curve->size) + " bytes long"};
    point += *c;
  }
  ossl_ptr<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free> bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      !OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve->group, 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()))
    return openssl_error("OSSL_PARAM_BLD_push(EC)");
  auto key = from_params("EC", bld.get());
  if (!key) return key.error().prefixed("JWK members 'x'/'y' are not a point on " + *crv);
  return key;
}

} // namespace

public_key::public_key(const private_key& key) {
  EVP_PKEY* k = key.get();
  if (k && EVP_PKEY_up_ref(k) == 1) key_.reset(k, EVP_PKEY_free);
}

public_key public_key::adopt(EVP_PKEY* key) {
  public_key p;
  p.key_.reset(key, EVP_PKEY_free);
  return p;
}

expected<std::string> public_key::pem() const {
  ossl_ptr<BIO, BIO_free> b(BIO_new(BIO_s_mem()));
  if (!key_ || !b || !PEM_write_bio_PUBKEY(b.get(), key_.get()))
    return openssl_error("PEM_write_bio_PUBKEY()");
  char* data = nullptr;
  long n = BIO_get_mem_data(b.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

expected<nlohmann::ordered_json> jwk_of(const public_key& key) {
  EVP_PKEY* k = key.get();
  if (!k) return error{crypto_errc::bad_key, "no key to make a JWK of"};
  ojson jwk;
  if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA) {
    auto e = bn_param(k, OSSL_PKEY_PARAM_RSA_E, 0);
    if (!e) return e.error();
    auto n = bn_param(k, OSSL_PKEY_PARAM_RSA_N, 0);
    if (!n) return n.error();
    jwk["e"] = base64url_encode(*e);
    jwk["kty"] = "RSA";
    jwk["n"] = base64url_encode(*n);
    return jwk;
  }
  if (EVP_PKEY_get_base_id(k) != EVP_PKEY_EC) {
    const char* type = OBJ_nid2sn(EVP_PKEY_get_base_id(k));
    return error{crypto_errc::unsupported,
                 std::string("no JWK for keys of type '") + (type ? type : "unknown") + "'"};
  }
  std::string group = group_name(k);
  const jose_curve* curve = curve_by_group(group);
  if (!curve) return error{crypto_errc::unsupported, "no JWK for EC keys on curve '" + group + "'"};
  auto x = bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, curve->size);
  if (!x) return x.error();
  auto y = bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, curve->size);
  if (!y) return y.error();
  jwk["crv"] = curve->crv;
  jwk["kty"] = "EC";
  jwk["x"] = base64url_encode(*x);
  jwk["y"] = base64url_encode(*y);
  return jwk;
}

expected<std::string> jwk_canonical(const nlohmann::ordered_json& jwk) {
  if (!jwk.is_object()) return error{crypto_errc::bad_encoding, "JWK is not a JSON object"};
  auto kty = member(jwk, "kty");
  if (!kty) return kty.error();
  // RFC 7638 §3.2: the required members per key type, listed in lexicographic order.
  static const std::vector<const char*> rsa_names{"e", "kty", "n"};
  static const std::vector<const char*> ec_names{"crv", "kty", "x", "y"};
  const std::vector<const char*>* names = nullptr;
  if (*kty == "RSA") names = &rsa_names;
  else if (*kty == "EC") names = &ec_names;
  else return error{crypto_errc::unsupported, "JWK member 'kty' has unsupported value '" + *kty + "'"};
  ojson out = ojson::object();
  for (const char* name : *names) {
    auto v = member(jwk, name);
    if (!v) return v.error();
    std::string_view n(name);
    if (n == "crv" && !curve_by_crv(*v))
      return error{crypto_errc::unsupported, "JWK member 'crv' has unsupported value '" + *v + "'"};
    // Coordinates and numbers must be base64url, which also keeps the text plain ASCII.
    if (n != "kty" && n != "crv" && !base64url_decode(*v))
      return error{crypto_errc::bad_encoding, "JWK member '" + std::string(n) + "' is not base64url"};
    out[name] = *v;
  }
  return out.dump();
}

expected<std::string> jwk_thumbprint(const nlohmann::ordered_json& jwk) {
  auto text = jwk_canonical(jwk);
  if (!text) return text.error();
  return base64url_encode(sha256(*text));
}

expected<std::string> jwk_thumbprint(const public_key& key) {
  auto jwk = jwk_of(key);
  if (!jwk) return jwk.error();
  return jwk_thumbprint(*jwk);
}

expected<public_key> public_key_from_jwk(const nlohmann::ordered_json& jwk) {
  if (!jwk.is_object()) return error{crypto_errc::bad_encoding, "JWK is not a JSON object"};
  auto kty = member(jwk, "kty");
  if (!kty) return kty.error();
  if (*kty == "RSA") return rsa_from_jwk(jwk);
  if (*kty == "EC") return ec_from_jwk(jwk);
  return error{crypto_errc::unsupported, "JWK member 'kty' has unsupported value '" + *kty + "'"};
}

expected<public_key> public_key_from_jwk_text(std::string_view text) {
  auto jwk = ojson::parse(text, nullptr, /*allow_exceptions=*/false);
  if (jwk.is_discarded()) return error{crypto_errc::bad_encoding, "JWK is not valid JSON"};
  return public_key_from_jwk(jwk);
}

expected<std::string> key_authorization(std::string_view token, const public_key& account_key) {
  bool ok = !token.empty();
  for (char c : token)
    ok = ok && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_');
  if (!ok)
    return error{crypto_errc::bad_encoding,
                 "challenge token '" + std::string(token) + "' is not base64url (RFC 8555 §8.3)"};
  auto thumb = jwk_thumbprint(account_key);
  if (!thumb) return thumb.error();
  return std::string(token) + "." + *thumb;
}

std::string dns01_txt_value(std::string_view key_authorization) {
  return base64url_encode(sha256(key_authorization));
}

} // namespace mda
