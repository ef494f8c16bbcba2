// md-replay (tools/replay/): timelines from mod_md's job logs (the md-status samples of
// tests/data/status, mod_md 2.6.10) and from job.json files written through core/job.hpp as
// the engine writes them; the SVG; --explain on a store with a certificate made relative to
// now; the command line in-process and as a program (MD_REPLAY_PATH).
#include <catch2/catch.hpp>

#include <sstream>

#include "core/certgen.hpp"
#include "core/duration.hpp"
#include "core/engine_config.hpp"
#include "core/job.hpp"
#include "core/md.hpp"
#include "store/fs_store.hpp"
#include "tests/test_util.hpp"
#include "tools/replay/cli.hpp"
#include "tools/replay/explain.hpp"
#include "status/timeline_svg.hpp"
#include "tools/replay/input.hpp"

using namespace mda;
using namespace mda::replay;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {

std::string sample(const std::string& name) {
  return std::string(MDACTOR_TESTS_DIR) + "/data/status/" + name;
}

sys_time t822(const char* text) {
  auto t = parse_rfc822(text);
  REQUIRE(t);
  return *t;
}

std::vector<timeline> timelines_of(const std::string& path) {
  auto jobs = load_input(path);
  REQUIRE(jobs);
  std::vector<timeline> tls;
  for (const auto& j : *jobs) tls.push_back(build_timeline(j));
  return tls;
}

/// A renewal job as the engine logs it: a failed run, a retry 30 s later that fails with an
/// ACME problem, a next run a minute after that.
job failing_job() {
  job j;
  j.name = "x.test";
  const sys_time t0 = t822("Sat, 28 Nov 2026 10:00:00 GMT");
  result r1;
  r1.status = 111;
  r1.activity = "Contacting ACME server for x.test";
  r1.detail = "Connection refused";
  j.log_message(t0, "renewing");
  j.log_starting(t0);
  j.log_progress(t0 + seconds(1), r1);
  j.log_renewal_error(t0 + seconds(1), r1);
  result r2;
  r2.status = 22;
  r2.problem = "urn:ietf:params:acme:error:rateLimited";
  r2.detail = "too many certificates";
  j.log_starting(t0 + seconds(31));
  j.log_renewal_error(t0 + seconds(33), r2);
  j.errors = 2;
  j.last = r2;
  j.last_run = t0 + seconds(31);
  j.next_run = t0 + seconds(93);
  return j;
}

int cli(const std::vector<std::string>& args, std::string& out, std::string& err) {
  std::ostringstream o, e;
  int rc = run_cli(args, o, e, t822("Sat, 28 Nov 2026 10:00:00 GMT"));
  out = o.str();
  err = e.str();
  return rc;
}

} // namespace

TEST_CASE("md-replay: gaps are formatted with two units at most", "[replay]") {
  CHECK(format_gap(seconds(0)) == "0s");
  CHECK(format_gap(seconds(45)) == "45s");
  CHECK(format_gap(seconds(65)) == "1m05s");
  CHECK(format_gap(seconds(2 * 3600 + 3 * 60 + 59)) == "2h03m");
  CHECK(format_gap(seconds(3 * 86400 + 4 * 3600 + 5)) == "3d04h");
  CHECK(format_gap(seconds(-90)) == "-1m30s");
}

TEST_CASE("md-replay: mod_md's OCSP job log as a timeline", "[replay]") {
  const std::string path = sample("lab1.md-a.example.test.json");
  auto tls = timelines_of(path);
  REQUIRE(tls.size() == 1);
  const timeline& tl = tls[0];
  CHECK(tl.md == "a.example.test");
  CHECK(tl.kind == "ocsp");
  REQUIRE(tl.runs.size() == 3);
  CHECK(tl.runs[0].outcome == run_outcome::failed);
  CHECK(tl.runs[1].retry_delay == seconds(2));
  CHECK(tl.runs[2].retry_delay == seconds(3));
  CHECK(format_text(tls) ==
        "== a.example.test ocsp job (" + path + "#cert.rsa.ocsp.renewal)\n"
        "  errors: 0, finished: yes, last-run: Sun, 29 Nov 2026 03:25:51 GMT, next-run: -\n"
        "  Sun, 29 Nov 2026 03:25:46 GMT           #1   starting\n"
        "  Sun, 29 Nov 2026 03:25:46 GMT  +0s      #1   progress         status of certid 5e2cfd1b49d341431c9d8d772e0f1aac54b611e7, contacting http://127.0.0.1:2/ocsp\n"
        "  Sun, 29 Nov 2026 03:25:46 GMT  +0s      #1   finished\n"
        "  Sun, 29 Nov 2026 03:25:46 GMT  +0s      #1   ocsp-error       OCSP status update failed (1. time)\n"
        "  Sun, 29 Nov 2026 03:25:46 GMT  +0s      #1   message-ocsp-errored\n"
        "  Sun, 29 Nov 2026 03:25:48 GMT  +2s      #2   starting\n"
        "  Sun, 29 Nov 2026 03:25:48 GMT  +0s      #2   progress         status of certid 5e2cfd1b49d341431c9d8d772e0f1aac54b611e7, contacting http://127.0.0.1:2/ocsp\n"
        "  Sun, 29 Nov 2026 03:25:48 GMT  +0s      #2   finished\n"
        "  Sun, 29 Nov 2026 03:25:48 GMT  +0s      #2   ocsp-error       OCSP status update failed (2. time)\n"
        "  Sun, 29 Nov 2026 03:25:51 GMT  +3s      #3   starting\n"
        "  Sun, 29 Nov 2026 03:25:51 GMT  +0s      #3   progress         status of certid 5e2cfd1b49d341431c9d8d772e0f1aac54b611e7, contacting http://127.0.0.1:2/ocsp\n"
        "  Sun, 29 Nov 2026 03:25:51 GMT  +0s      #3   finished\n"
        "  Sun, 29 Nov 2026 03:25:51 GMT  +0s      #3   ocsp-error       OCSP status update failed (3. time)\n"
        "  runs: 3 (3 failed, 0 finished)\n"
        "  retry 1: run 2 started 2s after run 1 failed\n"
        "  retry 2: run 3 started 3s after run 2 failed\n"
        "  stopped run 3: ocsp-error, problem -: OCSP status update failed (3. time)\n"
        "  last result: status 111 (Connection refused), activity: status of certid "
        "5e2cfd1b49d341431c9d8d772e0f1aac54b611e7, contacting http://127.0.0.1:2/ocsp\n");
}

TEST_CASE("md-replay: mod_md's successful renewal as a timeline", "[replay]") {
  const std::string path = sample("ref-staged.md-b.example.test.json");
  auto tls = timelines_of(path);
  REQUIRE(tls.size() == 1);
  text_options narrow;
  narrow.detail_width = 40;
  CHECK(format_text(tls, narrow) ==
        "== b.example.test renewal job (" + path + "#renewal)\n"
        "  errors: 0, finished: yes, last-run: Sat, 28 Nov 2026 15:36:35 GMT, next-run: -\n"
        "  Sat, 28 Nov 2026 15:36:35 GMT           -    message-renewing\n"
        "  Sat, 28 Nov 2026 15:36:35 GMT  +0s      #1   starting\n"
        "  Sat, 28 Nov 2026 15:36:35 GMT  +0s      #1   progress         MDomain b.example.test initialized wi...\n"
        "  Sat, 28 Nov 2026 15:36:35 GMT  +0s      #1   progress         Starting challenges for domains: b.ex...\n"
        "  Sat, 28 Nov 2026 15:36:35 GMT  +0s      #1   message-challenge-setup:http-01:b.example.test\n"
        "  Sat, 28 Nov 2026 15:36:36 GMT  +1s      #1   progress         Creating new order, key-spec=rsa-3072...\n"
        "  Sat, 28 Nov 2026 15:36:36 GMT  +0s      #1   progress         Submitting rsa CSR to CA\n"
        "  Sat, 28 Nov 2026 15:36:37 GMT  +1s      #1   progress         Waiting for finalized order to become...\n"
        "  Sat, 28 Nov 2026 15:36:37 GMT  +0s      #1   progress         Retrieving rsa certificate chain for ...\n"
        "  Sat, 28 Nov 2026 15:36:37 GMT  +0s      #1   progress         The certificate for the managed domai...\n"
        "  Sat, 28 Nov 2026 15:36:37 GMT  +0s      #1   finished\n"
        "  Sat, 28 Nov 2026 15:36:37 GMT  +0s      #1   message-renewed\n"
        "  runs: 1 (0 failed, 1 finished)\n");
}

TEST_CASE("md-replay: mod_md's failing renewal, retries and the next retry", "[replay]") {
  auto tls = timelines_of(sample("lab1.md-e.example.test.json"));
  REQUIRE(tls.size() == 1);
  const timeline& tl = tls[0];
  CHECK(tl.steps.size() == 27);
  CHECK(tl.steps.front().type == "message-renewing");
  CHECK(tl.steps.front().run == 0);
  CHECK(tl.steps.back().type == "renewal-error");
  CHECK(tl.steps.back().error);
  REQUIRE(tl.runs.size() == 3);
  CHECK(tl.runs[0].retry_delay == std::nullopt);
  CHECK(tl.runs[1].retry_delay == seconds(2));
  CHECK(tl.runs[2].retry_delay == seconds(4));
  CHECK(tl.next_retry_delay == seconds(10));
  const std::string text = format_text(tls);
  const std::string tail =
      "  runs: 3 (3 failed, 0 finished)\n"
      "  retry 1: run 2 started 2s after run 1 failed\n"
      "  retry 2: run 3 started 4s after run 2 failed\n"
      "  next retry: Sun, 29 Nov 2026 03:26:02 GMT, 10s after the last error (errors: 3)\n"
      "  stopped run 3: renewal-error, problem -: Unsuccessful in contacting ACME server at "
      "<https://127.0.0.1:1/dir>. If this problem persists, please check your netw...\n"
      "  last result: status 111 (Connection refused), activity: Contacting ACME server for "
      "e.example.test at https://127.0.0.1:1/dir\n";
  REQUIRE(text.size() > tail.size());
  CHECK(text.substr(text.size() - tail.size()) == tail);
}

TEST_CASE("md-replay: md-status of all MDs and snapshots give one timeline per job", "[replay]") {
  auto tls = timelines_of(sample("lab2.md-status.json"));
  std::vector<std::string> names;
  for (const auto& tl : tls) names.push_back(tl.md + "/" + tl.kind);
  CHECK(names == std::vector<std::string>{"a.example.test/ocsp", "c.example.test/ocsp",
                                          "d.example.test/ocsp", "e.example.test/renewal"});
  auto snap = timelines_of(sample("lab1.snapshot.json"));
  REQUIRE(snap.size() == 2);
  CHECK(snap[0].md == "e.example.test");
  CHECK(snap[0].runs.size() == 3);
  CHECK(snap[1].kind == "ocsp");
}

TEST_CASE("md-replay: job.json files the engine wrote, read from a store", "[replay]") {
  test::temp_dir dir;
  auto st = fs_store::open(dir.path());
  REQUIRE(st);
  job done;
  done.name = "x.test";
  done.finished = true;
  done.log_starting(t822("Fri, 27 Nov 2026 09:00:00 GMT"));
  done.log_finished(t822("Fri, 27 Nov 2026 09:00:05 GMT"));
  REQUIRE(st->save_json(store_group::domains, "x.test", aspect::job, to_json(done)));
  REQUIRE(st->save_json(store_group::staging, "x.test", aspect::job, to_json(failing_job())));
  auto jobs = read_store(dir.path());
  REQUIRE(jobs);
  REQUIRE(jobs->size() == 2);
  std::vector<timeline> tls{build_timeline((*jobs)[0]), build_timeline((*jobs)[1])};
  CHECK(format_text(tls) ==
        "== x.test renewal job (" + dir.path() + "/domains/x.test/job.json)\n"
        "  errors: 0, finished: yes, last-run: -, next-run: -\n"
        "  Fri, 27 Nov 2026 09:00:00 GMT           #1   starting\n"
        "  Fri, 27 Nov 2026 09:00:05 GMT  +5s      #1   finished\n"
        "  runs: 1 (0 failed, 1 finished)\n"
        "\n"
        "== x.test renewal job (" + dir.path() + "/staging/x.test/job.json)\n"
        "  errors: 2, finished: no, last-run: Sat, 28 Nov 2026 10:00:31 GMT, next-run: Sat, 28 Nov 2026 10:01:33 GMT\n"
        "  Sat, 28 Nov 2026 10:00:00 GMT           -    message-renewing\n"
        "  Sat, 28 Nov 2026 10:00:00 GMT  +0s      #1   starting\n"
        "  Sat, 28 Nov 2026 10:00:01 GMT  +1s      #1   progress         Contacting ACME server for x.test: Connection refused\n"
        "  Sat, 28 Nov 2026 10:00:01 GMT  +0s      #1   renewal-error    Connection refused\n"
        "  Sat, 28 Nov 2026 10:00:31 GMT  +30s     #2   starting\n"
        "  Sat, 28 Nov 2026 10:00:33 GMT  +2s      #2   renewal-error    [urn:ietf:params:acme:error:rateLimited] too many certificates\n"
        "  runs: 2 (2 failed, 0 finished)\n"
        "  retry 1: run 2 started 30s after run 1 failed\n"
        "  next retry: Sat, 28 Nov 2026 10:01:33 GMT, 1m00s after the last error (errors: 2)\n"
        "  stopped run 2: renewal-error, problem urn:ietf:params:acme:error:rateLimited: too many certificates\n"
        "  last result: status 22 (Invalid argument), problem urn:ietf:params:acme:error:rateLimited\n");
  // nothing was written besides what the test saved
  auto names = st->list_names(store_group::ocsp);
  REQUIRE(names);
  CHECK(names->empty());
}

TEST_CASE("md-replay: the JSON form", "[replay]") {
  job_source src;
  src.md = "x.test";
  src.kind = "renewal";
  src.origin = "job.json";
  src.job = failing_job();
  auto j = to_json(std::vector<timeline>{build_timeline(src)});
  const auto& t = j["timelines"][0];
  CHECK(t["errors"] == 2);
  CHECK(t["next-retry-delay"] == 60);
  CHECK(t["last"]["problem"] == "urn:ietf:params:acme:error:rateLimited");
  REQUIRE(t["steps"].size() == 6);
  CHECK(t["steps"][0]["since-previous"].is_null());
  CHECK(t["steps"][4]["since-previous"] == 30);
  CHECK(t["steps"][4]["run"] == 2);
  CHECK(t["runs"][1].dump() ==
        R"({"run":2,"start":"Sat, 28 Nov 2026 10:00:31 GMT","duration":2,"outcome":"failed",)"
        R"("retry-delay":30,"error":"renewal-error","problem":"urn:ietf:params:acme:error:rateLimited",)"
        R"("detail":"too many certificates"})");
}

TEST_CASE("md-replay: RFC 3339 times are read and shown as given", "[replay]") {
  auto doc = nlohmann::ordered_json::parse(R"({"name": "x.test", "errors": 1,
      "next-run": "2026-11-28T10:05:00Z",
      "log": {"entries": [
        {"when": "2026-11-28T11:00:02+01:00", "type": "renewal-error", "detail": "boom"},
        {"when": "2026-11-28T10:00:00Z", "type": "starting"}]}})");
  auto jobs = read_document(doc, "j.json");
  REQUIRE(jobs);
  REQUIRE(jobs->size() == 1);
  auto tl = build_timeline((*jobs)[0]);
  REQUIRE(tl.steps.size() == 2);
  CHECK(tl.steps[0].when_text == "2026-11-28T10:00:00Z");
  CHECK(tl.steps[1].when_text == "2026-11-28T11:00:02+01:00");
  CHECK(tl.steps[1].since_previous == seconds(2));
  CHECK(tl.next_run_text == "2026-11-28T10:05:00Z");
  CHECK(tl.next_retry_delay == seconds(298));
  text_options narrow;
  narrow.detail_width = 6; // "\xc3\xa9" is one character: never cut in two
  job_source src = (*jobs)[0];
  src.job.log[0].detail = "ab\xc3\xa9" "cdef";
  const std::string text = format_text({build_timeline(src)}, narrow);
  CHECK(text.find("renewal-error    ab...\n") != std::string::npos);
}

TEST_CASE("md-replay: bad input is an error naming the file", "[replay]") {
  test::temp_dir dir;
  auto missing = load_input(dir / "nope.json");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message == "open('" + (dir / "nope.json") + "') failed: No such file or directory");
  test::write_file(dir / "bad.json", "{\"log\": ");
  auto bad = load_input(dir / "bad.json");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.rfind(dir / "bad.json" + ": invalid JSON at byte 8", 0) == 0);
  test::write_file(dir / "type.json", R"({"errors": "many"})");
  auto type = load_input(dir / "type.json");
  REQUIRE_FALSE(type);
  CHECK(type.error().message == dir / "type.json" + ": \"errors\" must be an integer, found string");
  test::write_file(dir / "date.json", R"({"log": {"entries": [{"when": "yesterday"}]}})");
  auto date = load_input(dir / "date.json");
  REQUIRE_FALSE(date);
  CHECK(date.error().message ==
        dir / "date.json" + ": \"log.entries[0].when\" is not an RFC 822 date: 'yesterday'");
  auto empty = load_input(dir.path());
  REQUIRE_FALSE(empty);
  CHECK(empty.error().message == "'" + dir.path() + "': no job.json in the store");
  test::write_file(dir / "list.json", R"({"managed-domains": [{"name": "a"}]})");
  auto none = load_input(dir / "list.json");
  REQUIRE_FALSE(none);
  CHECK(none.error().message == dir / "list.json" + ": no job found");
}

TEST_CASE("md-replay: the SVG drawing", "[replay]") {
  job j;
  const sys_time t0 = t822("Sat, 28 Nov 2026 10:00:00 GMT");
  j.log_starting(t0);
  result r;
  r.detail = "a <b> & \"c\"";
  j.log_renewal_error(t0 + seconds(10), r);
  j.errors = 1;
  j.next_run = t0 + seconds(20);
  job_source src{"x.test", "renewal", "job.json", j, {}, "Sat, 28 Nov 2026 10:00:20 GMT", ""};
  src.when_text = {"Sat, 28 Nov 2026 10:00:10 GMT", "Sat, 28 Nov 2026 10:00:00 GMT"};
  CHECK(render_svg({build_timeline(src)}) ==
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1000\" height=\"110\" viewBox=\"0 0 1000 110\" "
        "font-family=\"sans-serif\" font-size=\"12\">\n"
        "  <rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n"
        "  <g class=\"lane\">\n"
        "    <text x=\"10\" y=\"49\">x.test</text>\n"
        "    <line x1=\"220\" y1=\"45\" x2=\"960\" y2=\"45\" stroke=\"#cccccc\"/>\n"
        "    <circle cx=\"220\" cy=\"45\" r=\"4\" fill=\"#1f77b4\" stroke=\"none\"><title>Sat, 28 Nov 2026 "
        "10:00:00 GMT starting</title></circle>\n"
        "    <text x=\"220\" y=\"33\" font-size=\"10\">#1</text>\n"
        "    <circle cx=\"590\" cy=\"45\" r=\"4\" fill=\"#d62728\" stroke=\"none\"><title>Sat, 28 Nov 2026 "
        "10:00:10 GMT renewal-error: a &lt;b&gt; &amp; &quot;c&quot;</title></circle>\n"
        "    <text x=\"590\" y=\"65\" font-size=\"12\" fill=\"#d62728\">!</text>\n"
        "    <circle cx=\"960\" cy=\"45\" r=\"6\" fill=\"none\" stroke=\"#ff7f0e\"><title>next-run Sat, 28 Nov "
        "2026 10:00:20 GMT</title></circle>\n"
        "  </g>\n"
        "  <g class=\"axis\">\n"
        "    <line x1=\"220\" y1=\"80\" x2=\"960\" y2=\"80\" stroke=\"#000000\"/>\n"
        "    <text x=\"220\" y=\"98\">2026-11-28T10:00:00Z</text>\n"
        "    <text x=\"960\" y=\"98\" text-anchor=\"end\">2026-11-28T10:00:20Z</text>\n"
        "  </g>\n"
        "</svg>\n");
  CHECK(std::string(step_colour("message-renewed")) == "#9467bd");
  CHECK(std::string(step_colour("finished")) == "#2ca02c");
  CHECK(std::string(step_colour("progress")) == "#999999");
  CHECK(xml_escape("'\x01") == "&apos; ");
}

namespace {

/// A store with MD x.test (certificate from now for 14 days, P-256 key, default spec slot
/// "rsa") and MD y.test (no certificate).
struct explain_store {
  test::temp_dir dir;
  certificate cert;

  explain_store() {
    auto st = fs_store::open(dir.path());
    REQUIRE(st);
    managed_domain x;
    x.name = "x.test";
    x.domains = {"x.test", "www.x.test"};
    x.ca.urls = {"https://ca.test/dir"};
    x.state = md_state::complete;
    REQUIRE(st->save_json(store_group::domains, "x.test", aspect::md, to_json(x)));
    managed_domain y = x;
    y.name = "y.test";
    y.domains = {"y.test"};
    REQUIRE(st->save_json(store_group::domains, "y.test", aspect::md, to_json(y)));
    auto key = private_key::generate(key_spec::ec("P-256"));
    REQUIRE(key);
    auto c = make_fallback_certificate(*key, x.domains, sys_clock::now());
    REQUIRE(c);
    cert = *c;
    auto pem = cert.to_pem();
    REQUIRE(pem);
    REQUIRE(st->save_text(store_group::domains, "x.test", "pubcert.pem", *pem));
  }
};

} // namespace

TEST_CASE("md-replay --explain: what the engine decides at a time, and why", "[replay]") {
  explain_store s;
  const std::string base = s.dir.path();
  auto inputs = load_explain_inputs(base, nullptr, "");
  REQUIRE(inputs);
  REQUIRE(inputs->size() == 2);
  const sys_time now = s.cert.not_before() + hours(1);
  // 33 % of the 14-day lifetime in whole seconds: 1209600 * 33 / 100 = 399168 s
  const sys_time at = s.cert.not_after() - seconds(399168);

  SECTION("a complete MD waits for its renew window") {
    const explanation e = explain((*inputs)[0], engine_settings{}, now);
    CHECK(e.decision.action == renewal_action::wait);
    CHECK(format_explanation(e) ==
          "== x.test (md from " + base + "/domains/x.test/md.json)\n"
          "  now:         " + format_rfc3339(now) + "\n"
          "  state:       complete\n"
          "  cert rsa:    " + format_rfc3339(s.cert.not_before()) + " .. " +
              format_rfc3339(s.cert.not_after()) + ", covers the domains: yes, must-staple: no\n"
          "  windows:     renew 33%, warn 10%, used: yes\n"
          "  job:         no " + base + "/staging/x.test/job.json (a fresh job): errors 0, finished: no, next-run: -\n"
          "  action:      wait\n"
          "  at:          " + format_rfc3339(at) + " (in 9d08h)\n"
          "  reason:      certificate(rsa) renew window (33%) starts " + format_rfc822(at) + "\n"
          "  expiring:    no\n"
          "  ari check:   " + format_rfc3339(now) + "\n"
          "  next look:   " + format_rfc3339(now) + " (regular check " + format_rfc3339(now + hours(12)) +
              " without its -50..+49.6 % jitter)\n");
  }
  SECTION("inside the renew and warn windows it renews and is expiring") {
    const sys_time late = s.cert.not_after() - hours(24);
    const explanation e = explain((*inputs)[0], engine_settings{}, late);
    CHECK(e.decision.action == renewal_action::renew);
    CHECK(e.decision.expiring);
    CHECK(e.decision.reason == "certificate(rsa) renew window (33%) started " + format_rfc822(at));
  }
  SECTION("a missing certificate renews at once") {
    const explanation e = explain((*inputs)[1], engine_settings{}, now);
    CHECK(e.decision.action == renewal_action::renew);
    const std::string text = format_explanation(e);
    CHECK(text.find("  state:       incomplete: certificate(rsa) is missing\n") != std::string::npos);
    CHECK(text.find("  cert rsa:    missing (no " + base + "/domains/y.test/pubcert.pem)\n") !=
          std::string::npos);
    CHECK(text.find("  reason:      certificate(rsa) is missing\n") != std::string::npos);
  }
  SECTION("a job with errors waits for its retry; settings from the configuration") {
    job j;
    j.name = "x.test";
    j.errors = 2;
    j.next_run = std::chrono::time_point_cast<seconds>(now) + minutes(10);
    auto st = fs_store::open(base);
    REQUIRE(st);
    REQUIRE(st->save_json(store_group::staging, "x.test", aspect::job, to_json(j)));
    auto again = load_explain_inputs(base, nullptr, "x.test");
    REQUIRE(again);
    REQUIRE(again->size() == 1);
    engine_settings settings;
    auto w = parse_renew_window("50%");
    REQUIRE(w);
    settings.renew_window = *w;
    settings.check_interval = hours(1);
    const auto js = to_json(explain((*again)[0], settings, now));
    CHECK(js["action"] == "wait");
    CHECK(js["at"] == format_rfc3339(j.next_run));
    CHECK(js["reason"] == "retry after 2 errors at " + format_rfc822(j.next_run));
    CHECK(js["renew-window"] == "50%");
    CHECK(js["job"]["source"] == base + "/staging/x.test/job.json");
    CHECK(js["job"]["errors"] == 2);
    CHECK(js["regular-check"] == format_rfc3339(now + hours(1)));
    CHECK(js["next-look"] == format_rfc3339(j.next_run));
  }
  SECTION("an unknown MD and a corrupt md.json are errors naming them") {
    auto none = load_explain_inputs(base, nullptr, "z.test");
    REQUIRE_FALSE(none);
    CHECK(none.error().message == "'z.test': no such managed domain");
    test::write_file(base + "/domains/y.test/md.json", "[1,");
    auto bad = load_explain_inputs(base, nullptr, "");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.rfind(base + "/domains/y.test/md.json: invalid JSON at byte 3", 0) == 0);
  }
}

TEST_CASE("md-replay: the command line in-process", "[replay]") {
  std::string out, err;
  CHECK(cli({"--help"}, out, err) == 0);
  CHECK(out == k_usage);
  CHECK(cli({}, out, err) == 2);
  CHECK(err == std::string("md-replay: no FILE or STOREDIR given\n") + k_usage);
  CHECK(cli({"x", "--bogus"}, out, err) == 2);
  CHECK(err.rfind("md-replay: unknown option '--bogus'\n", 0) == 0);
  CHECK(cli({"x", "--now", "2026-11-28T10:00:00Z"}, out, err) == 2);
  CHECK(err.rfind("md-replay: '--now' and '--config' need '--explain'\n", 0) == 0);
  CHECK(cli({"/nonexistent/job.json"}, out, err) == 2);
  CHECK(err == "md-replay: open('/nonexistent/job.json') failed: No such file or directory\n");
  CHECK(cli({sample("lab1.md-status.json"), "--md", "nope.test"}, out, err) == 2);
  CHECK(err == "md-replay: 'nope.test': no job of this managed domain in '" + sample("lab1.md-status.json") + "'\n");

  test::temp_dir dir;
  CHECK(cli({sample("lab1.md-status.json"), "--md", "e.example.test", "--svg", dir / "t.svg"}, out, err) == 0);
  CHECK(out.rfind("== e.example.test renewal job (", 0) == 0);
  CHECK(test::read_file(dir / "t.svg").find("<text x=\"10\" y=\"49\">e.example.test</text>") != std::string::npos);

  explain_store s;
  CHECK(cli({s.dir.path(), "--explain", "--now", "yesterday"}, out, err) == 2);
  CHECK(err == "md-replay: --now: 'yesterday' is not an RFC 3339 time\n");
  CHECK(cli({s.dir.path(), "--explain", "--config", dir / "missing.json"}, out, err) == 2);
  CHECK(err.rfind("md-replay: ", 0) == 0);
  CHECK(err.find(dir / "missing.json") != std::string::npos);
  const std::string now = format_rfc3339(s.cert.not_before() + hours(1));
  CHECK(cli({s.dir.path(), "--explain", "--now", now, "--md", "y.test", "--json"}, out, err) == 0);
  auto j = nlohmann::json::parse(out);
  REQUIRE(j["explanations"].size() == 1);
  CHECK(j["explanations"][0]["action"] == "renew");
  CHECK(j["explanations"][0]["now"] == now);
}

TEST_CASE("md-replay: the program", "[replay]") {
  auto ok = test::run({MD_REPLAY_PATH, sample("lab1.md-e.example.test.json"), "--json"});
  REQUIRE(ok.exit_code == 0);
  auto j = nlohmann::json::parse(ok.output);
  const auto& t = j["timelines"][0];
  CHECK(t["md"] == "e.example.test");
  REQUIRE(t["runs"].size() == 3);
  CHECK(t["runs"][1]["retry-delay"] == 2);
  CHECK(t["runs"][2]["retry-delay"] == 4);
  CHECK(t["next-retry-delay"] == 10);
  CHECK(t["steps"][0]["when"] == "Sun, 29 Nov 2026 03:25:46 GMT");

  test::temp_dir dir;
  test::write_file(dir / "job.json", "{\"errors\": 1,");
  auto bad = test::run({MD_REPLAY_PATH, dir / "job.json"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.output.rfind("md-replay: " + dir / "job.json" + ": invalid JSON at byte ", 0) == 0);
}
