// mdctl's admin commands as a program (MDCTL_PATH) against real pebble: revoke (with the
// account key and with the certificate's key; the certificate archived, pebble's management
// API reporting it revoked with the reason), account rollover and deactivate, renew and
// status against `mdctl run` as a child process (its status socket), and failures that leave
// the store as it was (every file's path and content compared).
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "acme/account.hpp"
#include "core/engine_config.hpp"
#include "core/timefmt.hpp"
#include "core/x509.hpp"
#include "store/fs_store.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/pebble.hpp"
#include "tests/support/scripted_socket.hpp"
#include "tests/test_util.hpp"

using namespace mda;
namespace fs = std::filesystem;

namespace {

test::run_result mdctl(std::vector<std::string> args) {
  args.insert(args.begin(), MDCTL_PATH);
  return test::run(args);
}

/// Every regular file under `dir`: relative path -> content.
std::map<std::string, std::string> files_of(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = test::read_file(e.path());
  return out;
}

/// A store with one certificate for `md` from pebble (mdctl obtain, http-01).
void obtain(const test::pebble_fixture& p, const std::string& store, const std::string& md,
            const std::string& key = "rsa2048") {
  auto r = mdctl({"obtain", "--ca", p.directory_url(), "--ca-file", p.ca_file(), "--store", store,
                  "--bind", "127.0.0.1", "--http-port", std::to_string(p.http_port()), "--contact",
                  "admin@example.test", "--agree-tos", "--key", key, md});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
}

certificate leaf_of(const std::string& path) {
  auto c = certificate::from_pem(test::read_file(path), path);
  REQUIRE(c);
  return *c;
}

std::string account_id(const std::string& store) {
  auto st = fs_store::open(store);
  REQUIRE(st);
  auto ids = st->list_names(store_group::accounts);
  REQUIRE(ids);
  REQUIRE(ids->size() == 1);
  return ids->front();
}

std::string no_socket(const test::temp_dir& dir) { return dir / "none.sock"; }

} // namespace

TEST_CASE("mdctl admin commands: --help, and bad usage is exit status 2", "[mdctl]") {
  for (const char* cmd : {"renew", "revoke", "account", "status"}) {
    auto r = mdctl({cmd, "--help"});
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.output.find(std::string("usage:\n  ") + cmd) == 0);
  }
  auto top = mdctl({"--help"});
  for (const char* line : {"  renew MD", "  revoke MD", "  account rollover ID", "  account deactivate ID",
                           "  status [MD]"})
    CHECK(top.output.find(line) != std::string::npos);
  auto r = mdctl({"revoke", "a.example.test", "--reason", "bored"});
  CHECK(r.exit_code == 2);
  CHECK(r.output.rfind("mdctl revoke: --reason 'bored': not an RFC 5280 reason\nusage:\n", 0) == 0);
  r = mdctl({"revoke", "a.example.test", "--with", "magic"});
  CHECK(r.exit_code == 2);
  CHECK(r.output.rfind("mdctl revoke: --with 'magic': expected account or certkey\n", 0) == 0);
  r = mdctl({"account", "rotate", "ACME-x-0000"});
  CHECK(r.exit_code == 2);
  CHECK(r.output.rfind("mdctl account: expected 'rollover ID' or 'deactivate ID'\n", 0) == 0);
  r = mdctl({"renew"});
  CHECK(r.exit_code == 2);
  CHECK(r.output.rfind("mdctl renew: expected one MD name\n", 0) == 0);
  r = mdctl({"status", "--bogus"});
  CHECK(r.exit_code == 2);
  CHECK(r.output.rfind("mdctl status: unknown option '--bogus'\n", 0) == 0);
}

TEST_CASE("mdctl renew and status without an engine say so", "[mdctl]") {
  test::temp_dir dir;
  const std::string sock = no_socket(dir);
  auto r = mdctl({"renew", "a.example.test", "--socket", sock});
  CHECK(r.exit_code == 3);
  CHECK(r.output == "mdctl renew: no engine answers at " + sock + ": connect('" + sock +
                        "') failed: No such file or directory (is the server running? --store DIR "
                        "or --socket PATH name another)\n");
  r = mdctl({"status", "--socket", sock});
  CHECK(r.exit_code == 1);
  CHECK(r.output == "mdctl status: no engine answers at " + sock + ": connect('" + sock +
                        "') failed: No such file or directory\n");
}

TEST_CASE("mdctl status renders md-status per MD: certificates, OCSP, a failing renewal", "[mdctl]") {
  test::temp_dir dir;
  const std::string sock = dir / "status.sock";
  const std::string body =
      test::read_file(std::string(MDACTOR_TESTS_DIR) + "/data/status/lab1.md-status.json");
  const std::string until = "Sat, 27 Feb 2027 03:25:17 GMT";
  const auto left = std::chrono::duration_cast<std::chrono::hours>(*parse_rfc822(until) -
                                                                     sys_clock::now()).count() / 24;
  const std::string valid = "valid until " + until + " (" + std::to_string(left) + " days left)";
  const std::string answer = "OK " + std::to_string(body.size()) + "\n" + body;
  auto engine = std::make_unique<test::scripted_socket>(sock, answer);
  auto r = mdctl({"status", "--socket", sock});
  CHECK(r.exit_code == 0);
  CHECK(r.output ==
        "a.example.test\n"
        "  names: a.example.test www.a.example.test\n"
        "  state: complete\n"
        "  cert rsa: serial 56CAE47C6C37116DAA, " + valid + ", OCSP unknown\n"
        "  renew at: Thu, 28 Jan 2027 10:37:17 GMT\n"
        "b.example.test\n"
        "  names: b.example.test\n"
        "  state: complete\n"
        "  cert 0: serial 56CAE47C6C37116DBB, " + valid + "\n"
        "  renew at: Thu, 28 Jan 2027 10:37:17 GMT\n"
        "e.example.test\n"
        "  names: e.example.test\n"
        "  state: incomplete (certificate(rsa) is missing)\n"
        "  renew at: Sun, 29 Nov 2026 03:25:59 GMT\n"
        "  renewal: retrying after errors\n"
        "  last error (3 errors): Unsuccessful in contacting ACME server at <https://127.0.0.1:1/dir>. "
        "If this problem persists, please check your network connectivity from your Apache server "
        "to the ACME server. Also, older servers might have trouble verifying the certificates of "
        "the ACME server. You can check if you are able to contact it manually via the curl "
        "command. Sometimes, the ACME server might be down for maintenance, so failing to contact "
        "it is not an immediate problem. Apache will continue retrying this.\n"
        "  next try: Sun, 29 Nov 2026 03:26:02 GMT\n");
  engine.reset();
  engine = std::make_unique<test::scripted_socket>(sock, answer);
  r = mdctl({"status", "--socket", sock, "--json"});
  CHECK(r.exit_code == 0);
  CHECK(r.output == body + "\n");
}

TEST_CASE("mdctl revoke with the account key archives the certificate", "[mdctl][pebble]") {
  test::pebble_fixture pebble;
  test::temp_dir dir;
  const std::string store = dir / "md";
  obtain(pebble, store, "rv.example.test");
  const std::string domain_dir = store + "/domains/rv.example.test/";
  const auto before = files_of(domain_dir);
  const certificate leaf = leaf_of(domain_dir + "pubcert.pem");

  SECTION("a failure changes nothing: unknown MD, CA not trusted") {
    const auto all = files_of(store);
    auto r = mdctl({"revoke", "nope.example.test", "--store", store, "--ca-file", pebble.ca_file()});
    CHECK(r.exit_code == 1);
    CHECK(r.output == "mdctl revoke: no managed domain 'nope.example.test' in " + store +
                          "/domains (no " + store + "/domains/nope.example.test/md.json)\n");
    r = mdctl({"revoke", "rv.example.test", "--store", store, "--socket", no_socket(dir)});
    CHECK(r.exit_code == 1);
    CHECK(r.output.rfind("mdctl revoke: revoking the rsa-2048 certificate of 'rv.example.test' (serial " +
                             leaf.serial_hex() + ") failed: ", 0) == 0);
    CHECK(files_of(store) == all);
    CHECK(nlohmann::json::parse(pebble.cert_status(leaf.serial_hex()))["Status"] == "Valid");
  }
  SECTION("the CA refuses (already revoked): nothing changes") {
    const std::string copy = dir / "copy";
    fs::copy(store, copy, fs::copy_options::recursive);
    auto r = mdctl({"revoke", "rv.example.test", "--store", copy, "--ca-file", pebble.ca_file(),
                    "--socket", no_socket(dir)});
    REQUIRE(r.exit_code == 0);
    const auto all = files_of(store);
    r = mdctl({"revoke", "rv.example.test", "--store", store, "--ca-file", pebble.ca_file(),
               "--socket", no_socket(dir)});
    CHECK(r.exit_code == 1);
    CHECK(r.output == "mdctl revoke: revoking the rsa-2048 certificate of 'rv.example.test' (serial " +
                          leaf.serial_hex() + ") failed: acme problem urn:ietf:params:acme:error:"
                          "alreadyRevoked: Certificate has already been revoked. (HTTP 400 from " +
                          pebble.directory_url().substr(0, pebble.directory_url().size() - 4) +
                          "/revoke-cert)\n");
    CHECK(files_of(store) == all);
  }
  SECTION("revoked, archived, renewal left to the next start") {
    auto r = mdctl({"revoke", "rv.example.test", "--reason", "superseded", "--store", store,
                    "--ca-file", pebble.ca_file(), "--socket", no_socket(dir)});
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(r.output == "revoked rsa-2048 certificate serial " + leaf.serial_hex() +
                          ", reason superseded\narchived " + store + "/domains/rv.example.test as " +
                          store + "/archive/rv.example.test.1\nno engine answers at " +
                          no_socket(dir) + ": 'rv.example.test' is renewed when the server starts next\n");
    auto st = nlohmann::json::parse(pebble.cert_status(leaf.serial_hex()));
    CHECK(st["Status"] == "Revoked");
    CHECK(st["Reason"] == 4);
    CHECK(files_of(store + "/archive/rv.example.test.1") == before);
    auto now = files_of(domain_dir);
    CHECK(now.count("pubcert.pem") == 0);
    CHECK(now.count("privkey.pem") == 0);
    CHECK(now["md.json"] == before.at("md.json"));
    // nothing left to revoke: a failure naming the MD, nothing changed
    const auto all = files_of(store);
    r = mdctl({"revoke", "rv.example.test", "--store", store, "--ca-file", pebble.ca_file()});
    CHECK(r.exit_code == 1);
    CHECK(r.output == "mdctl revoke: managed domain 'rv.example.test' has no certificate in " +
                          store + "/domains/rv.example.test\n");
    CHECK(files_of(store) == all);
  }
}

TEST_CASE("mdctl revoke with the certificate's key, P-256", "[mdctl][pebble]") {
  test::pebble_fixture pebble;
  test::temp_dir dir;
  const std::string store = dir / "md";
  obtain(pebble, store, "rk.example.test", "p256");
  const certificate leaf = leaf_of(store + "/domains/rk.example.test/pubcert.p-256.pem");
  auto r = mdctl({"revoke", "rk.example.test", "--with", "certkey", "--reason", "keyCompromise",
                  "--store", store, "--ca-file", pebble.ca_file(), "--socket", no_socket(dir)});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  auto st = nlohmann::json::parse(pebble.cert_status(leaf.serial_hex()));
  CHECK(st["Status"] == "Revoked");
  CHECK(st["Reason"] == 1);
  CHECK(test::path_exists(store + "/archive/rk.example.test.1/pubcert.p-256.pem"));
  CHECK_FALSE(test::path_exists(store + "/domains/rk.example.test/privkey.p-256.pem"));
}

TEST_CASE("mdctl account rollover and deactivate", "[mdctl][pebble]") {
  test::pebble_fixture pebble;
  test::temp_dir dir;
  const std::string store = dir / "md";
  obtain(pebble, store, "acct.example.test");
  const std::string id = account_id(store);
  const std::string acct_dir = store + "/accounts/" + id + "/";
  auto st = fs_store::open(store);
  REQUIRE(st);
  auto old_key = st->load_key(store_group::accounts, id, aspect::account_key);
  REQUIRE(old_key);
  auto account_json = nlohmann::json::parse(test::read_file(acct_dir + "account.json"));
  const std::string url = account_json["url"];

  SECTION("failures change nothing") {
    const auto all = files_of(store);
    auto r = mdctl({"account", "rollover", "ACME-nope-0000", "--store", store});
    CHECK(r.exit_code == 1);
    CHECK(r.output == "mdctl account: no account 'ACME-nope-0000' in " + store + "/accounts (no " +
                          store + "/accounts/ACME-nope-0000/account.json)\n");
    r = mdctl({"account", "rollover", id, "--store", store}); // pebble's TLS is not trusted
    CHECK(r.exit_code == 1);
    CHECK(r.output.rfind("mdctl account: key rollover of account '" + id + "' (" + url + ") failed: ", 0) == 0);
    r = mdctl({"account", "deactivate", id, "--store", store});
    CHECK(r.exit_code == 1);
    CHECK(r.output.rfind("mdctl account: deactivating account '" + id + "' (" + url + ") failed: ", 0) == 0);
    CHECK(files_of(store) == all);
  }
  SECTION("rollover: the new key is stored encrypted and the CA knows it") {
    auto r = mdctl({"account", "rollover", id, "--store", store, "--ca-file", pebble.ca_file()});
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(r.output == "account " + id + " (" + url + "): new key in " + acct_dir + "account.pem\n");
    CHECK(test::read_file(acct_dir + "account.pem").find("ENCRYPTED") != std::string::npos);
    auto new_key = st->load_key(store_group::accounts, id, aspect::account_key);
    REQUIRE(new_key);
    CHECK_FALSE(new_key->same_public_key(*old_key));
    acme::http_options ho;
    ho.ca_file = pebble.ca_file();
    auto t = acme::httplib_transport::create(ho);
    REQUIRE(t);
    acme::client c(*t, acme::client_options{pebble.directory_url()},
                   std::make_shared<system_time_source>());
    auto found = acme::find_account(c, *new_key);
    REQUIRE(found);
    CHECK(found->url() == url);
    CHECK_FALSE(acme::find_account(c, *old_key));
    // the account still orders: a certificate for another name with the rolled key
    obtain(pebble, store, "acct2.example.test");
    CHECK(account_id(store) == id);
  }
  SECTION("deactivate: account.json says so, a second time is refused") {
    auto r = mdctl({"account", "deactivate", id, "--store", store, "--ca-file", pebble.ca_file()});
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(r.output == "account " + id + " (" + url + ") deactivated\n");
    auto j = nlohmann::json::parse(test::read_file(acct_dir + "account.json"));
    CHECK(j["status"] == "deactivated");
    CHECK(j["url"] == url);
    r = mdctl({"account", "deactivate", id, "--store", store, "--ca-file", pebble.ca_file()});
    CHECK(r.exit_code == 1);
    CHECK(r.output == "mdctl account: account '" + id + "' is deactivated already\n");
  }
}

namespace {

/// `mdctl run` with one MD and a status socket, as a child process.
struct engine_child {
  test::temp_dir dir;
  std::string store = dir / "md";
  std::string sock = dir / "status.sock";
  pid_t pid = -1;

  engine_child(const test::pebble_fixture& p, const std::string& md) {
    engine_config c;
    c.settings.store_dir = store;
    c.settings.ca_certs = p.ca_file();
    c.settings.http01_port = p.http_port();
    c.settings.responder_address = "127.0.0.1";
    c.settings.retry_delay = std::chrono::milliseconds(1000);
    c.settings.status_socket = sock;
    engine_md em;
    em.md.name = md;
    em.md.domains = {md};
    em.md.contacts = {"mailto:admin@example.test"};
    em.md.ca.urls = {p.directory_url()};
    em.md.ca.agreement = "accepted";
    em.md.ca.challenges = {"http-01"};
    c.mds.push_back(em);
    test::write_file(dir / "engine.json", to_json(c).dump(2));
    pid = test::spawn_child({MDCTL_PATH, "run", "--config", dir / "engine.json"}, dir / "engine.log");
  }
  ~engine_child() { test::stop_child(pid, std::chrono::seconds(5)); }

  /// Waits until the engine serves a certificate for md (its first run, activated).
  void wait_complete(const std::string& md) {
    for (int i = 0; i < 600; ++i) {
      auto r = mdctl({"status", md, "--socket", sock, "--json"});
      if (r.exit_code == 0) {
        auto j = nlohmann::json::parse(r.output, nullptr, false);
        if (!j.is_discarded() && j.contains("cert") && j["cert"].contains("rsa") &&
            j["cert"]["rsa"].contains("serial") && test::path_exists(store + "/domains/" + md + "/pubcert.pem"))
          return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    FAIL("no certificate within 120 s; engine log:\n" + test::read_file(dir / "engine.log"));
  }
};

} // namespace

TEST_CASE("mdctl renew, status and revoke against a running engine", "[mdctl][pebble]") {
  test::pebble_fixture pebble;
  const std::string md = "renew.example.test";
  engine_child engine(pebble, md);
  engine.wait_complete(md);
  const std::string chain = engine.store + "/domains/" + md + "/pubcert.pem";
  const std::string first = leaf_of(chain).serial_hex();

  auto r = mdctl({"status", "--socket", engine.sock});
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(r.output.rfind(md + "\n  names: " + md + "\n  state: complete\n  cert rsa: serial " + first +
                           ", valid until ", 0) == 0);
  CHECK(r.output.find(" days left)") != std::string::npos);

  r = mdctl({"renew", "nope.example.test", "--socket", engine.sock});
  CHECK(r.exit_code == 1);
  CHECK(r.output == "mdctl renew: the engine at " + engine.sock +
                        " manages no MD named 'nope.example.test'\n");
  r = mdctl({"status", "nope.example.test", "--socket", engine.sock});
  CHECK(r.exit_code == 1);
  CHECK(r.output == "mdctl status: the engine at " + engine.sock +
                        " manages no MD named 'nope.example.test'\n");

  r = mdctl({"renew", md, "--socket", engine.sock, "--timeout", "120"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.rfind(md + ": renewal started: a renewal was asked for (mdctl renew)\n", 0) == 0);
  const std::string second = leaf_of(chain).serial_hex();
  CHECK(second != first);
  CHECK(r.output.find("new certificate rsa for '" + md + "': serial " + second + ", valid until ") !=
        std::string::npos);
  CHECK(r.output.find("\nserved now\n") != std::string::npos);

  // revoke: the certificate revoked and archived, then the engine renews
  r = mdctl({"revoke", md, "--with", "certkey", "--store", engine.store, "--ca-file", pebble.ca_file(),
             "--socket", engine.sock, "--timeout", "120"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.rfind("revoked rsa-2048 certificate serial " + second + "\n", 0) == 0);
  CHECK(nlohmann::json::parse(pebble.cert_status(second))["Status"] == "Revoked");
  const std::string third = leaf_of(chain).serial_hex();
  CHECK(third != second);
  CHECK(r.output.find("new certificate rsa for '" + md + "': serial " + third) != std::string::npos);
}
