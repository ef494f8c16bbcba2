#include "acme/store_challenges.hpp"

#include "core/certgen.hpp"
#include "core/pkey.hpp"
#include "core/x509.hpp"
#include "http/errors.hpp"

namespace mda::acme {

namespace {

std::string context(const challenge_data& c) {
  return std::string(to_string(c.type)) + " setup for '" + c.identifier + "'";
}

} // namespace

store_challenges::store_challenges(store& st, store_challenges_options opts)
    : store_(st), opts_(std::move(opts)) {
  if (opts_.key_specs.empty()) opts_.key_specs.push_back(key_spec::default_spec());
  if (!opts_.clock) opts_.clock = std::make_shared<system_time_source>();
}

bool store_challenges::supports(challenge_type t) const {
  if (t == challenge_type::dns_01) return opts_.dns01 && opts_.dns01->supports(t);
  return true;
}

status store_challenges::setup(const challenge_data& c) {
  switch (c.type) {
    case challenge_type::http_01:
      return setup_http01(c);
    case challenge_type::tls_alpn_01:
      return setup_tls_alpn01(c);
    case challenge_type::dns_01:
      if (!supports(c.type))
        return error(acme_errc::config, "dns-01 setup for '" + c.identifier +
                                            "': no MDChallengeDns01 command is configured");
      return opts_.dns01->setup(c);
  }
  return error(acme_errc::config, "unknown challenge type");
}

status store_challenges::teardown(const challenge_data& c) {
  if (c.type == challenge_type::dns_01) {
    if (!supports(c.type))
      return error(acme_errc::config, "dns-01 teardown for '" + c.identifier +
                                          "': no MDChallengeDns01 command is configured");
    return opts_.dns01->teardown(c);
  }
  if (c.identifier.empty())
    return error(acme_errc::config, std::string(to_string(c.type)) + " teardown: no identifier");
  if (auto st = store_.purge(store_group::challenges, c.identifier); !st)
    return st.error().prefixed(std::string(to_string(c.type)) + " teardown for '" + c.identifier +
                               "'");
  return {};
}

status store_challenges::setup_http01(const challenge_data& c) {
  if (c.identifier.empty() || c.key_authorization.empty())
    return error(acme_errc::config, context(c) + ": identifier or key authorization missing");
  // As mod_md: leave the file alone when it already holds the answer.
  auto old = store_.load_text(store_group::challenges, c.identifier, aspect::http01);
  if (old && *old == c.key_authorization) return {};
  if (auto st = store_.save_text(store_group::challenges, c.identifier, aspect::http01,
                                 c.key_authorization);
      !st)
    return st.error().prefixed(context(c));
  return {};
}

status store_challenges::setup_tls_alpn01(const challenge_data& c) {
  if (c.identifier.empty() || c.key_authorization.empty())
    return error(acme_errc::config, context(c) + ": identifier or key authorization missing");
  const auto now = opts_.clock->now();
  for (const auto& spec : opts_.key_specs) {
    auto key = private_key::generate(spec);
    if (!key) return key.error().prefixed(context(c));
    auto cert = make_tls_alpn_01_certificate(*key, c.identifier, c.key_authorization, now);
    if (!cert) return cert.error().prefixed(context(c));
    auto pem = cert->to_pem();
    if (!pem) return pem.error().prefixed(context(c));
    // Key first: a reader that finds the certificate finds its key too.
    if (auto st = store_.save_key(store_group::challenges, c.identifier,
                                  aspect::tls_alpn01_privkey(spec), *key);
        !st)
      return st.error().prefixed(context(c));
    if (auto st = store_.save_text(store_group::challenges, c.identifier,
                                   aspect::tls_alpn01_pubcert(spec), *pem);
        !st)
      return st.error().prefixed(context(c));
  }
  return {};
}

} // namespace mda::acme
