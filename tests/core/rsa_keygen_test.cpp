#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "core/ossl_ptr.hpp"
#include "core/pkey.hpp"
#include "core/rsa_keygen.hpp"
#include "tests/test_util.hpp"

using namespace mda;

namespace {

using bn = ossl_ptr<BIGNUM, BN_clear_free>;

bn param(const private_key& key, const char* name) {
  BIGNUM* b = nullptr;
  REQUIRE(EVP_PKEY_get_bn_param(key.get(), name, &b) == 1);
  return bn(b);
}

/// OpenSSL's full key check: p and q prime, n = pq, d, the CRT values.
bool openssl_checks(const private_key& key) {
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new(key.get(), nullptr),
                                                                 EVP_PKEY_CTX_free);
  return ctx && EVP_PKEY_check(ctx.get()) == 1;
}

} // namespace

TEST_CASE("RSA keys from two random primes meet FIPS 186-4 B.3.1's bounds", "[core][rsa_keygen]") {
  for (unsigned bits : {2048u, 3072u}) {
    CAPTURE(bits);
    auto key = generate_rsa_key(bits);
    REQUIRE(key);
    CHECK(key->is_rsa());
    CHECK(key->bits() == static_cast<int>(bits));
    CHECK(openssl_checks(*key));
    bn n = param(*key, OSSL_PKEY_PARAM_RSA_N), e = param(*key, OSSL_PKEY_PARAM_RSA_E);
    bn d = param(*key, OSSL_PKEY_PARAM_RSA_D), p = param(*key, OSSL_PKEY_PARAM_RSA_FACTOR1);
    bn q = param(*key, OSSL_PKEY_PARAM_RSA_FACTOR2);
    CHECK(BN_get_word(e.get()) == 65537);
    CHECK(BN_num_bits(n.get()) == static_cast<int>(bits));
    CHECK(BN_num_bits(p.get()) == static_cast<int>(bits / 2));
    CHECK(BN_num_bits(q.get()) == static_cast<int>(bits / 2));
    CHECK(BN_mod_word(p.get(), 65537) != 1);
    CHECK(BN_mod_word(q.get(), 65537) != 1);
    bn diff(BN_new());
    REQUIRE(BN_sub(diff.get(), p.get(), q.get()) == 1);
    CHECK(BN_num_bits(diff.get()) > static_cast<int>(bits / 2 - 100));
    CHECK(BN_num_bits(d.get()) > static_cast<int>(bits / 2));
  }
}

TEST_CASE("every RSA key is new, and the command line accepts it", "[core][rsa_keygen][interop]") {
  auto a = private_key::generate_rsa(2048), b = private_key::generate_rsa(2048);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->public_pem().value() != b->public_pem().value());
  test::temp_dir dir;
  const std::string path = dir.path() + "/key.pem";
  test::write_file(path, a->to_pem().value());
  auto checked = test::run({"openssl", "rsa", "-check", "-noout", "-in", path});
  CHECK(checked.exit_code == 0);
  CHECK(checked.output == "RSA key ok\n");
}

TEST_CASE("RSA sizes this generator does not make", "[core][rsa_keygen]") {
  for (unsigned bits : {1024u, 2047u, 2049u, 8194u}) {
    auto key = generate_rsa_key(bits);
    REQUIRE_FALSE(key);
    CHECK(key.error().code == crypto_errc::unsupported);
    CHECK(key.error().message ==
          "RSA keys of " + std::to_string(bits) + " bits are not made here (an even size from 2048 to 8192)");
  }
  auto even = private_key::generate_rsa(2050);
  REQUIRE(even);
  CHECK(even->bits() == 2050);
  // Odd sizes go to OpenSSL's own generator (3.0 rounds a 2049-bit request to a 2048-bit n).
  auto odd = private_key::generate_rsa(2049);
  REQUIRE(odd);
  CHECK(odd->is_rsa());
  CHECK(odd->bits() >= 2048);
}
