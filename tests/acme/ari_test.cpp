#include <catch2/catch.hpp>

#include <limits>
#include <random>

#include "acme/ari.hpp"

using namespace mda;
using namespace mda::acme;
using namespace std::chrono_literals;

namespace {

sys_time at(const char* rfc3339) { return *parse_rfc3339(rfc3339); }

const std::string k_url = "https://ca.test/acme/renewal-info/aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE";

random_source fixed(std::uint64_t v) {
  return [v] { return v; };
}

renewal_info window(sys_time start, sys_time end) {
  renewal_info i;
  i.window_start = start;
  i.window_end = end;
  return i;
}

} // namespace

TEST_CASE("ari_cert_id follows RFC 9773 §4.1", "[acme][ari]") {
  const std::string aki("\x69\x88\x5B\x6B\x87\x46\x40\x41\xE1\xB3\x7B\x84\x7B\xA0\xAE\x2C\xDE\x01\xC8\xD4", 20);
  // The RFC's example: serial 0x87654321 gets its DER sign byte.
  CHECK(ari_cert_id(aki, std::string("\x87\x65\x43\x21", 4)) == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
  CHECK(ari_cert_id(aki, std::string("\x00\x87\x65\x43\x21", 5)) == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
  CHECK(ari_cert_id(aki, std::string("\x00\x00\x12", 3)) == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.Eg");
  CHECK(ari_cert_id(aki, std::string("\x01", 1)) == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AQ");
  CHECK(renewal_info_url("https://ca.test/ari/", "A.B") == "https://ca.test/ari/A.B");
  CHECK(renewal_info_url("https://ca.test/ari", "A.B") == "https://ca.test/ari/A.B");
}

TEST_CASE("parse_renewal_info reads the window with offsets and Retry-After", "[acme][ari]") {
  const sys_time now = at("2025-01-01T00:00:00Z");
  auto info = parse_renewal_info(k_url, R"({
      "suggestedWindow": {"start": "2025-01-02T04:00:00+02:00", "end": "2025-01-03T04:00:00.500Z"},
      "explanationURL": "https://ca.test/docs/ari"})", "21600", now);
  REQUIRE(info.ok());
  CHECK(info->window_start == at("2025-01-02T02:00:00Z"));
  CHECK(info->window_end == at("2025-01-03T04:00:00Z") + 500ms);
  CHECK(info->explanation_url == "https://ca.test/docs/ari");
  CHECK(info->next_check == now + 6h);

  struct row { const char* retry_after; sys_time next; };
  const row rows[] = {
      {"10", now + 1min},               // below one minute counts as one minute (§4.3.2)
      {"172800", now + 24h},            // above one day counts as one day
      {"3600", now + 1h},
      {"Wed, 01 Jan 2025 02:00:00 GMT", now + 2h},
      {"", now + 6h},                   // missing: the long-term default (§4.3.3)
      {"tomorrow", now + 6h},
  };
  for (const auto& r : rows) {
    INFO("Retry-After: '" << r.retry_after << "'");
    auto i = parse_renewal_info(
        k_url, R"({"suggestedWindow":{"start":"2025-01-02T00:00:00Z","end":"2025-01-03T00:00:00Z"}})",
        r.retry_after, now);
    REQUIRE(i.ok());
    CHECK(i->next_check == r.next);
    CHECK(i->explanation_url.empty());
  }
}

TEST_CASE("parse_renewal_info names what is wrong", "[acme][ari]") {
  const std::string w = "renewalInfo from " + k_url;
  struct row { const char* body; std::string message; };
  const row rows[] = {
      {"<html/>", w + " is not a JSON object"},
      {R"({"explanationURL":"x"})", w + ": \"suggestedWindow\" is missing"},
      {R"({"suggestedWindow":[]})", w + ": \"suggestedWindow\" is not an object"},
      {R"({"suggestedWindow":{"end":"2025-01-03T00:00:00Z"}})", w + ": \"suggestedWindow.start\" is missing"},
      {R"({"suggestedWindow":{"start":"2025-01-03T00:00:00Z"}})", w + ": \"suggestedWindow.end\" is missing"},
      {R"({"suggestedWindow":{"start":1,"end":"2025-01-03T00:00:00Z"}})",
       w + ": \"suggestedWindow.start\" is not a string"},
      {R"({"suggestedWindow":{"start":"2025-01-02","end":"2025-01-03T00:00:00Z"}})",
       w + ": \"suggestedWindow.start\" is not an RFC 3339 time: '2025-01-02'"},
      {R"({"suggestedWindow":{"start":"2025-01-03T00:00:00Z","end":"2025-01-02T00:00:00Z"}})",
       w + ": suggestedWindow end 2025-01-02T00:00:00Z is not after its start 2025-01-03T00:00:00Z"},
      {R"({"suggestedWindow":{"start":"2025-01-03T00:00:00Z","end":"2025-01-03T01:00:00+01:00"}})",
       w + ": suggestedWindow end 2025-01-03T00:00:00Z is not after its start 2025-01-03T00:00:00Z"},
  };
  for (const auto& r : rows) {
    INFO(r.body);
    auto i = parse_renewal_info(k_url, r.body, "", at("2025-01-01T00:00:00Z"));
    REQUIRE_FALSE(i.ok());
    CHECK(i.error().code == make_error_code(acme_errc::bad_response));
    CHECK(i.error().message == r.message);
  }
}

TEST_CASE("renewal_info_from_response turns errors into problems", "[acme][ari]") {
  http_response res;
  res.url = k_url;
  res.status = 404;
  res.headers.emplace("Content-Type", "application/problem+json");
  res.body = R"({"type":"urn:ietf:params:acme:error:malformed","detail":"Certificate not found"})";
  auto i = renewal_info_from_response(res, at("2025-01-01T00:00:00Z"));
  REQUIRE_FALSE(i.ok());
  CHECK(i.error().message == "acme problem urn:ietf:params:acme:error:malformed: Certificate not "
                             "found (HTTP 404 from " + k_url + ")");

  res.status = 200;
  res.headers = {{"Retry-After", "7200"}};
  res.body = R"({"suggestedWindow":{"start":"2025-01-02T00:00:00Z","end":"2025-01-03T00:00:00Z"}})";
  i = renewal_info_from_response(res, at("2025-01-01T00:00:00Z"));
  REQUIRE(i.ok());
  CHECK(i->next_check == at("2025-01-01T02:00:00Z"));
}

TEST_CASE("choose_renewal_time picks a uniform point inside the window", "[acme][ari]") {
  const sys_time start = at("2025-01-02T00:00:00Z");
  const auto info = window(start, start + 24h);
  const sys_time before = at("2025-01-01T00:00:00Z");
  constexpr auto max = std::numeric_limits<std::uint64_t>::max();

  auto t = choose_renewal_time(info, before, fixed(0));
  CHECK(t.at == start);
  CHECK_FALSE(t.immediate);
  t = choose_renewal_time(info, before, fixed(std::uint64_t(1) << 63));
  CHECK(t.at == start + 12h);
  t = choose_renewal_time(info, before, fixed(std::uint64_t(1) << 62));
  CHECK(t.at == start + 6h);
  t = choose_renewal_time(info, before, fixed(max));
  CHECK(t.at == start + 24h - 1ms); // never the end itself

  std::mt19937_64 gen(42);
  random_source rnd = [&gen] { return gen(); };
  for (int i = 0; i < 1000; ++i) {
    auto r = choose_renewal_time(info, before, rnd);
    CHECK((r.at >= start && r.at < start + 24h));
  }
}

TEST_CASE("choose_renewal_time renews at once when the chosen point has passed", "[acme][ari]") {
  const sys_time start = at("2025-01-02T00:00:00Z");
  const auto info = window(start, start + 24h);
  const sys_time inside = start + 1h;

  auto t = choose_renewal_time(info, inside, fixed(0)); // start + 0 is in the past
  CHECK(t.immediate);
  CHECK(t.at == inside);
  t = choose_renewal_time(info, inside, fixed(std::uint64_t(1) << 63)); // start + 12h: wait
  CHECK_FALSE(t.immediate);
  CHECK(t.at == start + 12h);

  const sys_time after = start + 48h; // the whole window has passed
  t = choose_renewal_time(info, after, fixed(std::uint64_t(1) << 63));
  CHECK(t.immediate);
  CHECK(t.at == after);
}
