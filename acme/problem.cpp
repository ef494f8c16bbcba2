#include "acme/problem.hpp"
#include "core/json_util.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <strings.h>

namespace mda::acme {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

/// "badNonce" from any spelling of the URN mod_md accepts; "" for other namespaces.
std::string short_name(std::string_view type) {
  for (std::string_view ns : {"urn:ietf:params:acme:error:", "urn:acme:error:"})
    if (istarts_with(type, ns)) return std::string(type.substr(ns.size()));
  return "";
}

constexpr std::array<std::string_view, 11> k_input_related = {
    "agreementRequired", "badCSR", "badSignatureAlgorithm", "externalAccountRequired",
    "invalidContact", "unsupportedContact", "malformed", "rejectedIdentifier",
    "unsupportedIdentifier", "userActionRequired", "badRevocationReason"};

constexpr const char* k_months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/// The obsolete HTTP-date forms RFC 9110 §5.6.7 still requires recipients to accept:
/// RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT" and asctime "Sun Nov  6 08:49:37 1994".
std::optional<sys_time> parse_obsolete_http_date(const std::string& s) {
  std::tm tm{};
  char mon[4] = {0};
  char zone[4] = {0};
  auto comma = s.find(',');
  int n = 0;
  if (comma != std::string::npos) {
    if (std::sscanf(s.c_str() + comma + 1, " %2d-%3s-%2d %2d:%2d:%2d %3s%n", &tm.tm_mday, mon,
                    &tm.tm_year, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, zone, &n) != 7 ||
        std::string(zone) != "GMT" || comma + 1 + n != s.size())
      return std::nullopt;
    if (tm.tm_year < 70) tm.tm_year += 100; // two-digit years: 1970..2069
  } else {
    char wday[4] = {0};
    if (std::sscanf(s.c_str(), "%3s %3s %2d %2d:%2d:%2d %4d%n", wday, mon, &tm.tm_mday,
                    &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &tm.tm_year, &n) != 7 ||
        static_cast<size_t>(n) != s.size())
      return std::nullopt;
    tm.tm_year -= 1900;
  }
  tm.tm_mon = -1;
  for (int i = 0; i < 12; ++i)
    if (strcasecmp(mon, k_months[i]) == 0) tm.tm_mon = i;
  if (tm.tm_mon < 0 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 59)
    return std::nullopt;
  return sys_clock::from_time_t(timegm(&tm));
}

std::string string_member(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return (it != j.end() && it->is_string()) ? it->get<std::string>() : std::string();
}

std::optional<identifier> identifier_of(const nlohmann::json& j) {
  auto it = j.find("identifier");
  if (it == j.end() || !it->is_object()) return std::nullopt;
  return identifier{string_member(*it, "type"), string_member(*it, "value")};
}

std::vector<subproblem> subproblems_of(const nlohmann::json& j) {
  std::vector<subproblem> out;
  auto it = j.find("subproblems");
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& s : *it)
    if (s.is_object())
      out.push_back({string_member(s, "type"), string_member(s, "detail"), identifier_of(s)});
  return out;
}

} // namespace

std::string problem::short_type() const { return short_name(type); }

std::optional<sys_time> parse_retry_after(std::string_view value, sys_time now) {
  std::string s(value);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.erase(0, 1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  if (s.empty()) return std::nullopt;
  if (std::all_of(s.begin(), s.end(), ::isdigit)) {
    constexpr long long k_year = 366LL * 24 * 3600;
    long long secs = 0;
    for (char c : s) secs = std::min(k_year, secs * 10 + (c - '0'));
    return now + std::chrono::seconds(secs);
  }
  // an HTTP-date is capped like the seconds form: a year from now at most
  constexpr auto k_year = std::chrono::hours(366 * 24);
  std::optional<sys_time> t;
  if (auto rfc = parse_rfc822(s)) t = *rfc;
  else t = parse_obsolete_http_date(s);
  if (t && *t > now + k_year) return now + k_year;
  return t;
}

acme_errc problem_code(std::string_view type, int http_status) {
  std::string name = short_name(type);
  if (!name.empty()) {
    if (iequals(name, "badNonce")) return acme_errc::again;
    if (iequals(name, "rateLimited")) return acme_errc::rate_limited;
    if (iequals(name, "unauthorized")) return acme_errc::unauthorized;
    if (iequals(name, "accountDoesNotExist")) return acme_errc::not_found;
    if (is_input_related(type)) return acme_errc::invalid;
    return acme_errc::server;
  }
  switch (http_status) {
    case 400: return acme_errc::invalid;
    case 401: // some CAs answer 401 where RFC 8555 says 403 (mod_md's note)
    case 403: return acme_errc::unauthorized;
    case 404: return acme_errc::not_found;
    case 429: return acme_errc::rate_limited;
    case 503: return acme_errc::again;
    default: return acme_errc::server;
  }
}

problem problem_from_response(const http_response& res, sys_time now) {
  problem p;
  p.url = res.url;
  p.http_status = res.status;
  if (auto ra = res.header("Retry-After")) p.retry_after = parse_retry_after(*ra, now);
  auto media = res.media_type();
  if (media == "application/problem+json" || media == "application/json") {
    auto doc = json_nesting_within(res.body) ? nlohmann::json::parse(res.body, nullptr, /*allow_exceptions=*/false)
                                             : nlohmann::json(nlohmann::json::value_t::discarded);
    if (doc.is_object() && doc.contains("type") && doc["type"].is_string()) {
      p.type = doc["type"].get<std::string>();
      p.detail = string_member(doc, "detail");
      if (auto it = doc.find("status"); it != doc.end() && it->is_number_integer())
        p.status = it->get<int>();
      p.subproblems = subproblems_of(doc);
    }
  }
  p.code = problem_code(p.type, p.http_status);
  return p;
}

problem problem_from_error(const error& err, std::string url) {
  problem p;
  p.url = std::move(url);
  p.detail = err.message;
  p.code = err.code.category() == acme_category() ? static_cast<acme_errc>(err.code.value())
                                                   : acme_errc::connection;
  return p;
}

int result_status(const problem& p) {
  constexpr int apr_badarg = 20013, apr_egeneral = 20014, apr_timeup = 70007;
  if (!p.type.empty()) {
    static const std::pair<std::string_view, int> table[] = {
      {"badCSR", EINVAL}, {"badNonce", EAGAIN}, {"badSignatureAlgorithm", EINVAL},
      {"externalAccountRequired", EINVAL}, {"invalidContact", apr_badarg}, {"malformed", EINVAL},
      {"rateLimited", apr_badarg}, {"rejectedIdentifier", apr_badarg}, {"unauthorized", EACCES},
      {"unsupportedIdentifier", apr_badarg}, {"badRevocationReason", EINVAL},
    };
    const std::string t = p.short_type();
    for (const auto& [name, status] : table)
      if (strcasecmp(t.c_str(), std::string(name).c_str()) == 0) return status;
    return apr_egeneral;
  }
  switch (p.http_status) {
    case 0: break;
    case 400: return EINVAL;
    case 401: case 403: return EACCES;
    case 404: return ENOENT;
    default: return apr_egeneral;
  }
  switch (p.code) {
    case acme_errc::connection: return ECONNREFUSED;
    case acme_errc::timeout: return apr_timeup;
    case acme_errc::tls: return ECONNABORTED;
    default: return apr_egeneral;
  }
}

error to_error(const problem& p) {
  if (p.http_status == 0) return {p.code, p.detail};
  std::string where = "HTTP " + std::to_string(p.http_status) + " from " + p.url;
  if (p.type.empty()) return {p.code, "unexpected " + where};
  std::string msg = "acme problem " + p.type + ": " + p.detail;
  for (const auto& s : p.subproblems) {
    msg += "; ";
    if (s.ident) msg += s.ident->type + " '" + s.ident->value + "': ";
    msg += s.type + ": " + s.detail;
  }
  return {p.code, msg + " (" + where + ")"};
}

bool is_input_related(std::string_view type) {
  std::string name = short_name(type);
  return std::any_of(k_input_related.begin(), k_input_related.end(),
                     [&](std::string_view t) { return iequals(t, name); });
}

classification classify(const problem& p) {
  classification c;
  c.retry_after = p.retry_after;
  std::string name = p.short_type();
  if (iequals(name, "badNonce")) {
    c.retryable = c.immediate = true; // RFC 8555 §6.5: retry with the fresh nonce
  } else if (iequals(name, "rateLimited") || (name.empty() && p.http_status == 429)) {
    c.retryable = c.rate_limited = true;
  } else if (is_input_related(p.type)) {
    c.input_related = true;
  } else if (iequals(name, "serverInternal") || p.http_status >= 500) {
    c.retryable = true;
  } else if (p.http_status == 0) {
    // No answer: connection problems and timeouts pass; a TLS or trust failure, a body over
    // the cap or a bad URL repeat until someone changes something.
    c.retryable = p.code == acme_errc::connection || p.code == acme_errc::timeout;
  }
  return c;
}

run_failure failure_of(std::string detail, const std::optional<problem>& p) {
  if (!p) return plain_failure(std::move(detail));
  run_failure f;
  f.last.status = result_status(*p);
  f.last.problem = p->type;
  f.last.detail = !p->type.empty() && !p->detail.empty() ? p->detail : detail;
  const classification c = classify(*p);
  f.input_related = c.input_related;
  f.rate_limited = c.rate_limited;
  f.retry_after = c.retry_after;
  f.detail = std::move(detail);
  return f;
}

nlohmann::ordered_json problem_to_json(const problem& p) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  if (!p.type.empty()) j["problem"] = p.type;
  if (!p.detail.empty()) j["detail"] = p.detail;
  if (!p.subproblems.empty()) {
    auto& arr = j["subproblems"] = nlohmann::ordered_json::array();
    for (const auto& s : p.subproblems) {
      nlohmann::ordered_json sj;
      sj["type"] = s.type;
      sj["detail"] = s.detail;
      if (s.ident) sj["identifier"] = {{"type", s.ident->type}, {"value", s.ident->value}};
      arr.push_back(std::move(sj));
    }
  }
  return j;
}

expected<problem> problem_from_json(const nlohmann::json& last) {
  if (!last.is_object())
    return error(acme_errc::bad_response, "job.json \"last\" is not an object");
  for (const char* key : {"problem", "detail"})
    if (last.contains(key) && !last[key].is_string())
      return error(acme_errc::bad_response,
                   std::string("job.json \"last\": \"") + key + "\" is not a string");
  if (last.contains("subproblems") && !last["subproblems"].is_array())
    return error(acme_errc::bad_response, "job.json \"last\": \"subproblems\" is not an array");
  problem p;
  p.type = string_member(last, "problem");
  p.detail = string_member(last, "detail");
  p.subproblems = subproblems_of(last);
  p.code = problem_code(p.type, 0);
  return p;
}

} // namespace mda::acme
