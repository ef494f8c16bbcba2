#include "acme/ari.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "acme/problem.hpp"
#include "core/base64.hpp"
#include "core/json_util.hpp"

namespace mda::acme {

namespace {

expected<sys_time> window_time(const nlohmann::json& window, const char* key,
                               const std::string& where) {
  auto it = window.find(key);
  if (it == window.end())
    return error(acme_errc::bad_response, where + ": \"suggestedWindow." + key + "\" is missing");
  if (!it->is_string())
    return error(acme_errc::bad_response,
                 where + ": \"suggestedWindow." + key + "\" is not a string");
  auto t = parse_rfc3339(it->get<std::string>());
  if (!t)
    return error(acme_errc::bad_response, where + ": \"suggestedWindow." + key +
                                              "\" is not an RFC 3339 time: '" +
                                              it->get<std::string>() + "'");
  return *t;
}

} // namespace

std::string ari_cert_id(std::string_view aki_key_id, std::string_view serial) {
  // DER INTEGER contents: minimal, with a 0x00 in front when the high bit would make it
  // negative (RFC 9773 §4.1 example: serial 0x87654321 -> 00 87 65 43 21).
  while (serial.size() > 1 && serial.front() == '\0' &&
         !(static_cast<unsigned char>(serial[1]) & 0x80))
    serial.remove_prefix(1);
  std::string der(serial);
  if (der.empty()) der.assign(1, '\0');
  if (static_cast<unsigned char>(der.front()) & 0x80) der.insert(der.begin(), '\0');
  return base64url_encode(aki_key_id) + "." + base64url_encode(der);
}

std::string renewal_info_url(const std::string& base, const std::string& cert_id) {
  std::string b = base;
  while (!b.empty() && b.back() == '/') b.pop_back();
  return b + "/" + cert_id;
}

sys_time ari_next_check(std::string_view retry_after, sys_time now) {
  auto at = parse_retry_after(retry_after, now);
  if (!at) return now + ari_default_interval;
  auto wait = std::clamp<sys_clock::duration>(*at - now, ari_min_interval, ari_max_interval);
  return now + wait;
}

expected<renewal_info> parse_renewal_info(const std::string& url, std::string_view body,
                                          std::string_view retry_after, sys_time now) {
  const std::string where = "renewalInfo from " + url;
  auto j = json_nesting_within(body) ? nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false)
                                     : nlohmann::json(nlohmann::json::value_t::discarded);
  if (j.is_discarded() || !j.is_object())
    return error(acme_errc::bad_response, where + " is not a JSON object");
  auto w = j.find("suggestedWindow");
  if (w == j.end())
    return error(acme_errc::bad_response, where + ": \"suggestedWindow\" is missing");
  if (!w->is_object())
    return error(acme_errc::bad_response, where + ": \"suggestedWindow\" is not an object");
  auto start = window_time(*w, "start", where);
  if (!start) return start.error();
  auto end = window_time(*w, "end", where);
  if (!end) return end.error();
  if (*end <= *start) // RFC 9773 §4.2: such an answer counts as no answer
    return error(acme_errc::bad_response,
                 where + ": suggestedWindow end " + format_rfc3339(*end) +
                     " is not after its start " + format_rfc3339(*start));
  renewal_info info;
  info.window_start = *start;
  info.window_end = *end;
  if (auto e = j.find("explanationURL"); e != j.end() && e->is_string())
    info.explanation_url = e->get<std::string>();
  info.next_check = ari_next_check(retry_after, now);
  return info;
}

expected<renewal_info> renewal_info_from_response(const http_response& res, sys_time now) {
  if (res.status < 200 || res.status >= 300) return to_error(problem_from_response(res, now));
  return parse_renewal_info(res.url, res.body, res.header("Retry-After").value_or(""), now);
}

renewal_time choose_renewal_time(const renewal_info& info, sys_time now,
                                 const random_source& random) {
  using ms = std::chrono::milliseconds;
  auto span = std::max<std::int64_t>(
      0, std::chrono::duration_cast<ms>(info.window_end - info.window_start).count());
  // offset = span * r / 2^64, in [0, span): exact, no floating point.
  unsigned __int128 product = static_cast<unsigned __int128>(span) * random();
  auto offset = static_cast<std::int64_t>(product >> 64);
  sys_time at = info.window_start + ms(offset);
  if (at <= now) return {now, true};
  return {at, false};
}

} // namespace mda::acme
