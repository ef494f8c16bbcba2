// The order sequence of order.hpp: `obtain` and the certificate chain download.
#include <algorithm>
#include <string_view>

#include "acme/order.hpp"
#include "core/csr.hpp"

namespace mda::acme {

// --- chain download -------------------------------------------------------------------------

namespace {

/// The most certificates of one chain: mod_md's bound when following rel="up", and here also
/// on a PEM answer (mod_md reads any number). Let's Encrypt serves 2 or 3 (leaf, intermediate,
/// a cross-signed root), other ACME CAs up to 4; a chain of more than 10 is nothing a client
/// could send in a handshake. More is an error (the chain is what would be installed), found
/// by counting PEM blocks before any is parsed.
constexpr std::size_t k_max_chain = 10;

/// The most rel="alternate" chains downloaded per certificate. Let's Encrypt offers at most one
/// (two while its DST Root cross-sign lasted), pebble as many as PEBBLE_ALTERNATE_ROOTS (0 by
/// default); mod_md fetches none. Alternates are optional extras beside the chain the CA
/// prefers, so more than 10 fail nothing: the first 10 are fetched, the rest ignored with a
/// progress line (failing would throw away a certificate the CA already issued, and the retry
/// would order, and count against the CA's rate limits, another).
constexpr std::size_t k_max_alternates = 10;

std::size_t pem_certificate_blocks(std::string_view text) {
  constexpr std::string_view begin = "-----BEGIN CERTIFICATE-----";
  std::size_t n = 0;
  for (auto at = text.find(begin); at != std::string_view::npos; at = text.find(begin, at + begin.size())) ++n;
  return n;
}

expected<std::vector<certificate>> certs_of(const http_response& res) {
  const std::string media = res.media_type();
  const std::string source = "certificate at " + res.url;
  if (const std::size_t n = pem_certificate_blocks(res.body); n > k_max_chain)
    return error(acme_errc::bad_response, source + ": " + std::to_string(n) +
                                              " certificates in the chain, more than the " +
                                              std::to_string(k_max_chain) + " accepted");
  if (media == "application/pkix-cert") {
    auto cert = certificate::from_der(res.body, source);
    if (!cert) return cert.error();
    return std::vector<certificate>{*cert};
  }
  if (media == "application/x-pkcs7-mime")
    return error(acme_errc::bad_response, source + ": PKCS#7 answers are not supported");
  auto chain = read_pem_chain(res.body, source); // pem-certificate-chain, text/plain, others
  if (!chain) return error(acme_errc::bad_response, chain.error().message);
  return std::move(*chain);
}

} // namespace

acme_result<downloaded_chain> download_chain(client& c, const signer& who,
                                             const std::string& cert_url) {
  auto res = c.post_as_get(cert_url, who);
  if (!res) return res.failure<downloaded_chain>();
  auto certs = certs_of(res->http);
  if (!certs) return certs.error();
  downloaded_chain out{std::move(*certs), res->http.links("alternate")};
  http_response last = res->http;
  // Only a leaf: walk Link rel="up" (RFC 8555 §7.4.2) until the chain stops growing.
  const bool only_leaf = out.chain.size() == 1;
  while (only_leaf && out.chain.size() < k_max_chain) {
    auto up = last.links("up");
    if (up.empty()) break;
    auto next = c.post_as_get(up.front(), who);
    if (!next) return next.failure<downloaded_chain>();
    auto more = certs_of(next->http);
    if (!more) return more.error();
    const std::size_t before = out.chain.size();
    for (auto& cert : *more)
      if (out.chain.size() < k_max_chain && !cert.same_as(out.chain.back()))
        out.chain.push_back(std::move(cert));
    if (out.chain.size() == before) break;
    last = std::move(next->http);
  }
  if (out.chain.size() < 2)
    return error(acme_errc::bad_response,
                 "certificate at " + cert_url + ": only the leaf and no Link rel=\"up\"");
  return out;
}

// --- obtain ---------------------------------------------------------------------------------

namespace {

struct run {
  client& c;
  const signer& who;
  const order_options& o;
  acme_order_file state;

  void report(const std::string& text) const {
    if (o.progress) o.progress(text);
  }
  void save() const {
    if (o.on_update) o.on_update(state);
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& id : order_identifiers(o.domains)) out.push_back(id.value);
    return out;
  }
};

/// Re-fetches the order; an invalid order is a failure with the order's "error".
acme_result<acme_order_file> refresh(run& r, std::optional<sys_time>* retry_after) {
  auto res = r.c.post_as_get(r.state.url, r.who);
  if (!res) return res.failure<acme_order_file>();
  if (retry_after) *retry_after = retry_after_of(res->http, r.c.clock().now());
  auto order = parse_order(r.state.url, res->body, r.state);
  if (!order) return order.error();
  r.state = *order;
  r.save();
  if (r.state.status == order_status::invalid) {
    std::string what = "the order " + r.state.url + " of '" + r.o.md_name + "' is invalid";
    auto e = res->body.find("error");
    if (e == res->body.end() || !e->is_object()) return error(acme_errc::invalid, what);
    problem p = problem_from_object(*e, r.state.url);
    if (p.code == acme_errc::server) p.code = acme_errc::invalid;
    return acme_result<acme_order_file>(error(p.code, what + ": " + p.type + ": " + p.detail), p);
  }
  return r.state;
}

/// Polls the order while it is in `from` or `also`.
acme_status await_order(run& r, order_status from, order_status also, const std::string& goal) {
  poller wait(r.o.poll, r.c.clock(), r.o.sleep);
  std::optional<sys_time> retry_after;
  for (;;) {
    auto st = refresh(r, &retry_after);
    if (!st) return st.failure<std::monostate>();
    if (r.state.status != from && r.state.status != also) return std::monostate{};
    if (!wait.wait(retry_after))
      return error(acme_errc::timeout, "timeout waiting for the order " + r.state.url +
                                           " of '" + r.o.md_name + "' to become " + goal);
  }
}

/// Whether the authorization is for one of the order's identifiers (a wildcard authorization
/// names the base domain, RFC 8555 §7.1.4).
bool for_the_order(const authorization& a, const std::vector<identifier>& ids) {
  const std::string value = a.wildcard ? "*." + a.ident.value : a.ident.value;
  return std::any_of(ids.begin(), ids.end(), [&](const identifier& id) {
    return id.type == a.ident.type && id.value.size() == value.size() &&
           std::equal(id.value.begin(), id.value.end(), value.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
  });
}

/// Answers every authorization first, then waits for each (the CA validates them meanwhile),
/// as mod_md does; every challenge set up is torn down again, whatever the outcome. A CA that
/// lists more authorizations than the order has identifiers, or one for a name not ordered,
/// gets no answer for any (nothing is set up for a name we did not ask for).
acme_status authorize_all(run& r) {
  r.report("Starting challenges for domains");
  const auto ids = order_identifiers(r.o.domains);
  if (r.state.authorizations.size() > ids.size())
    return error(acme_errc::bad_response, "order " + r.state.url + " lists " +
                                              std::to_string(r.state.authorizations.size()) +
                                              " authorizations for " + std::to_string(ids.size()) +
                                              " identifier(s)");
  authz_context ctx{r.o.setup, r.o.challenges, r.o.md_name, r.o.poll, r.o.sleep, r.o.progress, {}};
  std::vector<std::string> added;
  ctx.on_setup = [&](const std::string& entry) {
    added.push_back(entry);
    r.state.challenge_setups.push_back(entry);
    r.save();
  };
  std::vector<started_authz> started;
  acme_status result = std::monostate{};
  for (const auto& url : r.state.authorizations) {
    auto s = start_authorization(r.c, r.who, url, ctx, [&](const authorization& a) -> std::string {
      if (for_the_order(a, ids)) return {};
      return "authorization " + url + " is for " + a.ident.type + " '" + (a.wildcard ? "*." : "") +
             a.ident.value + "', which the order does not have";
    });
    if (!s) {
      result = s.failure<std::monostate>();
      break;
    }
    started.push_back(std::move(*s));
  }
  std::size_t done = 0;
  for (; result && done < started.size(); ++done) {
    auto a = finish_authorization(r.c, r.who, started[done], ctx);
    if (!a) {
      result = a.failure<std::monostate>();
    } else {
      r.report("Monitoring challenge status for " + r.o.md_name + ": domain authorization for " +
               a->ident.value + " is valid");
    }
  }
  for (; done < started.size(); ++done) abandon_authorization(started[done], ctx);
  // Every setup is torn down again: forget them.
  for (const auto& e : added) {
    auto& v = r.state.challenge_setups;
    v.erase(std::remove(v.begin(), v.end(), e), v.end());
  }
  if (!added.empty()) r.save();
  return result;
}

acme_status finalize(run& r, const private_key& key) {
  const std::string spec = r.o.spec.name();
  r.report("Finalizing order for " + r.o.md_name);
  r.report("Creating " + spec + " CSR");
  auto csr = make_csr(key, r.names(), r.o.must_staple);
  if (!csr) return csr.error().prefixed("CSR for '" + r.o.md_name + "'");
  r.report("Submitting " + spec + " CSR to CA");
  auto res = r.c.post(r.state.finalize, {{"csr", csr->der_base64url()}}, r.who);
  if (!res) return res.failure<std::monostate>();
  if (auto order = parse_order(r.state.url, res->body, r.state)) r.state = *order;
  if (auto loc = res->http.location(); loc && r.state.certificate.empty() &&
                                       r.state.status == order_status::valid)
    r.state.certificate = *loc; // old style: the certificate URL in Location
  r.save();
  return std::monostate{};
}

bool past_finalization(order_status s) {
  return s == order_status::processing || s == order_status::valid;
}

/// The order to work on: the resumed one when it is still usable, else a new one. An order
/// past finalization is usable only with the key its CSR was made from (`have_key`).
acme_status start_order(run& r, bool have_key, bool& resumed_past_finalization) {
  if (r.o.resume && !r.o.resume->url.empty()) {
    r.state = *r.o.resume;
    auto st = refresh(r, nullptr);
    if (st && !(past_finalization(r.state.status) && !have_key)) {
      resumed_past_finalization = past_finalization(r.state.status);
      return std::monostate{};
    }
    if (st)
      r.report("Order " + r.state.url + " is past finalization but its certificate key is gone: "
               "a new order");
    // mod_md: a gone or invalid order is purged and a new one created.
    for (const auto& entry : r.state.challenge_setups)
      if (auto d = challenge_data_from_entry(entry, r.o.md_name)) (void)r.o.setup->teardown(*d);
  }
  auto dir = r.c.get_directory();
  if (!dir) return dir.failure<std::monostate>();
  std::string cert_id;
  if (dir->has_renewal_info() && r.o.predecessor && r.o.predecessor->valid())
    if (auto id = r.o.predecessor->ari_cert_id()) cert_id = *id;
  r.report("Creating new order, key-spec=" + r.o.spec.describe() +
           ", profile=" + (r.o.profile.empty() ? "none" : r.o.profile) +
           ", replacing-cert=" + (cert_id.empty() ? "none" : cert_id));
  auto created = create_order(r.c, r.who, r.o);
  if (!created) return created.failure<std::monostate>();
  r.state = *created;
  r.save();
  return std::monostate{};
}

/// Downloads and checks the chain (leaf matches the key and covers the names).
acme_result<obtained_cert> fetch_result(run& r, const private_key& key, bool& key_mismatch) {
  r.report("Retrieving " + r.o.spec.name() + " certificate chain for " + r.o.md_name);
  if (r.state.certificate.empty())
    return error(acme_errc::bad_response, "the valid order " + r.state.url + " has no certificate URL");
  auto dl = download_chain(r.c, r.who, r.state.certificate);
  if (!dl) return dl.failure<obtained_cert>();
  const certificate& leaf = dl->chain.front();
  key_mismatch = !leaf.matches_key(key);
  if (key_mismatch)
    return error(acme_errc::bad_response,
                 "the certificate at " + r.state.certificate + " does not match the key");
  if (!leaf.covers(r.names()))
    return error(acme_errc::bad_response, "the certificate at " + r.state.certificate +
                                              " does not cover all names of '" + r.o.md_name + "'");
  obtained_cert out{r.state, key, dl->chain, {}, {}};
  auto pem = write_pem_chain(out.chain);
  if (!pem) return pem.error();
  out.chain_pem = *pem;
  const auto& alts = dl->alternate_urls;
  if (alts.size() > k_max_alternates)
    r.report("Certificate at " + r.state.certificate + " offers " + std::to_string(alts.size()) +
             " alternate chains: the first " + std::to_string(k_max_alternates) + " are looked at");
  for (std::size_t i = 0; i < alts.size() && i < k_max_alternates; ++i) {
    auto more = download_chain(r.c, r.who, alts[i]);
    if (more && more->chain.front().matches_key(key)) out.alternates.push_back(more->chain);
  }
  return out;
}

} // namespace

acme_result<obtained_cert> obtain(client& c, const signer& who, const order_options& o) {
  if (!o.setup) return error(acme_errc::config, "no challenge setup given for '" + o.md_name + "'");
  run r{c, who, o, {}};
  std::optional<private_key> key = o.cert_key;
  if (!key && o.load_key) key = o.load_key();
  bool resumed_past_finalization = false;
  if (auto st = start_order(r, key.has_value(), resumed_past_finalization); !st)
    return st.failure<obtained_cert>();
  if (r.state.status == order_status::pending) {
    if (auto st = authorize_all(r); !st) return st.failure<obtained_cert>();
    r.report("Waiting for order to become ready");
    if (auto st = await_order(r, order_status::pending, order_status::pending, "ready"); !st)
      return st.failure<obtained_cert>();
  }
  if (r.state.status == order_status::ready) {
    if (!key) {
      auto k = private_key::generate(o.spec);
      if (!k) return k.error().prefixed("key for '" + o.md_name + "'");
      if (o.keep_key)
        if (auto kept = o.keep_key(*k); !kept)
          return kept.error().prefixed("keeping the " + o.spec.name() + " key of '" + o.md_name + "'");
      key = *k;
    }
    if (auto st = finalize(r, *key); !st) return st.failure<obtained_cert>();
  }
  if (!key)
    return error(acme_errc::config, "the order " + r.state.url +
                                        " is past finalization and no certificate key was given");
  if (r.state.status == order_status::processing || r.state.status == order_status::ready) {
    r.report("Waiting for finalized order to become valid");
    if (auto st = await_order(r, order_status::processing, order_status::ready, "valid"); !st)
      return st.failure<obtained_cert>();
  }
  if (r.state.status != order_status::valid)
    return error(acme_errc::bad_response, "the order " + r.state.url + " is '" +
                                              to_string(r.state.status) + "' after finalizing");
  bool key_mismatch = false;
  auto out = fetch_result(r, *key, key_mismatch);
  if (!out && key_mismatch && resumed_past_finalization) {
    // the kept key is not the one this order's CSR was made from (another key spec's order
    // was running): that certificate is of no use, a new order is
    r.report("The certificate of order " + r.state.url + " was made for another key: a new order");
    order_options fresh = o;
    fresh.resume.reset();
    return obtain(c, who, fresh);
  }
  return out;
}

} // namespace mda::acme
