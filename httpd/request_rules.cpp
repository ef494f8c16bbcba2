#include "httpd/request_rules.hpp"

#include <algorithm>
#include <cctype>

namespace mda::httpd {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool is_base64url(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

} // namespace

std::optional<std::string_view> http01_token_of(std::string_view path) {
  if (path.substr(0, k_acme_challenge_prefix.size()) != k_acme_challenge_prefix) return std::nullopt;
  const std::string_view rest = path.substr(k_acme_challenge_prefix.size());
  if (rest.empty() || rest.find('/') != std::string_view::npos) return std::nullopt;
  return rest;
}

bool http01_token_valid(std::string_view token) {
  return !token.empty() && token.size() <= 256 && std::all_of(token.begin(), token.end(), is_base64url);
}

bool key_authorization_matches(std::string_view key_authorization, std::string_view token) {
  return !token.empty() && key_authorization.size() > token.size() + 1 &&
         key_authorization.substr(0, token.size()) == token && key_authorization[token.size()] == '.';
}

bool challenge_allowed(const managed_domain& md, std::string_view type) {
  if (md.ca.challenges.empty()) return true;
  return std::any_of(md.ca.challenges.begin(), md.ca.challenges.end(),
                     [&](const std::string& c) { return iequals(c, type); });
}

const managed_domain* md_for_host(const engine_config& cfg, std::string_view host) {
  if (host.empty()) return nullptr;
  for (const auto& em : cfg.mds) {
    for (const auto& d : em.md.domains) {
      if (iequals(d, host)) return &em.md;
    }
  }
  return nullptr;
}

int redirect_status(md_require_https mode, bool is_get) {
  switch (mode) {
    case md_require_https::off:
      return 0;
    case md_require_https::temporary:
      return is_get ? 302 : 307;
    case md_require_https::permanent:
      return is_get ? 301 : 308;
  }
  return 0;
}

std::string https_location(std::string_view host, int https_port, std::string_view uri,
                           std::string_view query, std::string_view fragment) {
  std::string url = "https://";
  url += host;
  if (https_port > 0 && https_port != 443) url += ":" + std::to_string(https_port);
  url += uri.empty() ? std::string_view("/") : uri;
  if (!query.empty()) {
    url += '?';
    url += query;
  }
  if (!fragment.empty()) {
    url += '#';
    url += fragment;
  }
  return url;
}

std::string last_path_segment(std::string_view path) {
  const auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::vector<key_spec> tls_alpn01_answer_order(const std::vector<key_spec>& specs) {
  std::vector<key_spec> out;
  for (auto kind : {key_spec::kind::default_rsa, key_spec::kind::rsa, key_spec::kind::ec})
    for (const auto& spec : specs)
      if (spec.type == kind) out.push_back(spec);
  return out;
}

} // namespace mda::httpd
