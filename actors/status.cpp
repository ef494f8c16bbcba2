// The status actor (see status.hpp).
#include "actors/status.hpp"

#include <algorithm>
#include <string_view>
#include <vector>
#include <utility>

#include <caf/abstract_actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>

#include "actors/worker_pool.hpp"
#include "ipc/status_socket.hpp"
#include "status/md_status.hpp"
#include "status/metrics.hpp"
#include "store/fs_io.hpp"

namespace mda {

caf::error validate(const status_config& cfg) {
  if (!cfg.env.clock)
    return make_error(engine_errc::bad_request, "status: no clock");
  if ((!cfg.file.empty() || !cfg.live_file.empty()) && !cfg.pool)
    return make_error(engine_errc::bad_request, "status: a status file needs a worker pool");
  if (cfg.min_interval < caf::timespan{0})
    return make_error(engine_errc::bad_request, "status: the write interval must not be negative");
  if (!cfg.socket_path.empty() && cfg.ask_timeout <= caf::timespan{0})
    return make_error(engine_errc::bad_request, "status: the ask timeout must be positive");
  return caf::none;
}

std::string status_socket_unavailable(const std::string& path, const std::string& why) {
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos || slash == 0 ? "/" : path.substr(0, slash);
  return "status socket " + path + " not available (" + why +
         "); md-status, certificate-status and server-status are served from the status file "
         "(live answers need " + dir + " to exist and be writable by the engine: create it or "
         "set DefaultRuntimeDir)";
}

caf::timespan status_write_spacing(caf::timespan min_interval, caf::timespan last_write_took) {
  return std::max(min_interval, 10 * last_write_took);
}

status_snapshot status_state::current(sys_time now) const {
  status_snapshot s;
  s.published = now;
  s.cert_check_name = cfg.cert_check_name;
  s.cert_check_url = cfg.cert_check_url;
  s.mds.reserve(mds.size());
  for (const auto& [name, m] : mds)
    s.mds.push_back(m);
  for (const auto& [key, st] : staplings)
    s.staplings.push_back(st);
  return s;
}

status_snapshot status_state::one(const std::string& name, sys_time now) const {
  status_snapshot s;
  s.published = now;
  s.cert_check_name = cfg.cert_check_name;
  s.cert_check_url = cfg.cert_check_url;
  auto m = mds.find(name);
  if (m == mds.end())
    m = std::find_if(mds.begin(), mds.end(), [&](const auto& e) { return md_has_domain(e.second, name); });
  if (m == mds.end())
    return s;
  s.mds.push_back(m->second);
  for (auto it = staplings.lower_bound({m->first, std::string()});
       it != staplings.end() && it->first.first == m->first; ++it)
    s.staplings.push_back(it->second);
  return s;
}

namespace {

void schedule_publish(status_pointer self);

/// What a write job needs: the document's own members and the entries' shared texts.
struct file_pieces {
  status_snapshot outer; ///< no MD, no stapling entry: only the members around them
  std::vector<std::shared_ptr<const std::string>> mds;
  std::vector<std::shared_ptr<const std::string>> staplings;

  std::string text() const {
    std::vector<std::string_view> m, st;
    m.reserve(mds.size());
    st.reserve(staplings.size());
    for (const auto& t : mds) m.emplace_back(*t);
    for (const auto& t : staplings) st.emplace_back(*t);
    return snapshot_join(outer, m, st);
  }
};

/// The texts of the file as it stands now (by name, as current() orders the snapshot).
std::shared_ptr<const file_pieces> file_now(const status_state& st) {
  auto p = std::make_shared<file_pieces>();
  p->outer.published = st.cfg.env.clock->now();
  p->outer.cert_check_name = st.cfg.cert_check_name;
  p->outer.cert_check_url = st.cfg.cert_check_url;
  p->mds.reserve(st.file_mds.size());
  for (const auto& [name, text] : st.file_mds)
    p->mds.push_back(text);
  p->staplings.reserve(st.file_staplings.size());
  for (const auto& [key, text] : st.file_staplings)
    p->staplings.push_back(text);
  return p;
}

/// Starts the write of the current file on the worker pool.
void publish_now(status_pointer self) {
  auto& st = self->state;
  st.dirty = false;
  st.writing = true;
  st.last_write = st.cfg.env.clock->mono_now();
  // Joined on the pool, not here: with thousands of MDs the text is tens of MB.
  auto pieces = file_now(st);
  auto path = st.cfg.file;
  auto mode = st.cfg.file_mode;
  // The job's own time (join + write), measured on the pool thread: time spent queued behind
  // other jobs is not the write's cost. Read after the answer, which orders it. Measured with
  // the engine's clock, so a test's simulated time is not paced by how busy the machine is.
  auto took = std::make_shared<caf::timespan>(0);
  auto clock = st.cfg.env.clock;
  auto job = [path, pieces, mode, took, clock] {
    const auto start = clock->mono_now();
    const std::string text = pieces->text();
    fsio::atomic_write_options o;
    o.durable = false; // a live view, rewritten every few hundred ms
    auto res = fsio::write_file_atomic(path, text, mode, o);
    *took = clock->mono_now() - start;
    return res;
  };
  auto done = [self, took](const std::string& failure) {
    auto& s = self->state;
    s.writing = false;
    s.last_write_took = *took;
    if (failure.empty()) {
      ++s.stats.writes;
    } else {
      ++s.stats.write_errors;
      s.stats.last_error = failure;
      s.dirty = true; // what was not written is still to be written
    }
    schedule_publish(self);
  };
  run_blocking(
    self, st.cfg.pool, "write '" + path + "'", std::move(job),
    [done](const mda::status& res) { done(res.ok() ? std::string() : res.error().message); },
    [done](const caf::error& e) { done(error_text(e)); });
}

/// Writes the live announcement when it changed and no write is in flight.
void write_live(status_pointer self) {
  auto& st = self->state;
  if (!st.live_dirty || st.live_writing || st.cfg.live_file.empty()) return;
  st.live_dirty = false;
  st.live_writing = true;
  auto path = st.cfg.live_file;
  auto text = std::make_shared<const std::string>(render_live_file(st.live));
  auto done = [self](const std::string& failure) {
    auto& s = self->state;
    s.live_writing = false;
    if (!failure.empty()) {
      ++s.stats.write_errors;
      s.stats.last_error = failure;
      s.live_dirty = true;
      // a full disk or the like: try again in a second, not in a loop
      self->delayed_send(self, std::chrono::seconds(1), publish_atom_v);
      return;
    }
    write_live(self);
  };
  run_blocking(
    self, st.cfg.pool, "write '" + path + "'",
    [path, text] {
      fsio::atomic_write_options o;
      o.durable = false; // the set itself is durable in staging/; this only points at it
      return fsio::write_file_atomic(path, *text, 0600, o);
    },
    [done](const mda::status& res) { done(res.ok() ? std::string() : res.error().message); },
    [done](const caf::error& e) { done(error_text(e)); });
}

/// The MD's entry in the live announcement follows its snapshot (see status.hpp).
void note_live(status_pointer self, const md_snapshot& m) {
  auto& st = self->state;
  if (st.cfg.live_file.empty() || m.served_from != served_source::staging) return;
  live_md e{m.md.name, m.served_since, {}};
  for (const auto& slot : m.certs)
    if (slot.cert) e.fingerprints.push_back(slot.cert->sha256_fingerprint);
  if (e.fingerprints.empty()) return; // nothing to serve (never announced empty)
  auto& mds = st.live.mds;
  auto it = std::lower_bound(mds.begin(), mds.end(), e.name,
                             [](const live_md& a, const std::string& n) { return a.name < n; });
  if (it != mds.end() && it->name == e.name) {
    if (*it == e) return;
    *it = std::move(e);
  } else {
    mds.insert(it, std::move(e));
  }
  ++st.live.generation;
  st.live_dirty = true;
  write_live(self);
}

/// Writes now when the last write began at least min_interval ago, else arms the timer once.
void schedule_publish(status_pointer self) {
  auto& st = self->state;
  if (!st.dirty || st.writing || st.timer_armed || st.cfg.file.empty())
    return;
  auto now = st.cfg.env.clock->mono_now();
  const auto spacing = status_write_spacing(st.cfg.min_interval, st.last_write_took);
  if (!st.last_write || now - *st.last_write >= spacing) {
    publish_now(self);
    return;
  }
  auto wait = spacing - (now - *st.last_write);
  st.timer_armed = true;
  self->delayed_send(self, std::chrono::duration_cast<caf::timespan>(wait), publish_atom_v);
}

/// Renders the status file text of MD `m` anew (whether or not a socket is configured; not
/// without a file).
void render_file_md(status_state& st, const md_snapshot& m) {
  if (st.cfg.file.empty())
    return;
  st.file_mds[m.md.name] = std::make_shared<const std::string>(snapshot_md_text(m));
}

/// A text of the status file as kept for it (`kept`), or rendered now without a file.
template <class Map, class Key, class Value, class Render>
std::shared_ptr<const std::string> file_text(const Map& kept, const Key& key, const Value& v, Render render) {
  auto it = kept.find(key);
  if (it != kept.end())
    return it->second;
  return std::make_shared<const std::string>(render(v));
}

/// Renders the md-status fragment and the snapshot texts of MD `name` anew for the socket
/// (from its entry and its staplings); nothing without a socket, or when the MD is not (yet)
/// there.
void render_fragment(status_state& st, const std::string& name) {
  if (st.cfg.socket_path.empty())
    return;
  auto m = st.mds.find(name);
  if (m == st.mds.end())
    return;
  status_snapshot ctx; // what the MD's object reads besides the MD: its stapling entries
  md_snapshot_texts texts;
  texts.entry = file_text(st.file_mds, name, m->second, snapshot_md_text);
  for (auto it = st.staplings.lower_bound({name, std::string()});
       it != st.staplings.end() && it->first.first == name; ++it) {
    ctx.staplings.push_back(it->second);
    texts.staplings.push_back(file_text(st.file_staplings, it->first, it->second, snapshot_stapling_text));
  }
  st.md_status->set(name, md_status_fragment(ctx, m->second));
  st.md_status->set_metrics(name, md_metrics_fragment(ctx, m->second));
  st.md_status->set_snapshot(name, std::move(texts));
}

} // namespace

status_actor::behavior_type status_behavior(status_pointer self, status_config cfg) {
  self->state.cfg = std::move(cfg);
  self->state.md_status->set_cert_check(self->state.cfg.cert_check_name, self->state.cfg.cert_check_url);
  self->state.md_status->set_engine(self->state.cfg.engine);
  for (auto& m : self->state.cfg.seed) {
    const std::string name = m.md.name;
    render_file_md(self->state, m);
    self->state.mds[name] = std::move(m);
    render_fragment(self->state, name);
  }
  self->state.cfg.seed.clear();
  self->state.dirty = true; // the first snapshot goes out at once
  schedule_publish(self);
  return {
    [self](put_atom, md_snapshot& m) {
      ++self->state.stats.updates;
      auto name = m.md.name;
      auto [entry, added] = self->state.mds.try_emplace(name);
      const bool changed = added || !(entry->second == m);
      entry->second = std::move(m);
      if (!changed) // the same again (a step that changed nothing shown): nothing to do
        return;
      render_file_md(self->state, entry->second);
      render_fragment(self->state, name);
      note_live(self, entry->second);
      self->state.dirty = true;
      schedule_publish(self);
    },
    [self](delete_atom, const std::string& name) {
      ++self->state.stats.updates;
      if (self->state.mds.erase(name) > 0) {
        self->state.file_mds.erase(name);
        self->state.md_status->erase(name);
        self->state.dirty = true;
        schedule_publish(self);
      }
    },
    [self](put_atom, stapling_info& s) {
      ++self->state.stats.updates;
      auto key = std::make_pair(s.domain, s.id);
      if (!self->state.cfg.file.empty())
        self->state.file_staplings[key] =
          std::make_shared<const std::string>(snapshot_stapling_text(s));
      self->state.staplings[key] = std::move(s);
      render_fragment(self->state, key.first);
      self->state.dirty = true;
      schedule_publish(self);
    },
    [self](get_atom, snapshot_atom) -> status_snapshot {
      return self->state.current(self->state.cfg.env.clock->now());
    },
    [self](get_atom, snapshot_atom, const std::string& name) -> status_snapshot {
      return self->state.one(name, self->state.cfg.env.clock->now());
    },
    [self](get_atom, stats_atom) -> status_stats { return self->state.stats; },
    [self](put_atom, supervisor_actor& sup) {
      self->state.supervisor = caf::actor_cast<caf::actor_addr>(sup);
    },
    [self](renew_atom, const std::string& name) {
      auto rp = self->make_response_promise<std::string>();
      auto sup = caf::actor_cast<supervisor_actor>(self->state.supervisor);
      if (!sup) {
        rp.deliver(make_error(engine_errc::unavailable, "the engine's domains are not running"));
        return rp;
      }
      self->request(sup, k_renew_ask_timeout, caf::get_atom_v, name)
        .then(
          [self, rp](domain_actor& d) mutable {
            self->request(d, k_renew_ask_timeout, renew_atom_v)
              .then([rp](std::string& s) mutable { rp.deliver(std::move(s)); },
                    [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
          },
          [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
      return rp;
    },
    [self](publish_atom) {
      self->state.timer_armed = false;
      schedule_publish(self);
      write_live(self);
    },
  };
}

snapshot_source_maker status_actor_source(caf::actor_system& sys, const status_actor& status,
                                          caf::timespan ask_timeout) {
  auto addr = caf::actor_cast<caf::actor_addr>(status);
  return [sys = &sys, addr, ask_timeout] {
    auto self = std::make_shared<caf::scoped_actor>(*sys, true);
    auto ask = [self, addr, ask_timeout](auto... request) -> expected<status_snapshot> {
      const auto unavailable = std::make_error_code(std::errc::resource_unavailable_try_again);
      auto hdl = caf::actor_cast<status_actor>(addr);
      if (!hdl)
        return error(unavailable, "the status actor is gone");
      expected<status_snapshot> out = error(unavailable, "no answer");
      (*self)->request(hdl, ask_timeout, request...)
        .receive([&](status_snapshot& s) { out = std::move(s); },
                 [&](caf::error& e) {
                   out = error(unavailable, e == caf::sec::request_timeout
                                              ? "the status actor did not answer in time"
                                              : "the status actor is gone");
                 });
      return out;
    };
    auto renew = [self, addr](const std::string& name) -> expected<std::string> {
      const auto unavailable = std::make_error_code(std::errc::resource_unavailable_try_again);
      auto hdl = caf::actor_cast<status_actor>(addr);
      if (!hdl) return error(unavailable, "the status actor is gone");
      expected<std::string> out = error(unavailable, "no answer");
      // the domain actor's answer comes after its check: a longer wait than a snapshot's
      (*self)->request(hdl, k_renew_ask_timeout + std::chrono::seconds(1), renew_atom_v, name)
        .receive([&](std::string& s) { out = std::move(s); },
                 [&](caf::error& e) {
                   out = error(std::make_error_code(std::errc::invalid_argument),
                               e == caf::sec::request_timeout ? "no decision within " +
                               std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                 k_renew_ask_timeout).count()) + " s" : error_text(e));
                 });
      return out;
    };
    return snapshot_source{[ask] { return ask(get_atom::value, snapshot_atom_v); },
                           [ask](const std::string& name) {
                             return ask(get_atom::value, snapshot_atom_v, name);
                           },
                           renew};
  };
}

caf::expected<status_actor> spawn_status(caf::actor_system& sys, status_config cfg) {
  if (auto err = validate(cfg))
    return err;
  std::shared_ptr<status_socket_server> server;
  if (!cfg.socket_path.empty()) {
    auto bound = status_socket_server::bind(cfg.socket_path, cfg.socket_mode);
    if (bound) {
      server = std::move(*bound);
    } else {
      if (cfg.warn)
        cfg.warn(status_socket_unavailable(cfg.socket_path, bound.error().message));
      cfg.socket_path.clear();
    }
  }
  auto ask_timeout = cfg.ask_timeout;
  auto hdl = sys.spawn(status_behavior, std::move(cfg));
  if (server) {
    auto cache = caf::actor_cast<status_pointer>(hdl)->state.md_status;
    server->start(status_actor_source(sys, hdl, ask_timeout), cache);
    caf::actor_cast<caf::abstract_actor*>(hdl)->attach_functor([server, cache] {
      cache->close();
      server->stop();
    });
  }
  return hdl;
}

} // namespace mda
