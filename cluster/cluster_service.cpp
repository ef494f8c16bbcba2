#include "cluster/cluster_service.hpp"

#include <algorithm>
#include <cstdio>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "cluster/etcd_store.hpp"
#include "cluster/lazy_store.hpp"
#include "core/digest.hpp"
#include "core/timefmt.hpp"
#include "store/accounts.hpp"

namespace mda {

namespace {

using sys_clock = std::chrono::system_clock;

const std::string k_nodes = "/cluster/nodes/";
const std::string k_owners = "/cluster/owners/";
const std::string k_staging = "/store/staging/";
const std::string k_ocsp = "/store/ocsp/";

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

/// A live server as its node key tells it (the value written by join()).
cluster_state::node_info node_of(std::string name, const etcd::key_value& kv) {
  cluster_state::node_info n;
  n.name = std::move(name);
  auto j = nlohmann::json::parse(kv.value, nullptr, false);
  if (j.is_object() && j.contains("since") && j["since"].is_string())
    if (auto t = parse_rfc3339(j["since"].get<std::string>())) n.since = *t;
  n.lease = kv.lease;
  return n;
}

} // namespace

std::vector<std::string> rendezvous_order(const std::string& md, std::vector<std::string> nodes) {
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  std::vector<std::pair<std::string, std::string>> scored;
  for (auto& n : nodes) scored.emplace_back(sha256(n + "\n" + md), std::move(n));
  std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::vector<std::string> out;
  for (auto& s : scored) out.push_back(std::move(s.second));
  return out;
}

bool is_key_aspect(const std::string& aspect) {
  auto ends_pem = aspect.size() > 4 && aspect.compare(aspect.size() - 4, 4, ".pem") == 0;
  if (!ends_pem) return false;
  return starts_with(aspect, "privkey") || starts_with(aspect, "fallback-privkey") ||
         starts_with(aspect, "acme-tls-alpn-01-privkey") || aspect == "account.pem" ||
         aspect == "order-account.pem";
}

cluster_service::cluster_service(std::shared_ptr<etcd::client> client, cluster_options opts)
    : client_(std::move(client)), opts_(std::move(opts)), mine_(opts_.mds.begin(), opts_.mds.end()) {
  state_.node = opts_.node;
  state_.problem = "not joined yet";
}

cluster_service::~cluster_service() { stop(); }

void cluster_service::note_failure(const std::string& what) {
  bool was;
  {
    std::lock_guard<std::mutex> lk(mu_);
    was = state_.reachable;
    state_.reachable = false;
    state_.problem = what;
  }
  if (was) {
    if (opts_.log) opts_.log("cluster: etcd unreachable: " + what);
    if (opts_.on_reachability) opts_.on_reachability();
  }
}

void cluster_service::note_success() {
  bool was;
  {
    std::lock_guard<std::mutex> lk(mu_);
    was = state_.reachable;
    state_.reachable = true;
    state_.problem.clear();
  }
  if (!was) {
    if (opts_.log) opts_.log("cluster: etcd reachable, node " + opts_.node);
    if (opts_.on_reachability) opts_.on_reachability();
  }
}

status cluster_service::join() {
  const auto ttl = opts_.config.lease_seconds;
  auto lease = client_->grant(ttl);
  if (!lease) return lease.error();
  const auto now = sys_clock::now();
  nlohmann::json v{{"node", opts_.node}, {"since", format_rfc3339(now)},
                   {"lease", std::to_string(*lease)}, {"ttl", ttl}};
  if (auto p = client_->put(key(k_nodes + opts_.node), v.dump(), *lease); !p) return p.error();
  {
    std::lock_guard<std::mutex> lk(mu_);
    lease_ = *lease;
    state_.lease_expires = now + std::chrono::seconds(ttl);
    if (joined_at_ == steady::time_point{}) joined_at_ = steady::now();
  }
  joined_revision_ = refresh_view();
  return {};
}

std::int64_t cluster_service::refresh_view() {
  auto nodes = client_->get_prefix(key(k_nodes));
  auto owners = client_->get_prefix(key(k_owners));
  if (!nodes || !owners) {
    note_failure((nodes ? owners.error() : nodes.error()).message);
    return 0;
  }
  std::vector<cluster_state::node_info> ns;
  for (const auto& kv : nodes->kvs) ns.push_back(node_of(kv.key.substr(key(k_nodes).size()), kv));
  std::map<std::string, std::string> os;
  std::map<std::string, std::int64_t> leases;
  for (const auto& kv : owners->kvs) {
    auto md = kv.key.substr(key(k_owners).size());
    os[md] = kv.value;
    leases[md] = kv.lease;
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    state_.nodes = std::move(ns);
    state_.owners = std::move(os);
    owner_lease_ = std::move(leases);
  }
  note_success();
  return nodes->revision;
}

status cluster_service::start() {
  auto joined = join();
  if (!joined) note_failure(joined.error().message);
  // from the revision the view was read at: nothing in between is missed
  std::int64_t from = joined_revision_ > 0 ? joined_revision_ + 1 : 0;
  watch_ = client_->watch_prefix(
    key("/"), from,
    [this](const std::vector<etcd::watch_event>& es, std::int64_t) { on_events(es); },
    [this](bool up, const std::string& why) {
      if (!up && why != "stopped") {
        if (opts_.log) opts_.log("cluster: watch interrupted: " + why);
      } else if (up) {
        // events may have been missed while it was down: read the view again
        refresh_view();
      }
    });
  keeper_ = std::thread([this] { keep_alive_loop(); });
  return joined;
}

void cluster_service::stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (keeper_.joinable()) keeper_.join();
  if (watch_) watch_->stop();
  std::int64_t lease;
  {
    std::lock_guard<std::mutex> lk(mu_);
    lease = lease_;
  }
  if (lease) (void)client_->revoke(lease);
}

void cluster_service::keep_alive_loop() {
  const auto period = std::chrono::milliseconds(opts_.config.lease_seconds * 1000 / 3);
  for (;;) {
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait_for(lk, period, [this] { return stopping_; });
      if (stopping_) return;
    }
    std::int64_t lease;
    bool reachable;
    {
      std::lock_guard<std::mutex> lk(mu_);
      lease = lease_;
      reachable = state_.reachable;
    }
    if (lease == 0) {
      if (auto j = join(); !j) note_failure(j.error().message);
      continue;
    }
    auto ttl = client_->keep_alive(lease);
    if (ttl) {
      {
        std::lock_guard<std::mutex> lk(mu_);
        state_.lease_expires = sys_clock::now() + std::chrono::seconds(*ttl);
      }
      if (!reachable) refresh_view();
      note_success();
      refresh_lease_expiry();
      continue;
    }
    if (ttl.error().code == make_error_code(etcd::etcd_errc::lease_gone)) {
      if (opts_.log) opts_.log("cluster: lease of node " + opts_.node + " expired, joining again");
      {
        std::lock_guard<std::mutex> lk(mu_);
        lease_ = 0;
      }
      if (auto j = join(); !j) note_failure(j.error().message);
    } else {
      note_failure(ttl.error().message);
    }
  }
}

cluster_grant cluster_service::acquire(const std::string& md) {
  cluster_grant g;
  std::int64_t lease;
  std::string owner;
  std::int64_t owner_lease = 0;
  std::vector<std::string> live;
  bool waited_enough = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    lease = lease_;
    const auto ttl = std::chrono::seconds(opts_.config.lease_seconds);
    if (!state_.reachable || lease == 0) {
      g.why = "etcd unreachable (" + state_.problem + "): renewals wait for it";
      g.retry_in = ttl;
      return g;
    }
    if (auto it = state_.owners.find(md); it != state_.owners.end()) {
      owner = it->second;
      owner_lease = owner_lease_[md];
    }
    for (const auto& n : state_.nodes) live.push_back(n.name);
    // free for how long, counted from when this node could first have taken it (after its
    // grace below, or since the owner key went away)
    const auto grace_over = joined_at_ + 2 * std::chrono::seconds(opts_.config.lease_seconds);
    auto fs = free_since_.find(md);
    if (owner.empty() && steady::now() >= grace_over) {
      if (fs == free_since_.end()) fs = free_since_.emplace(md, steady::now()).first;
      waited_enough = steady::now() - fs->second > 2 * std::chrono::seconds(opts_.config.lease_seconds);
    }
  }
  const std::string owner_key = key(k_owners + md);
  if (owner == opts_.node && owner_lease == lease) {
    g.granted = true;
    g.owner = owner;
    return g;
  }
  const auto ttl = std::chrono::seconds(opts_.config.lease_seconds);
  if (!owner.empty() && owner != opts_.node) {
    g.owner = owner;
    g.why = "renewed by node " + owner;
    g.retry_in = 2 * ttl;
    return g;
  }
  std::vector<etcd::compare> cmp;
  if (owner == opts_.node) {
    // a key of this node's previous lease (a restart, a lease that expired): take it over
    etcd::compare c;
    c.key = owner_key;
    c.what = etcd::compare::target::value;
    c.value = opts_.node;
    cmp.push_back(c);
  } else {
    // servers started together: the ones still starting get two leases' time to join, so that
    // the first one up does not take every MD
    steady::time_point joined;
    {
      std::lock_guard<std::mutex> lk(mu_);
      joined = joined_at_;
    }
    const auto grace = 2 * ttl;
    if (steady::now() < joined + grace) {
      g.why = "node " + opts_.node + " joined the cluster moments ago";
      g.retry_in = std::chrono::duration_cast<std::chrono::milliseconds>(joined + grace - steady::now()) +
                   std::chrono::milliseconds(100);
      return g;
    }
    live.push_back(opts_.node);
    auto order = rendezvous_order(md, live);
    if (order.front() != opts_.node && !waited_enough) {
      g.why = "node " + order.front() + " comes first for it";
      g.retry_in = 2 * ttl + std::chrono::seconds(1);
      return g;
    }
    cmp.push_back(etcd::compare::absent(owner_key));
  }
  auto t = client_->txn(cmp, {etcd::txn_op::put(owner_key, opts_.node, lease)},
                        {etcd::txn_op::get(owner_key)});
  if (!t) {
    note_failure(t.error().message);
    g.why = "etcd: " + t.error().message;
    g.retry_in = ttl;
    return g;
  }
  note_success();
  std::lock_guard<std::mutex> lk(mu_);
  if (t->succeeded) {
    state_.owners[md] = opts_.node;
    owner_lease_[md] = lease;
    free_since_.erase(md);
    g.granted = true;
    g.owner = opts_.node;
    if (opts_.log) opts_.log("cluster: node " + opts_.node + " renews " + md);
    return g;
  }
  if (!t->ranges.empty() && !t->ranges[0].kvs.empty()) {
    const auto& kv = t->ranges[0].kvs[0];
    state_.owners[md] = kv.value;
    owner_lease_[md] = kv.lease;
    g.owner = kv.value;
    g.why = "renewed by node " + kv.value;
  } else {
    g.why = "another node took it first";
  }
  g.retry_in = 2 * ttl;
  return g;
}

void cluster_service::refresh_lease_expiry() {
  std::vector<std::pair<std::string, std::int64_t>> leases;
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (const auto& n : state_.nodes) leases.emplace_back(n.name, n.lease);
  }
  std::map<std::string, sys_clock::time_point> until;
  for (const auto& [name, lease] : leases) {
    if (lease == 0) continue;
    auto ttl = client_->time_to_live(lease);
    if (ttl) until[name] = sys_clock::now() + std::chrono::seconds(*ttl);
  }
  std::lock_guard<std::mutex> lk(mu_);
  for (auto& n : state_.nodes)
    if (auto it = until.find(n.name); it != until.end()) n.lease_expires = it->second;
}

md_cluster_view cluster_service::view_of(const std::string& md) const {
  md_cluster_view v;
  v.node = opts_.node;
  std::lock_guard<std::mutex> lk(mu_);
  if (!state_.reachable) v.problem = state_.problem.empty() ? "not joined yet" : state_.problem;
  auto it = state_.owners.find(md);
  if (it == state_.owners.end()) return v;
  v.owner = it->second;
  if (v.owner == opts_.node) {
    v.lease_expires = state_.lease_expires;
  } else {
    for (const auto& n : state_.nodes)
      if (n.name == v.owner) v.lease_expires = n.lease_expires;
  }
  return v;
}

bool cluster_service::is_owner(const std::string& md) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = state_.owners.find(md);
  if (it == state_.owners.end() || it->second != opts_.node) return false;
  auto l = owner_lease_.find(md);
  return l != owner_lease_.end() && l->second == lease_;
}

bool cluster_service::publishes(store_group g, const std::string& name) const {
  switch (g) {
    case store_group::challenges: return true;
    case store_group::staging: return is_owner(name);
    case store_group::ocsp: return leads(name);
    default: return false;
  }
}

bool cluster_service::leads(const std::string& md) const {
  if (!mine_.count(md)) return true;
  if (is_owner(md)) return true;
  std::vector<std::string> live;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!state_.reachable) return true;
    if (state_.owners.count(md)) return false;
    for (const auto& n : state_.nodes) live.push_back(n.name);
  }
  live.push_back(opts_.node);
  return rendezvous_order(md, live).front() == opts_.node;
}

cluster_state cluster_service::state() const {
  std::lock_guard<std::mutex> lk(mu_);
  return state_;
}

void cluster_service::apply_file(store_group g, const std::string& md, const std::string& aspect,
                                 bool deleted) {
  auto& local = *opts_.local;
  const std::string where = std::string(group_name(g)) + "/" + md + "/" + aspect;
  if (deleted) {
    (void)local.remove(g, md, aspect, true);
    return;
  }
  status s;
  if (is_key_aspect(aspect)) {
    auto k = opts_.shared->load_key(g, md, aspect);
    if (!k) {
      if (!is_not_found(k.error()) && opts_.log) opts_.log("cluster: " + where + ": " + k.error().message);
      return;
    }
    s = local.save_key(g, md, aspect, *k);
  } else {
    auto t = opts_.shared->load_text(g, md, aspect);
    if (!t) {
      if (!is_not_found(t.error()) && opts_.log) opts_.log("cluster: " + where + ": " + t.error().message);
      return;
    }
    s = local.save_text(g, md, aspect, *t);
  }
  if (!s && opts_.log) opts_.log("cluster: copying " + where + ": " + s.error().message);
}

void cluster_service::on_events(const std::vector<etcd::watch_event>& events) {
  std::set<std::string> changed;
  const auto nodes_p = key(k_nodes), owners_p = key(k_owners), staging_p = key(k_staging),
             ocsp_p = key(k_ocsp);
  for (const auto& e : events) {
    const auto& k = e.kv.key;
    const bool del = e.what == etcd::watch_event::kind::del;
    if (starts_with(k, nodes_p)) {
      auto name = k.substr(nodes_p.size());
      std::lock_guard<std::mutex> lk(mu_);
      auto& ns = state_.nodes;
      ns.erase(std::remove_if(ns.begin(), ns.end(), [&](const auto& n) { return n.name == name; }),
               ns.end());
      if (!del) {
        ns.push_back(node_of(name, e.kv));
        std::sort(ns.begin(), ns.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
      }
    } else if (starts_with(k, owners_p)) {
      auto md = k.substr(owners_p.size());
      std::lock_guard<std::mutex> lk(mu_);
      if (del) {
        state_.owners.erase(md);
        owner_lease_.erase(md);
        free_since_[md] = steady::now();
        if (mine_.count(md)) changed.insert(md);
      } else {
        state_.owners[md] = e.kv.value;
        owner_lease_[md] = e.kv.lease;
        free_since_.erase(md);
      }
    } else if (starts_with(k, staging_p)) {
      auto rest = k.substr(staging_p.size());
      auto slash = rest.find('/');
      if (slash == std::string::npos) continue;
      auto md = rest.substr(0, slash), aspect = rest.substr(slash + 1);
      if (!mine_.count(md) || is_owner(md)) continue;
      apply_file(store_group::staging, md, aspect, del);
      // md.json is the last file of a staged set (write_staging): the set is complete
      if (aspect == "md.json" && !del) changed.insert(md);
    } else if (starts_with(k, ocsp_p)) {
      // the responses the cluster's fetcher got; the workers staple them from the files
      auto rest = k.substr(ocsp_p.size());
      auto slash = rest.find('/');
      if (slash == std::string::npos) continue;
      auto md = rest.substr(0, slash), aspect = rest.substr(slash + 1);
      if (!mine_.count(md) || aspect.rfind("ocsp-", 0) != 0 || leads(md)) continue;
      apply_file(store_group::ocsp, md, aspect, del);
    }
  }
  note_success();
  if (opts_.on_change)
    for (const auto& md : changed) opts_.on_change(md);
}

namespace {

/// The etcd store behind the shared store (directly or opened by a lazy_store); null when the
/// shared store is something else (a test's) or cannot be opened now.
const etcd_store* etcd_behind(const store& shared, std::shared_ptr<store>& hold) {
  if (const auto* e = dynamic_cast<const etcd_store*>(&shared)) return e;
  if (const auto* lz = dynamic_cast<const lazy_store*>(&shared)) {
    auto got = lz->get();
    if (!got) return nullptr;
    hold = *got;
    return dynamic_cast<const etcd_store*>(hold.get());
  }
  return nullptr;
}

} // namespace

bool cluster_service::should_pull(const std::string& md,
                                  const std::vector<std::pair<std::string, std::string>>& certs) const {
  auto& local = *opts_.local;
  if (certs.empty()) return true; // an unfinished job: a node that takes over resumes it
  bool differs_from_domains = false, differs_from_staging = false;
  for (const auto& [aspect, remote] : certs) {
    auto served = local.load_text(store_group::domains, md, aspect);
    if (!served || *served != remote) differs_from_domains = true;
    auto staged = local.load_text(store_group::staging, md, aspect);
    if (!staged || *staged != remote) differs_from_staging = true;
  }
  return differs_from_domains && differs_from_staging;
}

std::vector<std::string> cluster_service::pull_staged() {
  std::vector<std::string> copied;
  auto& shared = *opts_.shared;
  auto& local = *opts_.local;
  std::shared_ptr<store> hold;
  if (const etcd_store* es = etcd_behind(shared, hold)) {
    // one range request per page of keys, not one per file (a cold start reads every set)
    auto st = es->scan_group(store_group::staging, [&](const std::string& md,
                                                       std::vector<etcd_store::group_file>& files) {
      if (!mine_.count(md)) return true;
      bool has_job = false;
      std::vector<std::pair<std::string, std::string>> certs;
      for (const auto& f : files) {
        has_job = has_job || f.aspect == "job.json";
        if (starts_with(f.aspect, "pubcert")) certs.emplace_back(f.aspect, f.bytes);
      }
      if (!has_job || !should_pull(md, certs)) return true;
      (void)local.purge(store_group::staging, md);
      const std::string where = "staging/" + md + "/";
      for (const auto& f : files) {
        status s;
        if (is_key_aspect(f.aspect)) {
          auto k = es->key_from_bytes(f.bytes, "etcd " + where + f.aspect);
          s = k ? local.save_key(store_group::staging, md, f.aspect, *k) : status{k.error()};
        } else {
          s = local.save_text(store_group::staging, md, f.aspect, f.bytes);
        }
        if (!s && opts_.log) opts_.log("cluster: copying " + where + f.aspect + ": " + s.error().message);
      }
      copied.push_back(md);
      return true;
    });
    if (!st) note_failure(st.error().message);
    return copied;
  }
  for (const auto& md : mine_) {
    auto aspects = shared.list_aspects(store_group::staging, md);
    if (!aspects) {
      note_failure(aspects.error().message);
      return copied;
    }
    if (std::find(aspects->begin(), aspects->end(), "job.json") == aspects->end()) continue;
    std::vector<std::pair<std::string, std::string>> certs;
    for (const auto& a : *aspects) {
      if (!starts_with(a, "pubcert")) continue;
      if (auto remote = shared.load_text(store_group::staging, md, a)) certs.emplace_back(a, *remote);
    }
    if (!should_pull(md, certs)) continue;
    (void)local.purge(store_group::staging, md);
    for (const auto& a : *aspects) apply_file(store_group::staging, md, a, false);
    copied.push_back(md);
  }
  return copied;
}

namespace {

/// A free "<prefix>NNNN" in both stores (the local one first; both are checked).
expected<std::string> free_account_id(const store& local, const store& shared, const std::string& id) {
  const auto dash = id.rfind('-');
  const std::string prefix = dash == std::string::npos ? id + "-" : id.substr(0, dash + 1);
  char num[8];
  for (int n = 0; n < k_max_account_ids; ++n) {
    std::snprintf(num, sizeof num, "%04d", n);
    const std::string candidate = prefix + num;
    if (local.exists(store_group::accounts, candidate, aspect::account) ||
        local.exists(store_group::accounts, candidate, aspect::account_key) ||
        shared.exists(store_group::accounts, candidate, aspect::account) ||
        shared.exists(store_group::accounts, candidate, aspect::account_key))
      continue;
    return candidate;
  }
  return error(store_errc::exists, "no free account id " + prefix + "0000 .. " + prefix + "0999");
}

} // namespace

status cluster_service::pull_accounts() {
  auto& shared = *opts_.shared;
  auto& local = *opts_.local;
  auto names = shared.list_names(store_group::accounts);
  if (!names) return is_not_found(names.error()) ? status{} : status{names.error()};
  for (const auto& id : *names) {
    auto json = shared.load_text(store_group::accounts, id, aspect::account);
    auto key = shared.load_key(store_group::accounts, id, aspect::account_key);
    if (!json || !key) continue; // half an account (a registration under way): not usable yet
    if (auto mine = local.load_key(store_group::accounts, id, aspect::account_key); mine) {
      if (mine->same_public_key(*key)) continue;
      // the same id for another account here: ours moves aside, the cluster's takes the id
      auto to = free_account_id(local, shared, id);
      if (!to) return to.error();
      if (auto r = local.rename(store_group::accounts, id, *to); !r) return r;
      if (opts_.log) opts_.log("cluster: account " + id + " of this server moved to " + *to +
                               " (the cluster files another account under " + id + ")");
    } else if (!is_not_found(mine.error())) {
      return mine.error();
    }
    if (auto r = local.save_key(store_group::accounts, id, aspect::account_key, *key); !r) return r;
    if (auto r = local.save_text(store_group::accounts, id, aspect::account, *json); !r) return r;
  }
  return {};
}

status cluster_service::publish_account(const std::string& id) {
  auto& shared = *opts_.shared;
  auto& local = *opts_.local;
  if (shared.exists(store_group::accounts, id, aspect::account)) return {};
  auto key = local.load_key(store_group::accounts, id, aspect::account_key);
  if (!key) return key.error();
  auto json = local.load_text(store_group::accounts, id, aspect::account);
  if (!json) return json.error();
  if (auto r = shared.save_key(store_group::accounts, id, aspect::account_key, *key, true); !r) return r;
  if (auto r = shared.save_text(store_group::accounts, id, aspect::account, *json, true); !r) return r;
  if (opts_.log) opts_.log("cluster: account " + id + " shared with the cluster");
  return {};
}

expected<std::string> cluster_service::with_cluster_accounts(
    const std::function<expected<std::string>()>& select, std::chrono::milliseconds wait) {
  const std::string lock_key = key("/cluster/locks/accounts");
  const auto until = steady::now() + wait;
  for (;;) {
    std::int64_t lease;
    {
      std::lock_guard<std::mutex> lk(mu_);
      lease = lease_;
      if (!state_.reachable || lease == 0)
        return error(store_errc::io, "cluster: etcd unreachable (" + state_.problem +
                                              "): accounts are chosen when it answers");
    }
    auto t = client_->txn({etcd::compare::absent(lock_key)},
                          {etcd::txn_op::put(lock_key, opts_.node, lease)},
                          {etcd::txn_op::get(lock_key)});
    if (!t) {
      note_failure(t.error().message);
      return t.error().prefixed("cluster: the account lock");
    }
    if (t->succeeded) break;
    if (steady::now() >= until) {
      std::string holder = "another node";
      if (!t->ranges.empty() && !t->ranges[0].kvs.empty()) holder = "node " + t->ranges[0].kvs[0].value;
      return error(store_errc::lock_timeout, "cluster: the account lock is held by " + holder);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  struct unlock {
    cluster_service* self;
    std::string k;
    ~unlock() {
      etcd::compare mine;
      mine.key = k;
      mine.what = etcd::compare::target::value;
      mine.value = self->opts_.node;
      (void)self->client_->txn({mine}, {etcd::txn_op::del(k)}, {});
    }
  } release{this, lock_key};
  if (auto p = pull_accounts(); !p) return p.error().prefixed("cluster: copying the cluster's accounts");
  auto chosen = select();
  if (!chosen) return chosen;
  if (auto p = publish_account(*chosen); !p)
    return p.error().prefixed("cluster: sharing account " + *chosen);
  return chosen;
}

std::size_t cluster_service::pull_ocsp() {
  std::size_t copied = 0;
  auto& shared = *opts_.shared;
  auto& local = *opts_.local;
  std::shared_ptr<store> hold;
  if (const etcd_store* es = etcd_behind(shared, hold)) {
    // as pull_staged: one range request per page of keys, not a listing per MD
    auto st = es->scan_group(store_group::ocsp, [&](const std::string& md,
                                                    std::vector<etcd_store::group_file>& files) {
      if (!mine_.count(md)) return true;
      for (const auto& f : files) {
        if (!starts_with(f.aspect, "ocsp-")) continue;
        auto here = local.modified(store_group::ocsp, md, f.aspect);
        if (here && *here >= f.modified) continue;
        if (auto s = local.save_text(store_group::ocsp, md, f.aspect, f.bytes); !s) {
          if (opts_.log) opts_.log("cluster: copying ocsp/" + md + "/" + f.aspect + ": " + s.error().message);
          continue;
        }
        ++copied;
      }
      return true;
    });
    if (!st) note_failure(st.error().message);
    return copied;
  }
  for (const auto& md : mine_) {
    auto aspects = shared.list_aspects(store_group::ocsp, md);
    if (!aspects) {
      if (is_not_found(aspects.error())) continue;
      note_failure(aspects.error().message);
      return copied;
    }
    for (const auto& a : *aspects) {
      if (!starts_with(a, "ocsp-")) continue;
      auto remote = shared.modified(store_group::ocsp, md, a);
      if (!remote) continue;
      auto here = local.modified(store_group::ocsp, md, a);
      if (here && *here >= *remote) continue;
      apply_file(store_group::ocsp, md, a, false);
      ++copied;
    }
  }
  return copied;
}

} // namespace mda
