// a2md's ACME commands against pebble (tests/support/pebble.hpp): newreg, validate, delreg,
// and drive with its challenges answered from the store's challenges/ by a small server that
// does what Apache's workers do (challenges/<Host>/acme-http-01.txt), so the MD ends complete
// in domains/, the MD's first md.json archived, challenges/ emptied.
#include <catch2/catch.hpp>

#include <regex>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/md.hpp"
#include "core/x509.hpp"
#include "store/fs_store.hpp"
#include "tests/support/pebble.hpp"
#include "tests/test_util.hpp"

using namespace mda;

namespace {

/// Serves challenges/<host>/acme-http-01.txt of a store on 127.0.0.1:port while it lives.
class store_http01_server {
 public:
  store_http01_server(std::string store, int port) : store_(std::move(store)) {
    srv_.Get(R"(/\.well-known/acme-challenge/[A-Za-z0-9_-]+)",
             [this](const httplib::Request& req, httplib::Response& res) {
               std::string host = req.get_header_value("Host");
               host = host.substr(0, host.find(':'));
               const std::string file = store_ + "/challenges/" + host + "/acme-http-01.txt";
               if (!test::path_exists(file)) {
                 res.status = 404;
                 return;
               }
               res.set_content(test::read_file(file), "text/plain");
             });
    if (!srv_.bind_to_port("127.0.0.1", port)) throw std::runtime_error("cannot bind the http-01 port");
    thread_ = std::thread([this] { srv_.listen_after_bind(); });
  }
  ~store_http01_server() {
    srv_.stop();
    thread_.join();
  }

 private:
  std::string store_;
  httplib::Server srv_;
  std::thread thread_;
};

struct a2md_session {
  test::pebble_fixture pebble;
  test::temp_dir dir;
  std::string store = dir / "md";

  test::run_result operator()(std::vector<std::string> args, bool json = true) const {
    std::vector<std::string> argv{A2MD_PATH, "-a", pebble.directory_url(), "-d", store, "-C", pebble.ca_file()};
    if (json) argv.push_back("-j");
    argv.insert(argv.end(), args.begin(), args.end());
    return test::run(argv);
  }
};

std::string registered_id(const test::run_result& r) {
  std::smatch m;
  REQUIRE(std::regex_search(r.output, m, std::regex("registered: (ACME-[^\\n]+)\\n")));
  return m[1];
}

} // namespace

TEST_CASE("a2md acme newreg / validate / delreg against pebble", "[a2md][pebble]") {
  a2md_session a2md;
  auto r = a2md({"acme", "newreg", "x@example.test"}, false);
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("must agree to terms of service") != std::string::npos);
  CHECK_FALSE(test::path_exists(a2md.store + "/accounts/ACME-127.0.0.1-0000"));

  r = a2md({"-t", "accepted", "acme", "newreg", "x@example.test", "mailto:y@example.test"}, false);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::string id = registered_id(r);
  CHECK(id == "ACME-127.0.0.1-0000");
  auto acct = nlohmann::json::parse(test::read_file(a2md.store + "/accounts/" + id + "/account.json"));
  CHECK(acct["registration"]["contact"] == nlohmann::json::array({"mailto:x@example.test", "mailto:y@example.test"}));
  CHECK(acct["status"] == "valid");
  CHECK(acct["ca-url"] == a2md.pebble.directory_url());

  r = a2md({"acme", "validate", id}, false);
  CHECK(r.exit_code == 0);
  CHECK(r.output == "account valid: " + id + "\n");

  // An account URL the CA does not know: not valid.
  auto bad = acct;
  bad["url"] = acct["url"].get<std::string>() + "0";
  test::write_file(a2md.store + "/accounts/" + id + "/account.json", bad.dump());
  CHECK(a2md({"acme", "validate", id}).exit_code == 1);
  test::write_file(a2md.store + "/accounts/" + id + "/account.json", acct.dump());

  CHECK(a2md({"delreg", id}).exit_code == 1); // not a command of its own
  CHECK(a2md({"acme", "delreg", id}).exit_code == 0);
  CHECK_FALSE(test::path_exists(a2md.store + "/accounts/" + id));
  CHECK(a2md({"acme", "validate", id}).exit_code == 1);
  CHECK(a2md({"acme", "validate", "ACME-localhost-1000"}).exit_code == 1);
}

TEST_CASE("a2md drive against pebble: new account, http-01 from the store, forced renewal archived",
          "[a2md][pebble]") {
  a2md_session a2md;
  store_http01_server http01(a2md.store, a2md.pebble.http_port());
  const std::string name = "www.drive.example.test";

  REQUIRE(a2md({"add", name, "drive.example.test"}).exit_code == 0);
  auto r = a2md({"drive", name});
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("No contact information is available for MD " + name) != std::string::npos);
  REQUIRE(a2md({"update", name, "contacts", "admin@example.test"}).exit_code == 0);
  r = a2md({"drive", name});
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("the CA requires you to accept the terms-of-service as specified in ") != std::string::npos);
  CHECK_FALSE(test::path_exists(a2md.store + "/accounts/ACME-127.0.0.1-0000/account.json"));
  REQUIRE(a2md({"update", name, "agreement", "accepted"}).exit_code == 0);
  REQUIRE(a2md({"update", name, "ca", a2md.pebble.directory_url(), "FOO"}).exit_code == 0);
  r = a2md({"drive", name});
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("Unknown CA protocol 'FOO'") != std::string::npos);
  REQUIRE(a2md({"update", name, "ca", a2md.pebble.directory_url(), "ACME"}).exit_code == 0);

  r = a2md({"-v", "drive", "-c", "http-01", name});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  auto listed = nlohmann::json::parse(a2md({"list", name}).output);
  CHECK(listed["output"][0]["state"] == 2);
  CHECK(listed["output"][0]["renew"] == false);
  CHECK(listed["output"][0]["ca"]["account"] == "ACME-127.0.0.1-0000");
  auto chain = certificate::from_pem(test::read_file(a2md.store + "/domains/" + name + "/pubcert.pem"), "pubcert.pem");
  REQUIRE(chain);
  CHECK(chain->covers({name, "drive.example.test"}));
  const std::string first_serial = chain->serial_hex();
  CHECK(test::path_exists(a2md.store + "/archive/" + name + ".1/md.json"));
  CHECK(test::read_file(a2md.store + "/domains/" + name + "/privkey.pem").find("-----BEGIN PRIVATE KEY-----") == 0);
  auto st = fs_store::open(a2md.store);
  REQUIRE(st);
  auto left = st->list_names(store_group::challenges);
  REQUIRE(left);
  CHECK(left->empty());

  // Complete and not due: nothing ordered. Forced: a new certificate, the old set archived.
  REQUIRE(a2md({"drive", name}).exit_code == 0);
  chain = certificate::from_pem(test::read_file(a2md.store + "/domains/" + name + "/pubcert.pem"), "pubcert.pem");
  REQUIRE(chain);
  CHECK(chain->serial_hex() == first_serial);
  REQUIRE(a2md({"drive", "--force", name}).exit_code == 0);
  chain = certificate::from_pem(test::read_file(a2md.store + "/domains/" + name + "/pubcert.pem"), "pubcert.pem");
  REQUIRE(chain);
  CHECK(chain->serial_hex() != first_serial);
  auto archived = certificate::from_pem(test::read_file(a2md.store + "/archive/" + name + ".2/pubcert.pem"), "pubcert.pem");
  REQUIRE(archived);
  CHECK(archived->serial_hex() == first_serial);
}

TEST_CASE("a2md drive against pebble: a wildcard through the MD's dns-01 command", "[a2md][pebble]") {
  a2md_session a2md;
  const std::string script = test::write_dns_script(a2md.dir.path()), log = a2md.dir / "dns.log";
  const std::string cts = a2md.pebble.challtestsrv_url().substr(std::string("http://").size());
  const std::string name = "*.w.example.test";
  REQUIRE(a2md({"add", name}).exit_code == 0); // its authorization offers dns-01 only
  REQUIRE(a2md({"update", name, "contacts", "admin@example.test"}).exit_code == 0);
  REQUIRE(a2md({"update", name, "agreement", "accepted"}).exit_code == 0);
  // The command as the module writes it into md.json from MDChallengeDns01.
  const std::string md_file = a2md.store + "/domains/" + name + "/md.json";
  auto j = nlohmann::ordered_json::parse(test::read_file(md_file));
  j["cmd-dns-01"] = script + " " + cts + " " + log;
  test::write_file(md_file, j.dump(2));

  auto r = a2md({"drive", name});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  auto chain = certificate::from_pem(test::read_file(a2md.store + "/domains/" + name + "/pubcert.pem"), "pubcert.pem");
  REQUIRE(chain);
  CHECK(chain->covers({"x.w.example.test", "*.w.example.test"}));
  const std::string calls = test::read_file(log);
  CHECK(calls.find("setup w.example.test ") != std::string::npos);
  CHECK(calls.find("teardown w.example.test") != std::string::npos);
}
