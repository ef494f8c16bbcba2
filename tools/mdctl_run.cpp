#include "tools/mdctl_run.hpp"

#include <chrono>
#include <iostream>
#include <memory>
#include <mutex>

#include "acme/http01_responder.hpp"
#include "acme/store_challenges.hpp"
#include "acme/tls_alpn01_responder.hpp"
#include "actors/engine.hpp"
#include "store/fs_store.hpp"

namespace mda::mdctl {

const char* const k_run_usage =
    "  run --config FILE [--once] [--timeout SECS] [--quiet]\n"
    "      Run the renewal engine from an engine configuration (JSON: settings and managed\n"
    "      domains, core/engine_config.hpp) without Apache: md.json written into the store\n"
    "      when missing, challenges answered by embedded responders (settings http01-port,\n"
    "      tlsalpn01-port), staged certificates activated when ready. Runs until SIGTERM or\n"
    "      SIGINT. --once: exit when every domain is complete or failed (exit status 1 when\n"
    "      one failed). --timeout: stop after SECS in any case. --quiet: no log lines.\n";

namespace {

/// The store's challenge files plus the embedded responders; offers only what is answered.
class run_challenges final : public acme::challenge_setup {
 public:
  run_challenges(std::shared_ptr<acme::challenge_setup> files,
                 std::vector<std::shared_ptr<acme::challenge_setup>> responders)
      : files_(std::move(files)), responders_(std::move(responders)) {}
  bool supports(acme::challenge_type t) const override {
    if (t == acme::challenge_type::dns_01) return files_->supports(t);
    for (const auto& r : responders_)
      if (r->supports(t)) return true;
    return false;
  }
  status setup(const acme::challenge_data& c) override {
    if (files_->supports(c.type))
      if (auto s = files_->setup(c); !s) return s;
    for (const auto& r : responders_)
      if (r->supports(c.type))
        if (auto s = r->setup(c); !s) return s;
    return {};
  }
  status teardown(const acme::challenge_data& c) override {
    status first;
    for (const auto& r : responders_)
      if (r->supports(c.type))
        if (auto s = r->teardown(c); !s && first) first = s;
    if (files_->supports(c.type))
      if (auto s = files_->teardown(c); !s && first) first = s;
    return first;
  }

 private:
  std::shared_ptr<acme::challenge_setup> files_;
  std::vector<std::shared_ptr<acme::challenge_setup>> responders_;
};

struct run_args {
  std::string config;
  bool once = false, quiet = false;
  int timeout = 0;
};

int usage(const std::string& msg) {
  std::cerr << "mdctl run: " << msg << "\nusage:\n" << k_run_usage;
  return 2;
}

/// md.json into domains/ for MDs that have none.
status sync_md_files(store& st, const engine_config& cfg) {
  for (const auto& em : cfg.mds) {
    if (st.exists(store_group::domains, em.md.name, aspect::md)) continue;
    if (auto s = st.save_json(store_group::domains, em.md.name, aspect::md, to_json(em.md)); !s)
      return s;
  }
  return {};
}

expected<std::vector<std::shared_ptr<acme::challenge_setup>>> start_responders(
    const engine_settings& s) {
  std::vector<std::shared_ptr<acme::challenge_setup>> out;
  if (s.http01_port > 0) {
    auto h = acme::http01_responder::start({s.responder_address, s.http01_port});
    if (!h) return h.error();
    out.push_back(std::shared_ptr<acme::challenge_setup>(std::move(*h)));
  }
  if (s.tlsalpn01_port > 0) {
    acme::tls_alpn01_responder_options o;
    o.address = s.responder_address;
    o.port = s.tlsalpn01_port;
    auto t = acme::tls_alpn01_responder::start(std::move(o));
    if (!t) return t.error();
    out.push_back(std::shared_ptr<acme::challenge_setup>(std::move(*t)));
  }
  return out;
}

} // namespace

int run_main(const std::vector<std::string>& args) {
  run_args a;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config" && i + 1 < args.size()) a.config = args[++i];
    else if (args[i] == "--once") a.once = true;
    else if (args[i] == "--quiet") a.quiet = true;
    else if (args[i] == "--timeout" && i + 1 < args.size()) a.timeout = std::atoi(args[++i].c_str());
    else return usage("unknown argument '" + args[i] + "'");
  }
  if (a.config.empty()) return usage("--config FILE is required");
  auto cfg = load_engine_config(a.config);
  if (!cfg) return usage(cfg.error().message);
  if (auto s = validate(*cfg); !s) return usage(s.error().message);
  if (cfg->settings.tlsalpn01_port > 0) {
    // the embedded responder speaks acme-tls/1 for every name (in Apache the vhosts' Protocols
    // decide, and an MD none of whose names allows it does not try tls-alpn-01)
    for (auto& em : cfg->mds)
      if (em.md.acme_tls_1_domains.empty()) em.md.acme_tls_1_domains = em.md.domains;
  }
  {
    auto st = fs_store::open(cfg->settings.store_dir);
    if (!st) return std::cerr << "mdctl run: " << st.error().message << "\n", 1;
    if (auto s = sync_md_files(*st, *cfg); !s)
      return std::cerr << "mdctl run: " << s.error().message << "\n", 1;
  }
  auto responders = start_responders(cfg->settings);
  if (!responders) return std::cerr << "mdctl run: " << responders.error().message << "\n", 1;
  const auto& s = cfg->settings;
  auto files = store_challenge_factory(s.dns01_cmd, s.dns01_version, s.command_timeout);
  auto live = *responders;
  engine_options eo;
  eo.once = a.once;
  eo.activate = true;
  eo.challenges = [files, live](store& st, const managed_domain& md) {
    return std::make_shared<run_challenges>(files(st, md), live);
  };
  if (a.quiet) eo.log = [](const std::string&) {};
  auto signalled = stop_on_signals();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(a.timeout);
  int timeout = a.timeout;
  eo.stop = [signalled, deadline, timeout] {
    return signalled() || (timeout > 0 && std::chrono::steady_clock::now() >= deadline);
  };
  return run_engine(*cfg, eo);
}

} // namespace mda::mdctl
