// The watcher thread of each child process; see live_certs.hpp.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include <cerrno>
#include <unistd.h>

#include <httpd.h>
#include <http_log.h>
#include <apr_pools.h>

#include "core/engine_config.hpp"
#include "httpd/live_slots.hpp"
#include "httpd/ocsp_hooks.hpp"
#include "store/fs_io.hpp"
#include "store/live.hpp"

APLOG_USE_MODULE(md);

namespace mda::httpd {

file_stamps static_file_stamps(const md_spec& md) {
  file_stamps out;
  for (std::size_t i = 0; i < md.cert_files.size(); ++i) {
    out.push_back(stamp_of(md.cert_files[i]));
    out.push_back(i < md.pkey_files.size() ? stamp_of(md.pkey_files[i]) : std::nullopt);
  }
  return out;
}

namespace {

/// How often live.json is looked at (one stat), and the static files and failed sets.
constexpr std::chrono::seconds k_poll{1};
constexpr std::chrono::seconds k_static_every{60};

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

std::string stamps_key(const file_stamps& stamps) {
  std::string out;
  for (const auto& st : stamps) {
    out += st ? std::to_string(st->dev) + ":" + std::to_string(st->ino) + ":" + std::to_string(st->size) +
                    ":" + std::to_string(st->mtime_ns)
              : std::string("-");
    out += ";";
  }
  return out;
}

/// "<md>: <reason>" -> "<reason>": the log line names the MD once.
std::string without_md(const std::string& md, const std::string& reason) {
  const std::string prefix = md + ": ";
  return reason.compare(0, prefix.size(), prefix) == 0 ? reason.substr(prefix.size()) : reason;
}

key_spec spec_of(const private_key& key) {
  if (key.is_rsa()) return key_spec::rsa(static_cast<unsigned>(key.bits()));
  if (key.is_ec()) return key_spec::ec(key.curve_name());
  return key_spec::default_spec();
}

live_snapshot_ptr snapshot_of(const std::vector<staged_cert>& certs) {
  auto snap = std::make_shared<live_snapshot>();
  for (const auto& c : certs) {
    live_pair pair{c.chain.front(), c.key, x509_stack(sk_X509_new_null())};
    for (std::size_t i = 1; i < c.chain.size(); ++i) {
      X509* x = c.chain[i].get();
      if (X509_up_ref(x) == 1 && sk_X509_push(pair.chain.get(), x) <= 0) X509_free(x);
    }
    snap->pairs.push_back(std::move(pair));
  }
  return snap;
}

class watcher {
 public:
  watcher(server_rec* s, const module_state& st, std::vector<live_slot*> slots)
      : s_(s), store_(fs_store::attach(live_store_dir(st.linked.config.settings.store_dir), st.store->secret())),
        live_path_(live_file_path(st.linked.config.settings)),
        slots_(std::move(slots)) {
    for (const auto& spec : st.specs) specs_.emplace(spec.name, spec);
  }

  /// One look (see the header): live.json when it changed, or everything when `scheduled`.
  void pass(bool scheduled) {
    const sys_time now = sys_clock::now();
    const bool changed = read_table();
    for (live_slot* slot : slots_) {
      const auto spec = specs_.find(slot->md);
      if (spec == specs_.end()) continue;
      if (changed || scheduled) take_announced(*slot, spec->second, now);
      if (!spec->second.cert_files.empty() && (changed || scheduled)) take_static(*slot, spec->second, now);
    }
  }

  void start() { thread_ = std::thread([this] { run(); }); }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(m_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    auto next_static = std::chrono::steady_clock::now() + k_static_every;
    std::unique_lock<std::mutex> lock(m_);
    while (!cv_.wait_for(lock, k_poll, [this] { return stop_; })) {
      lock.unlock();
      const auto mono = std::chrono::steady_clock::now();
      const bool scheduled = mono >= next_static;
      if (scheduled) next_static = mono + k_static_every;
      (void)guarded(s_, "MDA0156", "watching live certificates", 0, [&]() -> int {
        pass(scheduled);
        return 0;
      });
      lock.lock();
    }
  }

  /// Reads live.json when its stamp changed; true when a new table was taken.
  bool read_table() {
    const auto stamp = stamp_of(live_path_);
    if (stamp == stamp_) return false;
    stamp_ = stamp;
    if (!stamp) return false; // gone: everyone keeps what they serve
    auto text = fsio::read_file(live_path_);
    auto table = text ? parse_live_file(*text, live_path_) : expected<live_table>(text.error());
    if (!table) {
      ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s_, "MDA0155: reading the live certificates: %s; "
                   "serving what was announced before", table.error().message.c_str());
      return false;
    }
    table_ = std::move(*table);
    return true;
  }

  void take_announced(live_slot& slot, const md_spec& spec, sys_time now) {
    const auto m = std::lower_bound(table_.mds.begin(), table_.mds.end(), slot.md,
                                    [](const live_md& e, const std::string& name) { return e.name < name; });
    if (m == table_.mds.end() || m->name != slot.md || m->fingerprints == slot.served) return;
    const bool loaded = std::all_of(m->fingerprints.begin(), m->fingerprints.end(), [&](const std::string& fp) {
      return std::find(slot.loaded.begin(), slot.loaded.end(), fp) != slot.loaded.end();
    });
    if (loaded) { // mod_ssl loaded these at the last start: its own certificates serve them
      std::atomic_store(&slot.current, live_snapshot_ptr());
      slot.served = m->fingerprints;
      return;
    }
    const live_expectation want{spec.name, spec.domains, spec.key_specs};
    auto set = load_live_set(store_, want, m->fingerprints, now);
    if (!set) {
      failed(slot, joined(m->fingerprints), "the announced certificates", set.error().message);
      return;
    }
    publish(slot, spec, set->certs, "announced (generation " + std::to_string(table_.generation) + ")");
    slot.served = m->fingerprints;
  }

  void take_static(live_slot& slot, const md_spec& spec, sys_time now) {
    const file_stamps stamps = static_file_stamps(spec);
    if (stamps == slot.static_stamps) return;
    const std::string key = stamps_key(stamps);
    for (const auto& f : spec.pkey_files) {
      if (::access(f.c_str(), R_OK) == 0) continue;
      const int err = errno;
      if (slot.unreadable != key) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s_, "MDA0154: %s: the certificate files changed, but '%s' "
                     "is not readable by the User (%s): served at the next restart",
                     spec.name.c_str(), f.c_str(), std::strerror(err));
        slot.unreadable = key;
      }
      return;
    }
    staged_set set;
    live_expectation want{spec.name, spec.domains, {}};
    for (std::size_t i = 0; i < spec.cert_files.size() && i < spec.pkey_files.size(); ++i) {
      auto chain_pem = fsio::read_file(spec.cert_files[i]);
      auto chain = chain_pem ? read_pem_chain(*chain_pem, spec.cert_files[i])
                             : expected<std::vector<certificate>>(chain_pem.error());
      auto key_pem = fsio::read_file(spec.pkey_files[i]);
      auto pkey = key_pem ? private_key::from_pem(*key_pem, nullptr, spec.pkey_files[i])
                          : expected<private_key>(key_pem.error());
      if (!chain || !pkey) {
        failed(slot, key, "the changed certificate files", !chain ? chain.error().message : pkey.error().message);
        return;
      }
      want.specs.push_back(spec_of(*pkey));
      set.certs.push_back({want.specs.back(), std::move(*pkey), std::move(*chain), {}});
    }
    if (auto ok = check_live_set(set, want, {}, now); !ok) {
      failed(slot, key, "the changed certificate files", ok.error().message);
      return;
    }
    publish(slot, spec, set.certs, "read from the changed certificate files");
    slot.static_stamps = stamps;
  }

  /// MDA0152 once per (MD, what failed).
  void failed(live_slot& slot, const std::string& key, const char* what, const std::string& reason) {
    if (slot.failed == key) return;
    slot.failed = key;
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, s_, "MDA0152: %s: not serving %s: %s; still serving the previous ones",
                 slot.md.c_str(), what, without_md(slot.md, reason).c_str());
  }

  void publish(live_slot& slot, const md_spec& spec, const std::vector<staged_cert>& certs, const std::string& how) {
    std::atomic_store(&slot.current, snapshot_of(certs));
    slot.unavailable.store(false);
    slot.failed.clear();
    std::vector<std::string> serials;
    for (const auto& c : certs) {
      serials.push_back(c.chain.front().serial_hex());
      if (!spec.stapling) continue;
      if (auto der = c.chain.front().to_der()) staple_live_leaf(spec.name, *der);
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s_, "MDA0153: %s: certificates %s now served by process %d: serial %s",
                 spec.name.c_str(), how.c_str(), static_cast<int>(::getpid()), joined(serials).c_str());
  }

  server_rec* s_;
  const fs_store store_; ///< the engine's copies of the served sets (store/live.hpp live_store_dir)
  std::string live_path_;
  std::vector<live_slot*> slots_;
  std::map<std::string, md_spec> specs_;
  std::optional<file_stamp> stamp_;
  live_table table_;

  std::mutex m_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

/// Not destroyed at exit: a child that ends without its pool's cleanup leaves the thread be.
watcher* g_watcher = nullptr;

apr_status_t stop_watcher(void*) {
  if (g_watcher) {
    g_watcher->stop();
    delete g_watcher;
    g_watcher = nullptr;
  }
  return APR_SUCCESS;
}

} // namespace

void start_live_watcher(apr_pool_t* pchild, server_rec* s, const module_state& st, std::vector<live_slot*> slots) {
  if (g_watcher) return;
  auto w = std::make_unique<watcher>(s, st, std::move(slots));
  w->pass(true); // before the first handshake of this process
  w->start();
  g_watcher = w.release();
  apr_pool_cleanup_register(pchild, nullptr, stop_watcher, apr_pool_cleanup_null);
}

} // namespace mda::httpd
