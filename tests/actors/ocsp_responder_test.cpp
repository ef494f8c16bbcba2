// The OCSP responder actor under the test_coordinator with a fake transport answering with
// responses made in-process: a good response persisted and refreshed at the renew window,
// an error backed off with the previous response kept, revoked reported. Tag [actors][ocsp].
#include <functional>

#include "actors/ocsp_responder.hpp"
#include "actors/worker_pool.hpp"
#include "ocsp/fetch.hpp"
#include "store/fs_store.hpp"
#include "tests/actors/actor_fixture.hpp"
#include "tests/ocsp/ocsp_fixture.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace std::chrono_literals;
using mda::test::ocsp::make_pki;
using mda::test::ocsp::make_response;
using mda::test::ocsp::response_options;

namespace {

struct fake_transport final : acme::http_transport {
  std::function<expected<acme::http_response>(const acme::http_request&)> answer;
  int calls = 0;
  expected<acme::http_response> request(const acme::http_request& req) override {
    ++calls;
    return answer(req);
  }
};

const char k_url[] = "http://127.0.0.1:9/ocsp";

using owner_and_text = std::pair<std::string, std::string>;

/// Records what a responder tells its listener.
ocsp_listener_actor::behavior_type recorder(ocsp_listener_actor::pointer,
                                            std::vector<owner_and_text>* events,
                                            std::vector<owner_and_text>* revoked) {
  return {
    [revoked](revoked_atom, const std::string& o, const std::string& f) { revoked->emplace_back(o, f); },
    [events](ocsp_event_atom, const std::string& o, const std::string& r) { events->emplace_back(o, r); },
  };
}

struct responder_fixture : test::actor_fixture {
  sys_time t0 = std::chrono::time_point_cast<std::chrono::seconds>(sys_clock::now());
  test::temp_dir dir;
  std::shared_ptr<store> st;
  std::shared_ptr<fake_transport> http = std::make_shared<fake_transport>();
  worker_pool_actor pool = spawn_worker_pool(sys, {8, false});
  test::ocsp::test_pki pki = make_pki(t0, k_url);
  ocsp::cert_id id = *ocsp::cert_id::make(pki.leaf.cert, pki.inter.cert);
  std::string key = *ocsp::cert_key(pki.leaf.cert);
  std::vector<std::pair<std::string, std::string>> events, revoked;
  ocsp_listener_actor listener = sys.spawn(recorder, &events, &revoked);
  ocsp_responder_actor resp;
  std::function<bool(const std::string&)> defer; ///< the cluster's rule (empty: none)

  responder_fixture() {
    auto opened = fs_store::open(dir.path());
    REQUIRE(opened.ok());
    st = std::make_shared<fs_store>(std::move(*opened));
  }
  ~responder_fixture() { stop(resp, listener, pool); }

  void answer_with(int cert_status, std::chrono::hours lifetime) {
    http->answer = [this, cert_status, lifetime](const acme::http_request&)
      -> expected<acme::http_response> {
      response_options o;
      o.cert_status = cert_status;
      auto now = state().cfg.env.clock->now();
      o.this_update = now;
      o.next_update = now + lifetime;
      if (cert_status == 1) o.revoked_at = now - 1h;
      acme::http_response r;
      r.status = 200;
      r.headers.emplace("Content-Type", "application/ocsp-response");
      r.body = make_response(id, pki.inter, o);
      return r;
    };
  }
  void answer_error() {
    http->answer = [](const acme::http_request&) -> expected<acme::http_response> {
      acme::http_response r;
      r.status = 500;
      return r;
    };
  }
  void start() {
    ocsp_responder_config c;
    c.url = k_url;
    c.st = st;
    c.transport = http;
    c.io_pool = pool;
    c.env = make_test_env(sys, t0);
    c.listener = listener;
    c.defer = defer;
    resp = spawn_ocsp_responder(sys, std::move(c));
    caf::anon_send(resp, staple_atom_v,
                   ocsp_registration{"a.test", {ocsp_cert{pki.leaf.cert, pki.inter.cert}}, true});
    sched.run();
  }
  ocsp_responder_state& state() { return state_of<ocsp_responder_state>(resp); }
};

} // namespace

TEST_CASE_METHOD(responder_fixture, "ocsp responder: a good response is stored and refreshed",
                 "[actors][ocsp]") {
  answer_with(0, 30h); // renew window 33% of 30 h: refresh 9.9 h before the end
  start();
  CHECK(http->calls == 1);
  auto s = ocsp::load_stored(*st, "a.test", key);
  REQUIRE(s.ok());
  REQUIRE(s->has_value());
  CHECK((*s)->status == ocsp::cert_status::good);
  auto& e = state().entries.at(key);
  CHECK(e.next_run == e.current->valid.end - std::chrono::seconds(35640));
  auto staplings = ask<std::vector<stapling_info>>(resp, caf::get_atom_v);
  REQUIRE(staplings.size() == 1);
  CHECK(staplings[0].status == ocsp_cert_status::good);
  CHECK(staplings[0].domain == "a.test");
  CHECK(events == std::vector<std::pair<std::string, std::string>>{{"a.test", "ocsp-renewed"}});
  advance(20h, 1h);
  CHECK(http->calls == 1);
  advance(1h, 1h);
  CHECK(http->calls == 2);
}

TEST_CASE_METHOD(responder_fixture, "ocsp responder: errors back off, the previous response stays",
                 "[actors][ocsp]") {
  answer_with(0, 30h);
  start();
  auto good = state().entries.at(key).current;
  answer_error();
  advance(21h, 1h); // the refresh fails
  CHECK(http->calls == 2);
  auto& e = state().entries.at(key);
  CHECK(e.errors == 1);
  CHECK(e.current == good);
  CHECK(e.next_run == t0 + 21h + 30s); // MDRetryDelay 30 s, jitter 0 (byte 128)
  advance(30s, 10s);
  CHECK(http->calls == 3);
  CHECK(state().entries.at(key).errors == 2);
  CHECK(state().entries.at(key).next_run == t0 + 21h + 30s + 60s);
  CHECK(state().jobs.at("a.test").errors == 2);
  CHECK(events.back().second == "ocsp-errored");
  auto s = ocsp::load_stored(*st, "a.test", key);
  REQUIRE(s.ok());
  CHECK(**s == *good);
}

TEST_CASE_METHOD(responder_fixture, "ocsp responder: revoked is reported to the owner",
                 "[actors][ocsp]") {
  answer_with(1, 30h);
  start();
  REQUIRE(revoked.size() == 1);
  CHECK(revoked[0].first == "a.test");
  CHECK(revoked[0].second == pki.leaf.cert.fingerprint_sha256());
  CHECK(state().entries.at(key).current->status == ocsp::cert_status::revoked);
}

TEST_CASE_METHOD(responder_fixture,
                 "ocsp responder in a cluster: the fetching server's response is taken from the "
                 "store, not fetched again",
                 "[actors][ocsp][cluster]") {
  answer_with(0, 30h);
  defer = [](const std::string& owner) { return owner == "a.test"; };
  start();
  CHECK(http->calls == 0); // another server fetches it: wait for its response
  CHECK(state().entries.at(key).next_run == t0 + 120s);
  // that server's response arrives (the cluster copies it into this store)
  ocsp::fetch_params p{k_url, id, pki.inter.cert, "", t0};
  auto fetched = ocsp::fetch(*http, p);
  REQUIRE(ocsp::apply_fetch(*st, "a.test", key, fetched, k_url, std::nullopt, t0).saved);
  http->calls = 0;
  advance(120s, 10s);
  CHECK(http->calls == 0);
  auto& e = state().entries.at(key);
  REQUIRE(e.current);
  CHECK(e.current->status == ocsp::cert_status::good);
  CHECK(e.next_run == e.current->valid.end - std::chrono::seconds(35640));
  CHECK_FALSE(e.deferred);
}

TEST_CASE_METHOD(responder_fixture,
                 "ocsp responder in a cluster: when no response comes from the fetching server, "
                 "this one fetches after the wait",
                 "[actors][ocsp][cluster]") {
  answer_with(0, 30h);
  defer = [](const std::string&) { return true; };
  start();
  CHECK(http->calls == 0);
  advance(110s, 10s);
  CHECK(http->calls == 0);
  advance(10s, 10s);
  CHECK(http->calls == 1);
  auto s = ocsp::load_stored(*st, "a.test", key);
  REQUIRE(s.ok());
  REQUIRE(s->has_value());
  CHECK((*s)->status == ocsp::cert_status::good);
}
