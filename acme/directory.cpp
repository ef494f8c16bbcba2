#include "acme/directory.hpp"
#include "core/json_util.hpp"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

namespace mda::acme {

namespace {

using ojson = nlohmann::ordered_json;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

/// Reads an optional resource URL; it must be an absolute http(s) URL when present.
status read_url(const ojson& j, const char* key, const std::string& where, std::string& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  if (!it->is_string())
    return error(acme_errc::bad_response, where + ": \"" + key + "\" is not a string");
  out = it->get<std::string>();
  if (!parse_url(out))
    return error(acme_errc::bad_response,
                 where + ": \"" + key + "\" is not an absolute http(s) URL: '" + out + "'");
  return {};
}

void read_meta(const ojson& meta, directory& d) {
  if (!meta.is_object()) return;
  auto str = [&](const char* key) {
    auto it = meta.find(key);
    return (it != meta.end() && it->is_string()) ? it->get<std::string>() : std::string();
  };
  d.terms_of_service = str("termsOfService");
  d.website = str("website");
  if (auto it = meta.find("caaIdentities"); it != meta.end() && it->is_array())
    for (const auto& v : *it)
      if (v.is_string()) d.caa_identities.push_back(v.get<std::string>());
  if (auto it = meta.find("externalAccountRequired"); it != meta.end() && it->is_boolean())
    d.external_account_required = it->get<bool>();
  if (auto it = meta.find("profiles"); it != meta.end() && it->is_object())
    for (const auto& [name, desc] : it->items())
      d.profiles.emplace_back(name, desc.is_string() ? desc.get<std::string>() : std::string());
}

} // namespace

std::optional<std::string> directory::find_profile(std::string_view name) const {
  for (const auto& [p, desc] : profiles)
    if (iequals(p, name)) return p;
  return std::nullopt;
}

expected<directory> parse_directory(const std::string& url, std::string_view body) {
  const std::string where = "ACME directory at " + url;
  auto j = json_nesting_within(body) ? ojson::parse(body, nullptr, /*allow_exceptions=*/false)
                                     : ojson(ojson::value_t::discarded);
  if (j.is_discarded() || !j.is_object())
    return error(acme_errc::bad_response, where + " is not a JSON object");
  if (!j.contains("newAccount") &&
      (j.contains("new-reg") || j.contains("new-cert") || j.contains("new-authz")))
    return error(acme_errc::obsolete,
                 "the ACME server at " + url + " speaks ACMEv1 (\"new-reg\", \"new-cert\"), an "
                 "obsolete version of the protocol; configure its ACMEv2 directory URL");
  directory d;
  d.url = url;
  const std::pair<const char*, std::string*> fields[] = {
      {"newNonce", &d.new_nonce},       {"newAccount", &d.new_account},
      {"newOrder", &d.new_order},       {"revokeCert", &d.revoke_cert},
      {"keyChange", &d.key_change},     {"renewalInfo", &d.renewal_info}};
  for (const auto& [key, out] : fields)
    if (auto st = read_url(j, key, where, *out); !st) return st.error();
  std::string missing;
  for (const auto& [key, out] : {std::pair<const char*, std::string*>{"newNonce", &d.new_nonce},
                                 {"newAccount", &d.new_account},
                                 {"newOrder", &d.new_order}})
    if (out->empty()) missing += (missing.empty() ? "\"" : ", \"") + std::string(key) + "\"";
  if (!missing.empty())
    return error(acme_errc::bad_response,
                 "Unable to understand ACME server response from " + url + ": the directory "
                 "lacks " + missing + ". Wrong ACME protocol version or link?");
  if (auto it = j.find("meta"); it != j.end()) read_meta(*it, d);
  return d;
}

expected<directory> directory_from_response(const http_response& res) {
  const std::string& url = res.url;
  if (res.status == 503)
    return error(acme_errc::again,
                 "The ACME server at " + url + " reports that Service is Unavailable (503). "
                 "This may happen during maintenance for short periods of time.");
  if (res.status < 200 || res.status >= 300)
    return error(acme_errc::again,
                 "The ACME server at " + url + " responded with HTTP status " +
                     std::to_string(res.status) + ". This is unusual. Please verify that the "
                     "URL is correct and that you can indeed make requests from the server to it "
                     "by other means, e.g. invoking curl/wget.");
  auto media = res.media_type();
  auto d = parse_directory(url, res.body);
  if (!d && d.error().code == make_error_code(acme_errc::bad_response) &&
      media != "application/json")
    return error(acme_errc::bad_response,
                 d.error().message + " (content type '" + media + "')");
  return d;
}

} // namespace mda::acme
