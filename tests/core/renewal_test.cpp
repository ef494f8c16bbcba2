#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <openssl/x509v3.h>

#include "core/pkey.hpp"
#include "core/renewal.hpp"

using namespace mda;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {

const sys_time k_now = from_unix(1767225600); // Thu, 01 Jan 2026 00:00:00 GMT
constexpr hours k_day{24};

cert_facts cert(std::string spec, sys_time nb, sys_time na) {
  cert_facts f;
  f.spec = std::move(spec);
  f.present = true;
  f.not_before = nb;
  f.not_after = na;
  f.covers_domains = true;
  return f;
}

/// 90 days, 30 left: the 33% window (29.7 d = 2566080 s) starts 25920 s from now, the 10%
/// warn window (9 d) 21 days from now.
cert_facts cert90(std::string spec = "rsa") { return cert(std::move(spec), k_now - 60 * k_day, k_now + 30 * k_day); }

managed_domain md_named(const std::string& name) {
  managed_domain md;
  md.name = name;
  md.domains = {name};
  md.state = md_state::complete;
  return md;
}

renewal_decision decide(const managed_domain& md, const std::vector<cert_facts>& certs, const job& j = {},
                        sys_time now = k_now, renewal_settings s = {}, std::optional<ari_hint> ari = {}) {
  return decide_renewal(renewal_input{md, certs, j, s, ari}, now);
}

} // namespace

TEST_CASE("certificate problems are mod_md's state-descr texts (state_init)", "[core][renewal]") {
  managed_domain md = md_named("a.example");
  md.key_specs = {key_spec::rsa(2048), key_spec::ec("P-256")};
  const cert_facts rsa = cert90("rsa");
  const cert_facts ec = cert90("P-256");
  CHECK(assess_certificates(md, {rsa, ec}).state == md_state::complete);
  CHECK(assess_certificates(md, {rsa, ec}).descr.empty());
  CHECK(assess_certificates(md, {rsa}).descr == "certificate(P-256) is missing");
  cert_facts absent;
  absent.spec = "rsa";
  CHECK(assess_certificates(md, {absent, ec}).descr == "certificate(rsa) is missing");
  cert_facts narrow = ec;
  narrow.covers_domains = false;
  CHECK(assess_certificates(md, {rsa, narrow}).descr == "certificate(P-256) does not cover all domains.");
  md.must_staple = true;
  CHECK(assess_certificates(md, {rsa, ec}).descr ==
        "'must-staple' is requested, but certificate(rsa) has it not enabled.");
  md.must_staple = false;
  cert_facts stapled = rsa;
  stapled.must_staple = true;
  CHECK(assess_certificates(md, {stapled, ec}).descr ==
        "'must-staple' is not requested, but certificate(rsa) has it enabled.");
  CHECK(assess_certificates(md, {stapled, ec}).state == md_state::incomplete);
}

TEST_CASE("slots follow the key specs, or the static certificate files", "[core][renewal]") {
  managed_domain md = md_named("a.example");
  CHECK(certificate_slots(md) == std::vector<std::string>{"rsa"});
  md.key_specs = {key_spec::ec("P-256"), key_spec::rsa(3072)};
  CHECK(certificate_slots(md) == std::vector<std::string>{"P-256", "rsa"});
  md.cert_files = {"/a.pem", "/b.pem", "/c.pem"};
  CHECK(certificate_slots(md) == std::vector<std::string>{"P-256", "rsa", "rsa"});
}

TEST_CASE("MDRenewMode and usage decide whether an MD renews at all", "[core][renewal]") {
  struct row {
    md_renew_mode mode;
    bool static_files;
    bool used;
    renewal_action action;
    std::string reason;
  };
  const std::string window = "certificate(rsa) renew window (33%) starts Thu, 01 Jan 2026 07:12:00 GMT";
  const std::vector<row> rows = {
      {md_renew_mode::automatic, false, true, renewal_action::wait, window},
      {md_renew_mode::automatic, false, false, renewal_action::none,
       "MDRenewMode is auto and no virtual host uses the managed domain"},
      {md_renew_mode::automatic, true, true, renewal_action::none,
       "MDCertificateFile is configured and MDRenewMode is auto: static certificates are not renewed"},
      {md_renew_mode::always, true, false, renewal_action::wait, window},
      {md_renew_mode::always, false, false, renewal_action::wait, window},
      {md_renew_mode::manual, false, true, renewal_action::none,
       "MDRenewMode is manual: certificates are not renewed"},
      {md_renew_mode::manual, false, false, renewal_action::none,
       "MDRenewMode is manual: certificates are not renewed"},
  };
  for (const auto& r : rows) {
    managed_domain md = md_named("a.example");
    md.renew_mode = r.mode;
    md.ari_renewals = false;
    if (r.static_files) md.cert_files = {"/etc/ssl/a.pem"};
    renewal_settings s;
    s.used = r.used;
    INFO("mode " << static_cast<int>(r.mode) << ", static " << r.static_files << ", used " << r.used);
    const auto d = decide(md, {cert90()}, {}, k_now, s);
    CHECK(d.action == r.action);
    CHECK(d.reason == r.reason);
  }
}

TEST_CASE("when a watched MD renews: state, revocation, the renew window", "[core][renewal]") {
  managed_domain md = md_named("a.example");
  md.ari_renewals = false;
  SECTION("before the window: wait for its start") {
    const auto d = decide(md, {cert90()});
    CHECK(d.action == renewal_action::wait);
    CHECK(d.at == k_now + seconds{25920});
    CHECK_FALSE(d.expiring);
    CHECK_FALSE(d.ari_check);
  }
  SECTION("in the window: renew now") {
    const auto d = decide(md, {cert90()}, {}, k_now + k_day);
    CHECK(d.action == renewal_action::renew);
    CHECK(d.at == k_now + k_day);
    CHECK(d.reason == "certificate(rsa) renew window (33%) started Thu, 01 Jan 2026 07:12:00 GMT");
  }
  SECTION("the earliest certificate decides") {
    md.key_specs = {key_spec::rsa(2048), key_spec::ec("P-256")};
    // 25 days, 33% = 8.25 d: the window started 3.25 days ago
    const auto d = decide(md, {cert90(), cert("P-256", k_now - 20 * k_day, k_now + 5 * k_day)});
    CHECK(d.action == renewal_action::renew);
    CHECK(d.reason == "certificate(P-256) renew window (33%) started Sun, 28 Dec 2025 18:00:00 GMT");
  }
  SECTION("an absolute window") {
    renewal_settings s;
    s.renew_window = timeslice::absolute(14 * k_day);
    const auto d = decide(md, {cert90()}, {}, k_now, s);
    CHECK(d.at == k_now + 16 * k_day);
    CHECK(d.reason == "certificate(rsa) renew window (14d) starts Sat, 17 Jan 2026 00:00:00 GMT");
  }
  SECTION("an incomplete MD renews now") {
    md.state = md_state::incomplete; // md.json's state is recomputed from the certificates
    const auto d = decide(md, {});
    CHECK(d.action == renewal_action::renew);
    CHECK(d.reason == "certificate(rsa) is missing");
  }
  SECTION("a revoked certificate renews now") {
    cert_facts c = cert90();
    c.revoked = true;
    const auto d = decide(md, {c});
    CHECK(d.action == renewal_action::renew);
    CHECK(d.reason == "certificate(rsa) is revoked (OCSP)");
  }
  SECTION("an MD in error or missing information does nothing") {
    md.state = md_state::error;
    md.state_descr = "error initializing";
    CHECK(decide(md, {}).action == renewal_action::none);
    CHECK(decide(md, {}).reason == "the managed domain is in error: error initializing");
    md.state = md_state::missing_information;
    CHECK(decide(md, {}).reason == "information is missing: the configuration needs to change");
  }
}

TEST_CASE("MDWarnWindow makes an MD expiring until its job finished", "[core][renewal]") {
  managed_domain md = md_named("a.example");
  md.ari_renewals = false;
  const sys_time warn_start = k_now + 21 * k_day;
  CHECK_FALSE(decide(md, {cert90()}, {}, warn_start - seconds{1}).expiring);
  CHECK(decide(md, {cert90()}, {}, warn_start).expiring);
  md.renew_mode = md_renew_mode::manual; // watched, not renewed: still warned
  CHECK(decide(md, {cert90()}, {}, warn_start).expiring);
  job finished;
  finished.finished = true;
  CHECK_FALSE(decide(md, {cert90()}, finished, warn_start).expiring);
  md.renew_mode = md_renew_mode::automatic;
  CHECK_FALSE(decide(md, {}, {}, warn_start).expiring); // incomplete: no warning (md_reg_should_warn)
  CHECK(warn_window_started({cert90()}, timeslice::absolute(30 * k_day), k_now));
  CHECK_FALSE(warn_window_started({cert90()}, timeslice::absolute(29 * k_day), k_now));
}

TEST_CASE("the job gates the decision: retries, ready-at, notification", "[core][renewal]") {
  managed_domain md = md_named("a.example");
  job j;
  SECTION("a retry time in the future waits, even for a missing certificate") {
    j.errors = 3;
    j.next_run = k_now + minutes{2};
    const auto d = decide(md, {}, j);
    CHECK(d.action == renewal_action::wait);
    CHECK(d.at == k_now + minutes{2});
    CHECK(d.reason == "retry after 3 errors at Thu, 01 Jan 2026 00:02:00 GMT");
    j.errors = 1;
    CHECK(decide(md, {}, j).reason == "retry after 1 error at Thu, 01 Jan 2026 00:02:00 GMT");
    j.errors = 0;
    CHECK(decide(md, {}, j).reason == "the job is scheduled for Thu, 01 Jan 2026 00:02:00 GMT");
  }
  SECTION("a passed retry time renews") {
    j.errors = 3;
    j.next_run = k_now;
    CHECK(decide(md, {}, j).action == renewal_action::renew);
  }
  SECTION("finished: wait for ready-at, then notify, then wait for activation") {
    j.finished = true;
    j.valid_from = k_now + hours{2};
    auto d = decide(md, {cert90()}, j);
    CHECK(d.action == renewal_action::wait);
    CHECK(d.at == k_now + hours{2});
    CHECK(d.reason == "the renewed certificate can be used from Thu, 01 Jan 2026 02:00:00 GMT on");
    d = decide(md, {cert90()}, j, k_now + hours{2});
    CHECK(d.action == renewal_action::notify_renewed);
    CHECK(d.at == k_now + hours{2});
    j.errors = 1; // the notification failed: its retry time
    j.next_run = k_now + hours{3};
    d = decide(md, {cert90()}, j, k_now + hours{2});
    CHECK(d.at == k_now + hours{3});
    CHECK(d.reason == "retry notifying 'renewed' at Thu, 01 Jan 2026 03:00:00 GMT");
    j.notified_renewed = true;
    d = decide(md, {cert90()}, j, k_now + hours{4});
    CHECK(d.action == renewal_action::none);
    CHECK(d.reason == "a renewed certificate is staged and waits for activation (graceful server restart)");
  }
}

TEST_CASE("a forced renewal (mdctl renew) ignores the window and a planned retry", "[core][renewal]") {
  managed_domain md = md_named("a.example");
  md.ari_renewals = false;
  const std::vector<cert_facts> certs{cert90()};
  job j;
  auto forced = [&](const managed_domain& m, const job& jb) {
    renewal_input in{m, certs, jb, {}, std::nullopt};
    in.forced = true;
    return decide_renewal(in, k_now);
  };
  SECTION("before the window") {
    const auto d = forced(md, j);
    CHECK(d.action == renewal_action::renew);
    CHECK(d.at == k_now);
    CHECK(d.reason == "a renewal was asked for (mdctl renew)");
  }
  SECTION("a retry planned for later") {
    j.errors = 2;
    j.next_run = k_now + hours{1};
    CHECK(forced(md, j).action == renewal_action::renew);
  }
  SECTION("MDRenewMode manual still keeps it from renewing") {
    md.renew_mode = md_renew_mode::manual;
    const auto d = forced(md, j);
    CHECK(d.action == renewal_action::none);
    CHECK(d.reason == "MDRenewMode is manual: certificates are not renewed");
  }
  SECTION("a staged set waiting for activation stays") {
    j.finished = true;
    j.notified_renewed = true;
    const auto d = forced(md, j);
    CHECK(d.action == renewal_action::none);
    CHECK(d.reason == "a renewed certificate is staged and waits for activation (graceful server restart)");
  }
}

TEST_CASE("MDActivation live: an announced staged set goes live, then is the current one",
          "[core][renewal]") {
  managed_domain md = md_named("a.example");
  md.ari_renewals = false;
  job j;
  j.finished = true;
  j.notified = j.notified_renewed = true;
  const std::vector<cert_facts> certs{cert90()};
  renewal_input in{md, certs, j, {}, {}};
  SECTION("restart: it waits for the restart") {
    CHECK(decide_renewal(in, k_now).action == renewal_action::none);
  }
  in.live = true;
  SECTION("live, not served yet: activate it now") {
    const auto d = decide_renewal(in, k_now);
    CHECK(d.action == renewal_action::activate_live);
    CHECK(d.at == k_now);
    CHECK(d.reason == "the renewed certificate is announced: serve it without a restart (MDActivation live)");
  }
  SECTION("live, not announced yet: ready-at and the notification come first") {
    j.notified = j.notified_renewed = false;
    j.valid_from = k_now + hours{1};
    CHECK(decide_renewal(in, k_now).action == renewal_action::wait);
    CHECK(decide_renewal(in, k_now + hours{1}).action == renewal_action::notify_renewed);
  }
  SECTION("live and served: its certificates are looked at like any complete MD's") {
    j.went_live(k_now - hours{1});
    const auto d = decide_renewal(in, k_now);
    CHECK(d.action == renewal_action::wait);
    CHECK(d.reason == "certificate(rsa) renew window (33%) starts Thu, 01 Jan 2026 07:12:00 GMT");
    CHECK(decide_renewal(in, k_now + hours{8}).action == renewal_action::renew);
  }
}

TEST_CASE("MDRenewViaARI: the earlier of ARI and the window, never before the ARI window",
          "[core][renewal]") {
  managed_domain md = md_named("a.example"); // ari_renewals defaults to on
  ari_hint hint;
  hint.window_start = k_now + minutes{30};
  hint.window_end = k_now + hours{2};
  hint.at = k_now + hours{1};
  hint.next_check = k_now + hours{6};
  hint.explanation_url = "https://ca.example/why";
  SECTION("ARI earlier than the window") {
    const auto d = decide(md, {cert90()}, {}, k_now, {}, hint);
    CHECK(d.action == renewal_action::wait);
    CHECK(d.at == k_now + hours{1});
    CHECK(d.reason == "ARI suggests renewal at Thu, 01 Jan 2026 01:00:00 GMT (https://ca.example/why)");
    CHECK(d.ari_check == k_now + hours{6});
    CHECK(next_look(d, k_now + hours{12}) == k_now + hours{1});
  }
  SECTION("a point before the suggested window is moved to its start") {
    hint.at = k_now + minutes{10};
    CHECK(decide(md, {cert90()}, {}, k_now, {}, hint).at == k_now + minutes{30});
  }
  SECTION("ARI time passed: renew") {
    const auto d = decide(md, {cert90()}, {}, k_now + hours{1}, {}, hint);
    CHECK(d.action == renewal_action::renew);
    CHECK(d.reason == "ARI suggests renewal since Thu, 01 Jan 2026 01:00:00 GMT (https://ca.example/why)");
    CHECK_FALSE(d.ari_check);
  }
  SECTION("the window earlier than ARI") {
    hint.window_start = hint.at = k_now + 10 * k_day;
    const auto d = decide(md, {cert90()}, {}, k_now, {}, hint);
    CHECK(d.at == k_now + seconds{25920});
    CHECK(d.ari_check == k_now + hours{6}); // Retry-After respected
    CHECK(next_look(d, k_now + hours{12}) == k_now + hours{6});
  }
  SECTION("no answer yet: ask now") {
    const auto d = decide(md, {cert90()});
    CHECK(d.ari_check == k_now);
  }
  SECTION("MDRenewViaARI off ignores the hint") {
    md.ari_renewals = false;
    const auto d = decide(md, {cert90()}, {}, k_now, {}, hint);
    CHECK(d.at == k_now + seconds{25920});
    CHECK_FALSE(d.ari_check);
  }
}

TEST_CASE("MDCheckInterval jitter and MDInitialDelay (mod_md next_run_default)", "[core][renewal]") {
  struct row {
    std::int64_t interval_ms;
    int c;
    std::int64_t expected_us;
  };
  const std::vector<row> rows = {
      {43200000, 0, 21600000000},    // 12h - 50 %
      {43200000, 127, 43031250000},  // 12h - 168.75 s
      {43200000, 128, 43200000000},
      {43200000, 255, 64631250000},  // 12h + 12h * 127 / 256
      {1000, 0, 500000},
      {1000, 255, 1496093},          // 1e6 * 127 / 256 = 496093.75 -> 496093
  };
  for (const auto& r : rows) {
    INFO("interval " << r.interval_ms << " ms, c " << r.c);
    CHECK(next_check_time(k_now, milliseconds{r.interval_ms}, static_cast<std::uint8_t>(r.c)) ==
          k_now + std::chrono::microseconds{r.expected_us});
  }
  CHECK(initial_check_time(k_now, seconds{30}) == k_now + seconds{30});
  renewal_decision none;
  CHECK(next_look(none, k_now + hours{12}) == k_now + hours{12});
}

TEST_CASE("md.json windows resolve against the defaults", "[core][renewal]") {
  managed_domain md = md_named("a.example");
  renewal_settings defaults;
  defaults.used = false;
  auto s = resolve_windows(md, defaults);
  REQUIRE(s);
  CHECK(s->renew_window == default_renew_window());
  CHECK(s->warn_window == default_warn_window());
  CHECK_FALSE(s->used);
  md.renew_window = "14d";
  md.warn_window = "5%";
  s = resolve_windows(md, defaults);
  REQUIRE(s);
  CHECK(s->renew_window == timeslice::absolute(14 * k_day));
  CHECK(s->warn_window == timeslice::of_percent(5));
  md.renew_window = "soon";
  s = resolve_windows(md, defaults);
  REQUIRE_FALSE(s);
  CHECK(s.error().message == "a.example: MDRenewWindow has unrecognized format");
  md.renew_window = "";
  md.warn_window = "100%";
  CHECK(resolve_windows(md, defaults).error().message ==
        "a.example: MDWarnWindow a length of 100% or more is not allowed.");
}

TEST_CASE("MDActivationDelay: ready-at of the renewed certificates", "[core][renewal]") {
  struct row {
    const char* what;
    std::vector<sys_time> not_before;
    bool was_complete;
    std::optional<sys_time> old_until;
    milliseconds delay;
    bool first;
    sys_time expected;
  };
  const milliseconds day{86400000};
  const std::vector<row> rows = {
      {"new MD", {k_now - hours{1}}, false, std::nullopt, day, true, k_now},
      {"notBefore ahead", {k_now - hours{1}, k_now + hours{1}}, false, std::nullopt, day, true, k_now + hours{1}},
      {"delay within old validity", {k_now}, true, k_now + 30 * k_day, day, true, k_now + k_day},
      {"delay cut to old validity", {k_now}, true, k_now + hours{2}, day, true, k_now + hours{2}},
      {"old expired", {k_now}, true, k_now - hours{1}, day, true, k_now},
      {"delay after notBefore", {k_now + hours{1}}, true, k_now + 30 * k_day, day, true, k_now + hours{25}},
      {"no delay", {k_now}, true, k_now + 30 * k_day, milliseconds{0}, true, k_now},
      {"test hook, first run", {k_now + hours{1}}, true, k_now + 30 * k_day, -day, true, k_now + seconds{1}},
      {"test hook, later run", {k_now + hours{1}}, true, k_now + 30 * k_day, -day, false, k_now + hours{1}},
  };
  for (const auto& r : rows) {
    INFO(r.what);
    activation_input in;
    in.new_not_before = r.not_before;
    in.was_complete = r.was_complete;
    in.old_valid_until = r.old_until;
    in.activation_delay = r.delay;
    in.first_run = r.first;
    CHECK(compute_ready_at(in, k_now) == r.expected);
  }
  CHECK(valid_until({cert90(), cert("P-256", k_now, k_now + k_day)}) == k_now + k_day);
  CHECK_FALSE(valid_until({}));
  CHECK(renewed_detail(k_now + hours{1}, k_now) ==
        "The certificate for the managed domain has been renewed successfully and can be used from "
        "Thu, 01 Jan 2026 01:00:00 GMT on.");
  CHECK(renewed_detail(k_now, k_now) ==
        "The certificate for the managed domain has been renewed successfully and can be used (valid since "
        "Thu, 01 Jan 2026 00:00:00 GMT). A graceful server restart now is recommended.");
}

namespace {

/// A self-signed leaf for `names`, valid [nb, na], optionally must-staple.
certificate make_leaf(const std::vector<std::string>& names, sys_time nb, sys_time na, bool staple) {
  auto key = private_key::generate(key_spec::ec("P-256"));
  REQUIRE(key);
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(names[0].c_str()),
                             -1, -1, 0);
  X509_set_issuer_name(x, name);
  ASN1_TIME_set(X509_getm_notBefore(x), static_cast<time_t>(to_unix(nb)));
  ASN1_TIME_set(X509_getm_notAfter(x), static_cast<time_t>(to_unix(na)));
  X509_set_pubkey(x, key->get());
  std::string san;
  for (const auto& n : names) san += (san.empty() ? "DNS:" : ",DNS:") + n;
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str());
  X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
  if (staple) {
    ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_tlsfeature, "status_request");
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(x, key->get(), EVP_sha256());
  return certificate::adopt(x);
}

} // namespace

TEST_CASE("facts are read from real certificates", "[core][renewal]") {
  const sys_time now = from_unix(to_unix(sys_clock::now()));
  managed_domain md = md_named("a.example");
  md.domains = {"a.example", "www.a.example"};
  md.key_specs = {key_spec::ec("P-256"), key_spec::rsa(2048)};
  const auto leaf = make_leaf({"a.example", "www.a.example"}, now - k_day, now + 89 * k_day, true);
  const auto facts = certificate_facts(md, {leaf, std::nullopt}, {true});
  REQUIRE(facts.size() == 2);
  CHECK(facts[0].spec == "P-256");
  CHECK(facts[0].present);
  CHECK(facts[0].not_before == now - k_day);
  CHECK(facts[0].not_after == now + 89 * k_day);
  CHECK(facts[0].covers_domains);
  CHECK(facts[0].must_staple);
  CHECK(facts[0].revoked);
  CHECK(facts[1].spec == "rsa");
  CHECK_FALSE(facts[1].present);
  CHECK(assess_certificates(md, facts).descr == "'must-staple' is not requested, but certificate(P-256) has it enabled.");
  const auto narrow = make_leaf({"a.example"}, now - k_day, now + 89 * k_day, false);
  CHECK(assess_certificates(md, certificate_facts(md, {narrow, narrow})).descr ==
        "certificate(P-256) does not cover all domains.");
}
