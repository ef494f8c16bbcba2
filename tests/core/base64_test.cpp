#include <catch2/catch.hpp>

#include "core/base64.hpp"
#include "core/digest.hpp"

using namespace mda;

TEST_CASE("base64url known answers (RFC 4648 §10 vectors, url alphabet, no padding)", "[core][base64]") {
  CHECK(base64url_encode("") == "");
  CHECK(base64url_encode("f") == "Zg");
  CHECK(base64url_encode("fo") == "Zm8");
  CHECK(base64url_encode("foo") == "Zm9v");
  CHECK(base64url_encode("foob") == "Zm9vYg");
  CHECK(base64url_encode("fooba") == "Zm9vYmE");
  CHECK(base64url_encode("foobar") == "Zm9vYmFy");
  CHECK(base64url_encode(std::string("\xfb\xff\xbf", 3)) == "-_-_");
  CHECK(base64_encode(std::string("\xfb\xff\xbf", 3)) == "+/+/");
  CHECK(base64_encode("fo") == "Zm8=");
}

TEST_CASE("base64url decodes with and without padding", "[core][base64]") {
  CHECK(*base64url_decode("Zm9vYmE") == "fooba");
  CHECK(*base64url_decode("Zm9vYmE=") == "fooba");
  CHECK(*base64url_decode("-_-_") == std::string("\xfb\xff\xbf", 3));
  CHECK(*base64url_decode("") == "");
  // RFC 7515 appendix C example
  CHECK(base64url_encode(std::string("\x03\xec\xff\xe0", 4)) == "A-z_4A");
  auto round = *random_bytes(48);
  CHECK(base64url_decode(base64url_encode(round)).value() == round);
  CHECK(base64url_encode(round).size() == 64);
}

TEST_CASE("base64url rejects bad input with a clear error", "[core][base64]") {
  auto bad = base64url_decode("Zm9v+YmE");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == crypto_errc::bad_encoding);
  CHECK(bad.error().message == "base64url text contains characters outside the alphabet");
  auto len = base64url_decode("Zm9vY");
  REQUIRE_FALSE(len);
  CHECK(len.error().message == "base64url text has an impossible length");
  CHECK_FALSE(base64_decode("Zm9v_A=="));
  CHECK(*base64_decode("Zm8=") == "fo");
}

TEST_CASE("hex and digests", "[core][base64]") {
  CHECK(hex_lower(sha256("abc")) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(hex_upper(sha1("abc")) == "A9993E364706816ABA3E25717850C26C9CD0D89D");
  // RFC 4231 test case 2
  CHECK(hex_lower(hmac_sha256("Jefe", "what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}
