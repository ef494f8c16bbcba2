// The store-backed blocking steps of a domain actor (see domain_backend.hpp).
//
// Staging and activation are store/staging.hpp's (mod_md's layout, reference §2.6).
#include "actors/domain_backend.hpp"

#include <algorithm>
#include <mutex>
#include <random>
#include <utility>

#include "acme/ari.hpp"
#include "acme/dns01_command.hpp"
#include "acme/store_challenges.hpp"
#include "core/md_spec.hpp"
#include "core/renewal.hpp"
#include "store/staging.hpp"

namespace mda {

std::string tls_alpn01_refusal(const std::vector<std::string>& acme_tls_1_domains, const std::string& identifier) {
  if (!acme_tls_1_domains.empty()) return {};
  return identifier + ": protocol 'acme-tls/1' seems not enabled for this or any other associated domain. "
                      "Not attempting challenge type tls-alpn-01.";
}

namespace {

/// A challenge setup that runs a hook (the challenge-setup event) before the real one, and
/// refuses tls-alpn-01 by tls_alpn01_refusal, so the next type is tried, as mod_md does.
class hooked_setup final : public acme::challenge_setup {
 public:
  hooked_setup(std::shared_ptr<acme::challenge_setup> inner,
               std::function<status(const acme::challenge_data&)> hook,
               std::vector<std::string> acme_tls_1_domains)
      : inner_(std::move(inner)), hook_(std::move(hook)), alpn_(std::move(acme_tls_1_domains)) {}
  bool supports(acme::challenge_type t) const override { return inner_->supports(t); }
  status setup(const acme::challenge_data& c) override {
    if (c.type == acme::challenge_type::tls_alpn_01)
      if (auto why = tls_alpn01_refusal(alpn_, c.identifier); !why.empty())
        return error(acme::acme_errc::config, why);
    if (hook_)
      if (auto s = hook_(c); !s) return s;
    return inner_->setup(c);
  }
  status teardown(const acme::challenge_data& c) override { return inner_->teardown(c); }

 private:
  std::shared_ptr<acme::challenge_setup> inner_;
  std::function<status(const acme::challenge_data&)> hook_;
  std::vector<std::string> alpn_;
};

class store_backend final : public domain_backend {
 public:
  store_backend(std::shared_ptr<store> st, store_backend_options opts)
      : st_(std::move(st)), opts_(std::move(opts)) {}

  expected<domain_facts> load(const managed_domain& md) override {
    domain_facts f;
    f.leaves = load_domain_leaves(*st_, md);
    f.staged = load_staged_leaves(*st_, md);
    f.renewal.name = md.name;
    if (auto j = st_->load_json(store_group::staging, md.name, aspect::job); j) {
      auto parsed = job_from_json(*j, "staging/" + md.name + "/job.json");
      if (parsed && !staging_job_plausible(*st_, md, *parsed)) {
        f.problems.push_back("staging/" + md.name + "/job.json claims a finished renewal, but staging/ holds "
                             "no complete set: ignored");
        st_->remove(store_group::staging, md.name, aspect::job, true);
      } else if (parsed) {
        f.renewal = std::move(*parsed);
      } else {
        f.problems.push_back(parsed.error().message);
        st_->remove(store_group::staging, md.name, aspect::job, true);
      }
    } else if (!is_not_found(j.error())) {
      f.problems.push_back(j.error().message);
      st_->remove(store_group::staging, md.name, aspect::job, true);
    }
    if (auto o = st_->load_json(store_group::staging, md.name, aspect::order); o) {
      auto parsed = order_from_json(*o, "staging/" + md.name + "/order.json");
      if (parsed) {
        f.order = std::move(*parsed);
      } else {
        f.problems.push_back(parsed.error().message);
        st_->remove(store_group::staging, md.name, aspect::order, true);
      }
    } else if (!is_not_found(o.error())) {
      f.problems.push_back(o.error().message);
      st_->remove(store_group::staging, md.name, aspect::order, true);
    }
    if (auto m = st_->load_json(store_group::staging, md.name, aspect::md); m) {
      if (auto parsed = md_from_json(*m, "staging/" + md.name + "/md.json"); parsed)
        f.staged_ca_url = parsed->ca.url;
    }
    return f;
  }

  status save_job(const std::string& md_name, const job& j) override {
    return st_->save_json(store_group::staging, md_name, aspect::job, to_json(j));
  }

  status save_order(const std::string& md_name, const acme_order_file& o) override {
    return st_->save_json(store_group::staging, md_name, aspect::order, to_json(o));
  }

  acme::acme_result<acme::obtained_cert> obtain(const order_request& r) override {
    auto inner = opts_.challenges(*st_, r.md);
    if (!inner) return error(std::make_error_code(std::errc::invalid_argument),
                             "no challenge setup for '" + r.md.name + "'");
    acme::order_options o;
    o.md_name = r.md.name;
    o.domains = r.md.domains;
    o.spec = r.spec;
    o.must_staple = r.md.must_staple;
    o.profile = r.md.profile;
    o.profile_mandatory = r.md.profile_mandatory;
    o.predecessor = r.predecessor;
    acme::challenge_abilities can;
    can.can_http = opts_.can_http;
    can.can_https = opts_.can_https;
    can.acme_tls_1 = !r.md.acme_tls_1_domains.empty();
    can.dns01_command = !r.md.dns01_cmd.empty() || !opts_.dns01_cmd.empty();
    auto types = acme::effective_challenges(r.md.ca.challenges, can);
    if (!types) return types.error();
    if (r.progress) {
      std::string names;
      for (auto t : *types) names += (names.empty() ? "" : " ") + std::string(acme::to_string(t));
      r.progress("MDomain " + r.md.name + " initialized with support for ACME challenges " + names);
    }
    o.challenges = std::move(*types);
    hooked_setup setup(inner, r.before_setup, r.md.acme_tls_1_domains);
    o.setup = &setup;
    o.poll.total = opts_.poll_total;
    o.poll.initial = opts_.poll_initial;
    o.progress = r.progress;
    o.on_update = r.on_update;
    o.resume = r.resume;
    keep_keys_in_staging(o, r.md.name, r.spec);
    if (!opts_.order_accounts) return acme::obtain(*r.account.client, r.account.who, o);
    if (r.resume)
      if (auto theirs = usable_order_account(r)) {
        if (r.progress)
          r.progress("Resuming order " + r.resume->url + " of account " + theirs->kid +
                     " (started by another server)");
        return acme::obtain(*r.account.client, *theirs, o);
      }
    if (auto s = keep_order_account(r); !s) return s.error();
    return acme::obtain(*r.account.client, r.account.who, o);
  }

  status stage(const staged_result& r) override {
    std::vector<staged_cert> certs;
    for (size_t i = 0; i < r.certs.size() && i < r.specs.size(); ++i)
      certs.push_back(staged_cert{r.specs[i], r.certs[i].key, r.certs[i].chain, r.certs[i].chain_pem});
    return write_staging(*st_, r.md, certs, r.renewal, std::nullopt);
  }

  status activate(const managed_domain& md) override {
    auto done = activate_staging(*st_, md.name);
    if (!done) return done.error();
    return {};
  }

  expected<std::vector<std::string>> check_live(const live_expectation& want) override {
    auto set = load_live_set(*st_, want, {}, std::chrono::system_clock::now());
    if (!set) return set.error();
    if (opts_.live_copies) {
      set->md.name = want.md;
      if (auto s = save_live_copy(*opts_.live_copies, *set); !s) return s.error();
    }
    return live_fingerprints(*set);
  }

  status reset_staging(const std::string& md_name) override {
    return st_->purge(store_group::staging, md_name);
  }

  std::optional<ari_hint> fetch_ari(const std::string& ca_url,
                                    const std::vector<std::optional<certificate>>& leaves) override {
    if (!opts_.clients) return std::nullopt;
    auto c = opts_.clients(ca_url);
    if (!c) return std::nullopt;
    auto dir = (*c)->get_directory();
    if (!dir || !dir->has_renewal_info()) return std::nullopt;
    std::optional<ari_hint> best;
    for (const auto& leaf : leaves) {
      if (!leaf) continue;
      auto id = leaf->ari_cert_id();
      if (!id) continue;
      auto res = (*c)->get(acme::renewal_info_url(dir->renewal_info, *id));
      if (!res) continue;
      const auto now = (*c)->clock().now();
      auto info = acme::renewal_info_from_response(*res, now);
      if (!info) continue;
      auto at = acme::choose_renewal_time(*info, now, [this] { return next_random(); });
      ari_hint h{info->window_start, info->window_end, at.at, info->next_check,
                 info->explanation_url};
      if (!best || h.at < best->at) best = h;
    }
    return best;
  }

  expected<process_result> run_command(const std::vector<std::string>& argv,
                                       std::chrono::milliseconds timeout) override {
    process_options po;
    po.timeout = timeout;
    return run_process(argv, po);
  }

 private:
  /// The certificate key of the order in staging/<md> (see domain_backend.hpp): one of another
  /// key type or size than the spec is not taken (a new one replaces it).
  void keep_keys_in_staging(acme::order_options& o, const std::string& md, const key_spec& spec) {
    auto st = st_;
    const std::string aspect = aspect::privkey(spec);
    o.load_key = [st, md, aspect, spec]() -> std::optional<private_key> {
      auto k = st->load_key(store_group::staging, md, aspect);
      if (!k || !k->matches(spec)) return std::nullopt;
      return *k;
    };
    o.keep_key = [st, md, aspect](const private_key& k) {
      return st->save_key(store_group::staging, md, aspect, k);
    };
  }

  /// The signer of the account the resumed order belongs to, when that is not ours, is kept
  /// for the same CA and the CA still shows it the order (not invalid); else nullopt and the
  /// order is resumed (or replaced) with our own account.
  std::optional<acme::signer> usable_order_account(const order_request& r) {
    auto kept = load_order_account(*st_, r.md.name);
    if (!kept || !*kept) return std::nullopt;
    const order_account& a = **kept;
    if (a.url == r.account.who.kid || a.ca_url != r.md.ca.url) return std::nullopt;
    acme::signer theirs{a.key, a.url};
    auto seen = acme::fetch_order(*r.account.client, theirs, r.resume->url, *r.resume);
    if (!seen || seen->status == order_status::invalid) return std::nullopt;
    return theirs;
  }

  /// Files our account as the order's before the order is made (or resumed with it).
  status keep_order_account(const order_request& r) {
    if (auto kept = load_order_account(*st_, r.md.name); kept && *kept && (*kept)->url == r.account.who.kid)
      return {};
    order_account a{r.account.id, r.account.who.kid, r.md.ca.url, r.account.who.key};
    if (auto s = save_order_account(*st_, r.md.name, a); !s)
      return s.error().prefixed("keeping the account of the order of '" + r.md.name + "'");
    return {};
  }

  std::uint64_t next_random() {
    std::lock_guard<std::mutex> lock(rng_mu_);
    return rng_();
  }

  std::shared_ptr<store> st_;
  store_backend_options opts_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_{std::random_device{}()};
};

} // namespace

challenge_factory store_challenge_factory(std::string global_dns01_cmd, int dns01_version,
                                          std::chrono::milliseconds command_timeout) {
  return [global_dns01_cmd, dns01_version, command_timeout](store& st, const managed_domain& md)
             -> std::shared_ptr<acme::challenge_setup> {
    acme::store_challenges_options o;
    o.key_specs = effective_key_specs(md);
    const std::string& cmd = md.dns01_cmd.empty() ? global_dns01_cmd : md.dns01_cmd;
    if (!cmd.empty()) {
      acme::dns01_command_options d;
      d.command = cmd;
      d.version = dns01_version;
      d.timeout = command_timeout;
      if (auto c = acme::dns01_command::create(std::move(d)); c)
        o.dns01 = std::make_shared<acme::dns01_command>(std::move(*c));
    }
    return std::make_shared<acme::store_challenges>(st, std::move(o));
  };
}

std::shared_ptr<domain_backend> make_store_backend(std::shared_ptr<store> st,
                                                   store_backend_options opts) {
  return std::make_shared<store_backend>(std::move(st), std::move(opts));
}

} // namespace mda
