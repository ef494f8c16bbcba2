// cluster/cluster_service.hpp and cluster/mirror_store.hpp against a real etcd: who renews an
// MD, takeover when a server's lease ends, staged files copied to the servers that do not
// renew, what md-status shows.
#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "cluster/cluster_service.hpp"
#include "cluster/etcd_store.hpp"
#include "cluster/mirror_store.hpp"
#include "status/snapshot.hpp"
#include "store/fs_store.hpp"
#include "tests/support/etcd.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace std::chrono_literals;

namespace {

template <class Pred>
bool eventually(Pred p, std::chrono::milliseconds limit = 15s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (p()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return p();
}

/// One server: its own file store, the shared etcd store, the service.
struct server {
  test::temp_dir dir;
  std::shared_ptr<fs_store> local;
  std::shared_ptr<store> shared;
  std::shared_ptr<cluster_service> service;
  std::mutex mu;
  std::vector<std::string> changed;

  server(const test::etcd_fixture& etcd, const std::string& node, const std::string& secret,
         std::vector<std::string> mds, int lease = 2) {
    local = std::make_shared<fs_store>(fs_store::attach(dir.path(), secret));
    etcd::client_options co;
    co.endpoints = etcd.endpoints();
    co.timeout = 2s;
    auto c = etcd::client::make(co);
    REQUIRE(c);
    auto es = etcd_store::open(*c, "/t", secret);
    REQUIRE(es);
    shared = std::make_shared<etcd_store>(std::move(*es));
    cluster_options o;
    o.config.endpoints = etcd.endpoints();
    o.config.prefix = "/t";
    o.config.lease_seconds = lease;
    o.node = node;
    o.mds = std::move(mds);
    o.shared = shared;
    o.local = local;
    o.on_change = [this](const std::string& md) {
      std::lock_guard<std::mutex> lk(mu);
      changed.push_back(md);
    };
    service = std::make_shared<cluster_service>(*c, std::move(o));
    REQUIRE(service->start());
  }
  bool saw_change(const std::string& md) {
    std::lock_guard<std::mutex> lk(mu);
    return std::find(changed.begin(), changed.end(), md) != changed.end();
  }
};

std::string secret48() { return std::string(48, 's'); }

} // namespace

TEST_CASE("rendezvous order: stable, spread, independent of the list's order", "[cluster]") {
  auto a = rendezvous_order("example.org", {"n1", "n2", "n3"});
  CHECK(a == rendezvous_order("example.org", {"n3", "n1", "n2", "n1"}));
  REQUIRE(a.size() == 3);
  std::map<std::string, int> first;
  for (int i = 0; i < 300; ++i) ++first[rendezvous_order("md" + std::to_string(i) + ".test", {"n1", "n2", "n3"})[0]];
  REQUIRE(first.size() == 3);
  for (const auto& [node, n] : first) CHECK(n > 60); // about 100 each
  // a node leaving moves only its own MDs
  int moved = 0;
  for (int i = 0; i < 300; ++i) {
    auto md = "md" + std::to_string(i) + ".test";
    auto before = rendezvous_order(md, {"n1", "n2", "n3"})[0];
    auto after = rendezvous_order(md, {"n1", "n2"})[0];
    if (before != "n3") CHECK(after == before);
    moved += before == "n3" ? 1 : 0;
  }
  CHECK(moved == first["n3"]);
  CHECK(is_key_aspect("privkey.pem"));
  CHECK(is_key_aspect("privkey.secp384r1.pem"));
  CHECK(is_key_aspect("account.pem"));
  CHECK(is_key_aspect("acme-tls-alpn-01-privkey.pem"));
  CHECK_FALSE(is_key_aspect("pubcert.pem"));
  CHECK_FALSE(is_key_aspect("job.json"));
}

TEST_CASE("cluster service: one owner per MD; the owner's staged files reach the others; its "
          "death hands the MD over within the lease",
          "[cluster][etcd]") {
  test::etcd_fixture etcd(1);
  const std::vector<std::string> mds{"a.test", "b.test", "c.test", "d.test"};
  server s1(etcd, "n1", secret48(), mds);
  server s2(etcd, "n2", secret48(), mds);
  // nobody takes a free MD within two lease TTLs of joining
  auto early = s1.service->acquire("a.test");
  CHECK_FALSE(early.granted);
  CHECK(early.why == "node n1 joined the cluster moments ago");
  std::this_thread::sleep_for(4500ms);
  // each MD: exactly one of the two, the one first in the rendezvous order
  std::map<std::string, std::string> owner;
  for (const auto& md : mds) {
    auto g1 = s1.service->acquire(md);
    auto g2 = s2.service->acquire(md);
    const auto first = rendezvous_order(md, {"n1", "n2"})[0];
    CHECK(g1.granted == (first == "n1"));
    CHECK(g2.granted == (first == "n2"));
    // asked again once its watch saw the owner key, the other one is told who renews it
    auto& other = first == "n1" ? s2 : s1;
    REQUIRE(eventually([&] { return other.service->view_of(md).owner == first; }));
    auto again = other.service->acquire(md);
    CHECK_FALSE(again.granted);
    CHECK(again.why == "renewed by node " + first);
    owner[md] = first;
  }
  CHECK(s1.service->view_of("a.test").owner == owner["a.test"]);
  CHECK(s1.service->view_of("a.test").node == "n1");
  CHECK(s1.service->view_of("a.test").problem.empty());

  // the owner of a.test writes its staging through its mirror: the other gets the files
  auto& w = owner["a.test"] == "n1" ? s1 : s2;
  auto& r = owner["a.test"] == "n1" ? s2 : s1;
  mirror_store m(w.local, w.shared, [&](store_group g, const std::string& n) { return w.service->publishes(g, n); },
                 [](const std::string&) {});
  auto key = private_key::generate(key_spec::ec("P-256"));
  REQUIRE(key);
  REQUIRE(m.save_key(store_group::staging, "a.test", "privkey.pem", *key));
  REQUIRE(m.save_text(store_group::staging, "a.test", "job.json", R"({"name": "a.test"})"));
  REQUIRE(m.save_text(store_group::staging, "a.test", "md.json", R"({"name": "a.test"})"));
  REQUIRE(eventually([&] { return r.saw_change("a.test"); }));
  auto copied = r.local->load_key(store_group::staging, "a.test", "privkey.pem");
  REQUIRE(copied);
  CHECK(*copied->to_pem() == *key->to_pem());
  CHECK(*r.local->load_text(store_group::staging, "a.test", "job.json") == R"({"name": "a.test"})");
  // a server that does not renew an MD publishes nothing of it
  CHECK_FALSE(r.service->publishes(store_group::staging, "a.test"));
  CHECK(r.service->publishes(store_group::challenges, "a.test"));
  CHECK_FALSE(w.service->publishes(store_group::accounts, "ACME-acme.example-0000"));
  // OCSP: the owner fetches for the cluster, the other takes its responses from the store
  CHECK(w.service->leads("a.test"));
  CHECK_FALSE(r.service->leads("a.test"));
  CHECK(r.service->leads("not-managed-here.test"));
  REQUIRE(m.save_text(store_group::ocsp, "a.test", "ocsp-00ff.json", R"({"valid": {}})"));
  REQUIRE(m.save_text(store_group::ocsp, "a.test", "job.json", R"({"name": "a.test"})"));
  REQUIRE(eventually([&] { return r.local->exists(store_group::ocsp, "a.test", "ocsp-00ff.json"); }));
  CHECK(*r.local->load_text(store_group::ocsp, "a.test", "ocsp-00ff.json") == R"({"valid": {}})");
  CHECK_FALSE(r.local->exists(store_group::ocsp, "a.test", "job.json")); // each server keeps its own job

  // the owner of b.test dies without a word (its lease runs out): the other takes over
  auto& dead = owner["b.test"] == "n1" ? s1 : s2;
  auto& heir = owner["b.test"] == "n1" ? s2 : s1;
  const std::string heir_name = owner["b.test"] == "n1" ? "n2" : "n1";
  dead.service.reset(); // revokes the lease at once; a crash would wait for the TTL (2 s)
  REQUIRE(eventually([&] { return heir.saw_change("b.test"); }));
  auto g = heir.service->acquire("b.test");
  CHECK(g.granted);
  CHECK(heir.service->view_of("b.test").owner == heir_name);
}

TEST_CASE("cluster service: etcd down is reported, and the MDs wait", "[cluster][etcd]") {
  test::etcd_fixture etcd(1);
  server s1(etcd, "n1", secret48(), {"a.test"});
  CHECK(s1.service->state().reachable);
  etcd.stop(0);
  REQUIRE(eventually([&] { return !s1.service->state().reachable; }, 10s));
  auto v = s1.service->view_of("a.test");
  CHECK_FALSE(v.problem.empty());
  auto g = s1.service->acquire("a.test");
  CHECK_FALSE(g.granted);
  CHECK(g.why.rfind("etcd unreachable (", 0) == 0);
  md_snapshot snap;
  snap.cluster = v;
  auto j = cluster_json(v);
  CHECK(j["node"] == "n1");
  CHECK(j["etcd"].get<std::string>().rfind("unreachable: ", 0) == 0);
  etcd.start(0);
  REQUIRE(eventually([&] { return s1.service->state().reachable; }, 15s));
  CHECK(cluster_json(s1.service->view_of("a.test")).dump() == R"({"node":"n1","etcd":"reachable"})");
}
