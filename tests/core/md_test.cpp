#include <catch2/catch.hpp>

#include "core/md.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using ojson = nlohmann::ordered_json;

namespace {

/// The MD of the reference §3.1 md-status example (b.example.test after a renewal).
managed_domain example_md() {
  managed_domain md;
  md.name = "b.example.test";
  md.domains = {"b.example.test"};
  md.contacts = {"mailto:admin@example.test"};
  md.transitive = 1;
  md.ca.proto = "ACME";
  md.ca.urls = {"https://127.0.0.1:14100/dir"};
  md.ca.agreement = "accepted";
  md.ca.challenges = {"http-01"};
  md.key_specs = {key_spec::ec("secp256r1"), key_spec::rsa(3072)};
  md.state = md_state::incomplete;
  md.state_descr = "certificate(secp256r1) is missing";
  md.renew_mode = md_renew_mode::automatic;
  md.renew_window = "33%";
  md.warn_window = "10%";
  md.require_https = md_require_https::permanent;
  md.must_staple = false;
  md.acme_tls_1_domains = {"b.example.test"};
  md.stapling = true;
  md.profile_mandatory = false;
  md.ari_renewals = true;
  return md;
}

std::string golden(const std::string& name) {
  auto text = test::read_file(std::string(MDACTOR_TESTS_DIR) + "/data/" + name);
  if (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

std::string from_json_error(const std::string& text) {
  auto j = parse_json(text, "md.json");
  if (!j) return j.error().message;
  auto md = md_from_json(*j, "md.json");
  return md ? std::string("no error") : md.error().message;
}

std::vector<std::string> keys(const ojson& j) {
  std::vector<std::string> out;
  for (auto it = j.begin(); it != j.end(); ++it) out.push_back(it.key());
  return out;
}

} // namespace

TEST_CASE("md.json of the reference example, byte for byte (golden)", "[core][md]") {
  CHECK(to_json(example_md()).dump(2) == golden("md/b.example.test.md.json"));
}

TEST_CASE("md.json after activation carries ca.account and ca.url, no state-descr", "[core][md]") {
  auto md = example_md();
  md.ca.account = "ACME-127.0.0.1-0000";
  md.ca.url = "https://127.0.0.1:14100/dir";
  md.state = md_state::complete;
  md.state_descr.clear();
  auto j = to_json(md);
  CHECK(j["ca"].dump() ==
        R"({"account":"ACME-127.0.0.1-0000","proto":"ACME","url":"https://127.0.0.1:14100/dir",)"
        R"("urls":["https://127.0.0.1:14100/dir"],"agreement":"accepted","challenges":["http-01"]})");
  CHECK(j["state"] == 2);
  CHECK_FALSE(j.contains("state-descr"));
}

TEST_CASE("md.json leaves out what mod_md leaves out", "[core][md]") {
  managed_domain md;
  CHECK(to_json(md).dump() ==
        R"({"domains":[],"contacts":[],"transitive":1,"ca":{},"state":0,"renew-mode":1,)"
        R"("must-staple":false,"proto":{"acme-tls/1":[]},"stapling":false,)"
        R"("profile-mandatory":false,"ari-renewals":true})");
  SECTION("an EAB kid of 'none' is no binding") {
    md.eab = {"none", "c2VjcmV0"};
    CHECK_FALSE(to_json(md).contains("eab"));
  }
  SECTION("require-https off is absent, temporary is written") {
    md.require_https = md_require_https::temporary;
    CHECK(to_json(md)["require-https"] == "temporary");
  }
}

TEST_CASE("md.json key order with every optional member set", "[core][md]") {
  auto md = example_md();
  md.ca.account = "ACME-127.0.0.1-0000";
  md.ca.url = "https://127.0.0.1:14100/dir";
  md.cert_files = {"/etc/ssl/a.pem"};
  md.pkey_files = {"/etc/ssl/a.key"};
  md.dns01_cmd = "/usr/bin/dns01.sh";
  md.proxy_url = "http://proxy:3128";
  md.ca_certs = "/etc/ssl/ca.pem";
  md.proxy_ca_certs = "/etc/ssl/proxy-ca.pem";
  md.eab = {"kid-1", "c2VjcmV0"};
  md.profile = "shortlived";
  md.profile_mandatory = true;
  auto j = to_json(md);
  CHECK(keys(j) == std::vector<std::string>{
                       "name", "domains", "contacts", "transitive", "ca", "privkey", "state",
                       "state-descr", "renew-mode", "renew-window", "warn-window", "require-https",
                       "must-staple", "proto", "cert-files", "pkey-files", "stapling", "cmd-dns-01",
                       "proxy-url", "ca-certs", "proxy-ca-certs", "eab", "profile",
                       "profile-mandatory", "ari-renewals"});
  CHECK(keys(j["ca"]) ==
        std::vector<std::string>{"account", "proto", "url", "urls", "agreement", "challenges"});
  CHECK(j["eab"].dump() == R"({"kid":"kid-1","hmac":"c2VjcmV0"})");

  SECTION("the public form masks the hmac and nothing else") {
    auto pub = to_public_json(md);
    CHECK(pub["eab"].dump() == R"({"kid":"kid-1","hmac":"***"})");
    pub["eab"]["hmac"] = "c2VjcmV0";
    CHECK(pub == j);
  }
  SECTION("it reads back to the same MD") {
    auto back = md_from_json(j, "md.json");
    REQUIRE(back.ok());
    CHECK(*back == md);
    CHECK(to_json(*back).dump(2) == j.dump(2));
  }
}

TEST_CASE("md.json golden file reads back and writes the same text", "[core][md]") {
  auto text = golden("md/b.example.test.md.json");
  auto j = parse_json(text, "md.json");
  REQUIRE(j.ok());
  auto md = md_from_json(*j, "md.json");
  REQUIRE(md.ok());
  CHECK(*md == example_md());
  CHECK(to_json(*md).dump(2) == text);
}

TEST_CASE("domain names are lowercased and de-duplicated, order kept", "[core][md]") {
  CHECK(compact_names({"B.Example.TEST", "www.example.test", "b.example.test", "WWW.example.test"}) ==
        std::vector<std::string>{"b.example.test", "www.example.test"});
  CHECK(compact_names({}).empty());
  managed_domain md;
  md.domains = {"A.test", "a.TEST", "b.test"};
  md.ca.challenges = {"HTTP-01", "http-01", "tls-alpn-01"};
  auto j = to_json(md);
  CHECK(j["domains"].dump() == R"(["a.test","b.test"])");
  CHECK(j["ca"]["challenges"].dump() == R"(["http-01","tls-alpn-01"])");
  auto back = md_from_json(ojson::parse(R"({"domains":["X.test","x.test","Y.test"]})"), "md.json");
  REQUIRE(back.ok());
  CHECK(back->domains == std::vector<std::string>{"x.test", "y.test"});
}

TEST_CASE("md.json legacy forms", "[core][md]") {
  SECTION("a single ca.url without urls becomes the CA list") {
    auto md = md_from_json(ojson::parse(R"({"ca":{"proto":"ACME","url":"https://ca.test/dir"}})"), "md.json");
    REQUIRE(md.ok());
    CHECK(md->ca.url == "https://ca.test/dir");
    CHECK(md->ca.urls == std::vector<std::string>{"https://ca.test/dir"});
  }
  SECTION("urls win over url when both are there") {
    auto md = md_from_json(
        ojson::parse(R"({"ca":{"url":"https://b.test/dir","urls":["https://a.test/dir","https://b.test/dir"]}})"),
        "md.json");
    REQUIRE(md.ok());
    CHECK(md->ca.urls == std::vector<std::string>{"https://a.test/dir", "https://b.test/dir"});
  }
  SECTION("state 3 (expired) is read as complete") {
    auto md = md_from_json(ojson::parse(R"({"state":3})"), "md.json");
    REQUIRE(md.ok());
    CHECK(md->state == md_state::complete);
  }
  SECTION("mod_md 1.x integer windows are dropped, as mod_md 2 does") {
    auto md = md_from_json(ojson::parse(R"({"renew-window":1209600,"warn-window":"10%"})"), "md.json");
    REQUIRE(md.ok());
    CHECK(md->renew_window.empty());
    CHECK(md->warn_window == "10%");
  }
  SECTION("an unknown require-https text is off; a single privkey object is one spec") {
    auto md = md_from_json(ojson::parse(R"({"require-https":"sometimes","privkey":{"type":"RSA","bits":4096}})"),
                           "md.json");
    REQUIRE(md.ok());
    CHECK(md->require_https == md_require_https::off);
    CHECK(md->key_specs == std::vector<key_spec>{key_spec::rsa(4096)});
  }
  SECTION("absent members keep the defaults; null counts as absent") {
    auto md = md_from_json(ojson::parse(R"({"name":"a.test","eab":null,"profile":null})"), "md.json");
    REQUIRE(md.ok());
    managed_domain expected;
    expected.name = "a.test";
    CHECK(*md == expected);
  }
}

TEST_CASE("md.json of an MD that mod_md's a2md added: renew-mode -1 is read as unset", "[core][md]") {
  auto md = md_from_json(ojson::parse(R"({"name":"a.test","domains":["a.test"],"renew-mode":-1})"), "md.json");
  REQUIRE(md);
  CHECK(md->renew_mode == md_renew_mode::unset);
  CHECK(to_json(*md)["renew-mode"] == -1);
}

TEST_CASE("md.json with wrong types or values is a clear error", "[core][md]") {
  CHECK(from_json_error(R"({"state":"2"})") == R"(md.json: "state" must be an integer, found string)");
  CHECK(from_json_error(R"({"state":2.5})") ==
        R"(md.json: "state" must be an integer, found a fractional number)");
  CHECK(from_json_error(R"({"state":9})") == R"(md.json: "state" has unknown value 9)");
  CHECK(from_json_error(R"({"renew-mode":-2})") == R"(md.json: "renew-mode" has unknown value -2)");
  CHECK(from_json_error(R"({"renew-mode":3})") == R"(md.json: "renew-mode" has unknown value 3)");
  CHECK(from_json_error(R"({"transitive":4294967296})") ==
        R"(md.json: "transitive" is out of range: 4294967296)");
  CHECK(from_json_error(R"({"domains":"a.test"})") ==
        R"(md.json: "domains" must be an array of strings, found string)");
  CHECK(from_json_error(R"({"ca":{"urls":["https://a.test/dir",7]}})") ==
        R"(md.json: "ca.urls[1]" must be a string, found number)");
  CHECK(from_json_error(R"({"ca":["ACME"]})") == R"(md.json: "ca" must be an object, found array)");
  CHECK(from_json_error(R"({"privkey":"RSA"})") ==
        R"(md.json: "privkey" must be an object or an array, found string)");
  CHECK(from_json_error(R"({"must-staple":1})") == R"(md.json: "must-staple" must be a boolean, found number)");
  CHECK(from_json_error(R"({"proto":{"acme-tls/1":{}}})") ==
        R"(md.json: "proto.acme-tls/1" must be an array of strings, found object)");
  CHECK(from_json_error(R"({"eab":{"kid":1}})") == R"(md.json: "eab.kid" must be a string, found number)");
  CHECK(from_json_error(R"(["b.example.test"])") == "md.json: expected a JSON object, found array");
  SECTION("the first error is the one reported") {
    CHECK(from_json_error(R"({"name":1,"state":"x"})") == R"(md.json: "name" must be a string, found number)");
  }
  SECTION("the error code says what kind of problem it is") {
    auto md = md_from_json(ojson::parse(R"({"state":9})"), "md.json");
    REQUIRE_FALSE(md.ok());
    CHECK(md.error().code == json_errc::bad_value);
    md = md_from_json(ojson::parse(R"({"state":"9"})"), "md.json");
    REQUIRE_FALSE(md.ok());
    CHECK(md.error().code == json_errc::wrong_type);
  }
}

TEST_CASE("parse_json names the source and the byte", "[core][md][json]") {
  auto text = golden("md/b.example.test.md.json");
  auto truncated = parse_json(text.substr(0, 100), "domains/b.example.test/md.json");
  REQUIRE_FALSE(truncated.ok());
  CHECK(truncated.error().code == json_errc::syntax);
  CHECK(truncated.error().message ==
        "domains/b.example.test/md.json: invalid JSON at byte 100: syntax error while parsing value - "
        "invalid string: missing closing quote; last read: '\"mailto:a'");
  CHECK(parse_json("", "md.json").error().message ==
        "md.json: invalid JSON at byte 0: syntax error while parsing value - unexpected end of input; "
        "expected '[', '{', or a literal");
  CHECK(parse_json(R"({"a": 1)", "md.json").error().message ==
        "md.json: invalid JSON at byte 7: syntax error while parsing object - unexpected end of input; "
        "expected '}'");
  CHECK(parse_json("{\"a\":\"\xff\"}", "md.json").error().message ==
        "md.json: invalid JSON at byte 6: syntax error while parsing value - invalid string: ill-formed "
        "UTF-8 byte; last read: '\"\\xFF'");
  CHECK(parse_json(std::string(65, '[') + std::string(65, ']'), "md.json").error().message ==
        "md.json: invalid JSON: nested deeper than 64 levels");
  CHECK(parse_json(std::string(64, '[') + std::string(64, ']'), "md.json").ok());
  CHECK(parse_json(std::string(100000, '['), "md.json").error().code == json_errc::syntax);
  auto ok = parse_json(R"({"b":1,"a":2})", "md.json");
  REQUIRE(ok.ok());
  CHECK(ok->dump() == R"({"b":1,"a":2})");
}
