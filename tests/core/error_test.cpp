#include <catch2/catch.hpp>

#include "core/error.hpp"

using namespace mda;

TEST_CASE("error carries a code and a message, prefixable", "[core][error]") {
  error e{crypto_errc::bad_key, "no key"};
  CHECK(e.code == crypto_errc::bad_key);
  CHECK(e.code.category().name() == std::string("mdactor.crypto"));
  CHECK(e.prefixed("privkey.pem").message == "privkey.pem: no key");
}

TEST_CASE("expected holds a value or an error", "[core][error]") {
  expected<int> a = 5;
  REQUIRE(a);
  CHECK(*a == 5);
  expected<int> b = error{crypto_errc::unsupported, "nope"};
  REQUIRE_FALSE(b);
  CHECK(b.error().message == "nope");
  status s;
  CHECK(s.ok());
  status f = error{crypto_errc::library, "x"};
  CHECK_FALSE(f.ok());
}

TEST_CASE("openssl_error names the call", "[core][error]") {
  CHECK(openssl_error("X509_sign()").message.rfind("X509_sign() failed", 0) == 0);
}
