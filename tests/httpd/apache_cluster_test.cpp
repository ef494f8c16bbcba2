// Clusters (MDStoreEtcd, docs/cluster.md) end to end: a 3-member etcd, three private Apaches
// with the module, pebble validating through a round-robin proxy in front of the three (so the
// validation reaches another server than the one that ordered).
#include <csignal>
#include <map>
#include <set>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include "acme/account_store.hpp"
#include "acme/order.hpp"
#include "cluster/etcd_client.hpp"
#include "cluster/etcd_store.hpp"
#include "store/staging.hpp"
#include "store/fs_store.hpp"
#include "tests/support/apache.hpp"
#include "tests/support/etcd.hpp"
#include "tests/support/md_site.hpp"
#include "tests/support/pebble.hpp"
#include "tests/support/rr_proxy.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace mda::test;
using json = nlohmann::json;

namespace {

struct cluster_node : private_apache {
  std::string name;
  int http = 0, https = 0;
  std::string challenges = "http-01";

  void configure(const pebble_fixture& p, const std::string& endpoints,
                 const std::vector<std::string>& mds, const std::string& extra = "") {
    const std::string h = std::to_string(http), s = std::to_string(https);
    const std::string ca_file = dir / "pebble-ca.pem";
    write_file(ca_file, read_file(p.ca_file()));
    ::chmod(ca_file.c_str(), 0644);
    std::string conf_text = base_conf("event") +
                            "Listen 127.0.0.1:" + h + "\n"
                            "Listen 127.0.0.1:" + s + " https\n"
                            "LoadModule md_module " MODULE_PATH "\n"
                            "MDCertificateAuthority " + p.directory_url() + "\n"
                            "MDCACertificateFile " + ca_file + "\n"
                            "MDCertificateAgreement accepted\n"
                            "MDContactEmail admin@example.test\n"
                            "MDPortMap http:" + h + " https:" + s + "\n"
                            "MDStoreDir " + dir.path() + "/md\n"
                            "MDRetryDelay 1s\n"
                            "MDCAChallenges " + challenges + "\n"
                            "MDStoreEtcd " + endpoints + " node=" + name + " lease=4\n" + extra +
                            "<Location /md-status>\n  SetHandler md-status\n</Location>\n";
    for (const auto& md : mds)
      conf_text += "MDomain " + md + "\n<VirtualHost 127.0.0.1:" + s + ">\n  ServerName " + md +
                   "\n  SSLEngine on\n</VirtualHost>\n";
    write_file(conf, conf_text);
  }

  json md_status() const {
    auto r = run({"curl", "-s", "--max-time", "10", "http://127.0.0.1:" + std::to_string(http) + "/md-status"});
    auto j = json::parse(r.output, nullptr, false);
    return j.is_discarded() ? json() : j;
  }

  /// MD -> the serial it serves (from md-status), for the MDs whose certificate is served.
  std::map<std::string, std::string> served() const {
    std::map<std::string, std::string> out;
    auto j = md_status();
    if (!j.is_object() || !j.contains("managed-domains")) return out;
    for (const auto& m : j["managed-domains"]) {
      if (!m.contains("served") || !m.contains("cert")) continue;
      const auto& c = m["cert"];
      if (c.contains("rsa") && c["rsa"].contains("serial")) out[m["name"]] = c["rsa"]["serial"];
    }
    return out;
  }

  /// The serial a TLS client sees for SNI `host` (openssl's "serial=..." form, upper case hex).
  std::string handshake_serial(const std::string& host) const {
    const std::string cmd = "openssl s_client -connect 127.0.0.1:" + std::to_string(https) +
                            " -servername " + host +
                            " </dev/null 2>/dev/null | openssl x509 -noout -serial 2>/dev/null";
    auto out = run({"sh", "-c", cmd}).output;
    auto eq = out.find('=');
    if (eq == std::string::npos) return "";
    auto v = out.substr(eq + 1);
    while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
    return v;
  }
};

/// Three nodes sharing one store secret (md_store.json copied root-to-root, as docs/cluster.md says).
void share_secret(std::vector<std::unique_ptr<cluster_node>>& nodes) {
  auto first = fs_store::open(nodes[0]->dir.path() + "/md");
  REQUIRE(first);
  const auto text = read_file(nodes[0]->dir.path() + "/md/md_store.json");
  for (std::size_t i = 1; i < nodes.size(); ++i) {
    const auto d = nodes[i]->dir.path() + "/md";
    ::mkdir(d.c_str(), 0755);
    write_file(d + "/md_store.json", text);
    ::chmod((d + "/md_store.json").c_str(), 0600);
  }
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

template <class Pred>
bool wait_until(Pred p, int seconds) {
  for (int i = 0; i < seconds * 2; ++i) {
    if (p()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return p();
}

struct cluster_fixture {
  etcd_fixture etcd{3};
  std::vector<std::unique_ptr<cluster_node>> nodes;
  std::unique_ptr<rr_proxy> proxy;
  std::unique_ptr<pebble_fixture> pebble;
  std::vector<std::string> mds;

  std::unique_ptr<rr_proxy> tls_proxy; ///< pebble's tls-alpn-01 port, when asked for

  /// `tls_backends`: the nodes (indexes) pebble's tls-alpn-01 validations go to, through a
  /// second proxy; empty = none (a closed port).
  explicit cluster_fixture(int md_count, std::optional<int> va_sleep = std::nullopt,
                           bool always_valid = false, std::vector<std::size_t> tls_backends = {}) {
    REQUIRE(pebble_missing().empty());
    std::vector<int> http_ports;
    for (int i = 0; i < 3; ++i) {
      auto n = std::make_unique<cluster_node>();
      n->name = "node" + std::to_string(i + 1);
      n->http = free_port();
      n->https = free_port();
      http_ports.push_back(n->http);
      nodes.push_back(std::move(n));
    }
    proxy = std::make_unique<rr_proxy>(http_ports);
    pebble_options po;
    po.http_port = proxy->port();
    po.va_sleep = va_sleep;
    po.always_valid = always_valid;
    if (!tls_backends.empty()) {
      std::vector<int> ports;
      for (auto i : tls_backends) ports.push_back(nodes[i]->https);
      tls_proxy = std::make_unique<rr_proxy>(ports);
      po.tls_port = tls_proxy->port();
    }
    pebble = std::make_unique<pebble_fixture>(po);
    char buf[32];
    for (int i = 1; i <= md_count; ++i) {
      std::snprintf(buf, sizeof(buf), "md%02d.cluster.test", i);
      mds.emplace_back(buf);
    }
    share_secret(nodes);
    configure_all();
  }

  void configure_all(const std::string& extra = "") {
    for (auto& n : nodes) n->configure(*pebble, etcd.endpoint_list(), mds, extra);
  }

  /// Starts the three one after the other (a second or two each: well inside the two lease
  /// TTLs a server waits after joining before it takes MDs). Not from threads: a server's
  /// parent-death signal is tied to the thread that started it.
  void start_all() {
    for (auto& n : nodes) REQUIRE(n->start());
  }

  /// Every MD served by every running node.
  bool all_served(const std::vector<std::size_t>& which) const {
    for (auto i : which)
      if (nodes[i]->served().size() != mds.size()) return false;
    return true;
  }

  std::string logs() const {
    std::string out;
    for (const auto& n : nodes) out += "--- " + n->name + "\n" + n->log() + "\n";
    return out;
  }
};

} // namespace

TEST_CASE("cluster: 30 MDs over 3 servers, each ordered exactly once, every server serves all",
          "[cluster][apache][pebble]") {
  cluster_fixture f(30);
  f.start_all();
  const bool done = wait_until([&] { return f.all_served({0, 1, 2}); }, 300);
  INFO(f.logs());
  REQUIRE(done);
  // exactly one certificate per MD, cluster-wide
  CHECK(pebble_issued(*f.pebble) == 30);
  // the validations went through the proxy to all three servers
  for (int c : f.proxy->counts()) CHECK(c > 0);
  // the same certificate everywhere, in md-status and in the handshake
  auto reference = f.nodes[0]->served();
  std::map<std::string, int> owned;
  for (const auto& n : f.nodes) {
    CHECK(n->served() == reference);
    auto j = n->md_status();
    for (const auto& m : j["managed-domains"]) {
      REQUIRE(m.contains("cluster"));
      CHECK(m["cluster"]["node"] == n->name);
      CHECK(m["cluster"]["etcd"] == "reachable");
      if (n.get() == f.nodes[0].get() && m["cluster"].contains("owner")) ++owned[m["cluster"]["owner"]];
    }
    // the workers load an announced set within a second or two of md-status showing it
    for (const auto& md : f.mds) {
      const auto want = upper(reference[md]);
      wait_until([&] { return n->handshake_serial(md) == want; }, 10);
      CHECK(n->handshake_serial(md) == want);
    }
  }
  // the work spread: every node renewed some
  CHECK(owned.size() == 3);
}

TEST_CASE("cluster: the server holding an order is killed; another completes it within the "
          "lease, no second certificate",
          "[cluster][apache][pebble]") {
  cluster_fixture f(3, 4); // validations wait up to 4 s: time to kill mid-order
  f.start_all();
  // the first order in flight: an owner key and an order.json in etcd, no certificate yet
  auto client = etcd::client::make({f.etcd.endpoints(), "", "", "", std::chrono::seconds(2)});
  REQUIRE(client);
  std::string victim_md, victim_node;
  REQUIRE(wait_until([&] {
    auto owners = (*client)->get_prefix("/mdactor/cluster/owners/");
    if (!owners) return false;
    for (const auto& kv : owners->kvs) {
      auto md = kv.key.substr(std::string("/mdactor/cluster/owners/").size());
      auto order = (*client)->get("/mdactor/store/staging/" + md + "/order.json");
      auto cert = (*client)->get("/mdactor/store/staging/" + md + "/pubcert.pem");
      if (order && !order->kvs.empty() && cert && cert->kvs.empty()) {
        victim_md = md;
        victim_node = kv.value;
        return true;
      }
    }
    return false;
  }, 60));
  std::size_t dead = 0;
  for (std::size_t i = 0; i < f.nodes.size(); ++i)
    if (f.nodes[i]->name == victim_node) dead = i;
  f.nodes[dead]->kill_all();
  std::vector<std::size_t> alive;
  for (std::size_t i = 0; i < f.nodes.size(); ++i)
    if (i != dead) alive.push_back(i);
  const auto killed_at = std::chrono::steady_clock::now();
  const bool done = wait_until([&] { return f.all_served(alive); }, 120);
  INFO("killed " << victim_node << " ordering " << victim_md << "\n" << f.logs());
  REQUIRE(done);
  const auto took = std::chrono::steady_clock::now() - killed_at;
  INFO("took " << std::chrono::duration_cast<std::chrono::seconds>(took).count() << " s");
  // lease 4 s + a retry delay of 1 s + the validation's own wait (up to 4 s per challenge)
  CHECK(took < std::chrono::seconds(60));
  CHECK(pebble_issued(*f.pebble) == 3);
  for (auto i : alive) {
    auto j = f.nodes[i]->md_status();
    for (const auto& m : j["managed-domains"])
      if (m["name"] == victim_md) {
        const std::string owner = m["cluster"].value("owner", std::string());
        CHECK((owner == f.nodes[alive[0]]->name || owner == f.nodes[alive[1]]->name));
      }
  }
}

namespace {

/// A challenge setup with nothing to set up (pebble validates every challenge by itself).
struct no_setup final : acme::challenge_setup {
  bool supports(acme::challenge_type t) const override { return t == acme::challenge_type::http_01; }
  status setup(const acme::challenge_data&) override { return {}; }
  status teardown(const acme::challenge_data&) override { return {}; }
};

} // namespace

TEST_CASE("cluster: a server died between finalizing and staging; another downloads that "
          "certificate with the order's account instead of ordering again",
          "[cluster][apache][pebble]") {
  cluster_fixture f(1, std::nullopt, true);
  const std::string md = f.mds[0];
  // what the dead server left in etcd: its account, the order finalized (pebble issued the
  // certificate), the key the CSR was made from, the job; no certificate staged, no owner
  test::temp_dir other;
  auto dead_store = fs_store::open(other.path() + "/md");
  REQUIRE(dead_store);
  acme::http_options ho;
  ho.ca_file = f.pebble->ca_file();
  auto transport = acme::httplib_transport::create(ho);
  REQUIRE(transport);
  acme::client c(std::shared_ptr<acme::http_transport>(*transport),
                 acme::client_options{f.pebble->directory_url(), 9},
                 std::make_shared<system_time_source>());
  acme::account_options ao;
  ao.contacts = {"dead@example.test"};
  ao.agreement = "accepted";
  auto acct = acme::select_or_register_account(c, *dead_store, ao, nullptr);
  REQUIRE(acct);
  no_setup setup;
  acme::order_options oo;
  oo.md_name = md;
  oo.domains = {md};
  oo.spec = key_spec::rsa(2048);
  oo.setup = &setup;
  std::vector<acme_order_file> states;
  oo.on_update = [&](const acme_order_file& o) { states.push_back(o); };
  auto got = acme::obtain(c, acct->acct.as_signer(), oo);
  REQUIRE(got);
  REQUIRE(pebble_issued(*f.pebble) == 1);
  // the state order.json had right after the CSR went out
  auto finalized = std::find_if(states.begin(), states.end(), [](const acme_order_file& o) {
    return o.status == order_status::processing || o.status == order_status::valid;
  });
  REQUIRE(finalized != states.end());
  auto etcd_client = etcd::client::make({f.etcd.endpoints(), "", "", "", std::chrono::seconds(2)});
  REQUIRE(etcd_client);
  auto node1_store = fs_store::open(f.nodes[0]->dir.path() + "/md");
  REQUIRE(node1_store);
  auto shared = etcd_store::open(*etcd_client, "/mdactor", node1_store->secret());
  REQUIRE(shared);
  job j;
  j.name = md;
  REQUIRE(shared->save_json(store_group::staging, md, aspect::job, to_json(j)));
  REQUIRE(shared->save_json(store_group::staging, md, aspect::order, to_json(*finalized)));
  REQUIRE(shared->save_key(store_group::staging, md, aspect::privkey(oo.spec), got->key));
  REQUIRE(save_order_account(*shared, md,
                             order_account{acct->id, acct->acct.url(), f.pebble->directory_url(),
                                           acct->acct.key}));

  f.start_all();
  const bool done = wait_until([&] { return f.all_served({0, 1, 2}); }, 120);
  INFO(f.logs());
  REQUIRE(done);
  CHECK(pebble_issued(*f.pebble) == 1);
  const auto serial = got->chain.front().serial_hex();
  for (const auto& n : f.nodes) CHECK(n->served()[md] == serial);
}

TEST_CASE("cluster: tls-alpn-01 answered by a server that did not order",
          "[cluster][apache][pebble]") {
  // every validation goes to node3: the MDs node1 and node2 renew are validated through it
  cluster_fixture f(6, std::nullopt, false, {2});
  for (auto& n : f.nodes) n->challenges = "tls-alpn-01";
  f.configure_all("Protocols http/1.1 acme-tls/1\n");
  f.start_all();
  const bool done = wait_until([&] { return f.all_served({0, 1, 2}); }, 180);
  INFO(f.logs());
  REQUIRE(done);
  CHECK(pebble_issued(*f.pebble) == 6);
  CHECK(f.tls_proxy->counts().at(0) >= 6);
  CHECK(f.proxy->counts() == std::vector<int>{0, 0, 0}); // no http-01
  int elsewhere = 0;
  const auto status = f.nodes[0]->md_status();
  for (const auto& m : status["managed-domains"])
    if (m["cluster"].value("owner", std::string()) != "node3") ++elsewhere;
  CHECK(elsewhere > 0);
  auto reference = f.nodes[0]->served();
  for (const auto& n : f.nodes) CHECK(n->served() == reference);
}

TEST_CASE("cluster: with MDActivation restart every server serves the renewed set after its "
          "own graceful restart, not before",
          "[cluster][apache][pebble]") {
  cluster_fixture f(2);
  f.configure_all("MDActivation restart\n");
  f.start_all();
  // the set is staged on every server (the owner's run, the others' copy by the watch)
  const auto staged_everywhere = [&] {
    for (const auto& n : f.nodes)
      for (const auto& md : f.mds)
        if (!path_exists(n->dir.path() + "/md/staging/" + md + "/pubcert.pem") ||
            !path_exists(n->dir.path() + "/md/staging/" + md + "/md.json"))
          return false;
    return true;
  };
  const bool staged = wait_until(staged_everywhere, 180);
  INFO(f.logs());
  REQUIRE(staged);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  for (const auto& n : f.nodes) CHECK(n->served().empty());
  for (auto& n : f.nodes) REQUIRE(n->graceful());
  const bool done = wait_until([&] { return f.all_served({0, 1, 2}); }, 30);
  REQUIRE(done);
  CHECK(pebble_issued(*f.pebble) == 2);
  auto reference = f.nodes[0]->served();
  for (const auto& n : f.nodes) {
    CHECK(n->served() == reference);
    for (const auto& md : f.mds) CHECK(n->handshake_serial(md) == upper(reference[md]));
  }
}

TEST_CASE("cluster: etcd members stopped; one down changes nothing, all down leaves every "
          "server serving, renewals resume when etcd returns",
          "[cluster][apache][pebble]") {
  cluster_fixture f(6);
  f.start_all();
  // one member of three goes while the orders run (they start after two lease TTLs, 8 s)
  std::this_thread::sleep_for(std::chrono::seconds(9));
  f.etcd.stop(2);
  REQUIRE(wait_until([&] { return f.all_served({0, 1, 2}); }, 180));
  CHECK(pebble_issued(*f.pebble) == 6);
  const auto before = f.nodes[0]->served();
  // all down: the servers keep serving what they have and say etcd is unreachable
  f.etcd.stop(0);
  f.etcd.stop(1);
  auto all_unreachable = [&](const cluster_node& n) {
    auto j = n.md_status();
    if (!j.contains("managed-domains")) return false;
    for (const auto& m : j["managed-domains"])
      if (!m.contains("cluster") || m["cluster"]["etcd"] == "reachable") return false;
    return true;
  };
  REQUIRE(wait_until([&] { return all_unreachable(*f.nodes[1]); }, 60));
  for (const auto& n : f.nodes) {
    CHECK(n->served() == before);
    CHECK(n->handshake_serial(f.mds[0]) == upper(before.at(f.mds[0])));
  }
  // a seventh MD while etcd is down: every server restarts with it, keeps serving the six,
  // and renews nothing (no server could tell who renews it)
  f.mds.push_back("md07.cluster.test");
  for (auto& n : f.nodes) {
    n->configure(*f.pebble, f.etcd.endpoint_list(), f.mds);
    REQUIRE(n->graceful());
  }
  std::this_thread::sleep_for(std::chrono::seconds(10));
  CHECK(pebble_issued(*f.pebble) == 6);
  for (const auto& n : f.nodes) {
    CHECK(n->handshake_serial(f.mds[1]) == upper(before.at(f.mds[1])));
    auto j = n->md_status();
    bool seen = false;
    for (const auto& m : j["managed-domains"])
      if (m["name"] == "md07.cluster.test") {
        seen = true;
        CHECK(m["cluster"]["etcd"] != "reachable");
      }
    CHECK(seen);
  }
  // etcd back: the seventh is ordered once and served everywhere
  f.etcd.start(0);
  f.etcd.start(1);
  f.etcd.start(2);
  const bool done = wait_until([&] { return f.all_served({0, 1, 2}); }, 120);
  INFO(f.logs());
  REQUIRE(done);
  CHECK(pebble_issued(*f.pebble) == 7);
  for (const auto& n : f.nodes) {
    auto j = n->md_status();
    for (const auto& m : j["managed-domains"]) CHECK(m["cluster"]["etcd"] == "reachable");
  }
}
