#include <catch2/catch.hpp>

#include <cerrno>

#include "acme/problem.hpp"
#include "core/json_util.hpp"

using namespace mda;
using namespace mda::acme;
using namespace std::chrono_literals;

namespace {

sys_time at(const char* rfc3339) { return *parse_rfc3339(rfc3339); }

const sys_time k_now = at("2026-11-28T15:00:00Z");

http_response answer(int status, std::string media, std::string body) {
  http_response r;
  r.url = "https://ca.test/acme/new-order";
  r.status = status;
  if (!media.empty()) r.headers.emplace("Content-Type", media);
  r.body = std::move(body);
  return r;
}

std::string urn(const char* name) { return std::string(acme_error_ns) + name; }

} // namespace

TEST_CASE("parse_retry_after reads delta-seconds and all HTTP-date forms", "[acme][problem]") {
  const sys_time date = at("2026-10-21T07:28:00Z");
  struct row { const char* value; std::optional<sys_time> expected; };
  const row rows[] = {
      {"120", k_now + 120s},
      {" 0 ", k_now},
      {"99999999999999999999", k_now + 366 * 24h}, // capped at a year
      {"Wed, 21 Oct 2026 07:28:00 GMT", date},     // IMF-fixdate
      {"Wednesday, 21-Oct-26 07:28:00 GMT", date}, // RFC 850
      {"Wed Oct 21 07:28:00 2026", date},          // asctime
      {"Thu Oct  1 07:28:00 2026", at("2026-10-01T07:28:00Z")},
      {"Fri, 01 Jan 2100 00:00:00 GMT", k_now + 366 * 24h}, // a date is capped like the seconds
      {"", std::nullopt},
      {"soon", std::nullopt},
      {"-5", std::nullopt},
      {"1.5", std::nullopt},
      {"Wed, 21 Foo 2026 07:28:00 GMT", std::nullopt},
      {"Wednesday, 21-Oct-26 07:28:00 CET", std::nullopt},
  };
  for (const auto& r : rows) {
    INFO("Retry-After: '" << r.value << "'");
    CHECK(parse_retry_after(r.value, k_now) == r.expected);
  }
}

TEST_CASE("problem_from_response parses RFC 8555 problem documents", "[acme][problem]") {
  auto res = answer(403, "application/problem+json; charset=utf-8", R"({
    "type": "urn:ietf:params:acme:error:rejectedIdentifier",
    "detail": "Some identifiers were rejected",
    "status": 403,
    "subproblems": [
      {"type": "urn:ietf:params:acme:error:malformed", "detail": "bad name",
       "identifier": {"type": "dns", "value": "_x.example.test"}},
      {"type": "urn:ietf:params:acme:error:caa", "detail": "CAA forbids"},
      "junk"
    ]})");
  res.headers.emplace("Retry-After", "30");
  auto p = problem_from_response(res, k_now);
  CHECK(p.type == urn("rejectedIdentifier"));
  CHECK(p.short_type() == "rejectedIdentifier");
  CHECK(p.detail == "Some identifiers were rejected");
  CHECK(p.status == 403);
  CHECK(p.http_status == 403);
  CHECK(p.url == "https://ca.test/acme/new-order");
  CHECK(p.retry_after == k_now + 30s);
  CHECK(p.code == acme_errc::invalid);
  REQUIRE(p.subproblems.size() == 2);
  CHECK(p.subproblems[0].type == urn("malformed"));
  CHECK(p.subproblems[0].detail == "bad name");
  REQUIRE(p.subproblems[0].ident.has_value());
  CHECK(*p.subproblems[0].ident == identifier{"dns", "_x.example.test"});
  CHECK_FALSE(p.subproblems[1].ident.has_value());

  CHECK(to_error(p).message ==
        "acme problem urn:ietf:params:acme:error:rejectedIdentifier: Some identifiers were "
        "rejected; dns '_x.example.test': urn:ietf:params:acme:error:malformed: bad name; "
        "urn:ietf:params:acme:error:caa: CAA forbids (HTTP 403 from https://ca.test/acme/new-order)");
  CHECK(to_error(p).code == make_error_code(acme_errc::invalid));
}

TEST_CASE("problem_from_response synthesizes a problem per HTTP status", "[acme][problem]") {
  struct row { int status; const char* media; const char* body; acme_errc code; };
  const row rows[] = {
      {400, "", "", acme_errc::invalid},
      {401, "text/plain", "no", acme_errc::unauthorized},
      {403, "", "", acme_errc::unauthorized},
      {404, "text/html", "<html>not here</html>", acme_errc::not_found},
      {429, "", "", acme_errc::rate_limited},
      {503, "", "", acme_errc::again},
      {500, "application/problem+json", "{not json", acme_errc::server},
      {502, "application/problem+json", "{\"detail\":\"no type\"}", acme_errc::server},
      {302, "", "", acme_errc::server},
  };
  for (const auto& r : rows) {
    INFO("status " << r.status);
    auto p = problem_from_response(answer(r.status, r.media, r.body), k_now);
    CHECK(p.type.empty());
    CHECK(p.detail.empty());
    CHECK(p.http_status == r.status);
    CHECK(p.code == r.code);
    CHECK(to_error(p).message ==
          "unexpected HTTP " + std::to_string(r.status) + " from https://ca.test/acme/new-order");
  }
}

TEST_CASE("problem types map to mod_md's status kinds", "[acme][problem]") {
  struct row { const char* type; acme_errc code; };
  const row rows[] = {
      {"urn:ietf:params:acme:error:badNonce", acme_errc::again},
      {"urn:acme:error:badNonce", acme_errc::again}, // pre-RFC namespace
      {"URN:IETF:PARAMS:ACME:ERROR:BADNONCE", acme_errc::again},
      {"urn:ietf:params:acme:error:rateLimited", acme_errc::rate_limited},
      {"urn:ietf:params:acme:error:unauthorized", acme_errc::unauthorized},
      {"urn:ietf:params:acme:error:accountDoesNotExist", acme_errc::not_found},
      {"urn:ietf:params:acme:error:badCSR", acme_errc::invalid},
      {"urn:ietf:params:acme:error:userActionRequired", acme_errc::invalid},
      {"urn:ietf:params:acme:error:serverInternal", acme_errc::server},
      {"urn:ietf:params:acme:error:caa", acme_errc::server},
      {"urn:example:other", acme_errc::server},
  };
  for (const auto& r : rows) {
    INFO(r.type);
    CHECK(problem_code(r.type, 200) == r.code);
  }
}

TEST_CASE("classify decides retry, input, rate limit", "[acme][problem]") {
  struct row {
    const char* name; // short ACME type or "" for none
    int http_status;
    acme_errc code;
    bool retryable, immediate, input_related, rate_limited;
  };
  const row rows[] = {
      {"badNonce", 400, acme_errc::again, true, true, false, false},
      {"rateLimited", 429, acme_errc::rate_limited, true, false, false, true},
      {"", 429, acme_errc::rate_limited, true, false, false, true},
      {"serverInternal", 500, acme_errc::server, true, false, false, false},
      {"", 500, acme_errc::server, true, false, false, false},
      {"", 503, acme_errc::again, true, false, false, false},
      {"", 0, acme_errc::connection, true, false, false, false},
      {"", 0, acme_errc::timeout, true, false, false, false},
      {"", 0, acme_errc::tls, false, false, false, false},
      {"", 0, acme_errc::body_too_large, false, false, false, false},
      {"unauthorized", 403, acme_errc::unauthorized, false, false, false, false},
      {"", 404, acme_errc::not_found, false, false, false, false},
      {"caa", 403, acme_errc::server, false, false, false, false},
      {"agreementRequired", 403, acme_errc::invalid, false, false, true, false},
      {"badCSR", 400, acme_errc::invalid, false, false, true, false},
      {"badSignatureAlgorithm", 400, acme_errc::invalid, false, false, true, false},
      {"externalAccountRequired", 403, acme_errc::invalid, false, false, true, false},
      {"invalidContact", 400, acme_errc::invalid, false, false, true, false},
      {"unsupportedContact", 400, acme_errc::invalid, false, false, true, false},
      {"malformed", 400, acme_errc::invalid, false, false, true, false},
      {"rejectedIdentifier", 400, acme_errc::invalid, false, false, true, false},
      {"unsupportedIdentifier", 400, acme_errc::invalid, false, false, true, false},
      {"userActionRequired", 403, acme_errc::invalid, false, false, true, false},
      {"badRevocationReason", 400, acme_errc::invalid, false, false, true, false},
  };
  for (const auto& r : rows) {
    INFO("type '" << r.name << "', HTTP " << r.http_status);
    problem p;
    if (*r.name) p.type = urn(r.name);
    p.http_status = r.http_status;
    p.code = r.code;
    auto c = classify(p);
    CHECK(c.retryable == r.retryable);
    CHECK(c.immediate == r.immediate);
    CHECK(c.input_related == r.input_related);
    CHECK(c.rate_limited == r.rate_limited);
    CHECK(is_input_related(p.type) == r.input_related);
  }
}

TEST_CASE("classify carries Retry-After for rate limits and 503", "[acme][problem]") {
  auto res = answer(429, "application/problem+json",
                    R"({"type":"urn:ietf:params:acme:error:rateLimited","detail":"too many"})");
  res.headers.emplace("Retry-After", "3600");
  auto c = classify(problem_from_response(res, k_now));
  CHECK(c.rate_limited);
  CHECK(c.retryable);
  CHECK(c.retry_after == k_now + 1h);

  auto busy = answer(503, "", "");
  busy.headers.emplace("Retry-After", "Sat, 28 Nov 2026 15:10:00 GMT");
  c = classify(problem_from_response(busy, k_now));
  CHECK(c.retryable);
  CHECK_FALSE(c.rate_limited);
  CHECK(c.retry_after == k_now + 10min);
}

TEST_CASE("problem_from_error keeps transport failures classifiable", "[acme][problem]") {
  error refused(acme_errc::connection,
                "Unsuccessful in contacting ACME server at https://ca.test/dir: connection refused");
  auto p = problem_from_error(refused, "https://ca.test/dir");
  CHECK(p.type.empty());
  CHECK(p.http_status == 0);
  CHECK(p.code == acme_errc::connection);
  CHECK(p.detail == refused.message);
  CHECK(classify(p).retryable);
  CHECK(to_error(p).message == refused.message);
  CHECK(to_error(p).code == make_error_code(acme_errc::connection));

  auto other = problem_from_error(error(crypto_errc::library, "x() failed"), "u");
  CHECK(other.code == acme_errc::connection);
}

TEST_CASE("problem fields round-trip through job.json \"last\"", "[acme][problem]") {
  problem p;
  p.type = urn("rejectedIdentifier");
  p.detail = "no";
  p.subproblems.push_back({urn("malformed"), "bad", identifier{"ip", "10.0.0.1"}});
  p.subproblems.push_back({urn("caa"), "caa says no", std::nullopt});
  auto j = problem_to_json(p);
  CHECK(j.dump() ==
        R"({"problem":"urn:ietf:params:acme:error:rejectedIdentifier","detail":"no",)"
        R"("subproblems":[{"type":"urn:ietf:params:acme:error:malformed","detail":"bad",)"
        R"("identifier":{"type":"ip","value":"10.0.0.1"}},)"
        R"({"type":"urn:ietf:params:acme:error:caa","detail":"caa says no"}]})");

  nlohmann::json last = nlohmann::json::parse(j.dump());
  last["status"] = 22;
  last["activity"] = "ignored here";
  auto back = problem_from_json(last);
  REQUIRE(back.ok());
  CHECK(back->type == p.type);
  CHECK(back->detail == p.detail);
  REQUIRE(back->subproblems.size() == 2);
  CHECK(back->subproblems[0].ident == p.subproblems[0].ident);
  CHECK(back->code == acme_errc::invalid);
  CHECK(problem_to_json(*back) == j);

  CHECK(problem_to_json(problem{}).dump() == "{}");

  struct bad { const char* json; const char* message; };
  const bad rows[] = {
      {"[]", "job.json \"last\" is not an object"},
      {R"({"problem":1})", "job.json \"last\": \"problem\" is not a string"},
      {R"({"detail":null})", "job.json \"last\": \"detail\" is not a string"},
      {R"({"subproblems":{}})", "job.json \"last\": \"subproblems\" is not an array"},
  };
  for (const auto& b : rows) {
    auto r = problem_from_json(nlohmann::json::parse(b.json));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == b.message);
  }
}

TEST_CASE("result_status gives mod_md's APR status of a failure", "[acme][problem]") {
  auto typed = [](const char* type) {
    problem p;
    p.type = type;
    p.http_status = 400;
    return result_status(p);
  };
  CHECK(typed("urn:ietf:params:acme:error:malformed") == EINVAL);
  CHECK(typed("urn:ietf:params:acme:error:unauthorized") == EACCES);
  CHECK(typed("urn:ietf:params:acme:error:rateLimited") == 20013);       // APR_BADARG
  CHECK(typed("urn:acme:error:rejectedIdentifier") == 20013);
  CHECK(typed("urn:ietf:params:acme:error:badNonce") == EAGAIN);
  CHECK(typed("urn:ietf:params:acme:error:serverInternal") == 20014);    // APR_EGENERAL
  CHECK(typed("challenge-mismatch") == 20014);
  problem untyped;
  for (auto [http, status] : {std::pair{400, EINVAL}, {401, EACCES}, {403, EACCES}, {404, ENOENT}, {500, 20014}}) {
    untyped.http_status = http;
    CHECK(result_status(untyped) == status);
  }
  auto transport = [](acme_errc code) { return result_status(problem_from_error(error(code, "x"), "u")); };
  CHECK(transport(acme_errc::connection) == ECONNREFUSED);
  CHECK(transport(acme_errc::timeout) == 70007); // APR_TIMEUP
  CHECK(transport(acme_errc::tls) == ECONNABORTED);
  CHECK(transport(acme_errc::bad_response) == 20014);
}

TEST_CASE("a CA's answer nested too deep is refused before it is parsed", "[acme][problem]") {
  CHECK(json_nesting_within(R"({"a": [1, {"b": "]]]]"}]})", 3));
  CHECK_FALSE(json_nesting_within(R"({"a": [1, {"b": 2}]})", 2));
  CHECK(json_nesting_within(R"("[[[[[[", "\"[[[")", 1)); // brackets in strings do not count
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  CHECK_FALSE(json_nesting_within(deep));
  CHECK(json_nesting_within(std::string(64, '[') + std::string(64, ']')));
  // a problem document that deep: no problem type read, the HTTP status stands
  http_response res;
  res.url = "https://ca.test/x";
  res.status = 400;
  res.headers.emplace("Content-Type", "application/problem+json");
  res.body = "{\"type\": \"urn:ietf:params:acme:error:malformed\", \"x\": " + deep + "}";
  const problem p = problem_from_response(res, k_now);
  CHECK(p.type.empty());
  CHECK(p.code == acme_errc::invalid);
}

TEST_CASE("failure_of: one failure value from the CA's problem", "[acme][problem]") {
  auto res = answer(429, "application/problem+json",
                    R"({"type":"urn:ietf:params:acme:error:rateLimited","detail":"too many"})");
  res.headers.emplace("Retry-After", "3600");
  const auto f = failure_of("order failed", problem_from_response(res, k_now));
  CHECK(f.detail == "order failed");
  CHECK(f.last.status == 20013); // APR_BADARG, as mod_md gives rateLimited
  CHECK(f.last.problem == "urn:ietf:params:acme:error:rateLimited");
  CHECK(f.last.detail == "too many");
  CHECK(f.last.activity.empty());
  CHECK(f.rate_limited);
  CHECK_FALSE(f.input_related);
  CHECK(f.retry_after == k_now + 1h);

  problem bad;
  bad.type = "urn:ietf:params:acme:error:rejectedIdentifier";
  const auto g = failure_of("rejected", bad);
  CHECK(g.last.detail == "rejected"); // the CA sent no detail: ours
  CHECK(g.input_related);
  CHECK_FALSE(g.retry_after);

  problem refused = problem_from_error(error(acme_errc::connection, "Connection refused"), "https://ca.test/dir");
  const auto h = failure_of("Connection refused", refused);
  CHECK(h.last.status == ECONNREFUSED);
  CHECK(h.last.problem.empty());
  CHECK(h.last.detail == "Connection refused");

  const auto none = failure_of("no CA configured", std::nullopt);
  CHECK(none == plain_failure("no CA configured"));
  CHECK(none.last.status == 20014);
  CHECK(none.last.detail == "no CA configured");
  CHECK_FALSE(none.rate_limited);
}
