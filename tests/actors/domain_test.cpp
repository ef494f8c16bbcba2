// The domain actor under the test_coordinator with a scripted backend (no network, no store):
// a first run from check to activation, the backoff sequence and its jitter, CA failover,
// the renewing veto, the warn window, the activation delay, the ARI window. Tag [actors][domain].
#include <cerrno>
#include <deque>
#include <map>
#include <mutex>

#include "actors/account.hpp"
#include "actors/ca_policy.hpp"
#include "actors/domain.hpp"
#include "actors/worker_pool.hpp"
#include "core/certgen.hpp"
#include "store/fs_store.hpp"
#include "tests/test_util.hpp"
#include "tests/actors/actor_fixture.hpp"

using namespace mda;
using namespace std::chrono_literals;

namespace {

/// Scripted blocking steps; everything runs on the test thread (pools not detached).
struct fake_backend final : domain_backend {
  std::vector<std::optional<certificate>> leaves;
  job saved;
  bool have_job = false;
  std::deque<bool> obtain_ok;          ///< per call; empty = success
  acme::problem failure;               ///< what a failing obtain answers
  std::vector<std::string> obtain_ca;  ///< the CA URL of each obtain call
  std::vector<std::vector<std::string>> commands; ///< argv of each command run
  std::map<std::string, int> exit_codes;          ///< reason -> exit code
  int stages = 0, activations = 0, resets = 0, live_checks = 0;
  std::string live_refusal;            ///< check_live fails with it when not empty
  std::optional<staged_result> staged;
  sys_time cert_time{};                ///< notBefore of obtained certificates
  std::optional<ari_hint> ari;         ///< what fetch_ari answers

  expected<domain_facts> load(const managed_domain& md) override {
    domain_facts f;
    f.leaves = leaves;
    if (have_job) f.renewal = saved;
    f.renewal.name = md.name;
    if (have_job && staged) // what staging/ holds until activation
      for (const auto& c : staged->certs) f.staged.emplace_back(c.chain.front());
    return f;
  }
  status save_job(const std::string&, const job& j) override {
    saved = j;
    have_job = true;
    return {};
  }
  status save_order(const std::string&, const acme_order_file&) override { return {}; }
  acme::acme_result<acme::obtained_cert> obtain(const order_request& r) override {
    obtain_ca.push_back(r.account.ca_url);
    bool ok = obtain_ok.empty() ? true : obtain_ok.front();
    if (!obtain_ok.empty()) obtain_ok.pop_front();
    if (r.progress) r.progress("Creating new order");
    if (!ok) return failure;
    acme::obtained_cert c;
    c.key = *private_key::generate(key_spec::ec("P-256"));
    c.chain.push_back(*make_fallback_certificate(c.key, r.md.domains, cert_time));
    c.chain_pem = "PEM";
    return c;
  }
  status stage(const staged_result& r) override {
    ++stages;
    staged = r;
    saved = r.renewal;
    have_job = true;
    return {};
  }
  status activate(const managed_domain&) override {
    ++activations;
    leaves = {staged->certs.front().chain.front()};
    have_job = false;
    return {};
  }
  expected<std::vector<std::string>> check_live(const live_expectation& want) override {
    ++live_checks;
    if (!live_refusal.empty()) return error(store_errc::invalid, want.md + ": " + live_refusal);
    std::vector<std::string> fps;
    for (const auto& c : staged->certs) fps.push_back(c.chain.front().fingerprint_sha256());
    return fps;
  }
  status reset_staging(const std::string&) override {
    ++resets;
    have_job = false;
    return {};
  }
  expected<process_result> run_command(const std::vector<std::string>& argv,
                                       std::chrono::milliseconds) override {
    commands.push_back(argv);
    process_result r;
    r.exit_code = argv.size() > 1 && exit_codes.count(argv[1]) ? exit_codes[argv[1]] : 0;
    return r;
  }
  std::optional<ari_hint> fetch_ari(const std::string&,
                                    const std::vector<std::optional<certificate>>&) override {
    return ari;
  }
  bool ran(const std::string& reason) const {
    for (const auto& c : commands)
      if (c.size() > 1 && c[1] == reason) return true;
    return false;
  }
};

struct domain_fixture : test::actor_fixture {
  sys_time t0 = std::chrono::time_point_cast<std::chrono::seconds>(sys_clock::now());
  std::shared_ptr<fake_backend> backend = std::make_shared<fake_backend>();
  worker_pool_actor pool = spawn_worker_pool(sys, {8, false});
  ca_policy_actor policy;
  std::map<std::string, account_actor> accounts;
  std::vector<md_report> reports;
  ocsp_stapling_actor stapling;
  domain_actor dom;

  domain_fixture() {
    backend->cert_time = t0;
    backend->failure.type = "urn:ietf:params:acme:error:serverInternal";
    backend->failure.detail = "scripted failure";
  }

  void make_policy(std::vector<std::uint8_t> bytes, int failover = 13) {
    policy = spawn_ca_policy(sys, {retry_policy{30s, k_max_retry_delay, failover},
                                   make_test_env(sys, t0, std::move(bytes))});
  }
  account_actor make_account(const std::string& url) {
    account_config ac{url,
                      [url] {
                        return account_answer{account_grant{nullptr, {}, "ACME-test-0000", url},
                                              std::nullopt};
                      },
                      pool, make_test_env(sys, t0)};
    return accounts[url] = spawn_account(sys, std::move(ac));
  }
  domain_actor start(managed_domain md, domain_settings s, bool activate = true, bool live = false) {
    if (!policy) make_policy({});
    for (const auto& u : md.ca.urls)
      if (!accounts.count(u)) make_account(u);
    domain_config dc;
    dc.spec = make_md_spec(md, engine_settings{}, true).value();
    dc.md = std::move(md);
    dc.settings = s;
    dc.backend = backend;
    dc.io_pool = pool;
    dc.order_pool = pool;
    dc.policy = policy;
    dc.accounts = accounts;
    dc.stapling = stapling;
    dc.env = make_test_env(sys, t0);
    dc.activate = activate;
    dc.live = live;
    dc.served_since = t0 - 1h;
    dc.observer = [this](const md_report& r) { reports.push_back(r); };
    dom = spawn_domain(sys, std::move(dc));
    sched.run();
    return dom;
  }
  domain_state& state() { return state_of<domain_state>(dom); }
  ~domain_fixture() {
    stop(dom, policy, pool);
    for (auto& [u, a] : accounts) stop(a);
  }
};

managed_domain test_md(std::vector<std::string> cas = {"https://ca.test/dir"}) {
  managed_domain md;
  md.name = "a.test";
  md.domains = {"a.test", "www.a.test"};
  md.ca.urls = std::move(cas);
  md.key_specs = {key_spec::ec("P-256")};
  return md;
}

std::vector<std::string> log_types(const job& j) {
  std::vector<std::string> out;
  for (auto i = j.log.rbegin(); i != j.log.rend(); ++i) out.push_back(i->type);
  return out;
}

} // namespace

TEST_CASE_METHOD(domain_fixture, "domain: a new MD is ordered, staged, notified, activated",
                 "[actors][domain]") {
  domain_settings s;
  s.commands.message_cmd = "/bin/msg";
  start(test_md(), s);
  auto& st = state();
  CHECK(st.runs() == 1);
  CHECK(backend->stages == 1);
  CHECK(backend->activations == 1);
  CHECK(backend->ran("renewing"));
  CHECK(backend->ran("renewed"));
  REQUIRE(backend->staged);
  CHECK(backend->staged->md.ca.url == "https://ca.test/dir");
  CHECK(backend->staged->md.ca.account == "ACME-test-0000");
  CHECK(backend->staged->renewal.finished);
  CHECK(log_types(backend->staged->renewal) ==
        std::vector<std::string>{"starting", "message-renewing", "progress", "progress", "finished"});
  // newest first: the renewed text, then mod_md's "Contacting ACME server" entry
  CHECK(backend->staged->renewal.log[2].detail ==
        "Contacting ACME server for " + test_md().name + " at https://ca.test/dir");
  REQUIRE(!reports.empty());
  CHECK(reports.back().outcome == md_outcome::complete);
  CHECK(st.leaves.size() == 1);
  CHECK(st.next_run > t0 + 6h); // the check interval (12 h) with jitter 0 (byte 128)
}

TEST_CASE_METHOD(domain_fixture, "domain: retries follow the backoff sequence with jitter",
                 "[actors][domain]") {
  backend->obtain_ok = {false, false, false, true};
  SECTION("no jitter") {
    make_policy({128});
    start(test_md(), {});
    CHECK(state().next_run == t0 + 30s);
    CHECK(reports.back().outcome == md_outcome::failed);
    CHECK(backend->saved.errors == 1);
    CHECK(backend->saved.last->detail.find("scripted failure") != std::string::npos);
    advance(30s, 30s);
    CHECK(state().next_run == t0 + 30s + 60s);
    CHECK(backend->saved.errors == 2);
    advance(60s, 60s);
    CHECK(state().next_run == t0 + 90s + 120s);
    advance(120s, 120s);
    CHECK(backend->stages == 1);
    CHECK(backend->obtain_ca.size() == 4);
    CHECK(reports.back().outcome == md_outcome::complete);
  }
  SECTION("jitter bounds: byte 0 is -50 %, byte 255 is +49.6 %") {
    make_policy({0, 255});
    start(test_md(), {});
    CHECK(state().next_run == t0 + 15s);
    advance(15s, 15s);
    // 60 s + 60 * 127 / 256 s (whole seconds) = 60 + 29
    CHECK(state().next_run == t0 + 15s + 89s);
  }
}

TEST_CASE_METHOD(domain_fixture, "domain: failover to the next CA after N errors",
                 "[actors][domain]") {
  backend->obtain_ok = {false, false, true};
  make_policy({128}, 2);
  start(test_md({"https://one.test/dir", "https://two.test/dir"}), {});
  advance(30s, 30s);
  CHECK(state().ca_url == "https://two.test/dir");
  CHECK(backend->resets == 1);
  advance(120s, 120s);
  CHECK(backend->obtain_ca == std::vector<std::string>{"https://one.test/dir",
                                                       "https://one.test/dir",
                                                       "https://two.test/dir"});
  REQUIRE(backend->staged);
  CHECK(backend->staged->md.ca.url == "https://two.test/dir");
}

TEST_CASE_METHOD(domain_fixture, "domain: a failing renewing event vetoes the renewal",
                 "[actors][domain]") {
  make_policy({128});
  backend->exit_codes["renewing"] = 3;
  domain_settings s;
  s.commands.message_cmd = "/bin/msg";
  start(test_md(), s);
  CHECK(backend->obtain_ca.empty());
  CHECK(backend->saved.errors == 1);
  // "last" is the handler's failure, as mod_md saves it (its suite, 901_001); the veto is the
  // log's renewal-error
  REQUIRE(backend->saved.last);
  CHECK(backend->saved.last->problem == "urn:org:apache:httpd:log:AH10109:");
  CHECK(backend->saved.last->detail == "MDMessageCmd /bin/msg failed with exit code 3.");
  REQUIRE(backend->saved.last_entry_of("renewal-error") != nullptr);
  CHECK(backend->saved.last_entry_of("renewal-error")->detail ==
        "a.test: event-handler for 'renewing' returned 20014, preventing renewal to proceed.");
  CHECK(backend->saved.last_entry_of("message-error") != nullptr);
  CHECK(reports.back().outcome == md_outcome::failed);
}

TEST_CASE_METHOD(domain_fixture, "domain: the warn window raises expiring without renewing",
                 "[actors][domain]") {
  auto md = test_md();
  md.renew_window = "1d";
  md.warn_window = "10d";
  auto key = *private_key::generate(key_spec::ec("P-256"));
  backend->leaves = {*make_fallback_certificate(key, md.domains, t0 - 24h * 5)};
  domain_settings s;
  s.commands.message_cmd = "/bin/msg";
  start(md, s);
  CHECK(backend->ran("expiring"));
  CHECK_FALSE(backend->ran("renewing"));
  CHECK(state().runs() == 0);
  CHECK(reports.back().outcome == md_outcome::complete);
}

TEST_CASE_METHOD(domain_fixture, "domain: expiring follows a failed renewal, not a successful one",
                 "[actors][domain]") {
  // 14 days of validity, 12 h left: inside the renew window (33 %) and the warn window (10 d).
  auto md = test_md();
  md.warn_window = "10d";
  auto key = *private_key::generate(key_spec::ec("P-256"));
  backend->leaves = {*make_fallback_certificate(key, md.domains, t0 - 24h * 14 + 12h)};
  domain_settings s;
  s.commands.message_cmd = "/bin/msg";
  auto reasons = [&] {
    std::vector<std::string> out;
    for (const auto& c : backend->commands) out.push_back(c.size() > 1 ? c[1] : "");
    return out;
  };
  SECTION("renewed at once: no warning (mod_md's drive job skips it for a finished job)") {
    start(md, s);
    CHECK(backend->stages == 1);
    CHECK(reasons() == std::vector<std::string>{"renewing", "renewed"});
  }
  SECTION("the renewal fails: errored, then expiring, as mod_md's drive job orders them") {
    make_policy({128});
    backend->obtain_ok = {false, true};
    start(md, s);
    CHECK(reasons() == std::vector<std::string>{"renewing", "errored", "expiring"});
    advance(30s, 30s); // the retry succeeds: no second warning ("renewing" is held back for 1 h)
    CHECK(backend->stages == 1);
    CHECK(reasons() == std::vector<std::string>{"renewing", "errored", "expiring", "renewed"});
  }
}

TEST_CASE_METHOD(domain_fixture, "domain: MDActivationDelay holds the renewed event back",
                 "[actors][domain]") {
  auto md = test_md();
  auto key = *private_key::generate(key_spec::ec("P-256"));
  // 14 days of validity, 12 h left: inside the 33 % renew window, still valid.
  backend->leaves = {*make_fallback_certificate(key, md.domains, t0 - 24h * 14 + 12h)};
  domain_settings s;
  s.commands.message_cmd = "/bin/msg";
  s.activation_delay = 1h;
  start(md, s);
  CHECK(backend->stages == 1);
  CHECK(backend->saved.valid_from == t0 + 1h);
  CHECK_FALSE(backend->ran("renewed"));
  CHECK(backend->activations == 0);
  advance(1h, 10min);
  CHECK(backend->ran("renewed"));
  CHECK(backend->activations == 1);
}

TEST_CASE("domain backend: a corrupt job.json or order.json starts the job over",
          "[actors][domain]") {
  test::temp_dir dir;
  auto opened = fs_store::open(dir / "md");
  REQUIRE(opened);
  auto st = std::make_shared<fs_store>(std::move(*opened));
  auto md = test_md();
  REQUIRE(st->save_json(store_group::domains, md.name, aspect::md, to_json(md)));
  const auto md_text = test::read_file(dir / "md/domains/a.test/md.json");
  REQUIRE(st->save_text(store_group::staging, md.name, aspect::job, "{\"errors\": \"x\""));
  REQUIRE(st->save_text(store_group::staging, md.name, aspect::order, "{\"status\": \"weird\"}"));
  store_backend_options o;
  o.challenges = store_challenge_factory("", 1, 1s);
  auto backend = make_store_backend(st, o);
  auto f = backend->load(md);
  REQUIRE(f);
  CHECK(f->problems.size() == 2);
  job fresh;
  fresh.name = "a.test";
  CHECK(f->renewal == fresh);
  CHECK_FALSE(f->order);
  CHECK_FALSE(st->exists(store_group::staging, md.name, aspect::job));
  CHECK_FALSE(st->exists(store_group::staging, md.name, aspect::order));
  CHECK(test::read_file(dir / "md/domains/a.test/md.json") == md_text);
  REQUIRE(f->leaves.size() == 1);
  CHECK_FALSE(f->leaves[0]);

  // mod_md #420 (its suite, 702_080): a job that claims a finished, announced renewal with
  // nothing staged would keep the MD from ever being renewed; it is ignored
  REQUIRE(st->save_text(store_group::staging, md.name, aspect::job,
                        "{\"name\": \"a.test\", \"finished\": true, \"notified\": true, "
                        "\"notified-renewed\": true, \"errors\": 0}"));
  f = backend->load(md);
  REQUIRE(f);
  REQUIRE(f->problems.size() == 1);
  CHECK(f->problems[0] == "staging/a.test/job.json claims a finished renewal, but staging/ holds no "
                          "complete set: ignored");
  CHECK(f->renewal == fresh);
  CHECK_FALSE(st->exists(store_group::staging, md.name, aspect::job));
}

TEST_CASE_METHOD(domain_fixture, "domain: an ARI window earlier than the renew window renews then",
                 "[actors][domain]") {
  auto md = test_md();
  auto key = *private_key::generate(key_spec::ec("P-256"));
  backend->leaves = {*make_fallback_certificate(key, md.domains, t0 - 24h)}; // 13 days left
  backend->ari = ari_hint{t0 + 1h, t0 + 3h, t0 + 2h, t0 + 6h, ""};
  start(md, {});
  CHECK(state().ari_fetches == 1);
  CHECK(state().runs() == 0);
  CHECK(state().next_run == t0 + 2h);
  backend->cert_time = t0 + 2h; // the new certificate; the CA's answer stays the old one
  advance(2h, 30min);
  CHECK(state().runs() == 1);
  CHECK(backend->stages == 1);
  CHECK(backend->activations == 1);
  CHECK(state().ari_fetches == 2); // anew for the new certificate
  CHECK(reports.back().outcome == md_outcome::complete);
}

TEST_CASE_METHOD(domain_fixture, "domain: MDRenewViaARI off fetches no renewalInfo",
                 "[actors][domain]") {
  auto md = test_md();
  md.ari_renewals = false;
  auto key = *private_key::generate(key_spec::ec("P-256"));
  backend->leaves = {*make_fallback_certificate(key, md.domains, t0 - 24h)};
  backend->ari = ari_hint{t0 + 1h, t0 + 3h, t0 + 2h, t0 + 6h, ""};
  start(md, {});
  CHECK(state().ari_fetches == 0);
  CHECK(state().runs() == 0);
  CHECK(state().next_run > t0 + 6h);
}

TEST_CASE_METHOD(domain_fixture, "domain: the CA's problem is the job's last result, with mod_md's status",
                 "[actors][domain]") {
  // mod_md's suite, 740_000: "last" carries the CA's type and detail, not our longer message
  make_policy({128});
  backend->obtain_ok = {false};
  backend->failure = {};
  backend->failure.type = "urn:ietf:params:acme:error:malformed";
  backend->failure.detail = "Order included DNS identifier with a value containing an illegal character: '!'";
  backend->failure.http_status = 400;
  backend->failure.url = "https://ca.test/order-plz";
  start(test_md(), {});
  REQUIRE(backend->saved.last);
  CHECK(backend->saved.last->problem == "urn:ietf:params:acme:error:malformed");
  CHECK(backend->saved.last->detail ==
        "Order included DNS identifier with a value containing an illegal character: '!'");
  CHECK(backend->saved.last->status == EINVAL);
  CHECK(to_json(*backend->saved.last)["status-description"] == "Invalid argument");
}

TEST_CASE_METHOD(domain_fixture, "domain: a CA that cannot be reached is 'Connection refused'",
                 "[actors][domain]") {
  // mod_md's suite, 702_008: an unusable MDHttpProxy
  make_policy({128});
  backend->obtain_ok = {false};
  backend->failure = acme::problem_from_error(
    error(acme::acme_errc::connection, "Unsuccessful in contacting ACME server at https://ca.test/dir: "
                                       "proxy localhost:1: connection refused"),
    "https://ca.test/dir");
  start(test_md(), {});
  REQUIRE(backend->saved.last);
  CHECK(backend->saved.last->problem.empty());
  CHECK(backend->saved.last->status == ECONNREFUSED);
  CHECK(to_json(*backend->saved.last)["status-description"] == "Connection refused");
}

TEST_CASE_METHOD(domain_fixture, "domain: a failing errored event's command is the last result",
                 "[actors][domain]") {
  // mod_md's suite, 901_002: the failed MDMessageCmd for "errored" overwrites the run's result
  make_policy({128});
  backend->obtain_ok = {false};
  backend->exit_codes["errored"] = 2;
  domain_settings s;
  s.commands.message_cmd = "/bin/msg";
  start(test_md(), s);
  REQUIRE(backend->saved.last);
  CHECK(backend->saved.last->problem == "urn:org:apache:httpd:log:AH10109:");
  CHECK(backend->saved.last->detail == "MDMessageCmd /bin/msg failed with exit code 2.");
  CHECK(backend->saved.errors == 1);
  REQUIRE(backend->saved.last_entry_of("renewal-error") != nullptr);
  CHECK(backend->saved.last_entry_of("renewal-error")->status == "urn:ietf:params:acme:error:serverInternal");
}

TEST_CASE_METHOD(domain_fixture, "domain: a failed MDNotifyCmd keeps the staged set and tries again",
                 "[actors][domain]") {
  // mod_md's suite, 900_001/002 (md_job_notify): an error counted, "last" is the command's
  // failure; no renewal-error, no "errored" event, nothing reset
  make_policy({128});
  backend->exit_codes["a.test"] = 1; // the notify command's first argument is the MD name
  domain_settings s;
  s.commands.notify_cmd = "/bin/notify";
  s.commands.message_cmd = "/bin/msg";
  start(test_md(), s, false);
  REQUIRE(backend->stages == 1);
  REQUIRE(backend->saved.last);
  CHECK(backend->saved.last->problem == "urn:org:apache:httpd:log:AH10108:");
  CHECK(backend->saved.last->detail == "MDNotifyCmd /bin/notify failed with exit code 1.");
  CHECK(backend->saved.errors == 1);
  CHECK(backend->saved.finished);
  CHECK(backend->saved.last_entry_of("renewal-error") == nullptr);
  CHECK(backend->saved.last_entry_of("notify-error") != nullptr);
  CHECK_FALSE(backend->ran("errored"));
  CHECK(backend->resets == 0);
  CHECK(state().next_run == t0 + 30s);
  CHECK(reports.back().outcome == md_outcome::failed);
  // the next try notifies again (and the command now succeeds)
  backend->exit_codes.clear();
  advance(30s, 30s);
  CHECK(backend->saved.notified_renewed);
  CHECK(backend->stages == 1);
  CHECK(reports.back().outcome == md_outcome::staged);
}

TEST_CASE_METHOD(domain_fixture, "domain: the snapshot shows the staged certificates",
                 "[actors][domain]") {
  // mod_md's suite, 920_001 / 702_002: certificate-status "renewal": {"cert": {"<spec>": ...}}
  start(test_md(), {}, false);
  REQUIRE(backend->stages == 1);
  const md_snapshot s = make_snapshot(state());
  REQUIRE(s.renewal);
  CHECK(s.renewal->finished);
  REQUIRE(s.staged_certs.size() == 1);
  CHECK(s.staged_certs[0].name == "P-256"); // the spec as configured
  REQUIRE(s.staged_certs[0].cert);
  CHECK(s.staged_certs[0].cert->sha256_fingerprint ==
        backend->staged->certs.front().chain.front().fingerprint_sha256());
  REQUIRE(s.certs.size() == 1);
  CHECK_FALSE(s.certs[0].cert); // nothing in domains/ until activation
}

namespace {

/// Records the MDs it is asked to staple again.
ocsp_stapling_actor::behavior_type staple_recorder(ocsp_stapling_actor::pointer,
                                                   std::vector<std::string>* asked) {
  return {
    [](revoked_atom, const std::string&, const std::string&) {},
    [](ocsp_event_atom, const std::string&, const std::string&) {},
    [](put_atom, const std::string&, domain_actor&) {},
    [](check_atom) {},
    [asked](staple_atom, const std::string& md) { asked->push_back(md); },
  };
}

} // namespace

TEST_CASE_METHOD(domain_fixture, "domain: MDActivation live serves the staged set once it checks out",
                 "[actors][domain]") {
  std::vector<std::string> asked;
  stapling = sys.spawn(staple_recorder, &asked);
  domain_settings s;
  s.commands.message_cmd = "/bin/msg";
  start(test_md(), s, false, true);
  REQUIRE(backend->stages == 1);
  CHECK(backend->activations == 0); // the parent moves the set at the next restart
  CHECK(backend->live_checks == 1);
  CHECK(backend->ran("renewed"));
  CHECK(backend->saved.finished);
  CHECK(backend->saved.notified_renewed);
  CHECK(backend->saved.live_since == t0);
  CHECK(state().runs() == 1);
  CHECK(asked == std::vector<std::string>{"a.test"});
  REQUIRE(!reports.empty());
  CHECK(reports.back().outcome == md_outcome::complete);
  const md_snapshot snap = make_snapshot(state());
  CHECK(snap.served_from == served_source::staging);
  CHECK(snap.served_since == t0);
  REQUIRE(snap.certs.size() == 1);
  REQUIRE(snap.certs[0].cert);
  CHECK(snap.certs[0].cert->sha256_fingerprint == backend->staged->certs.front().chain.front().fingerprint_sha256());
  REQUIRE(snap.renewal); // shown as mod_md shows it until the restart
  CHECK(snap.renewal->live_since == t0);
  CHECK(state().next_run > t0 + 6h); // the regular check: nothing due on the new certificate
  stop(stapling);
}

TEST_CASE_METHOD(domain_fixture, "domain: MDActivation live refuses a staged set that does not check out",
                 "[actors][domain]") {
  make_policy({128});
  backend->live_refusal = "the staged certificate for P-256 does not match its private key";
  domain_settings s;
  s.commands.message_cmd = "/bin/msg";
  start(test_md(), s, false, true);
  REQUIRE(backend->stages == 1);
  CHECK(backend->live_checks == 1);
  CHECK(backend->saved.live_since == sys_time{});
  CHECK(backend->saved.errors == 1);
  REQUIRE(backend->saved.last);
  CHECK(backend->saved.last->detail ==
        "serving the renewed certificates without a restart failed: a.test: the staged certificate for "
        "P-256 does not match its private key (the previous certificates stay in use)");
  CHECK(backend->saved.last->activity == "activating");
  CHECK(backend->ran("errored"));
  CHECK(reports.back().outcome == md_outcome::failed);
  CHECK(make_snapshot(state()).served_from == served_source::none); // no certificate in domains/
  CHECK(backend->resets == 1);  // the set that cannot be served is discarded
  CHECK_FALSE(backend->saved.finished);
  // the retry orders anew; that set checks out and is served
  backend->live_refusal.clear();
  advance(30s, 30s);
  CHECK(backend->stages == 2);
  CHECK(backend->live_checks == 2);
  CHECK(backend->saved.live_since != sys_time{});
  CHECK(backend->saved.errors == 0);
  CHECK(make_snapshot(state()).served_from == served_source::staging);
}

TEST_CASE("domain backend: tls-alpn-01 is set up as mod_md does", "[actors][domain]") {
  // mod_md's suite, 702_043 (no vhost allows acme-tls/1: http-01 is used instead) and 702_044
  // (a name outside the vhosts that allow it is still tried)
  CHECK(tls_alpn01_refusal({}, "a.test") ==
        "a.test: protocol 'acme-tls/1' seems not enabled for this or any other associated domain. "
        "Not attempting challenge type tls-alpn-01.");
  CHECK(tls_alpn01_refusal({"a.test"}, "a.test").empty());
  CHECK(tls_alpn01_refusal({"a.test"}, "other.a.test").empty());
}


TEST_CASE_METHOD(domain_fixture, "domain: after an activation the stapling actor looks at the MD again",
                 "[actors][domain]") {
  std::vector<std::string> asked;
  stapling = sys.spawn(staple_recorder, &asked);
  start(test_md(), domain_settings{});
  CHECK(backend->activations == 1);
  CHECK(asked == std::vector<std::string>{"a.test"});
  stop(stapling);
}

TEST_CASE_METHOD(domain_fixture, "domain: renew_atom renews now whatever the window says (mdctl renew)",
                 "[actors][domain]") {
  auto md = test_md();
  auto key = *private_key::generate(key_spec::ec("P-256"));
  backend->leaves = {*make_fallback_certificate(key, md.domains, t0 - 1h)}; // 14 days: not due
  SECTION("renewed, staged and activated") {
    start(md, {});
    CHECK(state().runs() == 0);
    CHECK(ask<std::string>(dom, renew_atom_v) == "renewal started: a renewal was asked for (mdctl renew)");
    CHECK(state().runs() == 1);
    CHECK(backend->stages == 1);
    CHECK(backend->activations == 1);
    CHECK_FALSE(state().renew_forced);
    CHECK(state().renew_waiting.empty());
    // the next regular check decides by the window again
    CHECK(state().next_run > t0 + 6h);
  }
  SECTION("MDRenewMode manual: refused with the reason") {
    md.renew_mode = md_renew_mode::manual;
    start(md, {});
    auto err = ask_error<std::string>(dom, renew_atom_v);
    CHECK(is_engine_error(err, engine_errc::bad_request));
    CHECK(error_text(err) == "'a.test' is not renewed: MDRenewMode is manual: certificates are not renewed");
    CHECK(state().runs() == 0);
    CHECK_FALSE(state().renew_forced);
  }
}
