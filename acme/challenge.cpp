#include "acme/challenge.hpp"

namespace mda::acme {

const char* to_string(challenge_type t) {
  switch (t) {
    case challenge_type::http_01: return "http-01";
    case challenge_type::tls_alpn_01: return "tls-alpn-01";
    case challenge_type::dns_01: return "dns-01";
  }
  return "unknown";
}

std::optional<challenge_type> parse_challenge_type(std::string_view name) {
  if (name == "http-01") return challenge_type::http_01;
  if (name == "tls-alpn-01") return challenge_type::tls_alpn_01;
  if (name == "dns-01") return challenge_type::dns_01;
  return std::nullopt;
}

} // namespace mda::acme
