#include <catch2/catch.hpp>

#include <filesystem>

#include "core/base64.hpp"
#include "ocsp/persist.hpp"
#include "store/fs_store.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace mda::ocsp;
using namespace std::chrono;

namespace {

const std::string k_key = "0123456789abcdef0123456789abcdef01234567";
const std::string k_url = "http://127.0.0.1:9/ocsp";

sys_time t0() { return from_unix(1800000000); } // Fri, 15 Jan 2027 08:00:00 GMT

stored_response sample(cert_status st = cert_status::good) {
  stored_response s;
  s.status = st;
  s.der = std::string("\x30\x03\x0a\x01\x00", 5);
  s.valid = {t0(), t0() + hours(100)};
  return s;
}

response checked(cert_status st, std::optional<sys_time> next) {
  response r;
  r.status = st;
  r.this_update = t0();
  r.next_update = next;
  r.der = "DER";
  return r;
}

} // namespace

TEST_CASE("ocsp persist: the file as mod_md writes it", "[ocsp]") {
  const auto j = to_json(sample(cert_status::revoked));
  CHECK(j.dump(2) == "{\n"
                     "  \"response\": \"" + base64url_encode(sample().der) + "\",\n"
                     "  \"status\": \"revoked\",\n"
                     "  \"valid\": {\n"
                     "    \"from\": \"Fri, 15 Jan 2027 08:00:00 GMT\",\n"
                     "    \"until\": \"Tue, 19 Jan 2027 12:00:00 GMT\"\n"
                     "  }\n"
                     "}");
  auto back = stored_response_from_json(j, "x.json");
  REQUIRE(back.ok());
  CHECK(*back == sample(cert_status::revoked));
  CHECK(to_json(stored_response{}).dump() == "{}");

  auto odd = j;
  odd["status"] = "weird";
  CHECK(stored_response_from_json(odd, "x.json")->status == cert_status::unknown);
  auto missing = j;
  missing.erase("response");
  auto e = stored_response_from_json(missing, "x.json");
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().code == json_errc::missing);
  CHECK(e.error().message == "x.json: \"response\" is missing");
  auto bad = j;
  bad["response"] = "*";
  CHECK(stored_response_from_json(bad, "x.json").error().message ==
        "x.json: \"response\" is not base64url");
  auto bad_date = j;
  bad_date["valid"]["until"] = "tomorrow";
  CHECK(stored_response_from_json(bad_date, "x.json").error().message ==
        "x.json: \"valid.until\" is not an RFC 822 date: 'tomorrow'");
}

TEST_CASE("ocsp persist: what is stored of a response", "[ocsp]") {
  auto s = stored_from(checked(cert_status::good, t0() + hours(48)), k_url);
  REQUIRE(s.ok());
  CHECK(s->valid.start == t0());
  CHECK(s->valid.end == t0() + hours(48));
  CHECK(s->der == "DER");
  // Without nextUpdate: 12 hours (mod_md).
  CHECK(stored_from(checked(cert_status::revoked, std::nullopt), k_url)->valid.end == t0() + hours(12));
  auto unknown = stored_from(checked(cert_status::unknown, t0() + hours(1)), k_url);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code == ocsp_errc::cert_unknown);
  CHECK(unknown.error().message ==
        "the OCSP responder does not know the certificate (OCSP responder 'http://127.0.0.1:9/ocsp')");
}

TEST_CASE("ocsp persist: store files and the job", "[ocsp]") {
  test::temp_dir dir;
  auto st = fs_store::open(dir.path());
  REQUIRE(st.ok());
  auto none = load_stored(*st, "example.org", k_key);
  REQUIRE(none.ok());
  CHECK_FALSE(*none);

  REQUIRE(save_stored(*st, "example.org", k_key, sample()).ok());
  CHECK(std::filesystem::exists(dir / ("ocsp/example.org/ocsp-" + k_key + ".json")));
  auto back = load_stored(*st, "example.org", k_key);
  REQUIRE(back.ok());
  REQUIRE(*back);
  CHECK(**back == sample());
  REQUIRE(save_stored(*st, k_other_name, k_key, sample()).ok());
  CHECK(std::filesystem::exists(dir / ("ocsp/other/ocsp-" + k_key + ".json")));

  test::write_file(dir / ("ocsp/example.org/ocsp-" + k_key + ".json"), "{\"status\":\"good\"}");
  auto broken = load_stored(*st, "example.org", k_key);
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.error().message ==
        "ocsp/example.org/ocsp-" + k_key + ".json: \"response\" is missing");

  auto j = load_ocsp_job(*st, "example.org");
  REQUIRE(j.ok());
  CHECK(j->name == "example.org");
  CHECK(j->errors == 0);
  j->errors = 2;
  j->log_append(t0(), "ocsp-error", "", "boom");
  REQUIRE(save_ocsp_job(*st, "example.org", *j).ok());
  CHECK(std::filesystem::exists(dir / "ocsp/example.org/job.json"));
  auto j2 = load_ocsp_job(*st, "example.org");
  REQUIRE(j2.ok());
  CHECK(*j2 == *j);
}

TEST_CASE("ocsp persist: refresh in the renew window", "[ocsp]") {
  const time_period valid{t0(), t0() + hours(100)};
  // 33% (the default) of 100 hours: refresh 33 hours before the end.
  CHECK(refresh_at(valid, default_stapling_renew_window()) == t0() + hours(67));
  CHECK_FALSE(needs_refresh(valid, default_stapling_renew_window(), t0() + hours(67) - seconds(1)));
  CHECK(needs_refresh(valid, default_stapling_renew_window(), t0() + hours(67)));
  CHECK(refresh_at(valid, timeslice::absolute(hours(10))) == t0() + hours(90));

  auto s = sample();
  CHECK(is_servable(s, t0() + hours(99)));
  CHECK_FALSE(is_servable(s, t0() + hours(100)));
  CHECK_FALSE(is_servable(stored_response{}, t0()));
}

TEST_CASE("ocsp persist: cleanup of old responses", "[ocsp]") {
  test::temp_dir dir;
  auto st = fs_store::open(dir.path());
  REQUIRE(st.ok());
  const std::string old_key(40, 'a'), new_key(40, 'b');
  REQUIRE(save_stored(*st, "example.org", old_key, sample()).ok());
  REQUIRE(save_stored(*st, k_other_name, new_key, sample()).ok());
  REQUIRE(save_ocsp_job(*st, "example.org", job{}).ok());
  const auto now = sys_clock::now();
  const auto eight_days_ago = std::filesystem::file_time_type::clock::now() - hours(24 * 8);
  std::filesystem::last_write_time(dir / ("ocsp/example.org/ocsp-" + old_key + ".json"), eight_days_ago);
  std::filesystem::last_write_time(dir / "ocsp/example.org/job.json", eight_days_ago);

  REQUIRE(remove_old_responses(*st, default_stapling_keep_response(), now).ok());
  CHECK_FALSE(std::filesystem::exists(dir / ("ocsp/example.org/ocsp-" + old_key + ".json")));
  CHECK(std::filesystem::exists(dir / ("ocsp/other/ocsp-" + new_key + ".json")));
  CHECK(std::filesystem::exists(dir / "ocsp/example.org/job.json"));
}

TEST_CASE("ocsp persist: a failed fetch keeps the previous response", "[ocsp]") {
  test::temp_dir dir;
  auto st = fs_store::open(dir.path());
  REQUIRE(st.ok());
  const auto previous = sample();
  REQUIRE(save_stored(*st, "example.org", k_key, previous).ok());
  const error failure(ocsp_errc::bad_response, "the responder answered HTTP 503");

  SECTION("success: saved and current") {
    auto out = apply_fetch(*st, "example.org", k_key, checked(cert_status::revoked, t0() + hours(5)),
                           k_url, previous, t0() + hours(1));
    CHECK(out.saved);
    CHECK_FALSE(out.failure);
    REQUIRE(out.current);
    CHECK(out.current->status == cert_status::revoked);
    CHECK((*load_stored(*st, "example.org", k_key))->status == cert_status::revoked);
  }
  SECTION("failure while the previous one is valid") {
    auto out = apply_fetch(*st, "example.org", k_key, expected<response>(failure), k_url, previous,
                           t0() + hours(80));
    CHECK_FALSE(out.saved);
    REQUIRE(out.failure);
    CHECK(out.failure->message == "the responder answered HTTP 503");
    REQUIRE(out.current);
    CHECK(*out.current == previous);
    CHECK(**load_stored(*st, "example.org", k_key) == previous);
  }
  SECTION("failure after the previous one expired: nothing to staple, file kept") {
    auto out = apply_fetch(*st, "example.org", k_key, expected<response>(failure), k_url, previous,
                           t0() + hours(100));
    CHECK_FALSE(out.current);
    CHECK(out.failure);
    CHECK(**load_stored(*st, "example.org", k_key) == previous);
  }
  SECTION("unknown is a failure too") {
    auto out = apply_fetch(*st, "example.org", k_key, checked(cert_status::unknown, t0() + hours(5)),
                           k_url, previous, t0() + hours(1));
    REQUIRE(out.failure);
    CHECK(out.failure->code == ocsp_errc::cert_unknown);
    CHECK(out.current == previous);
  }
}
