// Directive values: every expected message and every accepted oddity below was observed with
// the deployed mod_md (Debian apache2 2.4.71, `apache2 -t` on a config with that line).
#include <catch2/catch.hpp>

#include "core/config_values.hpp"

using namespace mda;
using namespace std::chrono_literals;

namespace {

template <class T>
void fails(const expected<T>& r, const std::string& msg, config_errc code) {
  REQUIRE_FALSE(r);
  CHECK(r.error().message == msg);
  CHECK(r.error().code == code);
}

void fails(const status& r, const std::string& msg, config_errc code) {
  REQUIRE_FALSE(r);
  CHECK(r.error().message == msg);
  CHECK(r.error().code == code);
}

using args = std::vector<std::string>;

std::string ca_error(const std::string& name, const std::string& why) {
  return "The CA name '" + name + "' is not known and it is not a URL either (" + why +
         "). Known CA names are: LetsEncrypt LetsEncrypt-Test Buypass Buypass-Test.";
}

} // namespace

TEST_CASE("config_errc is an error code enum with its category", "[core][config]") {
  std::error_code ec = config_errc::conflict;
  CHECK(ec.category().name() == std::string("mdactor.config"));
  CHECK(ec.message() == "conflicting arguments");
  error e{config_errc::bad_format, "x"};
  CHECK(e.code == config_errc::bad_format);
  CHECK(e.code != crypto_errc::bad_encoding);
}

TEST_CASE("keyword values", "[core][config]") {
  CHECK(*parse_on_off("on") == true);
  CHECK(*parse_on_off("ON") == true);
  CHECK(*parse_on_off("Off") == false);
  for (std::string bad : {"yes", " on", "on ", "o n", ""}) {
    fails(parse_on_off(bad), "unknown '" + bad + "', supported parameter values are 'on' and 'off'",
          config_errc::unknown_value);
  }
  CHECK(*parse_renew_mode("auto") == md_renew_mode::automatic);
  CHECK(*parse_renew_mode("Automatic") == md_renew_mode::automatic);
  CHECK(*parse_renew_mode("ALWAYS") == md_renew_mode::always);
  CHECK(*parse_renew_mode("manual") == md_renew_mode::manual);
  CHECK(*parse_renew_mode("STICK") == md_renew_mode::manual);
  fails(parse_renew_mode("x"), "unknown MDDriveMode x", config_errc::unknown_value);
  fails(parse_renew_mode("auto "), "unknown MDDriveMode auto ", config_errc::unknown_value);
  CHECK(*parse_require_https("off") == md_require_https::off);
  CHECK(*parse_require_https("temporary") == md_require_https::temporary);
  CHECK(*parse_require_https("Permanent") == md_require_https::permanent);
  fails(parse_require_https("x"),
        "unknown 'x', supported parameter values are 'temporary' and 'permanent'",
        config_errc::unknown_value);
  CHECK(*parse_match_names("ALL") == match_mode::all);
  CHECK(*parse_match_names("servernames") == match_mode::servernames);
  fails(parse_match_names("server names"), "invalid argument, must be a 'all' or 'servernames'",
        config_errc::unknown_value);
  CHECK(*parse_dns01_version("1") == 1);
  CHECK(*parse_dns01_version("2") == 2);
  for (auto bad : {"3", "01", " 1", ""}) {
    fails(parse_dns01_version(bad), "Only versions `1` and `2` are supported",
          config_errc::unknown_value);
  }
}

TEST_CASE("MDStoreLocks", "[core][config]") {
  auto locks = [](std::string_view v) {
    auto r = parse_store_locks(v);
    REQUIRE(r);
    return *r;
  };
  CHECK(locks("On").enabled);
  CHECK_FALSE(locks("On").wait);
  CHECK_FALSE(locks("off").enabled);
  CHECK_FALSE(locks("0").enabled);
  CHECK_FALSE(locks("0").wait);
  CHECK(locks("5").enabled);
  CHECK(*locks("5").wait == 5s);
  CHECK(*locks("2mi").wait == 2min);
  CHECK(*locks("-5").wait == -5s);
  for (auto bad : {"x", "5m", "o ff"}) {
    fails(parse_store_locks(bad), "neither 'on', 'off' or a duration specified",
          config_errc::unknown_value);
  }
}

TEST_CASE("numeric directives", "[core][config]") {
  CHECK(*parse_retry_delay("1ms") == 1ms);
  CHECK(*parse_retry_delay("30") == 30s);
  fails(parse_retry_delay("0"), "minimum delay must be greater than 0", config_errc::out_of_range);
  fails(parse_retry_delay("-1"), "minimum delay must be greater than 0", config_errc::out_of_range);
  fails(parse_retry_delay("5m"), "unrecognized duration format", config_errc::bad_format);
  fails(parse_retry_delay("x"), "unrecognized duration format", config_errc::bad_format);

  CHECK(*parse_retry_failover("13") == 13);
  CHECK(*parse_retry_failover("3x") == 3);
  CHECK(*parse_retry_failover("99999999999") == 1215752191); // atoi's (int) truncation
  for (auto bad : {"0", "x", "-1", "", "99999999999999999999"}) {
    fails(parse_retry_failover(bad), "invalid argument, must be a number > 0",
          config_errc::out_of_range);
  }

  CHECK(*parse_check_interval("1s") == 1s);
  CHECK(*parse_check_interval("12h") == 12h);
  CHECK(*parse_check_interval("60") == 60s);
  fails(parse_check_interval("999ms"), "check interval cannot be less than one second",
        config_errc::out_of_range);
  fails(parse_check_interval("-5"), "check interval cannot be less than one second",
        config_errc::out_of_range);
  fails(parse_check_interval("x"), "unrecognized duration format", config_errc::bad_format);

  CHECK(*parse_initial_delay("0") == 0ms);
  CHECK(*parse_initial_delay("5") == 5s);
  fails(parse_initial_delay("-1"), "initial delay must not be negative", config_errc::out_of_range);
  fails(parse_initial_delay("x"), "unrecognized duration format", config_errc::bad_format);

  CHECK(*parse_activation_delay("1") == 24h);
  CHECK(*parse_activation_delay("-1d") == -24h);
  CHECK(*parse_activation_delay("30s") == 30s);
  fails(parse_activation_delay("x"), "unrecognized duration format", config_errc::bad_format);
}

TEST_CASE("MDPrivateKeys", "[core][config][pkeys]") {
  auto keys = [](const args& a) {
    auto r = parse_private_keys(a);
    REQUIRE(r);
    return *r;
  };
  using K = std::vector<key_spec>;
  const auto rsa = key_spec::rsa;
  const auto ec = key_spec::ec;
  CHECK(keys({"Default"}) == K{key_spec::default_spec()});
  CHECK(keys({"default"}) == K{key_spec::default_spec()});
  CHECK(keys({"RSA"}) == K{rsa(2048)});
  CHECK(keys({"rsa", "4096"}) == K{rsa(4096)});
  CHECK(keys({"RSA4096"}) == K{rsa(4096)});
  CHECK(keys({"P-256", "secp384r1", "RSA3072"}) == K{ec("P-256"), ec("secp384r1"), rsa(3072)});
  SECTION("mod_md's reading of odd arguments") {
    CHECK(keys({"RSA", "x"}) == K{rsa(2048), ec("x")});
    CHECK(keys({"RSA", "2048", "3072"}) == K{rsa(2048), ec("3072")});
    CHECK(keys({"RSA", ""}) == K{rsa(2048), ec("")});
    CHECK(keys({"RSA", "+4096"}) == K{rsa(2048), ec("+4096")});
    CHECK(keys({"RSA4096x"}) == K{rsa(4096)});
    CHECK(keys({"RSA", "4096x"}) == K{rsa(4096)});
    CHECK(keys({"RSA", "99999999999"}) == K{rsa(1215752191)});
    CHECK(keys({"RSA", "4294969344"}) == K{rsa(2048)});
    CHECK(keys({"RSA", "2147483646"}) == K{rsa(2147483646)});
    CHECK(keys({"RSAx"}) == K{ec("RSAx")});
    CHECK(keys({"RSA-4096"}) == K{ec("RSA-4096")});
    CHECK(keys({"P-256", "p-0256"}) == K{ec("P-256"), ec("p-0256")});
    CHECK(keys({"P-256", " P-256"}) == K{ec("P-256"), ec(" P-256")});
  }
  SECTION("errors") {
    fails(parse_private_keys({}), "needs to specify the private key type",
          config_errc::missing_argument);
    for (const args& a : {args{"Default", "RSA"}, args{"RSA", "Default"}, args{"Default", "Default"}}) {
      fails(parse_private_keys(a), "'Default' allows no other parameter", config_errc::conflict);
    }
    for (const args& a : {args{"RSA", "1024"}, args{"RSA1024"}, args{"RSA", "99999999999999999999"}}) {
      fails(parse_private_keys(a), "must be 2048 or higher in order to be considered safe.",
            config_errc::out_of_range);
    }
    fails(parse_private_keys({"RSA", "2147483647"}), "is too large for an RSA key length.",
          config_errc::out_of_range);
    fails(parse_private_keys({"RSA", "3072", "RSA"}), "two keys of type 'RSA' are not possible.",
          config_errc::conflict);
    fails(parse_private_keys({"RSA", "RSA4096"}), "two keys of type 'RSA' are not possible.",
          config_errc::conflict);
    fails(parse_private_keys({"rsa4096", "P-256", "p-256"}),
          "two keys of type 'p-256' are not possible.", config_errc::conflict);
  }
}

TEST_CASE("MDPortMap", "[core][config][portmap]") {
  auto map = [](const args& a, port_map cur = {}) {
    auto r = parse_port_maps(a, cur);
    REQUIRE(r);
    return *r;
  };
  CHECK(map({"http:8080"}) == port_map{8080, 443});
  CHECK(map({"80:-"}) == port_map{0, 443});
  CHECK(map({"https:8443", "80:8080"}) == port_map{8080, 8443});
  CHECK(map({"443:-"}, port_map{8080, 8443}) == port_map{8080, 0});
  CHECK(map({"80:8080x"}) == port_map{8080, 443});
  CHECK(map({"80:-5"}) == port_map{0, 443});
  CHECK(map({" 80: 8080"}) == port_map{8080, 443});
  CHECK(map({"80:4294967297"}) == port_map{1, 443}); // (int) truncation
  CHECK(map({"4294967376:1"}) == port_map{1, 443});
  fails(parse_port_maps({"https:-", "http:0"}), "invalid number for port map, must be in ]0,65535]",
        config_errc::out_of_range);
  for (auto bad : {"80:70000", "80:x", "80:"}) {
    fails(parse_port_map(bad), "invalid number for port map, must be in ]0,65535]",
          config_errc::out_of_range);
  }
  for (auto bad : {"81:8080", ":80"}) {
    fails(parse_port_map(bad), "mapped port number must be 80 or 443", config_errc::out_of_range);
  }
  fails(parse_port_maps({"80:8080", "81:1"}), "mapped port number must be 80 or 443",
        config_errc::out_of_range);
  fails(parse_port_map("80:99999999999999999999"), "unable to parse second port number",
        config_errc::bad_format);
  fails(parse_port_map("99999999999999999999:80"), "unable to parse first port number",
        config_errc::bad_format);
  for (auto bad : {"80", "x:80", "HTTP:80", ""}) {
    fails(parse_port_map(bad), "no ':' after first port number", config_errc::bad_format);
  }
}

TEST_CASE("MDCertificateAuthority names and URLs", "[core][config][ca]") {
  CHECK(*ca_url_from_name("letsencrypt") == "https://acme-v02.api.letsencrypt.org/directory");
  CHECK(*ca_url_from_name("LetsEncrypt-Test") ==
        "https://acme-staging-v02.api.letsencrypt.org/directory");
  CHECK(*ca_url_from_name("BUYPASS") == "https://api.buypass.com/acme/directory");
  CHECK(*ca_url_from_name("Buypass-Test") == "https://api.test4.buypass.no/acme/directory");
  for (std::string ok : {"https://x.example/dir", "foo:bar", "http:///dir", "http://u@x/",
                         "a+b.c-d:x", "http://x.:80", "http://.x", "http://-/", "http://x?y",
                         "http://x#y", "http://u:p@x:8/", "http://[x]:80/", "Http://x_y", "h:/",
                         "http://x/%zz", "http://x:65353/", "a:b", "mailto:a.b@c", "MAILTO:x",
                         "urn:x", "http://", "http://@", "http://a@b@c/", "http://x:65616/"}) {
    INFO(ok);
    auto url = ca_url_from_name(ok);
    REQUIRE(url);
    CHECK(*url == ok);
  }
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"foo", "missing uri scheme"},         {"/dir", "missing uri scheme"},
      {"//host/x", "missing uri scheme"},    {"///x", "missing uri scheme"},
      {"a_b/c:d", "missing uri scheme"},     {"", "missing uri scheme"},
      {"foo:", "missing uri identifier"},    {"http:", "missing uri identifier"},
      {"http:// x", "whitespace in uri"},    {"http://x\t", "whitespace in uri"},
      {"http://a..b/", "invalid hostname"},  {"http://x_y/", "invalid hostname"},
      {"httpx://x_y/", "invalid hostname"},  {"http://[::1]/", "invalid hostname"},
      {"http://[x]y/", "invalid hostname"},  {"http:x", "missing hostname"},
      {"http:/x", "missing hostname"},       {"http://x:0/", "invalid port"},
      {"http://x:65400/", "invalid port"},   {"http://x:65354/", "invalid port"},
      {"http://x:065535/", "invalid port"},  {"https://x:-1/", "invalid port"},
      {"http://x:+80/", "invalid port"},     {"http://x:", "invalid port"},
      {"http://x:abc/", "not an uri"},       {"http://[::1/", "not an uri"},
      {"http://x:80:90/", "not an uri"},     {"a_b:x", "not an uri"},
      {"1a:x", "not an uri"},                {"a_b?c:d", "not an uri"},
      {"a_b#c:d", "not an uri"},             {"mailto:foo", "missing @"},
      {"mailto:@x", "missing local part"},   {"mailto:a@", "missing hostname"},
      {"mailto:a@b..c", "double period"},    {"mailto:a@b@c", "duplicate @"},
  };
  for (auto& [name, why] : bad) {
    INFO(name);
    fails(ca_url_from_name(name), ca_error(name, why), config_errc::unknown_value);
  }
  auto urls = parse_ca_urls({"letsencrypt", "buypass-test", "https://ca.test/dir"});
  REQUIRE(urls);
  CHECK(*urls == std::vector<std::string>{"https://acme-v02.api.letsencrypt.org/directory",
                                          "https://api.test4.buypass.no/acme/directory",
                                          "https://ca.test/dir"});
  fails(parse_ca_urls({"LetsEncrypt", "foo"}), ca_error("foo", "missing uri scheme"),
        config_errc::unknown_value);
  CHECK(parse_ca_urls({})->empty());

  CHECK(ca_name_from_url("https://acme-v02.api.letsencrypt.org/directory") == "LetsEncrypt");
  CHECK(ca_name_from_url("HTTPS://API.BUYPASS.COM/acme/directory") == "Buypass");
  CHECK(ca_name_from_url("https://localhost:14000/dir") == "localhost");
  CHECK(ca_name_from_url("urn:x") == "urn:x");
}

TEST_CASE("MDHttpProxy and contacts", "[core][config]") {
  CHECK(*parse_http_proxy("http://proxy:3128") == "http://proxy:3128");
  CHECK(*parse_http_proxy("https://proxy.example/") == "https://proxy.example/");
  CHECK(*parse_http_proxy("HTTP://x_y") == "HTTP://x_y"); // host checked only for "http..."
  CHECK(*parse_http_proxy("http://x:65616") == "http://x:65616"); // port kept to 16 bits
  fails(parse_http_proxy("proxy:3128"), "uri scheme must be http or https", config_errc::bad_format);
  fails(parse_http_proxy("ftp://x"), "uri scheme must be http or https", config_errc::bad_format);
  fails(parse_http_proxy("http://x:65536"), "invalid port", config_errc::bad_format);
  fails(parse_http_proxy("http://x:"), "invalid port", config_errc::bad_format);
  fails(parse_http_proxy("http://x y"), "whitespace in uri", config_errc::bad_format);
  fails(parse_http_proxy("proxy"), "missing uri scheme", config_errc::bad_format);
  fails(check_abs_uri("proxy"), "missing uri scheme", config_errc::bad_format);
  CHECK(check_abs_uri("ftp://x"));
  CHECK(check_abs_http_uri("https://x"));

  CHECK(contact_uri("admin@example.org") == "mailto:admin@example.org");
  CHECK(contact_uri("mailto:admin@example.org") == "mailto:admin@example.org");
  CHECK(contact_uri("tel:123") == "tel:123");
  CHECK(contact_uri("a.b:c") == "mailto:a.b:c");
  CHECK(contact_uri("abc") == "mailto:abc");
  CHECK(contact_uri("") == "mailto:");
  CHECK(schemify("x", "https") == "https:x");
}
