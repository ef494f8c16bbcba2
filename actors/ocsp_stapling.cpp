// The stapling actor (see ocsp_stapling.hpp).
#include "actors/ocsp_stapling.hpp"

#include <algorithm>
#include <utility>

#include <caf/send.hpp>
#include <openssl/x509v3.h>

#include "actors/worker_pool.hpp"
#include "ocsp/persist.hpp"
#include "ocsp/request.hpp"
#include "store/cert_files.hpp"
#include "store/live.hpp"
#include "store/fs_io.hpp"

namespace mda {

namespace {

void add_chain_text(staple_set& out, const expected<std::string>& text, const std::string& path) {
  if (!text) {
    out.problems.push_back(text.error().message);
    return;
  }
  auto chain = read_pem_chain(*text, path);
  if (!chain) {
    out.problems.push_back(chain.error().message);
    return;
  }
  const certificate& leaf = chain->front();
  auto url = ocsp::responder_url(leaf);
  if (!url) return; // quietly not stapled (mod_md: no responder URL)
  auto issuer = std::find_if(chain->begin() + 1, chain->end(), [&](const certificate& c) {
    return X509_check_issued(c.get(), leaf.get()) == X509_V_OK;
  });
  if (issuer == chain->end()) {
    out.problems.push_back("'" + path + "': the issuer of the certificate with serial " +
                           leaf.serial_hex() + " is not in the file, it is not stapled");
    return;
  }
  auto key = ocsp::cert_key(leaf);
  if (!key) {
    out.problems.push_back("'" + path + "': " + key.error().message);
    return;
  }
  if (std::find(out.keys.begin(), out.keys.end(), *key) != out.keys.end()) return;
  out.keys.insert(std::upper_bound(out.keys.begin(), out.keys.end(), *key), *key);
  out.by_url[*url].push_back(ocsp_cert{leaf, *issuer});
}

} // namespace

void add_chain_file(const store& st, staple_set& out, const std::string& path) {
  add_chain_text(out, st.read_outside(path), path);
}

staple_set load_md_staple_set(const store& st, const managed_domain& md, bool live) {
  staple_set out;
  out.owner = md.name;
  if (!md.cert_files.empty()) {
    for (const auto& file : md.cert_files) add_chain_file(st, out, file);
    return out;
  }
  const store_group g = live && staged_set_live(st, md) ? store_group::staging : store_group::domains;
  for (const auto& spec : effective_key_specs(md)) {
    const std::string a = aspect::pubcert(spec);
    if (!st.exists(g, md.name, a)) continue;
    auto path = st.file_path(g, md.name, a);
    add_chain_text(out, st.load_text(g, md.name, a),
                   path ? *path : std::string(group_name(g)) + "/" + md.name + "/" + a);
  }
  return out;
}

staple_set load_other_staple_set(const store& st, const std::vector<std::string>& files) {
  staple_set out;
  out.owner = ocsp::k_other_name;
  for (const auto& f : files) add_chain_file(st, out, f);
  return out;
}

namespace {

void log_line(ocsp_stapling_pointer self, const std::string& line) {
  if (self->state.cfg.log) self->state.cfg.log("ocsp stapling: " + line);
}

/// What a load job returns: the set and a transport for each of its URLs.
struct loaded_set {
  staple_set set;
  std::map<std::string, std::shared_ptr<acme::http_transport>> transports;
};

ocsp_responder_actor responder_for(ocsp_stapling_pointer self, const std::string& url,
                                   const std::shared_ptr<acme::http_transport>& transport) {
  auto& st = self->state;
  auto i = st.responders.find(url);
  if (i != st.responders.end()) return i->second;
  ocsp_responder_config rc;
  rc.url = url;
  rc.st = st.cfg.st;
  rc.transport = transport;
  rc.io_pool = st.cfg.io_pool;
  rc.status = st.cfg.status;
  rc.env = st.cfg.env;
  rc.renew_window = st.cfg.renew_window;
  rc.retry = st.cfg.retry;
  rc.commands = st.cfg.commands;
  rc.command_timeout = st.cfg.command_timeout;
  rc.run_command = st.cfg.run_command;
  rc.log = st.cfg.log;
  rc.defer = st.cfg.defer;
  rc.listener = caf::actor_cast<ocsp_stapling_actor>(self);
  auto r = spawn_ocsp_responder(self->system(), std::move(rc));
  self->link_to(r); // ends with this actor
  st.responders.emplace(url, r);
  return r;
}

/// Registers a loaded set with its responders (unregistering URLs no longer used).
void register_set(ocsp_stapling_pointer self, loaded_set& l) {
  auto& st = self->state;
  auto& s = l.set;
  for (const auto& p : s.problems) log_line(self, s.owner + ": " + p);
  bool other = s.owner == ocsp::k_other_name;
  if (!other && st.registered.count(s.owner) && st.registered[s.owner] == s.keys) return;
  std::vector<std::string> urls;
  for (auto& [url, certs] : s.by_url) {
    auto t = l.transports.find(url);
    if (t == l.transports.end() || !t->second) continue; // logged as a problem
    urls.push_back(url);
    caf::anon_send(responder_for(self, url, t->second), staple_atom_v,
                   ocsp_registration{s.owner, certs, !other});
  }
  if (!other)
    for (const auto& old : st.owner_urls[s.owner])
      if (!s.by_url.count(old) && st.responders.count(old))
        caf::anon_send(st.responders[old], staple_atom_v, ocsp_registration{s.owner, {}, true});
  st.registered[s.owner] = s.keys;
  st.owner_urls[s.owner] = urls;
  log_line(self, s.owner + ": " + std::to_string(s.keys.size()) + " certificate(s) at " +
                     std::to_string(urls.size()) + " responder(s)");
}

/// Loads a set on the io pool (with its transports) and registers it.
void load(ocsp_stapling_pointer self, std::function<staple_set()> reader) {
  auto transports = self->state.cfg.transports;
  auto job = [reader, transports] {
    loaded_set l;
    l.set = reader();
    for (const auto& [url, certs] : l.set.by_url) {
      auto t = transports(url);
      if (t) l.transports[url] = *t;
      else l.set.problems.push_back("no transport to '" + url + "': " + t.error().message);
    }
    return l;
  };
  run_blocking(
    self, self->state.cfg.io_pool, "ocsp certificates", std::move(job),
    [self](loaded_set&& l) { register_set(self, l); },
    [self](const caf::error& e) { log_line(self, "loading certificates: " + error_text(e)); });
}

void load_md(ocsp_stapling_pointer self, const managed_domain& md) {
  auto store = self->state.cfg.st;
  const bool live = self->state.cfg.live;
  load(self, [store, md, live] { return load_md_staple_set(*store, md, live); });
}

/// Cleanup first (it must not remove what registration reads), then every set.
void start(ocsp_stapling_pointer self) {
  auto& st = self->state;
  auto store = st.cfg.st;
  auto keep = st.cfg.keep_response;
  auto now = st.cfg.env.clock->now();
  auto job = [store, keep, now] { return ocsp::remove_old_responses(*store, keep, now); };
  auto go = [self] {
    for (const auto& md : self->state.cfg.mds) load_md(self, md);
    if (!self->state.cfg.other_files.empty()) {
      auto files = self->state.cfg.other_files;
      auto st = self->state.cfg.st;
      load(self, [st, files] { return load_other_staple_set(*st, files); });
    }
  };
  run_blocking(
    self, st.cfg.io_pool, "ocsp cleanup", std::move(job),
    [self, go](const mda::status& s) {
      if (!s.ok()) log_line(self, "removing old responses: " + s.error().message);
      go();
    },
    [self, go](const caf::error& e) {
      log_line(self, "removing old responses: " + error_text(e));
      go();
    });
}

} // namespace

ocsp_stapling_actor::behavior_type ocsp_stapling_behavior(ocsp_stapling_pointer self,
                                                          ocsp_stapling_config cfg) {
  self->state.cfg = std::move(cfg);
  return {
    [self](put_atom, const std::string& name, domain_actor& d) {
      self->state.domains[name] = std::move(d);
    },
    [self](check_atom) {
      if (self->state.started) return;
      self->state.started = true;
      start(self);
    },
    [self](staple_atom, const std::string& name) {
      if (!self->state.started) return; // the start registers it anyway
      for (const auto& md : self->state.cfg.mds)
        if (md.name == name) load_md(self, md);
    },
    [self](revoked_atom, const std::string& owner, const std::string& sha256) {
      auto i = self->state.domains.find(owner);
      if (i == self->state.domains.end()) {
        log_line(self, owner + ": certificate " + sha256 + " is revoked (no MD to renew)");
        return;
      }
      self->send(i->second, revoked_atom_v, sha256);
    },
    [](ocsp_event_atom, const std::string&, const std::string&) {
      // the responder delivers its events itself
    },
  };
}

ocsp_stapling_actor spawn_ocsp_stapling(caf::actor_system& sys, ocsp_stapling_config cfg) {
  return sys.spawn(ocsp_stapling_behavior, std::move(cfg));
}

} // namespace mda
