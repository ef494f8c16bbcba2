// Benchmark: a cluster of 3 servers over one etcd with N MDs (docs/BENCHMARKS.md, "Clusters").
// The servers are the engine's cluster parts without Apache (cluster_service + mirror_store over
// file stores in a temporary directory), so what is measured is the cluster's own cost:
//   seed      server A stages a renewed set (RSA 2048 certificate + key, md.json, job.json) for
//             every MD through its mirror: time, etcd keys and value bytes per MD;
//   start     servers B and C start (lease, view, watch) and copy every staged set from etcd
//             before their first check (pull_staged): time per server;
//   baseline  the same N sets copied from one file store to another (what a single server's
//             start reads without a cluster), measured in the same run;
//   renew     A renews R MDs one after the other: per renewal, the watch events B received and
//             the time until B and C both had the complete set (their on_change);
// Usage: cluster-bench ENDPOINTS N [R]   (ENDPOINTS comma-separated; bench/cluster_scale.sh
// starts a 3-member etcd and runs it).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <stdlib.h>
#include <unistd.h>

#include "cluster/cluster_service.hpp"
#include "cluster/etcd_store.hpp"
#include "cluster/mirror_store.hpp"
#include "core/certgen.hpp"
#include "core/job.hpp"
#include "store/fs_store.hpp"
#include "store/staging.hpp"

using namespace mda;
using clk = std::chrono::steady_clock;

namespace {

double secs(clk::duration d) { return std::chrono::duration<double>(d).count(); }

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    auto c = s.find(',', start);
    if (c == std::string::npos) c = s.size();
    if (c > start) out.push_back(s.substr(start, c - start));
    start = c + 1;
  }
  return out;
}

struct node {
  std::string name;
  std::string dir;
  std::shared_ptr<fs_store> local;
  std::shared_ptr<store> shared;
  std::shared_ptr<cluster_service> service;
  std::shared_ptr<mirror_store> mirror;
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, clk::time_point> arrived; ///< md -> when its complete set arrived
};

std::string make_dir(const std::string& base, const std::string& name) {
  auto d = base + "/" + name;
  ::mkdir(d.c_str(), 0700);
  return d;
}

std::unique_ptr<node> make_node(const std::string& name, const std::string& base,
                                const std::vector<std::string>& eps, const std::string& secret,
                                const std::vector<std::string>& mds) {
  auto n = std::make_unique<node>();
  n->name = name;
  n->dir = make_dir(base, name);
  n->local = std::make_shared<fs_store>(fs_store::attach(n->dir, secret));
  etcd::client_options co;
  co.endpoints = eps;
  auto c = etcd::client::make(co);
  if (!c) throw std::runtime_error(c.error().message);
  auto es = etcd_store::open(*c, "/bench", secret);
  if (!es) throw std::runtime_error(es.error().message);
  n->shared = std::make_shared<etcd_store>(std::move(*es));
  cluster_options o;
  o.config.endpoints = eps;
  o.config.prefix = "/bench";
  o.config.lease_seconds = 10;
  o.node = name;
  o.mds = mds;
  o.shared = n->shared;
  o.local = n->local;
  node* raw = n.get();
  o.on_change = [raw](const std::string& md) {
    std::lock_guard<std::mutex> lk(raw->mu);
    raw->arrived[md] = clk::now();
    raw->cv.notify_all();
  };
  n->service = std::make_shared<cluster_service>(*c, std::move(o));
  auto svc = n->service;
  n->mirror = std::make_shared<mirror_store>(
    n->local, n->shared, [svc](store_group g, const std::string& md) { return svc->publishes(g, md); },
    [](const std::string& what) { std::cerr << "publish failed: " << what << "\n"; });
  return n;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: cluster-bench ENDPOINTS N [R]\n";
    return 2;
  }
  const auto eps = split(argv[1]);
  const int n = std::atoi(argv[2]);
  const int renewals = argc > 3 ? std::atoi(argv[3]) : 20;
  char tmpl[] = "/tmp/mdactor-cluster-bench-XXXXXX";
  const std::string base = ::mkdtemp(tmpl);
  const std::string secret(48, 'k');
  std::vector<std::string> mds;
  for (int i = 0; i < n; ++i) mds.push_back("md" + std::to_string(i) + ".bench.test");

  // one key and certificate shape, reused (a real renewal makes a key per MD; the bytes are
  // what matters here)
  auto key = private_key::generate(key_spec::rsa(2048));
  if (!key) return 1;
  auto now = std::chrono::system_clock::now();
  auto make_set = [&](const std::string& md) {
    managed_domain m;
    m.name = md;
    m.domains = {md};
    m.ca.urls = {"https://acme.example/dir"};
    m.ca.url = m.ca.urls.front();
    m.ca.proto = "ACME";
    staged_cert c;
    c.spec = key_spec::default_spec();
    c.key = *key;
    auto cert = make_fallback_certificate(*key, {md}, now);
    c.chain = {*cert};
    job j;
    j.name = md;
    j.finish_run(now, now);
    return std::make_tuple(m, std::vector<staged_cert>{c}, j);
  };

  auto a = make_node("a", base, eps, secret, mds);
  if (auto s = a->service->start(); !s) std::cerr << "a: " << s.error().message << "\n";
  std::this_thread::sleep_for(std::chrono::milliseconds(20500)); // a's grace (2 leases)
  // seed: A owns and stages every MD
  auto t0 = clk::now();
  for (const auto& md : mds) {
    auto g = a->service->acquire(md);
    if (!g.granted) {
      std::cerr << md << ": " << g.why << "\n";
      return 1;
    }
    auto [m, certs, j] = make_set(md);
    if (auto s = write_staging(*a->mirror, m, certs, j, std::nullopt); !s) {
      std::cerr << md << ": " << s.error().message << "\n";
      return 1;
    }
  }
  const double seed = secs(clk::now() - t0);
  auto client = etcd::client::make({eps, "", "", "", std::chrono::seconds(30)});
  std::int64_t keys = 0, bytes = 0;
  std::string from = "/bench/";
  for (;;) {
    auto r = (*client)->get_range(from, etcd::prefix_end("/bench/"), 2000);
    if (!r) break;
    for (const auto& kv : r->kvs) {
      ++keys;
      bytes += static_cast<std::int64_t>(kv.key.size() + kv.value.size());
    }
    if (!r->more || r->kvs.empty()) break;
    from = r->kvs.back().key + std::string(1, '\0');
  }

  // start of B and C: join + copy of every staged set
  auto b = make_node("b", base, eps, secret, mds);
  auto c = make_node("c", base, eps, secret, mds);
  double start_b = 0, start_c = 0;
  for (auto* x : {b.get(), c.get()}) {
    auto t = clk::now();
    (void)x->service->start();
    auto copied = x->service->pull_staged();
    (x == b.get() ? start_b : start_c) = secs(clk::now() - t);
    if (static_cast<int>(copied.size()) != n)
      std::cerr << x->name << ": copied " << copied.size() << " of " << n << "\n";
  }
  // baseline: the same sets copied between two file stores
  auto src = std::make_shared<fs_store>(fs_store::attach(a->dir, secret));
  auto dst_dir = make_dir(base, "baseline");
  fs_store dst = fs_store::attach(dst_dir, secret);
  auto t1 = clk::now();
  for (const auto& md : mds) {
    auto aspects = src->list_aspects(store_group::staging, md);
    if (!aspects) continue;
    for (const auto& asp : *aspects) {
      if (is_key_aspect(asp)) {
        auto k = src->load_key(store_group::staging, md, asp);
        if (k) (void)dst.save_key(store_group::staging, md, asp, *k);
      } else {
        auto t = src->load_text(store_group::staging, md, asp);
        if (t) (void)dst.save_text(store_group::staging, md, asp, *t);
      }
    }
  }
  const double baseline = secs(clk::now() - t1);

  // renewals: A stages again; how long until B and C have the complete set
  std::vector<double> lat;
  std::atomic<int> events{0};
  auto counter = (*client)->watch_prefix(
    "/bench/store/staging/", 0,
    [&](const std::vector<etcd::watch_event>& es, std::int64_t) { events += static_cast<int>(es.size()); },
    {});
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const int before_events = events.load();
  for (int i = 0; i < renewals; ++i) {
    const auto& md = mds[static_cast<std::size_t>(i * 7919 % n)];
    {
      std::lock_guard<std::mutex> lb(b->mu), lc(c->mu);
      b->arrived.erase(md);
      c->arrived.erase(md);
    }
    auto [m, certs, j] = make_set(md);
    auto t = clk::now();
    (void)write_staging(*a->mirror, m, certs, j, std::nullopt);
    auto wait_for = [&](node& x) {
      std::unique_lock<std::mutex> lk(x.mu);
      x.cv.wait_for(lk, std::chrono::seconds(30), [&] { return x.arrived.count(md) > 0; });
      return x.arrived.count(md) ? x.arrived[md] : clk::now();
    };
    auto tb = wait_for(*b), tc = wait_for(*c);
    lat.push_back(secs(std::max(tb, tc) - t));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const double per_renewal_events = double(events.load() - before_events) / renewals;
  counter->stop();
  std::sort(lat.begin(), lat.end());

  std::printf("MDs                                  %d\n", n);
  std::printf("seed: A stages every MD via etcd     %.1f s (%.2f ms per MD)\n", seed, seed * 1000 / n);
  std::printf("etcd keys per MD                     %.2f (%lld keys in all)\n", double(keys) / n, (long long)keys);
  std::printf("etcd bytes per MD (keys + values)    %.0f\n", double(bytes) / n);
  std::printf("start of B (join + copy all sets)    %.1f s\n", start_b);
  std::printf("start of C (join + copy all sets)    %.1f s\n", start_c);
  std::printf("baseline: copy all sets file->file   %.1f s\n", baseline);
  std::printf("watch events per renewal (one node)  %.1f\n", per_renewal_events);
  std::printf("renewal -> B and C have the set      median %.0f ms, max %.0f ms (%d renewals)\n",
              lat[lat.size() / 2] * 1000, lat.back() * 1000, renewals);
  a->service->stop();
  b->service->stop();
  c->service->stop();
  (void)(*client)->del_prefix("/bench/");
  std::string rm = "rm -rf " + base;
  (void)std::system(rm.c_str());
  return 0;
}
