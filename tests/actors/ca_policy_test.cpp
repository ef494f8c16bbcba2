// The retry/failover policy actor on the test_coordinator with the actor clock as wall clock
// and fixed jitter bytes: delays, the cap, Retry-After, CA rotation, the memory per MD.
#include "actors/ca_policy.hpp"

#include "tests/actors/actor_fixture.hpp"

using namespace mda;
using namespace std::chrono_literals;

namespace {

const sys_time t0 = from_unix(1767225600); // 2026-01-01T00:00:00Z
const std::vector<std::string> cas = {"https://a.example/dir", "https://b.example/dir"};

md_failure failure(const std::string& ca, bool input_related = false, sys_time retry_after = {}) {
  return md_failure{"example.org", cas, ca, input_related, retry_after};
}

} // namespace

TEST_CASE("ca policy: doubling, jitter, cap, Retry-After, rotation", "[actors][policy]") {
  test::actor_fixture fx;
  ca_policy_config cfg;
  cfg.policy.min_delay = 10s;
  cfg.policy.failover_after = 2;
  // jitter bytes in turn: 128 -> +0, 0 -> -50 %, 255 -> +127/256
  cfg.env = make_test_env(fx.sys, t0, {128, 0, 255, 128, 128, 128});
  REQUIRE(!validate(cfg));
  auto aut = spawn_ca_policy(fx.sys, cfg);

  auto p1 = fx.ask<retry_plan>(aut, failed_atom_v, failure(""));
  CHECK(p1.md == "example.org");
  CHECK(p1.errors == 1);
  CHECK(p1.delay == caf::timespan(10s));
  CHECK(p1.at == t0 + 10s);
  CHECK(!p1.capped);
  CHECK(!p1.retry_after);
  CHECK(p1.ca_url == cas[0]); // none chosen yet: the first, not a switch
  CHECK(p1.ca_index == 0);
  CHECK(!p1.ca_switched);

  fx.advance(10s); // the actor clock is the wall clock
  auto p2 = fx.ask<retry_plan>(aut, failed_atom_v, failure(p1.ca_url));
  CHECK(p2.errors == 2);
  CHECK(p2.delay == caf::timespan(10s)); // 20 s - 50 %
  CHECK(p2.at == t0 + 20s);
  CHECK(p2.ca_url == cas[1]); // 2 errors = MDRetryFailover: the next CA
  CHECK(p2.ca_index == 1);
  CHECK(p2.ca_switched);

  auto p3 = fx.ask<retry_plan>(aut, failed_atom_v, failure(p2.ca_url));
  CHECK(p3.errors == 3);
  CHECK(p3.delay == caf::timespan(59s)); // 40 s + 40 * 127 / 256 s
  CHECK(p3.at == t0 + 10s + 59s);
  CHECK(p3.ca_url == cas[1]);
  CHECK(!p3.ca_switched);

  auto p4 = fx.ask<retry_plan>(aut, failed_atom_v, failure(p3.ca_url, true));
  CHECK(p4.errors == 4);
  CHECK(p4.capped); // input related: straight to the cap
  CHECK(p4.delay == caf::timespan(24h));
  CHECK(p4.at == t0 + 10s + 24h);
  CHECK(p4.ca_url == cas[0]); // 4 errors: rotated again, round robin
  CHECK(p4.ca_switched);

  caf::anon_send(aut, ok_atom::value, std::string("example.org"));
  auto mem = fx.ask<md_policy_state>(aut, get_atom::value, std::string("example.org"));
  CHECK(mem.errors == 0);
  CHECK(mem.ca_url == cas[0]);

  auto p5 = fx.ask<retry_plan>(aut, failed_atom_v, failure(cas[0], false, t0 + 10s + 1h));
  CHECK(p5.errors == 1);
  CHECK(p5.delay == caf::timespan(10s));
  CHECK(p5.retry_after); // never before Retry-After
  CHECK(p5.at == t0 + 10s + 1h);
  CHECK(p5.ca_url == cas[0]);
  CHECK(!p5.ca_switched);
  fx.stop(aut);
}

TEST_CASE("ca policy: memory seeded, asked, forgotten", "[actors][policy]") {
  test::actor_fixture fx;
  ca_policy_config cfg;
  cfg.policy.min_delay = 10s;
  cfg.policy.failover_after = 2;
  cfg.env = make_test_env(fx.sys, t0);
  auto aut = spawn_ca_policy(fx.sys, cfg);

  auto unknown = fx.ask<md_policy_state>(aut, get_atom::value, std::string("other.org"));
  CHECK(unknown.md == "other.org");
  CHECK(unknown.errors == 0);
  CHECK(unknown.ca_url == "");

  // after a restart: job.json said 12 errors with CA b
  caf::anon_send(aut, put_atom::value, md_policy_state{"example.org", 12, cas[1]});
  auto p = fx.ask<retry_plan>(aut, failed_atom_v, failure(""));
  CHECK(p.errors == 13);
  CHECK(p.delay == caf::timespan(40960s)); // 10 s * 2^12, below the cap
  CHECK(!p.capped);
  CHECK(p.ca_url == cas[1]); // the seeded CA, 13 is no multiple of 2
  CHECK(!p.ca_switched);

  caf::anon_send(aut, delete_atom::value, std::string("example.org"));
  auto gone = fx.ask<md_policy_state>(aut, get_atom::value, std::string("example.org"));
  CHECK(gone.errors == 0);
  CHECK(gone.ca_url == "");
  fx.stop(aut);
}

TEST_CASE("ca policy: validate", "[actors][policy]") {
  ca_policy_config cfg;
  CHECK(error_text(validate(cfg)) == "ca policy: no clock or random source");
  cfg.env = make_system_env();
  CHECK(!validate(cfg));
  cfg.policy.failover_after = 0;
  CHECK(error_text(validate(cfg)) == "ca policy: MDRetryFailover must be at least 1");
  cfg.policy.failover_after = 1;
  cfg.policy.max_delay = 1s;
  CHECK(error_text(validate(cfg)) == "ca policy: the maximum delay is shorter than MDRetryDelay");
}

TEST_CASE("ca policy: a run whose raised event failed counts two errors", "[actors][policy]") {
  // mod_md's md_job_notify counts a failed challenge-setup command as an error of its own, and
  // the failed run another: the retry waits twice MDRetryDelay (its suite, 901_040)
  test::actor_fixture fx;
  ca_policy_config cfg;
  cfg.policy.min_delay = 1s;
  cfg.env = make_test_env(fx.sys, t0, {128});
  auto aut = spawn_ca_policy(fx.sys, cfg);
  md_failure f = failure("");
  f.counts = 2;
  auto p = fx.ask<retry_plan>(aut, failed_atom_v, f);
  CHECK(p.errors == 2);
  CHECK(p.delay == caf::timespan(2s));
  CHECK(p.at == t0 + 2s);
}
