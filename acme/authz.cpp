#include "acme/authz.hpp"

#include <algorithm>

#include "core/jws.hpp"

namespace mda::acme {

// --- parsing --------------------------------------------------------------------------------

namespace {

std::string str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return (it != j.end() && it->is_string()) ? it->get<std::string>() : std::string();
}

/// An RFC 7807 problem object embedded in a challenge or order ("error").
problem embedded_problem(const nlohmann::json& e, const std::string& url) {
  problem p;
  p.type = str(e, "type");
  p.detail = str(e, "detail");
  auto st = e.find("status");
  if (st != e.end() && st->is_number_integer()) p.status = st->get<int>();
  p.url = url;
  p.code = problem_code(p.type, 0);
  auto subs = e.find("subproblems");
  if (subs != e.end() && subs->is_array()) {
    for (const auto& s : *subs) {
      if (!s.is_object()) continue;
      subproblem sp{str(s, "type"), str(s, "detail"), std::nullopt};
      auto id = s.find("identifier");
      if (id != s.end() && id->is_object()) sp.ident = identifier{str(*id, "type"), str(*id, "value")};
      p.subproblems.push_back(std::move(sp));
    }
  }
  return p;
}

error bad(const std::string& url, const std::string& what) {
  return error(acme_errc::bad_response, "authorization at " + url + ": " + what);
}

} // namespace

problem problem_from_object(const nlohmann::json& e, const std::string& url) {
  return embedded_problem(e, url);
}

expected<authorization> parse_authorization(const std::string& url, const nlohmann::json& j) {
  if (!j.is_object()) return bad(url, "not a JSON object");
  authorization a;
  a.url = url;
  auto id = j.find("identifier");
  if (id == j.end() || !id->is_object() || str(*id, "type").empty() || str(*id, "value").empty())
    return bad(url, "no identifier");
  a.ident = identifier{str(*id, "type"), str(*id, "value")};
  a.status = str(j, "status");
  if (a.status.empty()) return bad(url, "no status");
  if (auto exp = str(j, "expires"); !exp.empty()) {
    if (auto t = parse_rfc3339(exp)) a.expires = *t;
  }
  auto wc = j.find("wildcard");
  a.wildcard = wc != j.end() && wc->is_boolean() && wc->get<bool>();
  auto chs = j.find("challenges");
  if (chs == j.end() || !chs->is_array()) return bad(url, "no challenges");
  for (const auto& c : *chs) {
    if (!c.is_object()) return bad(url, "a challenge is not a JSON object");
    acme_challenge ch{str(c, "type"), str(c, "url"), str(c, "token"), str(c, "status"), {}};
    if (ch.type.empty() || ch.url.empty()) return bad(url, "a challenge without type or url");
    auto err = c.find("error");
    if (err != c.end() && err->is_object()) ch.error = embedded_problem(*err, ch.url);
    a.challenges.push_back(std::move(ch));
  }
  return a;
}

// --- choosing -------------------------------------------------------------------------------

std::vector<challenge_type> default_challenge_types() {
  return {challenge_type::tls_alpn_01, challenge_type::http_01, challenge_type::dns_01};
}

expected<std::vector<challenge_type>> effective_challenges(const std::vector<std::string>& configured,
                                                           const challenge_abilities& can) {
  std::vector<challenge_type> out;
  if (!configured.empty()) {
    for (const auto& name : configured)
      if (auto t = parse_challenge_type(name)) out.push_back(*t);
    return out;
  }
  if (!can.can_http && !can.can_https && !can.dns01_command)
    return error(acme_errc::config,
                 "the server seems neither reachable via http (port 80) nor https (port 443). "
                 "Please look at the MDPortMap configuration directive on how to correct this. "
                 "The ACME protocol needs at least one of those so the CA can talk to the server "
                 "and verify a domain ownership. Alternatively, you may configure support for "
                 "the dns-01 challenge directive.");
  const bool no_http = !can.can_http;
  const bool no_https = !can.can_https;
  const bool no_alpn = can.can_https && !can.acme_tls_1;
  const bool no_dns = !can.dns01_command;
  for (challenge_type t : default_challenge_types()) {
    if ((t == challenge_type::http_01 && no_http) ||
        (t == challenge_type::tls_alpn_01 && (no_https || no_alpn)) ||
        (t == challenge_type::dns_01 && no_dns))
      continue;
    out.push_back(t);
  }
  // the reasons in mod_md's order
  std::string why;
  if (no_http)
    why += " The http: challenge 'http-01' is disabled because the server seems not reachable "
           "on public port 80.";
  if (no_https)
    why += " The https: challenge 'tls-alpn-01' is disabled because the server seems not "
           "reachable on public port 443.";
  if (no_alpn)
    why += " The https: challenge 'tls-alpn-01' is disabled because the Protocols "
           "configuration does not include the 'acme-tls/1' protocol.";
  if (no_dns)
    why += " The DNS challenge 'dns-01' is disabled because the directive 'MDChallengeDns01' "
           "is not configured.";
  if (out.empty())
    return error(acme_errc::config,
                 "None of the ACME challenge methods configured for this domain are suitable." + why);
  return out;
}

namespace {

/// RFC 8555 §7.1.3 (wildcards: dns-01 only), RFC 8738 §7 (IPs: no dns-01).
bool allowed_for(const authorization& a, challenge_type t) {
  if (a.wildcard) return t == challenge_type::dns_01;
  if (a.ident.type == "ip") return t != challenge_type::dns_01;
  return true;
}

} // namespace

std::vector<std::size_t> choose_challenges(const authorization& a, const challenge_choice& configured,
                                           const std::function<bool(challenge_type)>& supported) {
  const auto types = configured ? *configured : default_challenge_types();
  std::vector<std::size_t> out;
  for (challenge_type t : types) {
    if (!allowed_for(a, t) || (supported && !supported(t))) continue;
    for (std::size_t i = 0; i < a.challenges.size(); ++i) {
      const auto& ch = a.challenges[i];
      if (parse_challenge_type(ch.type) != t) continue;
      if (ch.status != "pending" && ch.status != "processing" && !ch.status.empty()) continue;
      if (std::find(out.begin(), out.end(), i) == out.end()) out.push_back(i);
      break;
    }
  }
  return out;
}

std::string challenge_mismatch_message(const authorization& a,
                                       const std::vector<challenge_type>& available) {
  std::string offered, avail;
  for (const auto& ch : a.challenges) offered += (offered.empty() ? "" : " ") + ch.type;
  for (auto t : available) avail += (avail.empty() ? "" : " ") + std::string(to_string(t));
  return "None of offered challenge types for domain " + a.ident.value +
         " are supported. The server offered '" + offered + "' and available are: '" + avail +
         "'.";
}

// --- polling --------------------------------------------------------------------------------

std::optional<std::chrono::milliseconds> next_poll_delay(const poll_policy& p, int attempt,
                                                         std::chrono::milliseconds waited,
                                                         std::optional<sys_time> retry_after,
                                                         sys_time now) {
  using std::chrono::milliseconds;
  if (waited >= p.total) return std::nullopt;
  milliseconds left = p.total - waited;
  milliseconds d = p.initial;
  for (int i = 0; i < attempt && d < p.max_delay; ++i) d *= 2;
  d = std::min(d, p.max_delay);
  if (retry_after) {
    auto wanted = std::chrono::duration_cast<milliseconds>(*retry_after - now);
    d = std::max(wanted, p.initial);
  }
  d = std::max(d, milliseconds(1)); // never spin
  return std::min(d, left);
}

poller::poller(poll_policy p, const time_source& clock, sleep_fn sleep)
    : policy_(p), clock_(clock), sleep_(sleep ? std::move(sleep) : real_sleep()),
      start_(clock.mono_now()) {}

bool poller::wait(std::optional<sys_time> retry_after) {
  auto passed = std::chrono::duration_cast<std::chrono::milliseconds>(clock_.mono_now() - start_);
  auto d = next_poll_delay(policy_, attempt_, std::max(passed, slept_), retry_after, clock_.now());
  if (!d) return false;
  sleep_(*d);
  slept_ += *d;
  ++attempt_;
  return true;
}

// --- challenge data -------------------------------------------------------------------------

std::string challenge_setup_entry(const challenge_data& c) {
  std::string e = std::string(to_string(c.type)) + ":" + c.identifier;
  // mod_md keeps the TXT value of a dns-01 setup: its teardown command gets it (version 2).
  if (c.type == challenge_type::dns_01) e += " " + dns01_txt_value(c.key_authorization);
  return e;
}

expected<challenge_data> make_challenge_data(const authorization& a, const acme_challenge& ch,
                                             const private_key& account_key,
                                             const std::string& md_name) {
  auto type = parse_challenge_type(ch.type);
  if (!type) return error(acme_errc::bad_response, "unknown challenge type '" + ch.type + "'");
  auto ka = key_authorization(ch.token, public_key(account_key));
  if (!ka) return ka.error().prefixed("challenge " + ch.url);
  challenge_data d;
  d.type = *type;
  d.identifier = a.ident.value;
  d.is_ip = a.ident.type == "ip";
  d.wildcard = a.wildcard;
  d.md_name = md_name;
  d.token = ch.token;
  d.key_authorization = *ka;
  return d;
}

// --- authorizing ----------------------------------------------------------------------------

namespace {

void report(const authz_context& ctx, const std::string& text) {
  if (ctx.progress) ctx.progress(text);
}

acme_result<authorization> fetch_authz(client& c, const signer& who, const std::string& url,
                                       std::optional<sys_time>* retry_after = nullptr) {
  auto res = c.post_as_get(url, who);
  if (!res) return res.failure<authorization>();
  if (retry_after) *retry_after = retry_after_of(res->http, c.clock().now());
  auto a = parse_authorization(url, res->body);
  if (!a) return a.error();
  return std::move(*a);
}

/// The failure of an invalid (or otherwise dead) authorization: the challenge's error.
acme_result<authorization> authz_failed(const authorization& a) {
  std::string what = "authorization of " + a.ident.type + " '" + a.ident.value + "' is " +
                     a.status + " (" + a.url + ")";
  for (const auto& ch : a.challenges) {
    if (!ch.error) continue;
    problem p = *ch.error;
    if (p.code == acme_errc::server && a.status == "invalid") p.code = acme_errc::invalid;
    return acme_result<authorization>(
        error(p.code, what + ": " + ch.type + " " + p.type + ": " + p.detail), p);
  }
  return error(acme_errc::invalid, what);
}

/// Polls until the authorization leaves pending/processing, within the policy's bound.
acme_result<authorization> poll_authz(client& c, const signer& who, const authorization& start,
                                      std::optional<sys_time> retry_after,
                                      const authz_context& ctx) {
  poller wait(ctx.poll, c.clock(), ctx.sleep);
  authorization a = start;
  while (a.status == "pending" || a.status == "processing") {
    if (!wait.wait(retry_after))
      return error(acme_errc::timeout, "timeout waiting for the authorization of '" +
                                           a.ident.value + "' to become valid (" + a.url + ")");
    auto next = fetch_authz(c, who, a.url, &retry_after);
    if (!next) return next;
    a = std::move(*next);
  }
  if (a.status != "valid") return authz_failed(a);
  return a;
}

} // namespace

acme_result<started_authz> start_authorization(
  client& c, const signer& who, const std::string& authz_url, const authz_context& ctx,
  const std::function<std::string(const authorization&)>& check) {
  if (!ctx.setup) return error(acme_errc::config, "no challenge setup given for " + authz_url);
  auto fetched = fetch_authz(c, who, authz_url);
  if (!fetched) return fetched.failure<started_authz>();
  started_authz started;
  started.authz = std::move(*fetched);
  const authorization& a = started.authz;
  if (check)
    if (std::string why = check(a); !why.empty()) return error(acme_errc::bad_response, why);
  if (a.status == "valid") return started;
  if (a.status != "pending") return authz_failed(a).failure<started_authz>();

  auto supported = [&](challenge_type t) { return ctx.setup->supports(t); };
  auto chosen = choose_challenges(a, ctx.challenges, supported);
  if (chosen.empty()) {
    std::vector<challenge_type> available;
    for (auto t : ctx.challenges ? *ctx.challenges : default_challenge_types())
      if (supported(t)) available.push_back(t);
    problem p;
    p.type = k_problem_challenge_mismatch;
    p.detail = challenge_mismatch_message(a, available);
    p.url = authz_url;
    p.code = acme_errc::invalid;
    return acme_result<started_authz>(error(acme_errc::invalid, p.detail), p);
  }
  std::optional<error> last;
  for (std::size_t i : chosen) {
    const acme_challenge& ch = a.challenges[i];
    auto data = make_challenge_data(a, ch, who.key, ctx.md_name);
    if (!data) return data.error();
    report(ctx, "Setting up challenge '" + ch.type + "' for domain " + a.ident.value);
    if (auto st = ctx.setup->setup(*data); !st) {
      last = st.error();
      continue; // mod_md: on setup failure the next type is tried
    }
    if (ctx.on_setup) ctx.on_setup(challenge_setup_entry(*data));
    started.answer = std::move(*data);
    if (ch.status == "pending" || ch.status.empty()) {
      auto res = c.post(ch.url, nlohmann::json::object(), who); // RFC 8555 §7.5.1
      if (!res) {
        abandon_authorization(started, ctx);
        return res.failure<started_authz>();
      }
      started.retry_after = retry_after_of(res->http, c.clock().now());
    }
    return started;
  }
  problem p;
  p.type = k_problem_challenge_setup;
  p.detail = "setting up a challenge for domain '" + a.ident.value + "' failed: " + last->message;
  p.url = authz_url;
  p.code = acme_errc::server;
  return acme_result<started_authz>(error(last->code, p.detail), p);
}

acme_result<authorization> finish_authorization(client& c, const signer& who, const started_authz& started,
                                                const authz_context& ctx) {
  auto result = poll_authz(c, who, started.authz, started.retry_after, ctx);
  abandon_authorization(started, ctx); // the outcome is what counts
  return result;
}

void abandon_authorization(const started_authz& started, const authz_context& ctx) {
  if (started.answer && ctx.setup) (void)ctx.setup->teardown(*started.answer); // best effort
}

acme_result<authorization> authorize(client& c, const signer& who, const std::string& authz_url,
                                     const authz_context& ctx) {
  auto started = start_authorization(c, who, authz_url, ctx);
  if (!started) return started.failure<authorization>();
  return finish_authorization(c, who, *started, ctx);
}

} // namespace mda::acme
