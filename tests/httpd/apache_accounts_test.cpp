// End to end (issue 5 item 5): accounts and events of mod_mdactor in a real Apache (mpm_event)
// against a real pebble, everything on free loopback ports.
// - EAB: pebble requires external account binding; `MDExternalAccountBinding kid key` gets the
//   MD certified, a wrong key leaves the CA's error in md-status while Apache keeps serving.
// - Failover: the first of two CAs is a closed port; with MDRetryFailover 1 the engine
//   switches to pebble and certifies; the job log shows the failed CA and the switch.
// - MDMessageCmd / MDNotifyCmd: recording scripts receive mod_md's argument lists
//   (reference §5.6): notify `<md>`; messages `renewing`, `challenge-setup:http-01:<dns>`,
//   `renewed`, then `installed` after the graceful restart that activates the set.
// Tag [httpd][e2e][accounts].
#include <catch2/catch.hpp>

#include <csignal>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/md_site.hpp"
#include "tests/test_util.hpp"

using namespace mda::test;

namespace {

const std::string k_kid = "kid-1";
const std::string k_key = "c2VjcmV0LWtleS1mb3ItbWRhY3Rvci1lYWItdGVzdHM";   // 32 bytes
const std::string k_wrong = "d3Jvbmcta2V5LWZvci1tZGFjdG9yLWVhYi10ZXN0c3M"; // 32 other bytes

bool alive(int pid) { return pid > 0 && ::kill(pid, 0) == 0; }

pebble_options options_for(int http, int https) {
  pebble_options po;
  po.http_port = http;
  po.tls_port = https;
  return po;
}

/// md-status of the MD as JSON (null when it is not JSON).
nlohmann::json status_json(const md_site& site) {
  return nlohmann::json::parse(site.md_status(), nullptr, false);
}

/// Waits up to `seconds` for the staged job to record at least one error.
bool wait_error(const md_site& site, int seconds) {
  for (int i = 0; i < seconds * 10; ++i) {
    const auto j = status_json(site);
    if (j.is_object() && j.contains("renewal") && j["renewal"].value("errors", 0) > 0) return true;
    ::usleep(100'000);
  }
  return false;
}

/// Graceful restart, then the served certificate must be pebble's.
void activate_and_check(md_site& site) {
  REQUIRE(site.graceful());
  CHECK(site.status_of(site.md) == "200");
  const std::string issuer = site.served(site.md, "-issuer");
  INFO(issuer);
  CHECK(issuer.find("Pebble Intermediate CA") != std::string::npos);
}

} // namespace

TEST_CASE("EAB: an account bound with the CA's kid and key is certified", "[httpd][e2e][accounts]") {
  const int http = free_port(), https = free_port();
  pebble_options po = options_for(http, https);
  po.eab_required = true;
  po.eab_keys[k_kid] = k_key;
  pebble_fixture pebble(po);
  md_site site(http, https);
  site.configure(pebble, MODULE_PATH, "MDExternalAccountBinding " + k_kid + " " + k_key + "\n");
  const bool started = site.start();
  INFO(site.log());
  REQUIRE(started);
  const bool staged = site.wait_staged(60);
  INFO(site.md_status());
  INFO(pebble.pebble_log());
  REQUIRE(staged);
  CHECK(pebble_issued(pebble) == 1);
  activate_and_check(site);
}

TEST_CASE("EAB: a wrong key shows the CA's error and Apache stays up", "[httpd][e2e][accounts]") {
  const int http = free_port(), https = free_port();
  pebble_options po = options_for(http, https);
  po.eab_required = true;
  po.eab_keys[k_kid] = k_key;
  pebble_fixture pebble(po);
  md_site site(http, https);
  site.configure(pebble, MODULE_PATH, "MDExternalAccountBinding " + k_kid + " " + k_wrong + "\n");
  const bool started = site.start();
  INFO(site.log());
  REQUIRE(started);
  const bool failed = wait_error(site, 30);
  const auto j = status_json(site);
  INFO(j.dump(2));
  REQUIRE(failed);
  const auto& last = j["renewal"]["last"];
  // pebble: the binding's MAC does not verify -> unauthorized, with its detail.
  CHECK(last.value("problem", "") == "urn:ietf:params:acme:error:unauthorized");
  CHECK(last.value("detail", "").find("external account binding JWS verification error") != std::string::npos);
  CHECK(j["renewal"].value("finished", true) == false);
  CHECK(pebble_issued(pebble) == 0);
  // Apache is up: fallback (503) on https, md-status answering, the parent alive.
  CHECK(alive(site.pid()));
  CHECK(site.status_of(site.md) == "503");
  REQUIRE(site.graceful());
  CHECK(alive(site.pid()));
  CHECK(site.status_of(site.md) == "503");
}

TEST_CASE("failover from an unreachable first CA to pebble", "[httpd][e2e][accounts]") {
  const int http = free_port(), https = free_port(), closed = free_port();
  pebble_fixture pebble(options_for(http, https));
  md_site site(http, https);
  const std::string dead = "https://127.0.0.1:" + std::to_string(closed) + "/dir";
  site.configure(pebble, MODULE_PATH, "MDRetryFailover 1\n",
                 "MDCertificateAuthority " + dead + " " + pebble.directory_url() + "\n");
  const bool started = site.start();
  INFO(site.log());
  REQUIRE(started);
  const bool staged = site.wait_staged(90);
  const auto j = status_json(site);
  INFO(j.dump(2));
  REQUIRE(staged);
  CHECK(pebble_issued(pebble) == 1);
  // The staged MD remembers the CA that worked; the job log shows the failed one.
  CHECK(read_file(site.store("staging/" + site.md + "/md.json")).find("\"url\": \"" + pebble.directory_url() + "\"") !=
        std::string::npos);
  const std::string log = j["renewal"]["log"].dump();
  CHECK(log.find(dead) != std::string::npos);
  CHECK(log.find("renewal-error") != std::string::npos);
  // mod_md's progress entry at each contact (reference §3.1) names the CA now in use.
  CHECK(log.find("Contacting ACME server for " + site.md + " at " + pebble.directory_url()) != std::string::npos);
  CHECK(j["renewal"].value("errors", -1) == 0);
  activate_and_check(site);
  // After activation md-status names pebble as the MD's CA.
  const auto after = status_json(site);
  INFO(after.dump(2));
  CHECK(after["ca"].value("url", "") == pebble.directory_url());
}

TEST_CASE("MDMessageCmd and MDNotifyCmd get mod_md's argument lists", "[httpd][e2e][accounts]") {
  const int http = free_port(), https = free_port();
  pebble_fixture pebble(options_for(http, https));
  md_site site(http, https);
  const std::string messages = site.dir / "out/messages", notified = site.dir / "out/notified";
  write_recording_script(site.dir / "message.sh", messages);
  write_recording_script(site.dir / "notify.sh", notified);
  site.configure(pebble, MODULE_PATH,
                 "MDMessageCmd " + std::string(site.dir / "message.sh") + "\n"
                 "MDNotifyCmd " + std::string(site.dir / "notify.sh") + "\n");
  const bool started = site.start();
  INFO(site.log());
  REQUIRE(started);
  REQUIRE(site.wait_staged(60));
  const std::string md = site.md;
  CHECK(md_site::wait_for_text(messages, "renewed " + md, 10));
  CHECK(lines_of(notified) == std::vector<std::string>{md});
  CHECK(lines_of(messages) == std::vector<std::string>{"renewing " + md, "challenge-setup:http-01:" + md + " " + md,
                                                      "renewed " + md});
  activate_and_check(site);
  // `installed` comes from the parent at activation (as root, reference §5.6).
  CHECK(md_site::wait_for_text(messages, "installed " + md, 10));
  CHECK(lines_of(messages) == std::vector<std::string>{"renewing " + md, "challenge-setup:http-01:" + md + " " + md,
                                                      "renewed " + md, "installed " + md});
  CHECK(lines_of(notified) == std::vector<std::string>{md});
}
