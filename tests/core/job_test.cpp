#include <catch2/catch.hpp>

#include "core/job.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using ojson = nlohmann::ordered_json;

namespace {

sys_time at(const char* rfc822) { return parse_rfc822(rfc822).value(); }

std::string golden(const std::string& name) {
  auto text = test::read_file(std::string(MDACTOR_TESTS_DIR) + "/data/" + name);
  if (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

template <class Reader>
std::string read_error(Reader read, const std::string& text, const std::string& source = "job.json") {
  auto j = parse_json(text, source);
  if (!j) return j.error().message;
  auto v = read(*j, source);
  return v ? std::string("no error") : v.error().message;
}

/// The result of a run that could not reach the CA (reference §3.1 error example).
result refused() {
  result r;
  r.status = 111;
  r.detail = "Unsuccessful in contacting ACME server at <https://127.0.0.1:1/dir>. If this problem "
             "persists, please check your network connectivity from your Apache server to the ACME "
             "server. Also, older servers might have trouble verifying the certificates of the ACME "
             "server. You can check if you are able to contact it manually via the curl command. "
             "Sometimes, the ACME server might be down for maintenance, so failing to contact it is "
             "not an immediate problem. Apache will continue retrying this.";
  r.activity = "Contacting ACME server for e.example.test at https://127.0.0.1:1/dir";
  return r;
}

} // namespace

TEST_CASE("job.json of the reference example reads back and writes the same text (golden)", "[core][job]") {
  auto text = golden("job/b.example.test.job.json");
  auto j = parse_json(text, "job.json");
  REQUIRE(j.ok());
  auto jb = job_from_json(*j, "job.json");
  REQUIRE(jb.ok());
  CHECK(jb->name == "b.example.test");
  CHECK(jb->finished);
  CHECK(jb->notified_renewed);
  CHECK(jb->next_run == sys_time{});
  CHECK(jb->last_run == at("Sat, 28 Nov 2026 15:36:35 GMT"));
  REQUIRE(jb->last.has_value());
  CHECK(jb->last->valid_from == at("Sat, 28 Nov 2026 15:36:37 GMT"));
  REQUIRE(jb->log.size() == 12);
  CHECK(jb->log.front().type == "message-renewed");
  CHECK(jb->log.back().type == "message-renewing");
  CHECK(to_json(*jb).dump(2) == text);
}

TEST_CASE("job built step by step gives the reference example", "[core][job]") {
  auto golden_job = job_from_json(*parse_json(golden("job/b.example.test.job.json"), "job.json"), "job.json");
  REQUIRE(golden_job.ok());
  job jb;
  jb.name = "b.example.test";
  auto t35 = at("Sat, 28 Nov 2026 15:36:35 GMT"), t36 = t35 + std::chrono::seconds(1),
       t37 = t35 + std::chrono::seconds(2);
  jb.log_message(t35, "renewing");
  jb.last_run = t35;
  jb.log_starting(t35);
  result r;
  r.activity = "MDomain b.example.test initialized with support for ACME challenges http-01";
  jb.log_progress(t35, r);
  r.activity = "Starting challenges for domains";
  r.detail = "b.example.test: selecting suitable authorization challenge type, this domain supports http-01";
  jb.log_progress(t35, r);
  jb.log_message(t35, "challenge-setup:http-01:b.example.test");
  for (auto* text : {"Creating new order, key-spec=rsa-3072, profile=none, replacing-cert=none",
                     "Submitting rsa CSR to CA"}) {
    r = result{};
    r.activity = text;
    jb.log_progress(t36, r);
  }
  r.activity = "Waiting for finalized order to become valid";
  r.detail = "ACME server order status is 'valid'.";
  jb.log_progress(t37, r);
  r = result{};
  r.activity = "Retrieving rsa certificate chain for b.example.test";
  jb.log_progress(t37, r);
  r.activity.clear();
  r.detail = "The certificate for the managed domain has been renewed successfully and can be used "
             "(valid since Sat, 28 Nov 2026 15:36:37 GMT). A graceful server restart now is recommended.";
  jb.log_progress(t37, r);
  jb.finished = true;
  jb.valid_from = t37;
  jb.last = result{};
  jb.last->valid_from = t37;
  jb.log_finished(t37);
  jb.notified = jb.notified_renewed = true;
  jb.log_message(t37, "renewed");
  CHECK(jb == *golden_job);
}

TEST_CASE("job log: newest first, capped at 128 keeping the newest", "[core][job]") {
  job jb;
  auto t0 = at("Sat, 28 Nov 2026 15:00:00 GMT");
  for (int i = 0; i < 130; ++i) jb.log_append(t0 + std::chrono::seconds(i), "e" + std::to_string(i));
  REQUIRE(jb.log.size() == k_job_max_log);
  CHECK(jb.log.front().type == "e129");
  CHECK(jb.log.front().when == t0 + std::chrono::seconds(129));
  CHECK(jb.log.back().type == "e2");
  auto j = to_json(jb);
  CHECK(j["log"]["entries"].size() == 128);
  CHECK(j["log"]["entries"][0]["when"] == "Sat, 28 Nov 2026 15:02:09 GMT");
}

TEST_CASE("job log entries have mod_md's exact JSON", "[core][job]") {
  job jb;
  auto now = at("Sun, 29 Nov 2026 10:00:00 GMT") + std::chrono::milliseconds(750);
  SECTION("renewal-error without a problem (unreachable CA) has no status") {
    jb.log_renewal_error(now, refused());
    CHECK(to_json(jb)["log"]["entries"][0].dump() ==
          R"({"when":"Sun, 29 Nov 2026 10:00:00 GMT","type":"renewal-error","detail":")" +
              refused().detail + "\"}");
  }
  SECTION("renewal-error with an ACME problem") {
    result r;
    r.status = 22;
    r.problem = "urn:ietf:params:acme:error:rejectedIdentifier";
    r.detail = "Error creating new order :: Cannot issue for \"bad.test\"";
    jb.log_renewal_error(now, r);
    CHECK(to_json(jb)["log"].dump(2) == R"({
  "entries": [
    {
      "when": "Sun, 29 Nov 2026 10:00:00 GMT",
      "type": "renewal-error",
      "status": "urn:ietf:params:acme:error:rejectedIdentifier",
      "detail": "Error creating new order :: Cannot issue for \"bad.test\""
    }
  ]
})");
  }
  SECTION("notify, message and ocsp errors") {
    result r;
    r.problem = "urn:org:apache:httpd:log:AH10109:";
    r.detail = "MDMessageCmd /bin/false failed with exit code 1.";
    jb.log_message_error(now, "renewed", r);
    jb.log_notify_error(now, r);
    jb.log_ocsp_error(now, r);
    auto e = to_json(jb)["log"]["entries"];
    CHECK(e[2].dump() == R"({"when":"Sun, 29 Nov 2026 10:00:00 GMT","type":"message-error",)"
                         R"("status":"renewed","detail":"MDMessageCmd /bin/false failed with exit code 1."})");
    CHECK(e[1]["type"] == "notify-error");
    CHECK(e[1]["status"] == "urn:org:apache:httpd:log:AH10109:");
    CHECK(e[0]["type"] == "ocsp-error");
  }
  SECTION("progress text joins activity, detail and problem as mod_md does") {
    result r;
    CHECK(progress_text(r).empty());
    jb.log_progress(now, r);
    CHECK(jb.log.empty());
    r.problem = "urn:ietf:params:acme:error:badNonce";
    CHECK(progress_text(r) == "problem: urn:ietf:params:acme:error:badNonce");
    r.detail = "nonce expired";
    CHECK(progress_text(r) == "nonce expired, problem: urn:ietf:params:acme:error:badNonce");
    r.activity = "Finalizing order";
    CHECK(progress_text(r) == "Finalizing order: nonce expired, problem: urn:ietf:params:acme:error:badNonce");
    r.detail.clear();
    CHECK(progress_text(r) == "Finalizing order: problem: urn:ietf:params:acme:error:badNonce");
  }
}

TEST_CASE("job log lookup of the newest entry of a type (event rate limits)", "[core][job]") {
  job jb;
  auto t0 = at("Sat, 28 Nov 2026 15:00:00 GMT");
  CHECK(jb.last_entry_of("message-renewing") == nullptr);
  CHECK_FALSE(jb.last_time_of("message-renewing").has_value());
  jb.log_message(t0, "renewing");
  jb.log_message(t0 + std::chrono::minutes(30), "errored");
  jb.log_message(t0 + std::chrono::minutes(70), "renewing");
  jb.log_starting(t0 + std::chrono::minutes(71));
  CHECK(jb.last_time_of("message-renewing") == t0 + std::chrono::minutes(70));
  CHECK(jb.last_time_of("message-errored") == t0 + std::chrono::minutes(30));
  REQUIRE(jb.last_entry_of("starting") != nullptr);
  CHECK(jb.last_entry_of("starting") == &jb.log.front());
  CHECK_FALSE(jb.last_time_of("message").has_value());
}

TEST_CASE("a failed run: result with status 111 'Connection refused'", "[core][job]") {
  CHECK(to_json(refused()).dump(2) == R"({
  "status": 111,
  "status-description": "Connection refused",
  "detail": ")" + refused().detail + R"(",
  "activity": "Contacting ACME server for e.example.test at https://127.0.0.1:1/dir"
})");
  job jb;
  jb.name = "e.example.test";
  jb.next_run = at("Sat, 28 Nov 2026 15:40:04 GMT");
  jb.last_run = at("Sat, 28 Nov 2026 15:40:02 GMT");
  jb.errors = 3;
  jb.last = refused();
  jb.log_renewal_error(jb.last_run, refused());
  auto j = to_json(jb);
  const std::string head =
      R"({"name":"e.example.test","finished":false,"notified":false,"notified-renewed":false,)"
      R"("next-run":"Sat, 28 Nov 2026 15:40:04 GMT","last-run":"Sat, 28 Nov 2026 15:40:02 GMT",)"
      R"("errors":3,"last":{"status":111,"status-description":"Connection refused",)";
  CHECK(j.dump().substr(0, head.size()) == head);
  CHECK(j["log"]["entries"][0]["type"] == "renewal-error");
  auto back = job_from_json(j, "job.json");
  REQUIRE(back.ok());
  CHECK(*back == jb);
  CHECK(to_json(*back).dump(2) == j.dump(2));
}

TEST_CASE("result JSON: description only for status > 0, times and subproblems", "[core][job]") {
  result ok;
  CHECK(to_json(ok).dump() == R"({"status":0})");
  result r;
  r.status = -1;
  CHECK(to_json(r).dump() == R"({"status":-1})");
  r.status = 22;
  r.problem = "urn:ietf:params:acme:error:rejectedIdentifier";
  r.valid_from = at("Sat, 28 Nov 2026 15:36:37 GMT");
  r.subproblems = ojson::parse(R"([{"type":"urn:ietf:params:acme:error:malformed",)"
                               R"("identifier":{"type":"dns","value":"_bad.test"}}])");
  auto j = to_json(r);
  CHECK(j.dump() ==
        R"({"status":22,"status-description":"Invalid argument",)"
        R"("problem":"urn:ietf:params:acme:error:rejectedIdentifier",)"
        R"("valid-from":"Sat, 28 Nov 2026 15:36:37 GMT","subproblems":[{"type":)"
        R"("urn:ietf:params:acme:error:malformed","identifier":{"type":"dns","value":"_bad.test"}}]})");
  auto back = result_from_json(j, "job.json");
  REQUIRE(back.ok());
  CHECK(*back == r);
}

TEST_CASE("status descriptions follow apr_strerror", "[core][job]") {
  CHECK(status_description(111) == "Connection refused");
  CHECK(status_description(2) == "No such file or directory");
  CHECK(status_description(22) == "Invalid argument");
  CHECK(status_description(20014) == "Internal error (specific information not available)");
  CHECK(status_description(70007) == "The timeout specified has expired");
  CHECK(status_description(70008) == "Partial results are valid but processing is incomplete");
  CHECK(status_description(70009) == "Error string not specified yet");
  CHECK(status_description(120001) == "APR does not understand this error code");
}

TEST_CASE("job.json: absent members default, malformed ones are errors", "[core][job]") {
  auto empty = job_from_json(ojson::object(), "job.json");
  REQUIRE(empty.ok());
  CHECK(*empty == job{});
  CHECK(to_json(*empty).dump() ==
        R"({"finished":false,"notified":false,"notified-renewed":false,"errors":0})");
  auto r = [](const std::string& text) { return read_error(job_from_json, text); };
  CHECK(r(R"({"errors":"3"})") == R"(job.json: "errors" must be an integer, found string)");
  CHECK(r(R"({"finished":"yes"})") == R"(job.json: "finished" must be a boolean, found string)");
  CHECK(r(R"({"next-run":"yesterday"})") == R"(job.json: "next-run" is not an RFC 822 date: 'yesterday')");
  CHECK(r(R"({"next-run":""})") == "no error");
  CHECK(r(R"({"last":{"status":"111"}})") == R"(job.json: "last.status" must be an integer, found string)");
  CHECK(r(R"({"last":"ok"})") == R"(job.json: "last" must be an object, found string)");
  CHECK(r(R"({"log":{"entries":{}}})") == R"(job.json: "log.entries" must be an array, found object)");
  CHECK(r(R"({"log":{"entries":[{"when":"Sat, 28 Nov 2026 15:36:35 GMT","type":"starting"},"x"]}})") ==
        R"(job.json: "log.entries[1]" must be an object, found string)");
  CHECK(r(R"({"log":{"entries":[{"when":"soon","type":"starting"}]}})") ==
        R"(job.json: "log.entries[0].when" is not an RFC 822 date: 'soon')");
  CHECK(r(R"({"log":{"entries":[{"when":"Sat, 28 Nov 2026 15:36:35 GMT","type":7}]}})") ==
        R"(job.json: "log.entries[0].type" must be a string, found number)");
  CHECK(r(R"([1,2])") == "job.json: expected a JSON object, found array");
  CHECK(r(R"({"name":"b.example.test","finished":tr)") ==
        "job.json: invalid JSON at byte 38: syntax error while parsing value - invalid literal; "
        "last read: '\"finished\":tr'");
  auto bad = job_from_json(ojson::parse(R"({"errors":"3"})"), "job.json");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == json_errc::wrong_type);
}

TEST_CASE("order.json round trip, status names, errors", "[core][job][order]") {
  acme_order_file o;
  o.url = "https://127.0.0.1:14100/my-order/abc";
  o.status = order_status::ready;
  o.authorizations = {"https://127.0.0.1:14100/authZ/1"};
  o.challenge_setups = {"http-01:b.example.test", "dns-01:*.example.test 4rT_tok"};
  o.finalize = "https://127.0.0.1:14100/finalize-order/abc";
  auto j = to_json(o);
  CHECK(j.dump() ==
        R"({"url":"https://127.0.0.1:14100/my-order/abc","status":"ready",)"
        R"("authorizations":["https://127.0.0.1:14100/authZ/1"],)"
        R"("challenge-setups":["http-01:b.example.test","dns-01:*.example.test 4rT_tok"],)"
        R"("finalize":"https://127.0.0.1:14100/finalize-order/abc"})");
  auto back = order_from_json(j, "order.json");
  REQUIRE(back.ok());
  CHECK(*back == o);
  CHECK(to_json(acme_order_file{}).dump() == R"({"status":"pending","authorizations":[],"challenge-setups":[]})");
  CHECK(std::string(to_string(order_status::processing)) == "processing");
  CHECK(std::string(to_string(order_status::invalid)) == "invalid");
  auto r = [](const std::string& text) { return read_error(order_from_json, text, "order.json"); };
  CHECK(r(R"({"status":"done"})") == R"(order.json: "status" is not an order status: 'done')");
  CHECK(r(R"({"authorizations":"x"})") ==
        R"(order.json: "authorizations" must be an array of strings, found string)");
  auto none = order_from_json(ojson::parse(R"({"url":"u"})"), "order.json");
  REQUIRE(none.ok());
  CHECK(none->status == order_status::pending);
}

TEST_CASE("account.json: the activated example, legacy forms, required members", "[core][job][account]") {
  const std::string text =
      R"({"status":"valid","url":"https://127.0.0.1:14100/my-account/32bf","ca-url":"https://127.0.0.1:14100/dir",)"
      R"("contact":["mailto:admin@example.test"],"orders":"https://127.0.0.1:14100/list-orderz/32bf"})";
  auto a = account_from_json(ojson::parse(text), "account.json");
  REQUIRE(a.ok());
  CHECK(a->status == account_status::valid);
  CHECK(to_json(*a).dump() == text);

  account_file full = *a;
  full.registration = ojson::parse(R"({"status":"valid","contact":["mailto:admin@example.test"]})");
  full.agreement = "https://127.0.0.1:14100/tos";
  full.eab_kid = "kid-1";
  full.eab_hmac = "c2VjcmV0";
  auto fj = to_json(full);
  CHECK(fj.dump() ==
        R"({"status":"valid","url":"https://127.0.0.1:14100/my-account/32bf","ca-url":"https://127.0.0.1:14100/dir",)"
        R"("contact":["mailto:admin@example.test"],"registration":{"status":"valid","contact":["mailto:admin@example.test"]},)"
        R"("agreement":"https://127.0.0.1:14100/tos","orders":"https://127.0.0.1:14100/list-orderz/32bf",)"
        R"("eab":{"kid":"kid-1","hmac":"c2VjcmV0"}})");
  CHECK(*account_from_json(fj, "account.json") == full);

  SECTION("unknown status is not written; contact is always written") {
    account_file bare;
    bare.url = "u";
    bare.ca_url = "c";
    CHECK(to_json(bare).dump() == R"({"url":"u","ca-url":"c","contact":[]})");
  }
  SECTION("legacy: terms-of-service and registration.contact") {
    auto old = account_from_json(ojson::parse(R"({"url":"u","ca-url":"c","terms-of-service":"tos",)"
                                              R"("registration":{"contact":["mailto:x@y.test"]}})"),
                                 "account.json");
    REQUIRE(old.ok());
    CHECK(old->agreement == "tos");
    CHECK(old->contact == std::vector<std::string>{"mailto:x@y.test"});
  }
  SECTION("an EAB needs both kid and hmac") {
    auto half = account_from_json(ojson::parse(R"({"url":"u","ca-url":"c","eab":{"kid":"k"}})"), "account.json");
    REQUIRE(half.ok());
    CHECK(half->eab_kid.empty());
  }
  SECTION("url and ca-url are required") {
    auto r = [](const std::string& t) { return read_error(account_from_json, t, "account.json"); };
    CHECK(r(R"({"status":"valid"})") == "account.json: account has no url");
    CHECK(r(R"({"url":"https://ca.test/acct/1"})") ==
          "account.json: account has no CA url: 'https://ca.test/acct/1'");
    CHECK(r(R"({"url":"u","ca-url":"c","status":"frozen"})") ==
          R"(account.json: "status" is not an account status: 'frozen')");
    auto missing = account_from_json(ojson::parse("{}"), "account.json");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code == json_errc::missing);
  }
}

TEST_CASE("job: the changes of a renewal run", "[core][job]") {
  const sys_time t = at("Thu, 01 Jan 2026 00:00:00 GMT");
  job j;
  j.name = "a.test";
  j.finished = true;
  j.notified = true;
  j.notified_renewed = true;
  j.valid_from = t - std::chrono::hours(1);
  j.errors = 2;
  CHECK(j.start_run(t));
  CHECK_FALSE(j.finished);
  CHECK_FALSE(j.notified);
  CHECK_FALSE(j.notified_renewed);
  CHECK(j.valid_from == sys_time{});
  CHECK(j.last_run == t);
  CHECK(j.errors == 2);
  CHECK_FALSE(j.start_run(t)); // not finished: nothing to start over
  REQUIRE(j.log.size() == 2);
  CHECK(j.log[0].type == "starting");

  result veto;
  veto.status = 1;
  veto.detail = "the handler's result";
  j.last = veto;
  result r;
  r.status = 20014;
  r.detail = "vetoed";
  j.fail_run(r, t, true);
  CHECK(j.last == veto);
  CHECK(j.log[0] == log_entry{t, "renewal-error", "", "vetoed"});
  j.fail_run(r, t);
  CHECK(j.last == r);

  j.plan_retry(3, t + std::chrono::minutes(5));
  CHECK(j.errors == 3);
  CHECK(j.next_run == t + std::chrono::minutes(5));

  j.finish_run(t + std::chrono::hours(1), t);
  CHECK(j.finished);
  CHECK(j.errors == 0);
  CHECK(j.next_run == sys_time{});
  CHECK(j.valid_from == t + std::chrono::hours(1));
  REQUIRE(j.last);
  CHECK(j.last->detail == "The certificate for the managed domain has been renewed successfully and "
                          "can be used from Thu, 01 Jan 2026 01:00:00 GMT on.");
  CHECK(j.last->valid_from == t + std::chrono::hours(1));
  CHECK(j.log[0].type == "finished");
  j.staging_failed();
  CHECK_FALSE(j.finished);

  j.reset_after_activation();
  job fresh;
  fresh.name = "a.test";
  CHECK(j == fresh);
}
