#include <catch2/catch.hpp>

#include <openssl/evp.h>

#include "core/base64.hpp"
#include "core/digest.hpp"
#include "core/jws.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using ojson = nlohmann::ordered_json;
using Catch::Matchers::StartsWith;

namespace {

// RFC 7638 §3.1: the example RSA key and its thumbprint.
const char* k_rfc7638_n =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPe"
    "bWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY36"
    "8QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4l"
    "Fd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
const char* k_rfc7638_thumbprint = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

ojson rfc7638_jwk() {
  ojson j;
  j["kty"] = "RSA";
  j["n"] = k_rfc7638_n;
  j["e"] = "AQAB";
  j["alg"] = "RS256";
  j["kid"] = "2011-04-29";
  return j;
}

std::string b64d(const std::string& s) { return base64url_decode(s).value(); }

std::vector<std::string> member_names(const ojson& j) {
  std::vector<std::string> out;
  for (auto it = j.begin(); it != j.end(); ++it) out.push_back(it.key());
  return out;
}

// A minimal DER encoder for ECDSA-Sig-Value, independent of core/jws.cpp, so that the
// `openssl dgst` command line can check our r||s signatures.
std::string der_integer(std::string v) {
  while (v.size() > 1 && v[0] == '\0') v.erase(0, 1);
  if (static_cast<unsigned char>(v[0]) & 0x80) v.insert(0, 1, '\0');
  return std::string("\x02", 1) + static_cast<char>(v.size()) + v;
}
std::string ecdsa_der(const std::string& raw) {
  std::string body = der_integer(raw.substr(0, raw.size() / 2)) + der_integer(raw.substr(raw.size() / 2));
  std::string len = body.size() < 128 ? std::string(1, static_cast<char>(body.size()))
                                      : std::string("\x81", 1) + static_cast<char>(body.size());
  return std::string("\x30", 1) + len + body;
}

// Verifies a flattened JWS with `openssl dgst -<md> -verify`, signature given as DER/PKCS#1.
bool openssl_verifies(const public_key& key, const ojson& jws, const std::string& sig,
                      const std::string& md) {
  test::temp_dir dir;
  test::write_file(dir / "pub.pem", key.pem().value());
  test::write_file(dir / "input", jws["protected"].get<std::string>() + "." +
                                      jws["payload"].get<std::string>());
  test::write_file(dir / "sig", sig);
  auto r = test::run({"openssl", "dgst", "-" + md, "-verify", dir / "pub.pem", "-signature",
                      dir / "sig", dir / "input"});
  return r.exit_code == 0 && r.output.find("Verified OK") != std::string::npos;
}

private_key gen(const key_spec& spec) { return private_key::generate(spec).value(); }

} // namespace

TEST_CASE("RFC 7638 §3.1 thumbprint known answer", "[core][jws]") {
  auto jwk = rfc7638_jwk();
  CHECK(jwk_canonical(jwk).value() ==
        std::string(R"({"e":"AQAB","kty":"RSA","n":")") + k_rfc7638_n + R"("})");
  CHECK(jwk_thumbprint(jwk).value() == k_rfc7638_thumbprint);

  // The same key through OpenSSL: JWK -> EVP_PKEY -> JWK.
  auto key = public_key_from_jwk(jwk);
  REQUIRE(key);
  CHECK(EVP_PKEY_get_bits(key->get()) == 2048);
  auto back = jwk_of(*key);
  REQUIRE(back);
  CHECK(back->dump() == jwk_canonical(jwk).value());
  CHECK(jwk_thumbprint(*key).value() == k_rfc7638_thumbprint);
  CHECK(public_key_from_jwk_text(jwk.dump()).value().pem().value() == key->pem().value());
}

TEST_CASE("JWKs of RSA keys agree with the openssl command line", "[core][jws]") {
  auto key = gen(key_spec::rsa(2048));
  auto jwk = jwk_of(key).value();
  CHECK(member_names(jwk) == std::vector<std::string>{"e", "kty", "n"});
  CHECK(jwk["e"] == "AQAB");
  CHECK(jwk["kty"] == "RSA");
  std::string n = b64d(jwk["n"]);
  CHECK(n.size() == 256);
  CHECK(n[0] != '\0');
  test::temp_dir dir;
  test::write_file(dir / "pub.pem", key.public_pem().value());
  auto r = test::run({"openssl", "rsa", "-pubin", "-in", dir / "pub.pem", "-noout", "-modulus"});
  CHECK(r.output == "Modulus=" + hex_upper(n) + "\n");
  CHECK(jwk_canonical(jwk).value() == jwk.dump());
}

TEST_CASE("JWKs of EC keys have padded coordinates and round-trip", "[core][jws]") {
  struct row {
    const char* curve;
    const char* crv;
    size_t size;
  };
  for (auto [curve, crv, size] : {row{"P-256", "P-256", 32}, row{"secp384r1", "P-384", 48},
                                  row{"P-521", "P-521", 66}}) {
    INFO(curve);
    auto key = gen(key_spec::ec(curve));
    auto jwk = jwk_of(key).value();
    CHECK(member_names(jwk) == std::vector<std::string>{"crv", "kty", "x", "y"});
    CHECK(jwk["crv"] == crv);
    CHECK(jwk["kty"] == "EC");
    CHECK(b64d(jwk["x"]).size() == size);
    CHECK(b64d(jwk["y"]).size() == size);
    auto back = public_key_from_jwk(jwk);
    REQUIRE(back);
    CHECK(EVP_PKEY_eq(back->get(), key.get()) == 1);
    CHECK(jwk_canonical(jwk).value() == jwk.dump());
    CHECK(jwk_thumbprint(key).value() == base64url_encode(sha256(jwk.dump())));
  }
  auto bp = jwk_of(gen(key_spec::ec("brainpoolP256r1")));
  REQUIRE_FALSE(bp);
  CHECK(bp.error().code == crypto_errc::unsupported);
  CHECK(bp.error().message == "no JWK for EC keys on curve 'brainpoolP256r1'");
  auto ed = jwk_of(gen(key_spec::ec("Ed25519")));
  REQUIRE_FALSE(ed);
  CHECK(ed.error().message == "no JWK for keys of type 'ED25519'");
  CHECK(jwk_of(public_key()).error().message == "no key to make a JWK of");
}

TEST_CASE("key authorizations and dns-01 values", "[core][jws]") {
  auto key = public_key_from_jwk(rfc7638_jwk()).value();
  const std::string token = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
  auto ka = key_authorization(token, key);
  REQUIRE(ka);
  CHECK(*ka == token + "." + k_rfc7638_thumbprint);
  // Computed with: printf %s "$ka" | openssl dgst -sha256 -binary | openssl base64 -A | tr +/ -_
  CHECK(dns01_txt_value(*ka) == "ZTRx1Ckl1-tM05o5zaizTTA0yUy5AGereMgSNWC6Ll8");

  auto rsa = gen(key_spec::rsa(2048));
  auto jwk = jwk_of(rsa).value();
  std::string canonical = R"({"e":")" + jwk["e"].get<std::string>() + R"(","kty":"RSA","n":")" +
                          jwk["n"].get<std::string>() + R"("})";
  CHECK(key_authorization("tok_1-x", rsa).value() == "tok_1-x." + base64url_encode(sha256(canonical)));

  for (std::string bad : {"", "a b", "tok/../x", "abc="}) {
    auto r = key_authorization(bad, key);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == crypto_errc::bad_encoding);
    CHECK(r.error().message == "challenge token '" + bad + "' is not base64url (RFC 8555 §8.3)");
  }
}

TEST_CASE("RFC 7515 appendix A.1 HS256 example", "[core][jws]") {
  const std::string prot = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9";
  const std::string payload =
      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
  const std::string k = b64d(
      "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
  const std::string sig = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  CHECK(base64url_encode(jws_hmac_signature(k, prot + "." + payload)) == sig);

  ojson jws = {{"protected", prot}, {"payload", payload}, {"signature", sig}};
  auto content = jws_verify_hmac(jws, k);
  REQUIRE(content);
  CHECK(content->header.dump() == R"({"typ":"JWT","alg":"HS256"})");
  CHECK(content->payload == "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}");

  jws["signature"] = "eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  CHECK(jws_verify_hmac(jws, k).error().message == "JWS signature does not verify");
  jws["signature"] = sig;
  CHECK(jws_verify_hmac(jws, k.substr(1)).error().message == "JWS signature does not verify");
}

TEST_CASE("RS256 signing, verified by us and by openssl dgst", "[core][jws]") {
  auto key = gen(key_spec::rsa(2048));
  const std::string body = R"({"contact":["mailto:admin@example.org"],"termsOfServiceAgreed":true})";

  SECTION("with the account JWK") {
    auto jws = jws_sign(key, body, {"https://ca.test/acme/new-acct", "nonce-1", ""});
    REQUIRE(jws);
    CHECK(member_names(*jws) == std::vector<std::string>{"protected", "payload", "signature"});
    ojson want;
    want["alg"] = "RS256";
    want["jwk"] = jwk_of(key).value();
    want["nonce"] = "nonce-1";
    want["url"] = "https://ca.test/acme/new-acct";
    CHECK(b64d((*jws)["protected"]) == want.dump());
    CHECK(b64d((*jws)["payload"]) == body);
    std::string sig = b64d((*jws)["signature"]);
    CHECK(sig.size() == 256);
    CHECK(openssl_verifies(key, *jws, sig, "sha256"));
    CHECK_FALSE(openssl_verifies(key, *jws, std::string(1, static_cast<char>(sig[0] ^ 1)) + sig.substr(1), "sha256"));
    auto content = jws_verify(*jws, key);
    REQUIRE(content);
    CHECK(content->payload == body);
    CHECK(content->header == want);

    auto other = gen(key_spec::rsa(2048));
    CHECK(jws_verify(*jws, other).error().message == "JWS signature does not verify");
    auto tampered = *jws;
    tampered["payload"] = base64url_encode(R"({"contact":[]})");
    CHECK(jws_verify(tampered, key).error().code == crypto_errc::bad_key);
  }
  SECTION("POST-as-GET with the account URL") {
    auto jws = jws_sign(key, "", {"https://ca.test/acme/order/1", "nonce-2", "https://ca.test/acme/acct/7"});
    REQUIRE(jws);
    CHECK((*jws)["payload"] == "");
    CHECK(b64d((*jws)["protected"]) ==
          R"({"alg":"RS256","kid":"https://ca.test/acme/acct/7","nonce":"nonce-2","url":"https://ca.test/acme/order/1"})");
    CHECK(openssl_verifies(key, *jws, b64d((*jws)["signature"]), "sha256"));
    CHECK(jws_verify(*jws, key).value().payload == "");
  }
  SECTION("without nonce (inner JWS of a key change) and without url") {
    auto jws = jws_sign(key, "{}", {"https://ca.test/acme/key-change", "", "x"});
    REQUIRE(jws);
    CHECK(b64d((*jws)["protected"]) == R"({"alg":"RS256","kid":"x","url":"https://ca.test/acme/key-change"})");
    auto no_url = jws_sign(key, "{}", {"", "n", ""});
    REQUIRE_FALSE(no_url);
    CHECK(no_url.error().message == "JWS protected header needs a 'url' (RFC 8555 §6.4)");
  }
  SECTION("header values that are not UTF-8 are an error, not an exception") {
    auto jws = jws_sign(key, "{}", {"https://ca.test/x", "n", "\xff\xfe"});
    REQUIRE_FALSE(jws);
    CHECK(jws.error().code == crypto_errc::bad_encoding);
    CHECK_THAT(jws.error().message, StartsWith("JWS protected header cannot be serialized: "));
  }
}

TEST_CASE("ES256 and ES384 signatures are raw r||s", "[core][jws]") {
  struct row {
    const char* curve;
    const char* alg;
    size_t sig_size;
    const char* md;
  };
  for (auto [curve, alg, sig_size, md] :
       {row{"P-256", "ES256", 64, "sha256"}, row{"P-384", "ES384", 96, "sha384"}}) {
    INFO(curve);
    auto key = gen(key_spec::ec(curve));
    CHECK(to_string(jws_alg_for(key).value()) == std::string(alg));
    // Many signatures, so that short r or s values (padding needed) show up too.
    for (int i = 0; i < 20; ++i) CHECK(jws_signature(key, "input " + std::to_string(i))->size() == sig_size);
    auto jws = jws_sign(key, R"({"identifiers":[]})", {"https://ca.test/new-order", "n", "https://ca.test/acct/1"});
    REQUIRE(jws);
    CHECK(b64d((*jws)["protected"]) ==
          std::string(R"({"alg":")") + alg + R"(","kid":"https://ca.test/acct/1","nonce":"n","url":"https://ca.test/new-order"})");
    std::string sig = b64d((*jws)["signature"]);
    REQUIRE(sig.size() == sig_size);
    CHECK(openssl_verifies(key, *jws, ecdsa_der(sig), md));
    CHECK(jws_verify(*jws, key).value().payload == R"({"identifiers":[]})");
    CHECK(jws_verify(*jws, public_key_from_jwk(jwk_of(key).value()).value()));

    auto shortened = *jws;
    shortened["signature"] = base64url_encode(sig.substr(1));
    CHECK(jws_verify(shortened, key).error().message ==
          "JWS signature is " + std::to_string(sig_size - 1) + " bytes long, expected " +
              std::to_string(sig_size));
  }
}

TEST_CASE("keys JWS cannot sign with, and algorithms that do not fit", "[core][jws]") {
  auto p521 = gen(key_spec::ec("P-521"));
  auto r = jws_sign(p521, "{}", {"https://ca.test/x", "n", ""});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == crypto_errc::unsupported);
  CHECK(r.error().message == "unsupported key for JWS: EC curve 'secp521r1'");
  CHECK(jws_alg_for(gen(key_spec::ec("Ed25519"))).error().message ==
        "unsupported key for JWS: type 'ED25519'");
  CHECK(jws_alg_for(public_key()).error().message == "no key to sign with");

  auto rsa = gen(key_spec::rsa(2048));
  auto ec = gen(key_spec::ec("P-256"));
  auto jws = jws_sign(rsa, "{}", {"https://ca.test/x", "n", ""}).value();
  CHECK(jws_verify(jws, ec).error().message == "JWS alg 'RS256' does not fit the key (expected 'ES256')");
  CHECK(jws_verify_hmac(jws, "k").error().message ==
        "JWS alg 'RS256' does not fit the key (expected 'HS256')");
  auto none = jws;
  none["protected"] = base64url_encode(R"({"alg":"none","url":"https://ca.test/x"})");
  none["signature"] = "";
  CHECK(jws_verify(none, rsa).error().message == "JWS alg 'none' does not fit the key (expected 'RS256')");
}

TEST_CASE("External Account Binding object", "[core][jws]") {
  auto account = gen(key_spec::rsa(2048));
  const std::string hmac_raw = "0123456789abcdef0123456789abcdef";
  const std::string hmac = base64url_encode(hmac_raw);
  auto eab = eab_jws("kid-1", hmac, account, "https://ca.test/acme/new-acct");
  REQUIRE(eab);
  CHECK(member_names(*eab) == std::vector<std::string>{"protected", "payload", "signature"});
  CHECK(b64d((*eab)["protected"]) ==
        R"({"alg":"HS256","kid":"kid-1","url":"https://ca.test/acme/new-acct"})");
  CHECK(b64d((*eab)["payload"]) == jwk_of(account).value().dump());
  CHECK((*eab)["signature"] ==
        base64url_encode(hmac_sha256(hmac_raw, (*eab)["protected"].get<std::string>() + "." +
                                                   (*eab)["payload"].get<std::string>())));
  CHECK(jws_verify_hmac(*eab, hmac_raw).value().payload == jwk_of(account).value().dump());
  CHECK(jws_verify(*eab, account).error().message == "JWS alg 'HS256' does not fit the key (expected 'RS256')");
  // Padded hmac values decode too.
  CHECK(eab_jws("kid-1", hmac + "=", account, "https://ca.test/acme/new-acct").value() == *eab);

  auto bad = eab_jws("kid-1", "not base64!", account, "https://ca.test/acme/new-acct");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == crypto_errc::bad_encoding);
  CHECK(bad.error().message ==
        "external account binding hmac is not base64url: base64url text contains characters outside the alphabet");
  CHECK(eab_jws("kid-1", "", account, "u").error().message == "external account binding hmac is empty");
  CHECK(eab_jws("", hmac, account, "u").error().message == "external account binding kid is empty");
}

TEST_CASE("malformed JWKs are errors naming the member", "[core][jws]") {
  auto msg = [](const std::string& text) {
    auto r = public_key_from_jwk_text(text);
    return r ? std::string("ok") : r.error().message;
  };
  CHECK(msg(R"({"kty":"RSA",)") == "JWK is not valid JSON");
  CHECK(msg("") == "JWK is not valid JSON");
  CHECK(msg("[1,2]") == "JWK is not a JSON object");
  CHECK(msg(R"({"n":"AQAB","e":"AQAB"})") == "JWK member 'kty' is missing or not a string");
  CHECK(msg(R"({"kty":7})") == "JWK member 'kty' is missing or not a string");
  CHECK(msg(R"({"kty":"oct","k":"AQAB"})") == "JWK member 'kty' has unsupported value 'oct'");
  CHECK(msg(R"({"kty":"RSA","e":"AQAB"})") == "JWK member 'n' is missing or not a string");
  CHECK(msg(R"({"kty":"RSA","n":"0vx7!","e":"AQAB"})") ==
        "JWK member 'n': base64url text contains characters outside the alphabet");
  CHECK(msg(R"({"kty":"RSA","n":"AQAB","e":"A"})") == "JWK member 'e': base64url text has an impossible length");
  CHECK(msg(R"({"kty":"RSA","n":"AQAB","e":""})") == "JWK member 'e' is empty");
  CHECK(msg(R"({"kty":"EC","crv":"P-999","x":"AA","y":"AA"})") ==
        "JWK member 'crv' has unsupported value 'P-999'");
  CHECK(msg(R"({"kty":"EC","crv":"P-256","x":"AQAB","y":"AQAB"})") == "JWK member 'x' is not 32 bytes long");
  std::string c32 = base64url_encode(std::string(32, '\x01'));
  CHECK(msg(R"({"kty":"EC","crv":"P-256","x":")" + c32 + R"("})") == "JWK member 'y' is missing or not a string");
  auto off_curve = public_key_from_jwk_text(R"({"kty":"EC","crv":"P-256","x":")" + c32 + R"(","y":")" + c32 + R"("})");
  REQUIRE_FALSE(off_curve);
  CHECK(off_curve.error().code == crypto_errc::bad_key);
  CHECK_THAT(off_curve.error().message,
             StartsWith("JWK members 'x'/'y' are not a point on P-256: EVP_PKEY_fromdata(EC) failed"));

  auto canon = [](const std::string& text) {
    auto r = jwk_canonical(ojson::parse(text));
    return r ? *r : r.error().message;
  };
  CHECK(canon(R"({"kty":"EC","crv":"P-256","x":"!!","y":"AA"})") == "JWK member 'x' is not base64url");
  CHECK(canon(R"({"kty":"EC","crv":"P-256","x":"AA"})") == "JWK member 'y' is missing or not a string");
  CHECK(canon(R"({"kty":"EC","crv":"X","x":"AA","y":"AA"})") == "JWK member 'crv' has unsupported value 'X'");
  CHECK(canon(R"({"y":"AA","x":"AQ","use":"sig","kty":"EC","crv":"P-256"})") ==
        R"({"crv":"P-256","kty":"EC","x":"AQ","y":"AA"})");
  CHECK(canon("3") == "JWK is not a JSON object");
  CHECK(jwk_thumbprint(ojson::parse(R"({"kty":"oct"})")).error().message ==
        "JWK member 'kty' has unsupported value 'oct'");
}

TEST_CASE("malformed JWS objects are errors naming the member", "[core][jws]") {
  auto key = gen(key_spec::ec("P-256"));
  auto good = jws_sign(key, "{}", {"https://ca.test/x", "n", ""}).value();
  auto msg = [&](ojson j) {
    auto r = jws_verify(j, key);
    return r ? std::string("ok") : r.error().message;
  };
  CHECK(msg(good) == "ok");
  CHECK(msg(ojson::array()) == "JWS is not a JSON object");
  auto j = good;
  j.erase("signature");
  CHECK(msg(j) == "JWS member 'signature' is missing or not a string");
  j = good;
  j["payload"] = 3;
  CHECK(msg(j) == "JWS member 'payload' is missing or not a string");
  j = good;
  j["protected"] = "e30*";
  CHECK(msg(j) == "JWS member 'protected': base64url text contains characters outside the alphabet");
  j["protected"] = base64url_encode("{no json");
  CHECK(msg(j) == "JWS protected header is not a JSON object");
  j["protected"] = base64url_encode(R"({"url":"x"})");
  CHECK(msg(j) == "JWS protected header has no 'alg'");
  j = good;
  j["signature"] = "A";
  CHECK(msg(j) == "JWS member 'signature': base64url text has an impossible length");
}
