// The account actor under the test_coordinator: one selection for many concurrent asks, a
// failed selection answered to everyone and tried again, the rate budget. Tag [actors][account].
#include <memory>

#include "actors/account.hpp"
#include "actors/supervisor.hpp"
#include "actors/worker_pool.hpp"
#include "tests/actors/actor_fixture.hpp"

using namespace mda;
using namespace std::chrono_literals;

namespace {

struct account_fixture : test::actor_fixture {
  sys_time t0 = std::chrono::time_point_cast<std::chrono::seconds>(sys_clock::now());
  worker_pool_actor pool = spawn_worker_pool(sys, {4, false});
  std::shared_ptr<int> calls = std::make_shared<int>(0);
  std::shared_ptr<bool> fail = std::make_shared<bool>(false);
  account_actor acct;

  account_fixture() {
    auto c = calls;
    auto f = fail;
    account_config cfg{"https://ca.test/dir",
                       [c, f] {
                         ++*c;
                         if (*f) return account_answer{std::nullopt, plain_failure("CA down")};
                         return account_answer{
                           account_grant{nullptr, {}, "ACME-ca.test-0000", "https://ca.test/dir"},
                           std::nullopt};
                       },
                       pool, make_test_env(sys, t0)};
    acct = spawn_account(sys, std::move(cfg));
  }
  ~account_fixture() { stop(acct, pool); }
};

} // namespace

TEST_CASE_METHOD(account_fixture, "account: twenty concurrent asks select one account",
                 "[actors][account]") {
  int granted = 0;
  for (int i = 0; i < 20; ++i) self->send(acct, account_atom_v);
  sched.run();
  for (int i = 0; i < 20; ++i)
    self->receive([&](account_answer& a) { granted += a.grant && a.grant->id == "ACME-ca.test-0000"; });
  CHECK(granted == 20);
  CHECK(*calls == 1);
  CHECK(state_of<account_state>(acct).selections == 1);
  auto again = ask<account_answer>(acct, account_atom_v);
  CHECK(again.grant);
  CHECK(*calls == 1);
}

TEST_CASE_METHOD(account_fixture, "account: a failed selection is answered and tried again",
                 "[actors][account]") {
  *fail = true;
  auto a = ask<account_answer>(acct, account_atom_v);
  CHECK_FALSE(a.grant);
  REQUIRE(a.failure);
  CHECK(a.failure->detail == "CA down");
  *fail = false;
  auto b = ask<account_answer>(acct, account_atom_v);
  CHECK(b.grant);
  CHECK(*calls == 2);
}

TEST_CASE_METHOD(account_fixture, "account: a rate limit holds grants until its time",
                 "[actors][account]") {
  CHECK(ask<account_answer>(acct, account_atom_v).grant);
  self->send(acct, limit_atom_v, t0 + 10s);
  self->send(acct, account_atom_v);
  sched.run();
  CHECK_FALSE(self->has_next_message());
  advance(9s, 1s);
  CHECK_FALSE(self->has_next_message());
  advance(1s, 1s);
  REQUIRE(self->has_next_message());
  self->receive([](account_answer& a) { CHECK(a.grant); });
}

TEST_CASE("account options and actor key of an MD", "[actors][account]") {
  managed_domain md;
  md.name = "a.test";
  md.contacts = {"mailto:b@a.test", "mailto:a@a.test"};
  md.ca.agreement = "accepted";
  md.eab = {"kid-1", "c2VjcmV0"};
  auto o = account_options_of(md);
  REQUIRE(o.eab);
  CHECK(o.eab->kid == "kid-1");
  CHECK(o.agreement == "accepted");
  CHECK(account_key(md, "https://ca.test/dir") == "https://ca.test/dir kid-1 mailto:a@a.test mailto:b@a.test");
  // mod_md's suite, 750_017: "MDExternalAccountBinding none" inside <MDomain> means no EAB
  md.eab = {"none", ""};
  CHECK_FALSE(account_options_of(md).eab);
  // an MD with its own proxy has its own account actor (750_017's neighbour 702_008c)
  md.proxy_url = "http://localhost:1";
  CHECK(account_key(md, "https://ca.test/dir") ==
        "https://ca.test/dir none mailto:a@a.test mailto:b@a.test via http://localhost:1");
}

TEST_CASE_METHOD(test::actor_fixture,
                 "the supervisor refuses an MD whose window does not parse, before it spawns anything",
                 "[actors][account]") {
  engine_config ec;
  managed_domain md;
  md.name = "a.test";
  md.domains = {"a.test"};
  md.ca.urls = {"https://ca.test/dir"};
  md.warn_window = "later";
  ec.mds = {engine_md{md, true}};
  auto a = spawn_engine_actors(sys, ec, supervisor_options{});
  REQUIRE_FALSE(a);
  CHECK(error_text(a.error()) == "a.test: MDWarnWindow has unrecognized format");
}
