#include <catch2/catch.hpp>

#include "core/md_spec.hpp"

using namespace mda;

namespace {

constexpr std::chrono::hours k_day{24};
const std::string k_ca_a = "https://a.ca.test/dir";
const std::string k_ca_b = "https://b.ca.test/dir";

managed_domain md_named(const std::string& name) {
  managed_domain md;
  md.name = name;
  md.domains = {name, "www." + name};
  md.ca.urls = {k_ca_a, k_ca_b};
  return md;
}

md_spec spec_of(const managed_domain& md, bool used = true) {
  auto s = make_md_spec(md, engine_settings{}, used);
  REQUIRE(s);
  return *s;
}

} // namespace

TEST_CASE("md spec: an MD with nothing of its own takes the defaults", "[core][md-spec]") {
  engine_settings server;
  server.renew_window = timeslice::absolute(20 * k_day);
  server.warn_window = timeslice::of_percent(7);
  auto s = make_md_spec(md_named("a.example"), server, true);
  REQUIRE(s);
  CHECK(s->name == "a.example");
  CHECK(s->domains == std::vector<std::string>{"a.example", "www.a.example"});
  CHECK(s->key_specs == std::vector<key_spec>{key_spec::default_spec()});
  CHECK(s->cert_slots == std::vector<std::string>{"rsa"});
  CHECK(s->ca_urls == std::vector<std::string>{k_ca_a, k_ca_b});
  CHECK(s->certificates_ca.empty());
  CHECK(s->renewal.renew_window == timeslice::absolute(20 * k_day));
  CHECK(s->renewal.warn_window == timeslice::of_percent(7));
  CHECK(s->renewal.used);
  CHECK(s->will_renew);
  CHECK(s->watched);
  CHECK_FALSE(s->must_staple);
  CHECK_FALSE(s->stapling);
  CHECK(s->ari_renewals);
  CHECK(s->cert_files.empty());
  CHECK(s->pkey_files.empty());
}

TEST_CASE("md spec: the MD's own values, windows parsed once", "[core][md-spec]") {
  auto md = md_named("a.example");
  md.key_specs = {key_spec::ec("P-256"), key_spec::rsa(3072)};
  md.renew_window = "14d";
  md.warn_window = "5%";
  md.must_staple = true;
  md.stapling = true;
  md.ari_renewals = false;
  md.ca.url = k_ca_b;
  const md_spec s = spec_of(md, false);
  CHECK(s.key_specs == std::vector<key_spec>{key_spec::ec("P-256"), key_spec::rsa(3072)});
  CHECK(s.cert_slots == std::vector<std::string>{"P-256", "rsa"});
  CHECK(s.certificates_ca == k_ca_b);
  CHECK(s.renewal.renew_window == timeslice::absolute(14 * k_day));
  CHECK(s.renewal.warn_window == timeslice::of_percent(5));
  CHECK_FALSE(s.renewal.used);
  CHECK(s.will_renew);
  CHECK_FALSE(s.watched); // MDRenewMode auto, no virtual host uses it
  CHECK(s.must_staple);
  CHECK(s.stapling);
  CHECK_FALSE(s.ari_renewals);
  CHECK(s == spec_of(md, false));
  CHECK(s != spec_of(md, true));
}

TEST_CASE("md spec: a window that does not parse is refused naming MD and directive",
          "[core][md-spec]") {
  auto md = md_named("a.example");
  md.renew_window = "soon";
  auto s = make_md_spec(md, engine_settings{}, true);
  REQUIRE_FALSE(s);
  CHECK(s.error().message == "a.example: MDRenewWindow has unrecognized format");
  md.renew_window = "";
  md.warn_window = "100%";
  s = make_md_spec(md, engine_settings{}, true);
  REQUIRE_FALSE(s);
  CHECK(s.error().message == "a.example: MDWarnWindow a length of 100% or more is not allowed.");

  engine_config cfg;
  cfg.mds = {engine_md{md_named("a.example"), true}, engine_md{md, false}};
  auto all = make_md_specs(cfg);
  REQUIRE_FALSE(all);
  CHECK(all.error().message == "a.example: MDWarnWindow a length of 100% or more is not allowed.");
}

TEST_CASE("md spec: every MD of a configuration, in its order", "[core][md-spec]") {
  engine_config cfg;
  cfg.settings.renew_window = timeslice::of_percent(50);
  auto b = md_named("b.example");
  b.renew_window = "10d";
  cfg.mds = {engine_md{md_named("a.example"), true}, engine_md{b, false}};
  auto all = make_md_specs(cfg);
  REQUIRE(all);
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].name == "a.example");
  CHECK((*all)[0].renewal.renew_window == timeslice::of_percent(50));
  CHECK((*all)[0].renewal.used);
  CHECK((*all)[1].name == "b.example");
  CHECK((*all)[1].renewal.renew_window == timeslice::absolute(10 * k_day));
  CHECK_FALSE((*all)[1].renewal.used);
  cfg.mds.clear();
  CHECK(make_md_specs(cfg)->empty());
}

TEST_CASE("md spec: static certificate files and the renew mode", "[core][md-spec]") {
  auto md = md_named("a.example");
  md.cert_files = {"/etc/ssl/a.pem", "/etc/ssl/b.pem"};
  md.pkey_files = {"/etc/ssl/a.key", "/etc/ssl/b.key"};
  md.key_specs = {key_spec::ec("P-256")};
  md_spec s = spec_of(md);
  CHECK(s.cert_slots == std::vector<std::string>{"P-256", "rsa"});
  CHECK(s.key_specs == std::vector<key_spec>{key_spec::ec("P-256")});
  CHECK(s.cert_files == std::vector<std::string>{"/etc/ssl/a.pem", "/etc/ssl/b.pem"});
  CHECK(s.pkey_files == std::vector<std::string>{"/etc/ssl/a.key", "/etc/ssl/b.key"});
  CHECK(effective_renew_mode(md) == md_renew_mode::manual);
  CHECK_FALSE(s.will_renew);
  CHECK(s.watched);
  CHECK_FALSE(spec_of(md, false).watched); // the configured mode (auto) decides that

  md.renew_mode = md_renew_mode::always;
  CHECK(effective_renew_mode(md) == md_renew_mode::always);
  s = spec_of(md, false);
  CHECK(s.will_renew);
  CHECK(s.watched);

  md.renew_mode = md_renew_mode::manual;
  CHECK(effective_renew_mode(md) == md_renew_mode::manual);
  CHECK_FALSE(spec_of(md).will_renew);

  md.cert_files.clear();
  md.pkey_files.clear();
  md.renew_mode = md_renew_mode::automatic;
  CHECK(effective_renew_mode(md) == md_renew_mode::automatic);
  CHECK(spec_of(md).will_renew);

  md.state = md_state::error;
  CHECK_FALSE(spec_of(md).watched);
}

TEST_CASE("md spec: the configured CAs, a legacy single ca.url included", "[core][md-spec]") {
  managed_domain md = md_named("a.example");
  CHECK(configured_ca_urls(md) == std::vector<std::string>{k_ca_a, k_ca_b});
  md.ca.urls.clear();
  md.ca.url = k_ca_b;
  CHECK(configured_ca_urls(md) == std::vector<std::string>{k_ca_b});
  CHECK(spec_of(md).ca_urls == std::vector<std::string>{k_ca_b});
  md.ca.url.clear();
  CHECK(configured_ca_urls(md).empty());
  CHECK(effective_key_specs(md) == std::vector<key_spec>{key_spec::default_spec()});
  md.key_specs = {key_spec::ec("secp384r1")};
  CHECK(effective_key_specs(md) == std::vector<key_spec>{key_spec::ec("secp384r1")});
}

TEST_CASE("md spec: the CA in use", "[core][md-spec]") {
  const md_spec s = spec_of(md_named("a.example"));
  CHECK(ca_in_use(s, "") == k_ca_a);
  CHECK(ca_in_use(s, k_ca_b) == k_ca_b);                     // staged, or picked after a failure
  CHECK(ca_in_use(s, "https://gone.ca.test/dir") == k_ca_a); // no longer configured
  md_spec none = s;
  none.ca_urls.clear();
  CHECK(ca_in_use(none, "") == "");
  CHECK(ca_in_use(none, k_ca_b) == "");
}

TEST_CASE("md spec: the CA asked for renewalInfo", "[core][md-spec]") {
  auto md = md_named("a.example");
  CHECK(ari_ca(spec_of(md), "") == k_ca_a);
  CHECK(ari_ca(spec_of(md), k_ca_b) == k_ca_b);
  md.ca.url = k_ca_b; // md.json: the certificates in use came from b
  CHECK(ari_ca(spec_of(md), "") == k_ca_b);
  CHECK(ari_ca(spec_of(md), "https://gone.ca.test/dir") == "https://gone.ca.test/dir");
  md.ca.url.clear();
  md.ca.urls.clear();
  CHECK(ari_ca(spec_of(md), "") == "");
}
