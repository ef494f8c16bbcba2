// The stapling actor under the test_coordinator: certificates read from files and grouped by
// responder URL, one responder actor per URL, events through MDMessageCmd (rate limited in
// the owner's OCSP job, "other" as mod_md names it), revocations forwarded to the domain
// actor, and an MD registered again only when its certificates changed. Tag [actors][ocsp].
#include <functional>
#include <map>

#include <openssl/ocsp.h>

#include "actors/ocsp_stapling.hpp"
#include "actors/status.hpp"
#include "actors/worker_pool.hpp"
#include "store/fs_store.hpp"
#include "tests/actors/actor_fixture.hpp"
#include "tests/ocsp/ocsp_fixture.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace std::chrono_literals;
using mda::test::ocsp::cert_options;
using mda::test::ocsp::issued;
using mda::test::ocsp::make_cert;
using mda::test::ocsp::make_pki;
using mda::test::ocsp::make_response;
using mda::test::ocsp::response_options;

namespace {

const char k_url[] = "http://127.0.0.1:9/ocsp";

/// Answers for the certificates it knows (by CertID), with the status set per certificate.
struct fake_responder final : acme::http_transport {
  struct known {
    ocsp::cert_id id;
    int status = 0;
  };
  std::vector<known> certs;
  const issued* signer = nullptr;
  std::function<sys_time()> now;
  int calls = 0;
  expected<acme::http_response> request(const acme::http_request& req) override {
    ++calls;
    const auto* p = reinterpret_cast<const unsigned char*>(req.body.data());
    OCSP_REQUEST* oreq = d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(req.body.size()));
    REQUIRE(oreq != nullptr);
    OCSP_CERTID* asked = OCSP_onereq_get0_id(OCSP_request_onereq_get0(oreq, 0));
    acme::http_response r;
    r.status = 500;
    for (const auto& k : certs) {
      if (!k.id.matches(asked)) continue;
      response_options o;
      o.cert_status = k.status;
      o.this_update = now();
      o.next_update = now() + 30h;
      if (k.status == 1) o.revoked_at = now() - 1h;
      r.status = 200;
      r.headers.emplace("Content-Type", "application/ocsp-response");
      r.body = make_response(k.id, *signer, o);
    }
    OCSP_REQUEST_free(oreq);
    return r;
  }
};

domain_actor::behavior_type fake_domain(domain_actor::pointer, std::vector<std::string>* revoked) {
  return {
    [](check_atom) {},
    [](renew_atom) { return std::string(); },
    [revoked](revoked_atom, const std::string& fp) { revoked->push_back(fp); },
    [](get_atom) { return md_snapshot{}; },
    [](progress_atom, const std::string&, const std::string&) {},
    [](progress_atom, const std::string&, const std::string&, const std::string&) {},
    [](publish_atom) {},
    [](wake_atom, std::uint64_t) {},
  };
}

struct stapling_fixture : test::actor_fixture {
  sys_time t0 = std::chrono::time_point_cast<std::chrono::seconds>(sys_clock::now());
  test::temp_dir dir;
  std::shared_ptr<store> st;
  std::shared_ptr<fake_responder> http = std::make_shared<fake_responder>();
  worker_pool_actor pool = spawn_worker_pool(sys, {8, false});
  actor_env env = make_test_env(sys, t0);
  status_actor status;
  test::ocsp::test_pki pki = make_pki(t0, k_url);
  issued other = make_cert({"other.test", false, k_url, false, t0 - 1h, t0 + 720h}, &pki.inter);
  issued no_url = make_cert({"plain.test", false, "", false, t0 - 1h, t0 + 720h}, &pki.inter);
  std::vector<std::string> revoked, lines;
  std::vector<std::vector<std::string>> commands;
  domain_actor domain;
  ocsp_stapling_actor stapling;
  managed_domain md;

  stapling_fixture() {
    auto opened = fs_store::open(dir / "store");
    REQUIRE(opened.ok());
    st = std::make_shared<fs_store>(std::move(*opened));
    status_config sc;
    sc.env = env;
    status = *spawn_status(sys, sc);
    http->signer = &pki.inter;
    http->now = [this] { return env.clock->now(); };
    http->certs = {{*ocsp::cert_id::make(pki.leaf.cert, pki.inter.cert), 0},
                   {*ocsp::cert_id::make(other.cert, pki.inter.cert), 0}};
    write_chain("a.pem", {pki.leaf.cert, pki.root.cert, pki.inter.cert}); // issuer found in the file
    write_chain("other.pem", {other.cert, pki.inter.cert});
    write_chain("plain.pem", {no_url.cert, pki.inter.cert});
    write_chain("lonely.pem", {other.cert});
    md.name = "a.test";
    md.domains = {"a.test"};
    md.stapling = true;
    md.cert_files = {dir / "a.pem"};
    md.pkey_files = {dir / "a.key"};
  }
  ~stapling_fixture() {
    stop(stapling, domain, status, pool);
  }
  void write_chain(const std::string& name, const std::vector<certificate>& chain) {
    auto pem = write_pem_chain(chain);
    REQUIRE(pem.ok());
    test::write_file(dir / name, *pem);
  }
  void start(std::vector<std::string> other_files) {
    ocsp_stapling_config c;
    c.mds = {md};
    c.other_files = std::move(other_files);
    c.st = st;
    c.io_pool = pool;
    c.status = status;
    c.env = env;
    c.transports = [this](const std::string& url) -> expected<std::shared_ptr<acme::http_transport>> {
      CHECK(url == k_url);
      return std::shared_ptr<acme::http_transport>(http);
    };
    c.commands.message_cmd = "/bin/msg extra-arg";
    c.run_command = [this](const std::vector<std::string>& argv, std::chrono::milliseconds) {
      commands.push_back(argv);
      return expected<process_result>(process_result{0, 0, false, "", "", {}});
    };
    c.log = [this](const std::string& l) { lines.push_back(l); };
    stapling = spawn_ocsp_stapling(sys, std::move(c));
    domain = sys.spawn(fake_domain, &revoked);
    caf::anon_send(stapling, caf::put_atom_v, std::string("a.test"), domain);
    caf::anon_send(stapling, check_atom_v);
    sched.run();
  }
  ocsp_stapling_state& state() { return state_of<ocsp_stapling_state>(stapling); }
  ocsp_responder_state& responder() {
    REQUIRE(state().responders.count(k_url) == 1);
    return state_of<ocsp_responder_state>(state().responders.at(k_url));
  }
};

using argv = std::vector<std::string>;

} // namespace

TEST_CASE("stapling: an MD served live staples its staged certificates", "[actors][ocsp]") {
  stapling_fixture f;
  managed_domain md = f.md;
  md.cert_files.clear();
  md.pkey_files.clear();
  auto chain = [](const std::vector<certificate>& c) { return *write_pem_chain(c); };
  REQUIRE(f.st->save_text(store_group::domains, md.name, "pubcert.pem", chain({f.pki.leaf.cert, f.pki.inter.cert})));
  REQUIRE(f.st->save_text(store_group::staging, md.name, "pubcert.pem", chain({f.other.cert, f.pki.inter.cert})));
  REQUIRE(f.st->save_json(store_group::staging, md.name, "md.json", to_json(md)));
  job j;
  j.finished = j.notified = j.notified_renewed = true;
  REQUIRE(f.st->save_json(store_group::staging, md.name, "job.json", to_json(j)));
  const auto in_domains = std::vector<std::string>{*ocsp::cert_key(f.pki.leaf.cert)};
  const auto staged = std::vector<std::string>{*ocsp::cert_key(f.other.cert)};
  CHECK(load_md_staple_set(*f.st, md, true).keys == in_domains); // renewed, not live yet
  j.went_live(f.t0);
  REQUIRE(f.st->save_json(store_group::staging, md.name, "job.json", to_json(j)));
  CHECK(load_md_staple_set(*f.st, md, true).keys == staged);
  CHECK(load_md_staple_set(*f.st, md, false).keys == in_domains); // MDActivation restart
}

TEST_CASE("stapling: reading certificate files", "[actors][ocsp]") {
  stapling_fixture f;
  auto set = load_md_staple_set(*f.st, f.md);
  CHECK(set.owner == "a.test");
  CHECK(set.problems.empty());
  REQUIRE(set.by_url.count(k_url) == 1);
  REQUIRE(set.by_url.at(k_url).size() == 1);
  CHECK(set.by_url.at(k_url)[0].issuer.same_as(f.pki.inter.cert));
  CHECK(set.keys == std::vector<std::string>{*ocsp::cert_key(f.pki.leaf.cert)});

  auto others = load_other_staple_set(*f.st, {f.dir / "plain.pem", f.dir / "lonely.pem",
                                       f.dir / "other.pem", f.dir / "missing.pem"});
  CHECK(others.owner == "other");
  CHECK(others.keys == std::vector<std::string>{*ocsp::cert_key(f.other.cert)});
  CHECK(others.problems ==
        std::vector<std::string>{"'" + f.dir / "lonely.pem" +
                                     "': the issuer of the certificate with serial " +
                                     f.other.cert.serial_hex() + " is not in the file, it is not stapled",
                                 "open('" + f.dir / "missing.pem" + "') failed: No such file or directory"});
}

TEST_CASE("stapling: one responder per URL, events, revocation to the domain actor",
          "[actors][ocsp]") {
  stapling_fixture f;
  f.start({f.dir / "other.pem", f.dir / "plain.pem"});
  auto key = *ocsp::cert_key(f.pki.leaf.cert);
  auto other_key = *ocsp::cert_key(f.other.cert);
  CHECK(f.state().responders.size() == 1);
  CHECK(f.responder().entries.size() == 2);
  CHECK(f.http->calls == 2);
  auto stored = ocsp::load_stored(*f.st, "a.test", key);
  REQUIRE(stored.ok());
  REQUIRE(stored->has_value());
  CHECK((*stored)->status == ocsp::cert_status::good);
  REQUIRE(ocsp::load_stored(*f.st, "other", other_key).ok());
  // mod_md's argument form: "<MDMessageCmd> <reason> <owner>"
  CHECK(f.commands == std::vector<argv>{{"/bin/msg", "extra-arg", "ocsp-renewed", "a.test"},
                                        {"/bin/msg", "extra-arg", "ocsp-renewed", "other"}});
  auto jb = ocsp::load_ocsp_job(*f.st, "a.test");
  REQUIRE(jb.ok());
  CHECK(to_json(*jb)["log"]["entries"][0]["type"] == "message-ocsp-renewed");

  // the status snapshot carries the staplings with their owner's OCSP job
  auto snap = f.ask<status_snapshot>(f.status, caf::get_atom_v, snapshot_atom_v);
  REQUIRE(snap.staplings.size() == 2);
  const job* shown = ocsp_job_of(snap, "a.test");
  REQUIRE(shown != nullptr);
  CHECK(*shown == *jb);

  SECTION("ocsp-renewed again within a day is rate limited") {
    f.advance(21h, 1h); // the refresh (renew window 33% of 30 h)
    CHECK(f.http->calls == 4);
    CHECK(f.commands.size() == 2);
  }
  SECTION("a revoked certificate: its domain actor is told, an 'other' one is only logged") {
    for (auto& k : f.http->certs) k.status = 1;
    f.advance(21h, 1h);
    CHECK(f.revoked == std::vector<std::string>{f.pki.leaf.cert.fingerprint_sha256()});
    CHECK(std::count(f.lines.begin(), f.lines.end(),
                     "ocsp stapling: other: certificate " + f.other.cert.fingerprint_sha256() +
                         " is revoked (no MD to renew)") == 1);
  }
  SECTION("the same certificates again: not registered again; new ones replace the old") {
    caf::anon_send(f.stapling, staple_atom_v, std::string("a.test"));
    f.sched.run();
    CHECK(f.http->calls == 2);
    auto renewed = make_cert({"a.test", false, k_url, false, f.t0 - 1h, f.t0 + 720h}, &f.pki.inter);
    f.http->certs.push_back({*ocsp::cert_id::make(renewed.cert, f.pki.inter.cert), 0});
    f.write_chain("a.pem", {renewed.cert, f.pki.inter.cert});
    caf::anon_send(f.stapling, staple_atom_v, std::string("a.test"));
    f.sched.run();
    CHECK(f.http->calls == 3);
    CHECK(f.responder().entries.count(key) == 0);
    CHECK(f.responder().entries.count(*ocsp::cert_key(renewed.cert)) == 1);
  }
}

TEST_CASE("stapling: old responses are removed at start", "[actors][ocsp]") {
  stapling_fixture f;
  auto key = *ocsp::cert_key(f.pki.leaf.cert);
  ocsp::stored_response old{ocsp::cert_status::good, "x", {f.t0 - 48h, f.t0 - 24h}};
  REQUIRE(ocsp::save_stored(*f.st, "gone.test", "00", old).ok());
  // its mtime is the real now; the test clock starts 8 days later
  f.env = make_test_env(f.sys, f.t0 + 24h * 8);
  f.start({});
  auto gone = ocsp::load_stored(*f.st, "gone.test", "00");
  REQUIRE(gone.ok());
  CHECK_FALSE(gone->has_value());
  CHECK(ocsp::load_stored(*f.st, "a.test", key)->has_value());
}
