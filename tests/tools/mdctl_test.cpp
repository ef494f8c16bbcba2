// `mdctl` as a program (MDCTL_PATH): --help, usage errors, an unreachable CA, and `mdctl
// obtain` end to end against pebble (tests/support/pebble.hpp) with its embedded http-01 and
// tls-alpn-01 responders and with dns-01 through a script that sets TXT records in
// pebble-challtestsrv. The script is bash (Debian's bash is Essential and has /dev/tcp), so
// no curl or python is needed.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <sstream>

#include <sys/stat.h>

#include "core/md.hpp"
#include "core/x509.hpp"
#include "store/fs_store.hpp"
#include "tests/support/pebble.hpp"
#include "tests/test_util.hpp"

using namespace mda;

namespace {

test::run_result mdctl(std::vector<std::string> args) {
  args.insert(args.begin(), MDCTL_PATH);
  return test::run(args);
}

std::vector<std::string> obtain_args(const test::pebble_fixture& p, const std::string& store,
                                     std::vector<std::string> more) {
  std::vector<std::string> a{
      "obtain", "--ca",   p.directory_url(), "--ca-file", p.ca_file(),          "--store",
      store,    "--bind", "127.0.0.1",       "--contact", "admin@example.test", "--agree-tos"};
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0;
}

std::vector<std::string> dir_names(const std::string& store, store_group g) {
  auto st = fs_store::open(store);
  REQUIRE(st);
  auto names = st->list_names(g);
  return names ? *names : std::vector<std::string>{};
}

/// Key and chain of one spec in domains/<md>: present with mod_md's modes, matching, covering
/// the names, and the chain verifies against pebble's root with `openssl verify`.
void check_obtained(const std::string& store, const std::string& md, const std::string& key_file,
                    const std::string& cert_file, const std::vector<std::string>& names,
                    const std::string& root_file) {
  const std::string dir = store + "/domains/" + md + "/";
  INFO(dir + cert_file);
  CHECK(mode_of(dir + key_file) == 0600);
  CHECK(mode_of(dir + cert_file) == 0600);
  auto key = private_key::from_pem(test::read_file(dir + key_file), nullptr, key_file);
  REQUIRE(key);
  auto chain_pem = test::read_file(dir + cert_file);
  auto leaf = certificate::from_pem(chain_pem, cert_file);
  REQUIRE(leaf);
  CHECK(leaf->matches_key(*key));
  CHECK(leaf->covers(names));
  auto v = test::run(
      {"openssl", "verify", "-CAfile", root_file, "-untrusted", dir + cert_file, dir + cert_file});
  INFO(v.output);
  CHECK(v.exit_code == 0);
}

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

} // namespace

TEST_CASE("mdctl --help documents obtain", "[mdctl]") {
  auto r = mdctl({"--help"});
  CHECK(r.exit_code == 0);
  for (const char* text :
       {"selfcheck [--store DIR]", "obtain --ca URL [options] NAME...", "--challenge TYPE",
        "--http-port N", "--tls-port N", "--dns-cmd", "--eab KID HMAC", "--profile NAME",
        "--contact EMAIL", "--agree-tos", "--key SPEC"})
    CHECK(r.output.find(text) != std::string::npos);
}

TEST_CASE("mdctl obtain refuses bad usage with exit status 2", "[mdctl]") {
  struct row {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<row> rows = {
      {{"obtain", "a.example.test"}, "mdctl obtain: --ca URL is required\n"},
      {{"obtain", "--ca", "https://ca.test/dir"}, "mdctl obtain: no NAME given\n"},
      {{"obtain", "--ca", "https://ca.test/dir", "--bogus", "a.test"},
       "mdctl obtain: unknown option '--bogus'\n"},
      {{"obtain", "--ca", "https://ca.test/dir", "--key", "rsa1024", "a.test"},
       "mdctl obtain: --key 'rsa1024': RSA needs 2048 bits or more\n"},
      {{"obtain", "--ca", "https://ca.test/dir", "--key", "nocurve", "a.test"},
       "mdctl obtain: --key 'nocurve': unknown key type\n"},
      {{"obtain", "--ca", "https://ca.test/dir", "--challenge", "dns-02", "a.test"},
       "mdctl obtain: --challenge 'dns-02': expected http-01, tls-alpn-01 or dns-01\n"},
      {{"obtain", "--ca", "https://ca.test/dir", "--challenge", "dns-01", "a.test"},
       "mdctl obtain: --challenge dns-01 needs --dns-cmd\n"},
      {{"obtain", "--ca", "https://ca.test/dir", "*.a.test"},
       "mdctl obtain: '*.a.test': wildcard names need --challenge dns-01\n"},
      {{"obtain", "--ca", "https://ca.test/dir", "--http-port", "0", "a.test"},
       "mdctl obtain: --http-port '0': expected a number from 1 to 65535\n"},
      {{"obtain", "--ca", "https://ca.test/dir", "a.test", "--eab", "kid"},
       "mdctl obtain: --eab needs KID and HMAC\n"},
  };
  for (const auto& r : rows) {
    INFO(r.message);
    auto res = mdctl(r.args);
    CHECK(res.exit_code == 2);
    CHECK(res.output.rfind(r.message + "usage:\n  obtain --ca URL", 0) == 0);
  }
}

TEST_CASE("mdctl obtain fails clearly when the CA is unreachable", "[mdctl]") {
  test::temp_dir dir;
  const int port = test::free_port();
  const std::string ca = "https://127.0.0.1:" + std::to_string(port) + "/dir";
  auto r = mdctl({"obtain", "--ca", ca, "--store", dir / "md", "--bind", "127.0.0.1", "--http-port",
                  std::to_string(test::free_port()), "--contact", "admin@example.test",
                  "--agree-tos", "a.example.test"});
  CHECK(r.exit_code == 1);
  CHECK(r.output ==
        "mdctl obtain: Unsuccessful in contacting ACME server at " + ca + ": connection refused\n");
  CHECK(dir_names(dir / "md", store_group::accounts).empty());
  CHECK(dir_names(dir / "md", store_group::domains).empty());
}

TEST_CASE("mdctl obtain with http-01 and tls-alpn-01 against pebble, reusing the account",
          "[mdctl][pebble]") {
  test::pebble_fixture pebble;
  test::temp_dir dir;
  const std::string store = dir / "md", root = pebble.write_root_file();

  // http-01, two names, P-256 and RSA 2048: a new account.
  auto r = mdctl(
      obtain_args(pebble, store,
                  {"--challenge", "http-01", "--http-port", std::to_string(pebble.http_port()),
                   "--key", "p256", "--key", "rsa2048", "a.example.test", "www.a.example.test"}));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("registered account ACME-127.0.0.1-0000 (") == 0);
  CHECK(r.output.find("  chain " + store + "/domains/a.example.test/pubcert.pem\n") !=
        std::string::npos);
  const std::vector<std::string> names{"a.example.test", "www.a.example.test"};
  check_obtained(store, "a.example.test", "privkey.p-256.pem", "pubcert.p-256.pem", names, root);
  check_obtained(store, "a.example.test", "privkey.pem", "pubcert.pem", names, root);
  CHECK(mode_of(store + "/accounts/ACME-127.0.0.1-0000/account.pem") == 0644);
  auto acct = test::read_file(store + "/accounts/ACME-127.0.0.1-0000/account.pem");
  CHECK(acct.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") == 0);
  auto md_json =
      nlohmann::ordered_json::parse(test::read_file(store + "/domains/a.example.test/md.json"));
  auto md = md_from_json(md_json, "md.json");
  REQUIRE(md);
  CHECK(md->domains == names);
  CHECK(md->ca.account == "ACME-127.0.0.1-0000");
  CHECK(md->ca.url == pebble.directory_url());
  CHECK(md->ca.challenges == std::vector<std::string>{"http-01"});
  CHECK(md->state == md_state::complete);
  CHECK(md->key_specs == std::vector<key_spec>{key_spec::ec("P-256"), key_spec::rsa(2048)});

  // tls-alpn-01, a DNS name and an IP address: the same account again.
  r = mdctl(
      obtain_args(pebble, store,
                  {"--challenge", "tls-alpn-01", "--tls-port", std::to_string(pebble.tls_port()),
                   "--key", "p256", "t.example.test", "127.0.0.1"}));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("reusing account ACME-127.0.0.1-0000 (") == 0);
  check_obtained(store, "t.example.test", "privkey.p-256.pem", "pubcert.p-256.pem",
                 {"t.example.test", "127.0.0.1"}, root);
  CHECK(dir_names(store, store_group::accounts) == std::vector<std::string>{"ACME-127.0.0.1-0000"});
  CHECK(dir_names(store, store_group::challenges).empty());
}

TEST_CASE("mdctl obtain with dns-01 through a script, wildcard included", "[mdctl][pebble]") {
  test::pebble_fixture pebble;
  test::temp_dir dir;
  const std::string store = dir / "md", root = pebble.write_root_file();
  const std::string script = test::write_dns_script(dir.path()), log = dir / "dns.log";
  const std::string cts = pebble.challtestsrv_url().substr(std::string("http://").size());
  auto r = mdctl(
      obtain_args(pebble, store,
                  {"--challenge", "dns-01", "--dns-cmd", script + " " + cts + " " + log,
                   "--dns-version", "2", "--key", "p256", "*.w.example.test", "d.example.test"}));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  check_obtained(store, "*.w.example.test", "privkey.p-256.pem", "pubcert.p-256.pem",
                 {"*.w.example.test", "x.w.example.test", "d.example.test"}, root);
  // Both authorizations are set up (setup <dns> <token>, version 2) before the CA is waited
  // for, then torn down in the same order with the same arguments; the wildcard's
  // authorization is for its base domain.
  auto calls = lines_of(log);
  REQUIRE(calls.size() == 4);
  std::map<std::string, std::string> tokens;
  for (size_t i = 0; i < 2; ++i) {
    std::istringstream setup(calls[i]), teardown(calls[i + 2]);
    std::string action, dns, token, action2, dns2, token2;
    setup >> action >> dns >> token;
    teardown >> action2 >> dns2 >> token2;
    CHECK(action == "setup");
    CHECK(action2 == "teardown");
    CHECK(dns2 == dns);
    CHECK(token2 == token);
    CHECK(token.size() == 43); // base64url of 32 bytes
    tokens[dns] = token;
  }
  CHECK(tokens.size() == 2);
  CHECK(tokens.count("w.example.test") == 1);
  CHECK(tokens.count("d.example.test") == 1);
}

TEST_CASE("mdctl obtain with External Account Binding", "[mdctl][pebble]") {
  test::pebble_options o;
  o.eab_required = true;
  o.eab_keys = {{"kid-1", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"}};
  test::pebble_fixture pebble(o);
  test::temp_dir dir;
  const std::string store = dir / "md";
  const std::string port = std::to_string(pebble.http_port());
  auto r = mdctl(obtain_args(pebble, store,
                             {"--http-port", port, "--key", "p256", "--eab", "kid-1",
                              o.eab_keys.begin()->second, "e.example.test"}));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  auto acct =
      nlohmann::json::parse(test::read_file(store + "/accounts/ACME-127.0.0.1-0000/account.json"));
  CHECK(acct["eab"]["kid"] == "kid-1");
  // Same EAB: reused. No EAB: the stored account does not match, and a new one is refused.
  r = mdctl(obtain_args(pebble, store,
                        {"--http-port", port, "--key", "p256", "--eab", "kid-1",
                         o.eab_keys.begin()->second, "e2.example.test"}));
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("reusing account ACME-127.0.0.1-0000 (") == 0);
  r = mdctl(obtain_args(pebble, store, {"--http-port", port, "e3.example.test"}));
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("mdctl obtain: ") == 0);
  CHECK(r.output.find("externalAccountRequired") != std::string::npos);
  CHECK(dir_names(store, store_group::accounts) == std::vector<std::string>{"ACME-127.0.0.1-0000"});
}
