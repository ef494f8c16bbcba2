// httpd/request_rules.hpp: the decisions behind the request hooks, without Apache.
#include <catch2/catch.hpp>

#include "httpd/request_rules.hpp"

using namespace mda;
using namespace mda::httpd;

TEST_CASE("http-01 request paths and tokens", "[httpd][request-rules]") {
  CHECK(http01_token_of("/.well-known/acme-challenge/tok_1-A") == std::optional<std::string_view>("tok_1-A"));
  CHECK_FALSE(http01_token_of("/.well-known/acme-challenge/"));
  CHECK_FALSE(http01_token_of("/.well-known/acme-challenge/a/b"));
  CHECK_FALSE(http01_token_of("/.well-known/other/tok"));
  CHECK_FALSE(http01_token_of(""));
  CHECK(http01_token_valid("tok_1-A"));
  CHECK_FALSE(http01_token_valid(".."));
  CHECK_FALSE(http01_token_valid("..%2Fx"));
  CHECK_FALSE(http01_token_valid(""));
  CHECK_FALSE(http01_token_valid(std::string(257, 'a')));
  CHECK(key_authorization_matches("tok.thumb", "tok"));
  CHECK_FALSE(key_authorization_matches("tok.thumb", "to"));
  CHECK_FALSE(key_authorization_matches("tokX.thumb", "tok"));
  CHECK_FALSE(key_authorization_matches("tok.", "tok"));
  CHECK_FALSE(key_authorization_matches("tok.thumb", ""));
}

TEST_CASE("challenge types an MD allows and the MD of a host", "[httpd][request-rules]") {
  engine_config cfg;
  engine_md a;
  a.md.name = "a.test";
  a.md.domains = {"a.test", "www.a.test"};
  cfg.mds.push_back(a);
  CHECK(challenge_allowed(a.md, "http-01"));
  a.md.ca.challenges = {"tls-alpn-01"};
  CHECK_FALSE(challenge_allowed(a.md, "http-01"));
  CHECK(challenge_allowed(a.md, "TLS-ALPN-01"));
  CHECK(md_for_host(cfg, "WWW.A.test") == &cfg.mds[0].md);
  CHECK(md_for_host(cfg, "b.test") == nullptr);
  CHECK(md_for_host(cfg, "") == nullptr);
}

TEST_CASE("tls-alpn-01 answers with the RSA challenge certificate first", "[httpd][request-rules]") {
  const auto p384 = key_spec::ec("secp384r1"), p256 = key_spec::ec("P-256");
  const auto r4096 = key_spec::rsa(4096), r3072 = key_spec::rsa(3072), dflt = key_spec::default_spec();
  CHECK(tls_alpn01_answer_order({p384, r4096}) == std::vector<key_spec>{r4096, p384});
  CHECK(tls_alpn01_answer_order({p256, r4096, dflt, p384, r3072}) ==
        std::vector<key_spec>{dflt, r4096, r3072, p256, p384});
  CHECK(tls_alpn01_answer_order({}).empty());
}

TEST_CASE("MDRequireHttps redirect status and Location", "[httpd][request-rules]") {
  CHECK(redirect_status(md_require_https::permanent, true) == 301);
  CHECK(redirect_status(md_require_https::permanent, false) == 308);
  CHECK(redirect_status(md_require_https::temporary, true) == 302);
  CHECK(redirect_status(md_require_https::temporary, false) == 307);
  CHECK(redirect_status(md_require_https::off, true) == 0);
  CHECK(https_location("a.test", 443, "/x/y", "q=1", "") == "https://a.test/x/y?q=1");
  CHECK(https_location("a.test", 0, "/", "", "f") == "https://a.test/#f");
  CHECK(https_location("a.test", 8443, "/x", "", "") == "https://a.test:8443/x");
  CHECK(https_location("[::1]", 8443, "", "", "") == "https://[::1]:8443/");
  CHECK(last_path_segment("/md-status/a.test") == "a.test");
  CHECK(last_path_segment("/") == "");
  CHECK(last_path_segment("") == "");
}
