#include "acme/order.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>

namespace mda::acme {

// --- identifiers ----------------------------------------------------------------------------

std::optional<std::string> normalize_ip(const std::string& s) {
  std::string v = s;
  if (v.size() > 2 && v.front() == '[' && v.back() == ']') v = v.substr(1, v.size() - 2);
  unsigned char buf[16];
  char text[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET, v.c_str(), buf) == 1 && inet_ntop(AF_INET, buf, text, sizeof text))
    return std::string(text);
  if (inet_pton(AF_INET6, v.c_str(), buf) == 1 && inet_ntop(AF_INET6, buf, text, sizeof text))
    return std::string(text);
  return std::nullopt;
}

namespace {

std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

bool is_wildcard(const std::string& n) { return n.size() > 2 && n.compare(0, 2, "*.") == 0; }

} // namespace

std::vector<identifier> order_identifiers(const std::vector<std::string>& names) {
  std::vector<identifier> all;
  for (const auto& n : names) {
    identifier id;
    if (auto ip = normalize_ip(n)) {
      id = {"ip", *ip};
    } else {
      std::string d = lower(n);
      while (!d.empty() && d.back() == '.') d.pop_back();
      if (d.empty()) continue;
      id = {"dns", d};
    }
    if (std::find(all.begin(), all.end(), id) == all.end()) all.push_back(id);
  }
  // md_dns_make_minimal: a name another (wildcard) entry covers is left out.
  std::vector<identifier> out;
  for (const auto& id : all) {
    bool covered = id.type == "dns" &&
                   std::any_of(all.begin(), all.end(), [&](const identifier& w) {
                     return w.type == "dns" && is_wildcard(w.value) && w.value != id.value &&
                            dns_name_matches(w.value, id.value);
                   });
    if (!covered) out.push_back(id);
  }
  return out;
}

nlohmann::json new_order_payload(const std::vector<identifier>& ids, const std::string& profile,
                                 const std::string& replaces) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& id : ids) arr.push_back({{"type", id.type}, {"value", id.value}});
  nlohmann::json j = {{"identifiers", arr}};
  if (!profile.empty()) j["profile"] = profile;
  if (!replaces.empty()) j["replaces"] = replaces;
  return j;
}

expected<std::string> choose_profile(const directory& dir, const std::string& profile,
                                     bool mandatory) {
  if (profile.empty()) return std::string();
  if (auto p = dir.find_profile(profile)) return *p;
  if (mandatory)
    return error(acme_errc::invalid, "the CA at " + dir.url + " does not offer the profile '" +
                                         profile + "', which is configured as mandatory");
  return std::string();
}

// --- order objects --------------------------------------------------------------------------

expected<acme_order_file> parse_order(const std::string& url, const nlohmann::json& j,
                                      acme_order_file base) {
  const std::string where = "order at " + url;
  if (!j.is_object()) return error(acme_errc::bad_response, where + ": not a JSON object");
  base.url = url;
  auto st = j.find("status");
  if (st == j.end() || !st->is_string())
    return error(acme_errc::bad_response, where + ": no status");
  static const char* const names[] = {"pending", "ready", "processing", "valid", "invalid"};
  auto it = std::find(std::begin(names), std::end(names), st->get<std::string>());
  if (it == std::end(names))
    return error(acme_errc::bad_response,
                 where + ": unknown status '" + st->get<std::string>() + "'");
  base.status = static_cast<order_status>(it - std::begin(names));
  auto authz = j.find("authorizations");
  if (authz != j.end() && authz->is_array()) {
    base.authorizations.clear();
    for (const auto& a : *authz)
      if (a.is_string()) base.authorizations.push_back(a.get<std::string>());
  }
  auto fin = j.find("finalize");
  if (fin != j.end() && fin->is_string()) base.finalize = fin->get<std::string>();
  auto cert = j.find("certificate");
  if (cert != j.end() && cert->is_string()) base.certificate = cert->get<std::string>();
  if (base.finalize.empty()) return error(acme_errc::bad_response, where + ": no finalize URL");
  return base;
}

expected<challenge_data> challenge_data_from_entry(const std::string& entry,
                                                   const std::string& md_name) {
  auto colon = entry.find(':');
  auto type = colon == std::string::npos ? std::nullopt
                                         : parse_challenge_type(entry.substr(0, colon));
  if (!type)
    return error(acme_errc::bad_response, "not a challenge setup entry: '" + entry + "'");
  challenge_data d;
  d.type = *type;
  d.md_name = md_name;
  std::string rest = entry.substr(colon + 1);
  auto space = rest.find(' ');
  d.identifier = rest.substr(0, space);
  if (space != std::string::npos) d.token = rest.substr(space + 1); // dns-01: the TXT value
  if (d.identifier.empty() || (d.type == challenge_type::dns_01 && d.token.empty()))
    return error(acme_errc::bad_response, "not a challenge setup entry: '" + entry + "'");
  d.is_ip = is_ip_literal(d.identifier);
  return d;
}

// --- requests -------------------------------------------------------------------------------

acme_result<acme_order_file> create_order(client& c, const signer& who, const order_options& o) {
  auto dir = c.get_directory();
  if (!dir) return dir.failure<acme_order_file>();
  auto ids = order_identifiers(o.domains);
  if (ids.empty()) return error(acme_errc::invalid, "no names to order a certificate for");
  auto profile = choose_profile(*dir, o.profile, o.profile_mandatory);
  if (!profile) return profile.error();
  std::string replaces;
  if (dir->has_renewal_info() && o.predecessor && o.predecessor->valid()) {
    if (auto id = o.predecessor->ari_cert_id()) replaces = *id; // RFC 9773 §5
  }
  auto res = c.post(dir->new_order, new_order_payload(ids, *profile, replaces), who);
  if (!res) return res.failure<acme_order_file>();
  auto loc = res->http.location();
  if (!loc || loc->empty())
    return error(acme_errc::bad_response,
                 "new order: no Location header in the answer from " + dir->new_order);
  auto order = parse_order(*loc, res->body);
  if (!order) return order.error();
  return std::move(*order);
}

acme_result<acme_order_file> fetch_order(client& c, const signer& who, const std::string& url,
                                         acme_order_file base) {
  auto res = c.post_as_get(url, who);
  if (!res) return res.failure<acme_order_file>();
  auto order = parse_order(url, res->body, std::move(base));
  if (!order) return order.error();
  return std::move(*order);
}

} // namespace mda::acme
