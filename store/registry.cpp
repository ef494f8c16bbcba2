// mod_md's registry work on the store (see registry.hpp).
#include "store/registry.hpp"

#include <algorithm>

#include "core/job.hpp"
#include "core/renewal.hpp"
#include "status/md_view.hpp"
#include "store/staging.hpp"
#include "store/store_lock.hpp"

namespace mda {

namespace {

/// The values httpd.json holds; absent members count as true (the registry defaults).
struct proto_flags {
  bool http = true;
  bool https = true;
};

std::optional<proto_flags> read_flags(const nlohmann::ordered_json& j) {
  if (!j.is_object()) return std::nullopt;
  proto_flags f;
  const auto proto = j.find("proto");
  if (proto == j.end()) return f;
  if (!proto->is_object()) return std::nullopt;
  for (const auto& [key, flag] : {std::pair<const char*, bool*>{"http", &f.http}, {"https", &f.https}}) {
    const auto v = proto->find(key);
    if (v == proto->end()) continue;
    if (!v->is_boolean()) return std::nullopt;
    *flag = v->get<bool>();
  }
  return f;
}

} // namespace

expected<httpd_json_sync> sync_httpd_json(store& st, bool can_http, bool can_https) {
  httpd_json_sync out;
  proto_flags stored;
  auto j = st.load_json(store_group::none, "", aspect::httpd_json);
  if (j) {
    if (auto f = read_flags(*j)) {
      stored = *f;
    } else {
      out.corrupt = error(store_errc::corrupt, "httpd.json: unexpected content");
    }
  } else if (!is_not_found(j.error())) {
    out.corrupt = j.error();
  }
  if (out.corrupt) {
    if (auto s = st.remove(store_group::none, "", aspect::httpd_json, true); !s) return s.error();
  }
  if (stored.http == can_http && stored.https == can_https) return out;
  nlohmann::ordered_json value;
  value["proto"]["http"] = can_http;
  value["proto"]["https"] = can_https;
  if (auto s = st.save_json(store_group::none, "", aspect::httpd_json, value); !s) return s.error();
  out.written = true;
  return out;
}

activation_report activate_staged_sets(store& st, const std::string& store_dir,
                                       const std::vector<engine_md>& mds, const store_locks& locks) {
  activation_report out;
  std::optional<store_lock> lock;
  if (locks.enabled) {
    auto l = store_lock::acquire(store_dir, locks.wait.value_or(k_store_lock_wait));
    if (!l) {
      out.lock_error = l.error();
      return out;
    }
    lock.emplace(std::move(*l));
  }
  for (const auto& em : mds) {
    // No exists() check first: it would take a refused staging/<md> (a symlink, a file of a
    // foreign owner) for "nothing staged"; activate_staging reports it (and an MD without
    // staging/<md>/md.json is just "nothing staged" there too).
    const std::string& name = em.md.name;
    auto r = activate_staging(st, name);
    if (!r) {
      out.errors.push_back(r.error());
    } else if (*r) {
      out.activated.push_back(name);
    }
  }
  return out;
}

std::vector<std::string> announce_installed(store& st, const std::vector<std::string>& activated,
                                            const event_commands& cmds,
                                            std::chrono::milliseconds timeout,
                                            const command_runner& run, sys_time now) {
  std::vector<std::string> failures;
  const std::string reason = "installed";
  for (const auto& name : activated) {
    job jb;
    jb.name = name;
    // A damaged job.json is a log lost, not a reason to skip the event: a new one is started
    // and the damage reported (as the engine does with staging/<md>/job.json).
    if (auto j = st.load_json(store_group::domains, name, aspect::job); j) {
      if (auto parsed = job_from_json(*j, "domains/" + name + "/job.json"); parsed)
        jb = std::move(*parsed);
      else
        failures.push_back(name + ": " + parsed.error().message + " (replaced by a new one)");
    } else if (!is_not_found(j.error())) {
      failures.push_back(name + ": " + j.error().message + " (replaced by a new one)");
    }
    auto plan = plan_event(cmds, reason, name, jb, now);
    if (plan.rate_limited) continue;
    auto outcome = run_event_commands(run, cmds, plan, timeout);
    auto rec = record_event(jb, reason, expected<event_outcome>(outcome), now);
    if (!rec.ok) failures.push_back(name + ": event installed: " + rec.log);
    if (auto s = st.save_json(store_group::domains, name, aspect::job, to_json(jb)); !s)
      failures.push_back(name + ": event installed: " + s.error().message);
  }
  return failures;
}

namespace {

/// A stored MD no configured MD names: its dir name and domains.
struct unassigned_md {
  std::string name;
  std::vector<std::string> domains;
  bool taken = false;
};

std::size_t common_names(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::size_t n = 0;
  for (const auto& d : a)
    if (std::find(b.begin(), b.end(), d) != b.end()) ++n;
  return n;
}

/// The candidate a new MD takes over, or nullptr: all its domains covered first, else the
/// most names in common (at least one); ties go to the first in name order.
unassigned_md* best_match(std::vector<unassigned_md>& pool, const managed_domain& md) {
  unassigned_md* best = nullptr;
  std::size_t best_common = 0;
  for (auto& c : pool) {
    if (c.taken) continue;
    const std::size_t common = common_names(md.domains, c.domains);
    if (common == md.domains.size() && common > 0) return &c;
    if (common > best_common) {
      best = &c;
      best_common = common;
    }
  }
  return best;
}

} // namespace

status_snapshot status_at_start(const store& st, const engine_config& cfg,
                                const std::vector<md_spec>& specs, sys_time now) {
  status_snapshot snap;
  snap.published = now;
  snap.cert_check_name = cfg.settings.cert_check_name;
  snap.cert_check_url = cfg.settings.cert_check_url;
  snap.mds.reserve(cfg.mds.size());
  for (std::size_t i = 0; i < cfg.mds.size() && i < specs.size(); ++i) {
    const managed_domain& md = cfg.mds[i].md;
    const auto leaves = load_domain_leaves(st, md);
    const auto staged = load_staged_leaves(st, md);
    std::optional<job> renewal;
    if (auto j = load_staging_job(st, md)) renewal = std::move(*j);
    snap.mds.push_back(describe_md({md, specs[i].renewal, leaves, staged, renewal ? &*renewal : nullptr,
                                    false, std::string(), sys_time{}, now}));
  }
  return snap;
}

void refresh_from_staging(const store& st, md_snapshot& m) {
  m.staged_certs = staged_cert_slots(m.md, load_staged_leaves(st, m.md));
  if (auto j = load_staging_job(st, m.md)) m.renewal = std::move(*j);
  m.renew = m.renewing || m.renewal.has_value() || (m.renew_at != sys_time{} && m.renew_at <= sys_clock::now());
}

std::vector<error> purge_unused_challenges(store& st, const std::vector<engine_md>& mds) {
  std::vector<error> errors;
  auto names = st.list_names(store_group::challenges);
  if (!names) {
    if (names.error().code != store_errc::not_found) errors.push_back(names.error());
    return errors;
  }
  for (const auto& name : *names) {
    const bool used = std::any_of(mds.begin(), mds.end(), [&](const engine_md& m) { return m.md.name == name; });
    if (used) continue;
    if (auto r = st.purge(store_group::challenges, name); !r) errors.push_back(r.error());
  }
  return errors;
}

std::vector<md_rename> rename_moved_mds(store& st, const std::vector<engine_md>& mds,
                                        std::vector<error>* errors) {
  std::vector<md_rename> out;
  auto stored = st.list_names(store_group::domains);
  if (!stored) return out;
  std::vector<unassigned_md> pool;
  for (const auto& name : *stored) {
    bool configured = std::any_of(mds.begin(), mds.end(),
                                  [&](const engine_md& em) { return em.md.name == name; });
    if (configured) continue;
    auto j = st.load_json(store_group::domains, name, aspect::md);
    if (!j) continue;
    auto parsed = md_from_json(*j, "domains/" + name + "/md.json");
    if (!parsed) continue;
    pool.push_back({name, parsed->domains, false});
  }
  for (const auto& em : mds) {
    if (std::find(stored->begin(), stored->end(), em.md.name) != stored->end()) continue;
    unassigned_md* match = best_match(pool, em.md);
    if (!match) continue;
    match->taken = true;
    auto s = st.rename(store_group::domains, match->name, em.md.name);
    if (s) s = st.rename(store_group::staging, match->name, em.md.name);
    if (!s) {
      if (errors)
        errors->push_back(s.error().prefixed("renaming MD '" + match->name + "' to '" + em.md.name + "'"));
      continue;
    }
    out.push_back({match->name, em.md.name});
  }
  return out;
}

expected<md_json_sync> sync_md_json(store& st, managed_domain& md) {
  md_json_sync out;
  std::optional<managed_domain> old;
  auto j = st.load_json(store_group::domains, md.name, aspect::md);
  if (j) {
    auto parsed = md_from_json(*j, "domains/" + md.name + "/" + aspect::md);
    if (parsed) {
      old = std::move(*parsed);
    } else {
      out.replaced = parsed.error();
    }
  } else if (!is_not_found(j.error())) {
    out.replaced = j.error();
  }
  if (old) {
    if (md.contacts.empty()) md.contacts = old->contacts;
    if (md.ca.url.empty()) md.ca.url = old->ca.url;
    if (md.ca.account.empty()) md.ca.account = old->ca.account;
  }
  // mod_md's state_init: certificates from files are not renewed unless MDRenewMode always
  md.renew_mode = effective_renew_mode(md);
  if (md.state != md_state::error) {
    const auto assessed = assess_certificates(md, certificate_facts(md, load_domain_leaves(st, md)));
    md.state = assessed.state;
    md.state_descr = assessed.descr;
  }
  const nlohmann::ordered_json fresh = to_json(md);
  if (old && to_json(*old) == fresh) return out;
  if (auto s = st.save_json(store_group::domains, md.name, aspect::md, fresh); !s) return s.error();
  out.written = true;
  return out;
}

} // namespace mda
