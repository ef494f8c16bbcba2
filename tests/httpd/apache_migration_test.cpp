// End to end (issue 5 item 6): migration between Debian's mod_md (2.6.x) and mod_mdactor, both
// ways, in one private Apache (mpm_event, same ServerRoot and MDStoreDir) against one pebble.
// The first module obtains a certificate and activates it (graceful restart); Apache stops;
// the same configuration with the other module loaded serves the same certificate (same
// serial), shows it in md-status, and pebble issues nothing new (its log counts issued
// certificates and new orders), also after the new module's renewal check had time to run.
// Tag [httpd][e2e][migration].
#include <catch2/catch.hpp>

#include <csignal>
#include <string>

#include <unistd.h>

#include "tests/support/md_site.hpp"
#include "tests/test_util.hpp"

using namespace mda::test;

namespace {

bool alive(int pid) { return pid > 0 && ::kill(pid, 0) == 0; }

/// New orders pebble accepted so far (one log line per order).
int pebble_orders(const pebble_fixture& p) {
  const std::string log = p.pebble_log(), mark = "Added order";
  int n = 0;
  for (auto at = log.find(mark); at != std::string::npos; at = log.find(mark, at + 1)) ++n;
  return n;
}

/// `first` obtains and activates a certificate, then `second` takes the store over.
void take_over(const std::string& first, const std::string& second) {
  const int http = free_port(), https = free_port();
  pebble_options po;
  po.http_port = http;
  po.tls_port = https;
  pebble_fixture pebble(po);
  md_site site(http, https);
  site.configure(pebble, first);
  {
    const bool started = site.start();
    INFO(site.log());
    REQUIRE(started);
    const bool staged = site.wait_staged(90);
    INFO(site.md_status());
    INFO(pebble.pebble_log());
    REQUIRE(staged);
  }
  REQUIRE(site.graceful());
  const std::string serial = site.served(site.md, "-serial");
  INFO("first module's certificate: " + serial);
  REQUIRE(serial.rfind("serial=", 0) == 0);
  CHECK(site.served(site.md, "-issuer").find("Pebble Intermediate CA") != std::string::npos);
  CHECK(site.status_of(site.md) == "200");
  CHECK(pebble_issued(pebble) == 1);
  const int orders = pebble_orders(pebble);
  CHECK(orders >= 1);
  const int old_pid = site.pid();
  site.stop();
  REQUIRE_FALSE(alive(old_pid));

  site.configure(pebble, second);
  const bool started = site.start();
  INFO(site.log());
  REQUIRE(started);
  CHECK(site.served(site.md, "-serial") == serial);
  CHECK(site.status_of(site.md) == "200");
  // Give the second module's renewal check time to run (both start it at once: MDInitialDelay 0).
  ::sleep(8);
  const std::string status = site.md_status();
  INFO(status);
  const std::string hex = serial.substr(7, serial.find_last_not_of("\n") - 6);
  CHECK(status.find("\"serial\": \"" + hex + "\"") != std::string::npos);
  CHECK(status.find("\"state\": 2") != std::string::npos);
  CHECK(pebble_issued(pebble) == 1);
  CHECK(pebble_orders(pebble) == orders);
  CHECK_FALSE(path_exists(site.store("staging/" + site.md + "/job.json")));
  CHECK(site.served(site.md, "-serial") == serial);
  CHECK(alive(site.pid()));
}

} // namespace

TEST_CASE("mdactor takes over a store written by Debian's mod_md", "[httpd][e2e][migration]") {
  take_over(k_debian_mod_md, MODULE_PATH);
}

TEST_CASE("Debian's mod_md takes over a store written by mdactor", "[httpd][e2e][migration]") {
  take_over(MODULE_PATH, k_debian_mod_md);
}

TEST_CASE("without MDCAChallenges mdactor picks the challenge mod_md would (http-01, no acme-tls/1)",
          "[httpd][e2e][migration]") {
  // mod_md's default list is tls-alpn-01 http-01 dns-01 minus what cannot work (reference
  // §6): no acme-tls/1 in the vhost's Protocols -> no tls-alpn-01, no MDChallengeDns01 -> no
  // dns-01. A configuration that works with mod_md must work after the swap.
  const int http = free_port(), https = free_port();
  pebble_options po;
  po.http_port = http;
  po.tls_port = https;
  pebble_fixture pebble(po);
  md_site site(http, https);
  site.challenges = "";
  site.configure(pebble, MODULE_PATH);
  const bool started = site.start();
  INFO(site.log());
  REQUIRE(started);
  const bool staged = site.wait_staged(60);
  const std::string status = site.md_status();
  INFO(status);
  CHECK(staged);
  CHECK(status.find("message-challenge-setup:http-01:" + site.md) != std::string::npos);
  CHECK(status.find("tls-alpn-01") == std::string::npos);
}
