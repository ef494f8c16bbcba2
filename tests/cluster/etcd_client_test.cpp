// cluster/etcd_client.hpp against a real etcd (Debian's etcd-server) started by the test.
#include <atomic>
#include <mutex>
#include <thread>

#include <catch2/catch.hpp>

#include "cluster/etcd_client.hpp"
#include "tests/support/etcd.hpp"

using namespace mda;
using namespace mda::etcd;
using namespace std::chrono_literals;

namespace {

std::shared_ptr<client> connect(const std::vector<std::string>& eps) {
  client_options o;
  o.endpoints = eps;
  o.timeout = 2s;
  auto c = client::make(o);
  REQUIRE(c);
  return *c;
}

template <class Pred>
bool eventually(Pred p, std::chrono::milliseconds limit = 10s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (p()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return p();
}

} // namespace

TEST_CASE("etcd endpoints: URLs parsed, bad ones named", "[cluster][etcd]") {
  auto a = parse_endpoint("http://127.0.0.1:2379");
  REQUIRE(a);
  CHECK(a->host == "127.0.0.1");
  CHECK(a->port == 2379);
  CHECK_FALSE(a->tls);
  auto b = parse_endpoint("https://[::1]:4001/");
  REQUIRE(b);
  CHECK(b->host == "::1");
  CHECK(b->port == 4001);
  CHECK(b->tls);
  auto c = parse_endpoint("https://etcd.example");
  REQUIRE(c);
  CHECK(c->port == 2379);
  auto d = parse_endpoint("etcd:2379");
  REQUIRE_FALSE(d);
  CHECK(d.error().message == "etcd endpoint 'etcd:2379': must start with http:// or https://");
  auto e = parse_endpoint("http://h:99999");
  REQUIRE_FALSE(e);
  CHECK(e.error().message == "etcd endpoint 'http://h:99999': port '99999' is not 1..65535");
  auto f = parse_endpoint("http://h:1/v3");
  REQUIRE_FALSE(f);
  CHECK(f.error().message == "etcd endpoint 'http://h:1/v3': a path is not allowed");
  client_options o;
  o.endpoints = {"http://127.0.0.1:1"};
  o.cert_file = "/nonexistent/cert.pem";
  auto g = client::make(o);
  REQUIRE_FALSE(g);
  CHECK(g.error().message == "etcd client TLS: cert= and key= go together");
  CHECK(prefix_end("/md/") == "/md0");
  CHECK(prefix_end(std::string("a\xff", 2)) == "b");
}

TEST_CASE("etcd client: put, get, prefix, delete, transactions", "[cluster][etcd]") {
  test::etcd_fixture etcd(1);
  auto c = connect(etcd.endpoints());
  const std::string bin("\x00\x01\xff-binary\n", 11);
  auto r1 = c->put("/t/a", "alpha");
  REQUIRE(r1);
  auto r2 = c->put("/t/b", bin);
  REQUIRE(r2);
  CHECK(*r2 == *r1 + 1);
  REQUIRE(c->put("/u/x", "other"));
  auto g = c->get("/t/b");
  REQUIRE(g);
  REQUIRE(g->kvs.size() == 1);
  CHECK(g->kvs[0].value == bin);
  CHECK(g->kvs[0].version == 1);
  auto none = c->get("/t/zz");
  REQUIRE(none);
  CHECK(none->kvs.empty());
  auto p = c->get_prefix("/t/");
  REQUIRE(p);
  REQUIRE(p->kvs.size() == 2);
  CHECK(p->kvs[0].key == "/t/a");
  CHECK(p->kvs[1].key == "/t/b");
  auto lim = c->get_prefix("/t/", 1, true);
  REQUIRE(lim);
  REQUIRE(lim->kvs.size() == 1);
  CHECK(lim->more);
  CHECK(lim->kvs[0].value.empty());

  // create-only: succeeds once
  auto t1 = c->txn({compare::absent("/t/new")}, {txn_op::put("/t/new", "1")}, {txn_op::get("/t/new")});
  REQUIRE(t1);
  CHECK(t1->succeeded);
  auto t2 = c->txn({compare::absent("/t/new")}, {txn_op::put("/t/new", "2")}, {txn_op::get("/t/new")});
  REQUIRE(t2);
  CHECK_FALSE(t2->succeeded);
  REQUIRE(t2->ranges.size() == 1);
  REQUIRE(t2->ranges[0].kvs.size() == 1);
  CHECK(t2->ranges[0].kvs[0].value == "1");

  auto d = c->del_prefix("/t/");
  REQUIRE(d);
  CHECK(*d == 3);
  auto after = c->get_prefix("/t/");
  REQUIRE(after);
  CHECK(after->kvs.empty());
  auto u = c->get("/u/x");
  REQUIRE(u);
  CHECK(u->kvs.size() == 1);
}

TEST_CASE("etcd client: a lease holds a key until it is revoked or expires", "[cluster][etcd]") {
  test::etcd_fixture etcd(1);
  auto c = connect(etcd.endpoints());
  auto lease = c->grant(2);
  REQUIRE(lease);
  auto own = c->txn({compare::absent("/owner/md1")}, {txn_op::put("/owner/md1", "node-a", *lease)});
  REQUIRE(own);
  CHECK(own->succeeded);
  auto held = c->txn({compare::held_by("/owner/md1", *lease)}, {});
  REQUIRE(held);
  CHECK(held->succeeded);
  auto ttl = c->keep_alive(*lease);
  REQUIRE(ttl);
  CHECK(*ttl == 2);
  REQUIRE(c->revoke(*lease));
  auto gone = c->get("/owner/md1");
  REQUIRE(gone);
  CHECK(gone->kvs.empty());
  auto again = c->keep_alive(*lease);
  REQUIRE_FALSE(again);
  CHECK(again.error().code == make_error_code(etcd_errc::lease_gone));

  auto short_lease = c->grant(1);
  REQUIRE(short_lease);
  REQUIRE(c->put("/owner/md2", "node-b", *short_lease));
  CHECK(eventually([&] {
    auto g = c->get("/owner/md2");
    return g && g->kvs.empty();
  }, 5s));
}

TEST_CASE("etcd client: a watch sees every change in order, across a member's restart",
          "[cluster][etcd]") {
  test::etcd_fixture etcd(3);
  auto c = connect(etcd.endpoints());
  std::mutex mu;
  std::vector<std::string> seen;
  std::atomic<int> ups{0};
  auto w = c->watch_prefix(
    "/w/", 0,
    [&](const std::vector<watch_event>& es, std::int64_t) {
      std::lock_guard<std::mutex> lk(mu);
      for (const auto& e : es)
        seen.push_back((e.what == watch_event::kind::put ? "put " : "del ") + e.kv.key +
                       (e.what == watch_event::kind::put ? "=" + e.kv.value : ""));
    },
    [&](bool up, const std::string&) {
      if (up) ++ups;
    },
    200ms);
  REQUIRE(eventually([&] { return ups.load() >= 1; }));
  REQUIRE(c->put("/w/1", "a"));
  REQUIRE(c->put("/other", "not seen"));
  REQUIRE(c->put("/w/2", "b"));
  REQUIRE(c->del("/w/1"));
  REQUIRE(eventually([&] {
    std::lock_guard<std::mutex> lk(mu);
    return seen.size() >= 3;
  }));
  {
    std::lock_guard<std::mutex> lk(mu);
    CHECK(seen == std::vector<std::string>{"put /w/1=a", "put /w/2=b", "del /w/1"});
  }
  // the member the watch talks to goes away: it reconnects to another one and misses nothing
  etcd.kill(0);
  REQUIRE(c->put("/w/3", "c"));
  REQUIRE(eventually([&] {
    std::lock_guard<std::mutex> lk(mu);
    return seen.size() >= 4;
  }, 15s));
  etcd.start(0);
  REQUIRE(c->put("/w/4", "d"));
  REQUIRE(eventually([&] {
    std::lock_guard<std::mutex> lk(mu);
    return seen.size() >= 5;
  }, 15s));
  w->stop();
  std::lock_guard<std::mutex> lk(mu);
  CHECK(seen == std::vector<std::string>{"put /w/1=a", "put /w/2=b", "del /w/1", "put /w/3=c",
                                         "put /w/4=d"});
}

TEST_CASE("etcd client: with one member of three down every call succeeds; with all down the "
          "error names each endpoint",
          "[cluster][etcd]") {
  test::etcd_fixture etcd(3);
  auto c = connect(etcd.endpoints());
  REQUIRE(c->put("/k", "1"));
  etcd.stop(0);
  for (int i = 0; i < 5; ++i) REQUIRE(c->put("/k", std::to_string(i)));
  auto m = c->members();
  REQUIRE(m);
  CHECK(m->size() == 3);
  etcd.stop(1);
  etcd.stop(2);
  auto dead = c->get("/k");
  REQUIRE_FALSE(dead);
  CHECK(dead.error().code == make_error_code(etcd_errc::unreachable));
  for (int i = 0; i < 3; ++i)
    CHECK(dead.error().message.find(etcd.endpoint(i) + ": ") != std::string::npos);
  etcd.start(0);
  etcd.start(1);
  etcd.start(2);
  auto back = c->get("/k");
  REQUIRE(back);
  REQUIRE(back->kvs.size() == 1);
  CHECK(back->kvs[0].value == "4");
}

TEST_CASE("etcd client over TLS with a client certificate; without one, or trusting another CA, "
          "refused with the endpoint named",
          "[cluster][etcd]") {
  test::etcd_fixture etcd(1, true);
  client_options o;
  o.endpoints = etcd.endpoints();
  o.ca_file = etcd.tls().ca;
  o.cert_file = etcd.tls().client_cert;
  o.key_file = etcd.tls().client_key;
  o.timeout = 3s;
  auto c = client::make(o);
  REQUIRE(c);
  REQUIRE((*c)->put("/tls/k", "v"));
  auto g = (*c)->get("/tls/k");
  REQUIRE(g);
  REQUIRE(g->kvs.size() == 1);
  CHECK(g->kvs[0].value == "v");
  // a watch over TLS too
  std::atomic<int> seen{0};
  auto w = (*c)->watch_prefix("/tls/", 0,
                              [&](const std::vector<watch_event>& es, std::int64_t) { seen += static_cast<int>(es.size()); },
                              {});
  std::this_thread::sleep_for(300ms);
  REQUIRE((*c)->put("/tls/k2", "v2"));
  CHECK(eventually([&] { return seen.load() >= 1; }));
  w->stop();

  client_options no_cert = o;
  no_cert.cert_file.clear();
  no_cert.key_file.clear();
  auto nc = client::make(no_cert);
  REQUIRE(nc);
  auto refused = (*nc)->get("/tls/k");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find(etcd.endpoint(0)) != std::string::npos);

  client_options other_ca = o;
  other_ca.ca_file = "/etc/ssl/certs/ca-certificates.crt";
  auto oc = client::make(other_ca);
  REQUIRE(oc);
  auto untrusted = (*oc)->get("/tls/k");
  REQUIRE_FALSE(untrusted);
  CHECK(untrusted.error().code == make_error_code(etcd_errc::unreachable));
}
