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
#include "store/accounts.hpp"
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
  CHECK(is_key_aspect("order-account.pem"));
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

namespace {

/// An account filed in a store as the engine's selection does (account.json + account.pem).
std::string file_account(store& st, const std::string& id, const private_key& key, const std::string& url) {
  account_file f;
  f.status = account_status::valid;
  f.url = url;
  f.ca_url = "https://ca.test/dir";
  REQUIRE(save_account(st, id, f, key));
  return id;
}

private_key account_key() {
  auto k = private_key::generate(key_spec::ec("P-256"));
  REQUIRE(k);
  return *k;
}

} // namespace

TEST_CASE("cluster service: one set of accounts, chosen under the cluster's lock", "[cluster][etcd]") {
  test::etcd_fixture etcd(1);
  server s1(etcd, "n1", secret48(), {"a.test"});
  server s2(etcd, "n2", secret48(), {"a.test"});
  const auto k1 = account_key();

  SECTION("the account one server registered is the other's, under the same id") {
    auto chosen = s1.service->with_cluster_accounts(
        [&]() -> expected<std::string> { return file_account(*s1.local, "ACME-ca.test-0000", k1, "https://ca.test/acct/1"); },
        5s);
    REQUIRE(chosen);
    CHECK(*chosen == "ACME-ca.test-0000");
    auto there = s1.shared->load_key(store_group::accounts, "ACME-ca.test-0000", aspect::account_key);
    REQUIRE(there);
    CHECK(there->same_public_key(k1));
    // the second server finds it in its own store when it chooses
    std::optional<std::string> seen;
    auto second = s2.service->with_cluster_accounts(
        [&]() -> expected<std::string> {
          seen = find_account_id(*s2.local, "https://ca.test/dir", md_eab{});
          return seen.value_or("none");
        },
        5s);
    REQUIRE(second);
    CHECK(seen == std::optional<std::string>("ACME-ca.test-0000"));
    auto copied = s2.local->load_key(store_group::accounts, "ACME-ca.test-0000", aspect::account_key);
    REQUIRE(copied);
    CHECK(copied->same_public_key(k1));
    CHECK(s2.local->load_text(store_group::accounts, "ACME-ca.test-0000", aspect::account).value() ==
          s1.local->load_text(store_group::accounts, "ACME-ca.test-0000", aspect::account).value());
  }
  SECTION("a server's own account under an id the cluster uses for another moves aside") {
    REQUIRE(s1.service->with_cluster_accounts(
        [&]() -> expected<std::string> { return file_account(*s1.local, "ACME-ca.test-0000", k1, "https://ca.test/acct/1"); },
        5s));
    const auto k2 = account_key();
    file_account(*s2.local, "ACME-ca.test-0000", k2, "https://ca.test/acct/2");
    auto chosen = s2.service->with_cluster_accounts(
        [&]() -> expected<std::string> { return std::string("ACME-ca.test-0001"); }, 5s);
    REQUIRE(chosen);
    auto at0 = s2.local->load_key(store_group::accounts, "ACME-ca.test-0000", aspect::account_key);
    auto at1 = s2.local->load_key(store_group::accounts, "ACME-ca.test-0001", aspect::account_key);
    REQUIRE(at0);
    REQUIRE(at1);
    CHECK(at0->same_public_key(k1));
    CHECK(at1->same_public_key(k2));
    // chosen, so now shared too
    auto shared1 = s2.shared->load_key(store_group::accounts, "ACME-ca.test-0001", aspect::account_key);
    REQUIRE(shared1);
    CHECK(shared1->same_public_key(k2));
  }
  SECTION("one server at a time: the other waits, or says who holds the lock") {
    std::atomic<bool> inside{false}, overlapped{false};
    auto slow = [&]() -> expected<std::string> {
      if (inside.exchange(true)) overlapped = true;
      std::this_thread::sleep_for(1500ms);
      inside = false;
      return file_account(*s1.local, "ACME-ca.test-0000", k1, "https://ca.test/acct/1");
    };
    std::thread t([&] { (void)s1.service->with_cluster_accounts(slow, 5s); });
    REQUIRE(eventually([&] { return inside.load(); }, 5s));
    auto impatient = s2.service->with_cluster_accounts(slow, 200ms);
    REQUIRE_FALSE(impatient);
    CHECK(impatient.error().message == "cluster: the account lock is held by node n1");
    auto patient = s2.service->with_cluster_accounts(
        [&]() -> expected<std::string> {
          if (inside.load()) overlapped = true;
          return std::string("ACME-ca.test-0000"); // s1's, copied in under the lock
        },
        10s);
    t.join();
    CHECK(patient);
    CHECK_FALSE(overlapped.load());
  }
}
