#include <catch2/catch.hpp>

#include "core/engine_config.hpp"
#include "tests/test_util.hpp"

using namespace mda;

TEST_CASE("engine configuration round-trips through JSON", "[core][engine-config]") {
  engine_config c;
  c.settings.store_dir = "/var/lib/md";
  c.settings.retry_delay = std::chrono::seconds(5);
  c.settings.check_interval = std::chrono::hours(1);
  c.settings.renew_window = *parse_renew_window("14d");
  c.settings.notify_cmd = "/bin/notify arg";
  c.settings.ports = port_map{5002, 5001};
  c.settings.orders_in_flight = 3;
  c.settings.http01_port = 5002;
  c.settings.can_https = false;
  engine_md m;
  m.md.name = "example.org";
  m.md.domains = {"example.org", "www.example.org"};
  m.md.ca.urls = {"https://127.0.0.1:14000/dir"};
  m.md.key_specs = {key_spec::ec("P-256")};
  m.used = false;
  c.mds.push_back(m);
  const auto j = to_json(c);
  CHECK(j["settings"]["retry-delay"] == "5s");
  CHECK(j["settings"]["check-interval"] == "1h");
  CHECK(j["settings"]["renew-window"] == "14d");
  CHECK(j["settings"]["can-http"] == true);
  CHECK(j["settings"]["can-https"] == false);
  auto back = engine_config_from_json(j, "cfg.json");
  REQUIRE(back);
  CHECK(*back == c);
  CHECK(validate(*back));
}

TEST_CASE("engine configuration errors name the file and the member", "[core][engine-config]") {
  auto j = nlohmann::ordered_json::parse(R"({"version":1,"settings":{"retry-delay":"soon"}})");
  auto r = engine_config_from_json(j, "cfg.json");
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("cfg.json settings") == 0);
  CHECK(r.error().message.find("retry-delay") != std::string::npos);

  j = nlohmann::ordered_json::parse(R"({"version":2})");
  r = engine_config_from_json(j, "cfg.json");
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "cfg.json: \"version\" is 2, this mdactor reads version 1");

  engine_config c;
  c.settings.store_dir = "/s";
  engine_md m;
  m.md.name = "a.org";
  m.md.domains = {"a.org"};
  c.mds = {m};
  CHECK(validate(c).error().message == "engine configuration: MD 'a.org' has no certificate authority");
  auto r2 = load_engine_config("/nonexistent/cfg.json");
  REQUIRE_FALSE(r2);
  CHECK(r2.error().message == "cannot read engine configuration '/nonexistent/cfg.json'");
}

TEST_CASE("engine configuration: the certificate files of MDStapleOthers", "[core][engine-config]") {
  engine_settings s;
  CHECK(to_json(s)["staple-other-files"] == nlohmann::ordered_json::array());
  s.staple_other_files = {"/etc/ssl/a.pem", "/etc/ssl/b chain.pem"};
  const auto j = to_json(s);
  CHECK(j["staple-other-files"].dump() == R"(["/etc/ssl/a.pem","/etc/ssl/b chain.pem"])");
  auto back = engine_settings_from_json(j, "cfg.json");
  REQUIRE(back);
  CHECK(back->staple_other_files == s.staple_other_files);
  CHECK(*back == s);

  auto absent = engine_settings_from_json(nlohmann::ordered_json::object(), "cfg.json");
  REQUIRE(absent);
  CHECK(absent->staple_other_files.empty());

  auto bad = engine_settings_from_json(
    nlohmann::ordered_json::parse(R"({"staple-other-files": "/etc/ssl/a.pem"})"), "cfg.json");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "cfg.json: \"staple-other-files\" must be an array of strings, found string");
  bad = engine_settings_from_json(
    nlohmann::ordered_json::parse(R"({"staple-other-files": ["/a.pem", 3]})"), "cfg.json");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "cfg.json: \"staple-other-files[1]\" must be a string, found number");
}
