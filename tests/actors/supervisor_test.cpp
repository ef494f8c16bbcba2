// The supervisor under the test_coordinator: the engine's actors spawned by
// spawn_engine_actors (pools not detached) over a backend whose MD holds a fresh certificate;
// a killed domain actor is restarted, checks again and reaches the status actor; a killed
// account actor is restarted with the domain actors holding it; beyond the restart limit the
// supervisor gives up. Tag [actors][supervisor].
#include <atomic>
#include <memory>

#include <caf/abstract_actor.hpp>
#include <caf/exit_reason.hpp>

#include "actors/supervisor.hpp"
#include "core/certgen.hpp"
#include "store/fs_store.hpp"
#include "tests/actors/actor_fixture.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace std::chrono_literals;

namespace {

/// An MD whose certificate is fresh: every check loads it and decides to wait.
struct fresh_backend final : domain_backend {
  std::optional<certificate> leaf;
  int loads = 0;

  expected<domain_facts> load(const managed_domain& md) override {
    ++loads;
    domain_facts f;
    f.leaves = {leaf};
    f.renewal.name = md.name;
    return f;
  }
  status save_job(const std::string&, const job&) override { return {}; }
  status save_order(const std::string&, const acme_order_file&) override { return {}; }
  acme::acme_result<acme::obtained_cert> obtain(const order_request&) override {
    FAIL("no order expected");
    return acme::problem{};
  }
  status stage(const staged_result&) override { return {}; }
  status activate(const managed_domain&) override { return {}; }
  expected<std::vector<std::string>> check_live(const live_expectation&) override {
    return std::vector<std::string>{};
  }
  status reset_staging(const std::string&) override { return {}; }
  expected<process_result> run_command(const std::vector<std::string>&,
                                       std::chrono::milliseconds) override {
    return process_result{};
  }
  std::optional<ari_hint> fetch_ari(const std::string&,
                                    const std::vector<std::optional<certificate>>&) override {
    return std::nullopt;
  }
};

struct supervisor_fixture : test::actor_fixture {
  sys_time t0 = std::chrono::time_point_cast<std::chrono::seconds>(sys_clock::now());
  test::temp_dir dir;
  std::shared_ptr<fresh_backend> backend = std::make_shared<fresh_backend>();
  std::vector<std::string> lines, errors;
  engine_actors a;
  std::shared_ptr<std::atomic<bool>> sup_gone = std::make_shared<std::atomic<bool>>(false);

  void start(std::size_t max_restarts) {
    auto key = private_key::generate(key_spec::ec("P-256"));
    REQUIRE(key.ok());
    backend->leaf = *make_fallback_certificate(*key, {"a.test"}, t0);
    engine_config cfg;
    cfg.settings.store_dir = dir / "store";
    cfg.settings.status_file = dir / "status.json";
    engine_md em;
    em.md.name = "a.test";
    em.md.domains = {"a.test"};
    em.md.ca.urls = {"https://ca.test/dir"};
    cfg.mds = {em};
    auto opened = fs_store::open(cfg.settings.store_dir);
    REQUIRE(opened.ok());
    supervisor_options so;
    so.st = std::make_shared<fs_store>(std::move(*opened));
    so.env = make_test_env(sys, t0);
    so.backend = backend;
    so.transports = [](const std::string&) -> expected<std::shared_ptr<acme::http_transport>> {
      return error(std::make_error_code(std::errc::connection_refused), "no CA here");
    };
    so.log = [this](const std::string& l) { lines.push_back(l); };
    so.error = [this](const std::string& l) { errors.push_back(l); };
    so.max_restarts = max_restarts;
    so.restart_window = 1h;
    so.detached_pools = false;
    auto spawned = spawn_engine_actors(sys, cfg, so);
    REQUIRE(spawned);
    a = *spawned;
    caf::actor_cast<caf::abstract_actor*>(a.supervisor)->attach_functor([gone = sup_gone](const caf::error&) {
      *gone = true;
    });
    sched.run();
  }
  ~supervisor_fixture() { stop_engine_actors(a); sched.run(); }

  domain_actor domain() { return ask<domain_actor>(a.supervisor, caf::get_atom_v, std::string("a.test")); }
  /// The supervisor's own log lines (the domain actors log their decisions too).
  std::vector<std::string> supervisor_lines() const {
    std::vector<std::string> out;
    for (const auto& l : lines)
      if (l.rfind("supervisor: ", 0) == 0) out.push_back(l);
    return out;
  }
  supervisor_state& state() { return state_of<supervisor_state>(a.supervisor); }
  bool status_knows_md() {
    auto snap = ask<status_snapshot>(a.status, caf::get_atom_v, snapshot_atom_v, std::string("a.test"));
    return snap.mds.size() == 1 && snap.mds[0].md.name == "a.test";
  }
};

} // namespace

TEST_CASE_METHOD(supervisor_fixture, "supervisor: a killed domain actor is restarted and checks again",
                 "[actors][supervisor]") {
  start(5);
  auto first = domain();
  CHECK(backend->loads == 1);
  REQUIRE(status_knows_md());
  caf::anon_send(a.status, caf::delete_atom_v, std::string("a.test"));
  sched.run();
  REQUIRE_FALSE(status_knows_md());

  caf::anon_send_exit(first, caf::exit_reason::kill);
  sched.run();
  auto second = domain();
  CHECK(second != first);
  CHECK(state().restarts == 1);
  CHECK(backend->loads == 2); // the new actor checked: loaded job.json and certificates
  CHECK(status_knows_md());   // and its snapshot reached the status actor
  CHECK(supervisor_lines() == std::vector<std::string>{
                   "supervisor: restarting the domain actor of 'a.test' (it ended: exit_reason(kill))"});
  CHECK(errors.empty());
  CHECK_FALSE(*sup_gone);
}

TEST_CASE_METHOD(supervisor_fixture, "supervisor: a killed account actor is restarted with its domains",
                 "[actors][supervisor]") {
  start(5);
  auto first = domain();
  auto account = state().accounts.begin()->second;
  caf::anon_send_exit(account, caf::exit_reason::kill);
  sched.run();
  CHECK(state().accounts.begin()->second != account);
  CHECK(domain() != first);
  CHECK(backend->loads == 2);
  CHECK(supervisor_lines() == std::vector<std::string>{
                   "supervisor: restarting the account actor at 'https://ca.test/dir' (it ended: exit_reason(kill))",
                   "supervisor: restarting the domain actor of 'a.test' (it holds the restarted account "
                   "actor)"});
  CHECK(state().restarts == 1);
}

TEST_CASE_METHOD(supervisor_fixture, "supervisor: beyond the restart limit it gives up",
                 "[actors][supervisor]") {
  start(2);
  for (int i = 0; i < 2; ++i) {
    caf::anon_send_exit(domain(), caf::exit_reason::kill);
    sched.run();
  }
  CHECK(state().restarts == 2);
  CHECK(errors.empty());
  auto last = domain();
  caf::anon_send_exit(last, caf::exit_reason::kill);
  sched.run();
  CHECK(*sup_gone);
  CHECK(errors == std::vector<std::string>{
                    "supervisor: the domain actor of 'a.test' ended 3 times within 3600 s (last: "
                    "exit_reason(kill)); stopping the engine"});
}

TEST_CASE_METHOD(supervisor_fixture, "supervisor: a shared actor dying abnormally ends the engine",
                 "[actors][supervisor]") {
  start(5);
  caf::anon_send_exit(a.policy, caf::exit_reason::kill);
  sched.run();
  CHECK(*sup_gone);
  CHECK(errors == std::vector<std::string>{
                    "supervisor: the ca policy actor ended (exit_reason(kill)); stopping the engine"});
}
