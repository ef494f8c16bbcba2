// The module in a real Apache: bad configurations fail `apache2 -t` (or the start, for what
// only post_config can see) with mod_md's reason text; where both can say it, Debian's own
// mod_md.so gives the same text for the same configuration.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/engine_config.hpp"

#include "tests/support/child_process.hpp"
#include "tests/support/pebble.hpp"
#include "tests/test_util.hpp"

using namespace mda::test;

namespace {

const std::string k_modules = "/usr/lib/apache2/modules";
const std::string k_debian_md = k_modules + "/mod_md.so";

/// A private server root with httpd.conf: the preamble (11 lines) and then `body`.
struct apache_conf {
  temp_dir dir;
  std::string conf;
  int port = 0;

  apache_conf(const std::string& module, const std::string& body) : conf(dir / "httpd.conf") {
    port = mda::test::free_port();
    write_file(conf, "ServerRoot " + dir.path() + "\n"
                     "PidFile " + dir.path() + "/httpd.pid\n"
                     "ErrorLog " + dir.path() + "/error.log\n"
                     "Listen 127.0.0.1:" + std::to_string(port) + "\n"
                     "ServerName localhost\n"
                     "LoadModule mpm_event_module " + k_modules + "/mod_mpm_event.so\n"
                     "LoadModule authz_core_module " + k_modules + "/mod_authz_core.so\n"
                     "LoadModule socache_shmcb_module " + k_modules + "/mod_socache_shmcb.so\n"
                     "LoadModule ssl_module " + k_modules + "/mod_ssl.so\n"
                     "LoadModule md_module " + module + "\n"
                     "# test body\n" + body);
  }
  run_result test() const { return run({"apache2", "-t", "-d", dir.path(), "-f", conf}); }
  run_result apachectl(const std::string& what) const {
    return run({"apache2", "-d", dir.path(), "-f", conf, "-k", what});
  }
};

constexpr int k_body_line = 12; ///< line number of the first body line

/// The reason httpd prints after "Syntax error on line N of FILE:" (line and reason checked).
std::string syntax_error(const run_result& r, const apache_conf& c, int line) {
  const std::string head = "AH00526: Syntax error on line " + std::to_string(line) + " of " + c.conf + ":\n";
  const auto at = r.output.find(head);
  if (at == std::string::npos) return "<no syntax error at line " + std::to_string(line) + ">: " + r.output;
  std::string rest = r.output.substr(at + head.size());
  return rest.substr(0, rest.find('\n'));
}

struct bad_case {
  std::string body;     ///< configuration lines
  int line_offset;      ///< the failing line within body, 0-based
  std::string reason;   ///< exact text
  bool mod_md_too;      ///< Debian's mod_md says the same
};

const std::vector<bad_case>& bad_cases() {
  static const std::vector<bad_case> cases = {
      {"<MDomain a.org>\nMDStoreDir x\n</MDomain>\n", 1,
       "MDStoreDir is not allowed inside an '<MDomainSet' context", true},
      {"<MDomainSet a.org>\nMDomain b.org\n</MDomainSet>\n", 1,
       "MDomain is not allowed inside an '<MDomainSet' context", true},
      {"MDCertificateFile x.pem\n", 0, "MDCertificateFile is only valid inside a '<MDomainSet' context, not here",
       true},
      {"MDMembers a.org b.org\n", 0, "MDMembers is only valid inside a '<MDomainSet' context, not here", true},
      {"MDMember often\n", 0, "unknown value, use \"auto|manual\"", true},
      {"<MDomain>\n</MDomain>\n", 0, "<MDomainSet > section must specify a unique domain name", true},
      {"MDomain\n", 0, "needs at least one domain name", true},
      {"<Directory />\nMDRenewMode auto\n</Directory>\n", 1, "MDRenewMode not allowed in <Directory> context",
       true},
      {"<Location />\nMDRequireHttps permanent\n</Location>\n", 1,
       "MDRequireHttps cannot occur within <Location> section", true},
      {"MDRenewMode sometimes\n", 0, "unknown MDDriveMode sometimes", true},
      {"MDRequireHttps always\n", 0, "unknown 'always', supported parameter values are 'temporary' and 'permanent'",
       true},
      {"MDMustStaple yes\n", 0, "unknown 'yes', supported parameter values are 'on' and 'off'", true},
      {"MDRenewWindow 100%\n", 0, "MDRenewWindow a length of 100% or more is not allowed.", true},
      {"MDWarnWindow 5m\n", 0, "MDWarnWindow has unrecognized format", true},
      {"MDPortMap 8080:80\n", 0, "mapped port number must be 80 or 443", true},
      {"MDPortMap http:70000\n", 0, "invalid number for port map, must be in ]0,65535]", true},
      {"MDPrivateKeys RSA 1024\n", 0, "must be 2048 or higher in order to be considered safe.", true},
      {"MDPrivateKeys Default RSA\n", 0, "'Default' allows no other parameter", true},
      {"MDChallengeDns01Version 3\n", 0, "Only versions `1` and `2` are supported", true},
      {"MDRetryDelay 0\n", 0, "minimum delay must be greater than 0", true},
      {"MDRetryFailover none\n", 0, "invalid argument, must be a number > 0", true},
      {"MDCheckInterval 0\n", 0, "check interval cannot be less than one second", true},
      {"MDMatchNames some\n", 0, "invalid argument, must be a 'all' or 'servernames'", true},
      {"MDStoreLocks maybe\n", 0, "neither 'on', 'off' or a duration specified", true},
      {"MDHttpProxy ftp://proxy.test\n", 0, "uri scheme must be http or https", true},
      {"MDCertificateAuthority NoSuchCA\n", 0,
       "The CA name 'NoSuchCA' is not known and it is not a URL either (missing uri scheme). Known CA names "
       "are: LetsEncrypt LetsEncrypt-Test Buypass Buypass-Test.",
       true},
      {"MDRenewParallel 0\n", 0, "invalid argument, must be a number > 0", false},
      {"MDCommandTimeout 0\n", 0, "timeout must be greater than 0", false},
      {"<MDomain a.org>\nMDCommandTimeout 5s\n</MDomain>\n", 1,
       "MDCommandTimeout is not allowed inside an '<MDomainSet' context", false},
  };
  return cases;
}

} // namespace

TEST_CASE("bad configurations fail apache2 -t with mod_md's reasons", "[httpd][apache]") {
  for (const auto& c : bad_cases()) {
    INFO(c.body);
    apache_conf ours(MODULE_PATH, c.body);
    const run_result r = ours.test();
    CHECK(r.exit_code == 1);
    CHECK(syntax_error(r, ours, k_body_line + c.line_offset) == c.reason);
    if (c.mod_md_too) {
      apache_conf theirs(k_debian_md, c.body);
      const run_result t = theirs.test();
      CHECK(syntax_error(t, theirs, k_body_line + c.line_offset) == c.reason);
    }
  }
}

TEST_CASE("MDExternalAccountBinding reads a JSON file relative to ServerRoot", "[httpd][apache]") {
  apache_conf missing(MODULE_PATH, "MDExternalAccountBinding eab.json\n");
  CHECK(syntax_error(missing.test(), missing, k_body_line) ==
        "MDExternalAccountBinding: file not found: " + missing.dir.path() + "/eab.json");
  write_file(missing.dir / "eab.json", R"({"kid": "k1"})");
  CHECK(syntax_error(missing.test(), missing, k_body_line) ==
        "MDExternalAccountBinding: JSON does not contain 'hmac' element in file " + missing.dir.path() +
            "/eab.json");
  write_file(missing.dir / "eab.json", R"({"kid": "k1", "hmac": "c2VjcmV0"})");
  CHECK(missing.test().output.find("Syntax OK") != std::string::npos);
}

TEST_CASE("a good configuration passes apache2 -t", "[httpd][apache]") {
  const std::string body =
      "MDStoreDir md-store\n"
      "MDCertificateAuthority https://127.0.0.1:14000/dir LetsEncrypt-Test\n"
      "MDCertificateAgreement accepted\n"
      "MDContactEmail admin@example.test\n"
      "MDPortMap http:8080 https:-\n"
      "MDPrivateKeys secp256r1 RSA 3072\n"
      "MDRenewWindow 30d\n"
      "MDWarnWindow 10%\n"
      "MDRetryDelay 5s\n"
      "MDCheckInterval 1h\n"
      "MDStoreLocks 10s\n"
      "MDServerStatus on\n"
      "MDBaseServer off\n"
      "MDMatchNames servernames\n"
      "MDMembers manual\n"
      "MDomain a.example.test www.a.example.test auto\n"
      "<MDomain b.example.test>\n"
      "  MDMember mail.b.example.test\n"
      "  MDRequireHttps permanent\n"
      "  MDCAChallenges http-01\n"
      "  MDCertificateFile b.pem\n"
      "  MDCertificateKeyFile b.key\n"
      "  MDHttpProxy http://proxy.test:3128\n"
      "  MDExternalAccountBinding none\n"
      "</MDomain>\n"
      "<VirtualHost *:80>\n"
      "  ServerName a.example.test\n"
      "  MDContactEmail web@a.example.test\n"
      "  MDStapleOthers off\n"
      "</VirtualHost>\n";
  // mdactor's extensions come first: Debian's mod_md does not know them.
  apache_conf ours(MODULE_PATH, "MDRenewParallel 4\nMDCommandTimeout 2mi\n" + body);
  const run_result r = ours.test();
  CHECK(r.exit_code == 0);
  CHECK(r.output.find("Syntax OK") != std::string::npos);
  apache_conf theirs(k_debian_md, body);
  const run_result t = theirs.test();
  INFO(t.output);
  CHECK(t.exit_code == 0);
}

TEST_CASE("overlapping MDs stop the start with file and lines", "[httpd][apache]") {
  apache_conf ours(MODULE_PATH, "MDomain a.example.test www.example.test\n"
                                "<MDomain b.example.test www.example.test>\n"
                                "</MDomain>\n");
  REQUIRE(ours.test().exit_code == 0); // apache2 -t does not run post_config
  const run_result r = ours.apachectl("start");
  if (r.exit_code == 0) ours.apachectl("stop"); // must not happen; do not leave it running
  CHECK(r.exit_code != 0);
  const std::string log = read_file(ours.dir / "error.log");
  CHECK(log.find("MDA0100: two Managed Domains have an overlap in domain 'www.example.test', first definition "
                 "in " + ours.conf + "(line 12), second in " + ours.conf + "(line 13)") != std::string::npos);
}

TEST_CASE("directives reach the engine configuration", "[httpd][apache]") {
  const int port = mda::test::free_port();
  const std::string p = std::to_string(port);
  apache_conf ours(MODULE_PATH,
                   "LogLevel md:trace1\n"
                   "ServerAdmin admin@example.test\n"
                   "MDStoreDir md-store\n"
                   "MDCertificateAuthority https://127.0.0.1:14000/dir\n"
                   "MDCertificateAgreement accepted\n"
                   "MDPortMap http:" + p + " https:-\n"
                   "MDRenewWindow 20d\n"
                   "MDRetryDelay 7s\n"
                   "MDRenewParallel 3\n"
                   "MDCommandTimeout 2mi\n"
                   "MDChallengeDns01 /bin/dns-global arg\n"
                   "MDMessageCmd /bin/msg x\n"
                   "Listen 127.0.0.1:" + p + "\n"
                   "MDomain a.example.test www.a.example.test\n"
                   "<MDomain b.example.test manual>\n"
                   "  MDPrivateKeys secp256r1 RSA 3072\n"
                   "  MDRenewWindow 10%\n"
                   "  MDChallengeDns01 /bin/dns-b\n"
                   "  MDCertificateAuthority LetsEncrypt-Test\n"
                   "  MDRequireHttps permanent\n"
                   "  MDContactEmail b@example.test\n"
                   "  MDMember mail.b.example.test\n"
                   "</MDomain>\n"
                   "<VirtualHost 127.0.0.1:" + p + ">\n"
                   "  ServerName a.example.test\n"
                   "</VirtualHost>\n");
  const std::string tag = "MDA0111: engine configuration ";
  const auto passes = [&] {
    if (!mda::test::path_exists(ours.dir / "error.log")) return 0;
    const std::string text = read_file(ours.dir / "error.log");
    int n = 0;
    for (auto at = text.find(tag); at != std::string::npos; at = text.find(tag, at + 1)) ++n;
    return n;
  };
  // In the foreground, a child of this process (child_process.hpp): gone with the test.
  struct server {
    pid_t pid;
    ~server() { mda::test::stop_child(pid, std::chrono::seconds(10)); }
  } started{mda::test::spawn_child({"apache2", "-d", ours.dir.path(), "-f", ours.conf, "-DFOREGROUND"},
                                   ours.dir / "stderr.log")};
  const std::string pid_file = ours.dir / "httpd.pid";
  for (int i = 0; i < 50 && (passes() < 2 || ::access(pid_file.c_str(), F_OK) != 0); ++i) ::usleep(100'000);
  REQUIRE(::access(pid_file.c_str(), F_OK) == 0);
  // A graceful restart reads the configuration again from mod_md's defaults: the MDs are not
  // doubled (which would be an overlap error).
  ours.apachectl("graceful");
  for (int i = 0; i < 50 && passes() < 3; ++i) ::usleep(100'000);
  CHECK(passes() == 3); // dry run, start, graceful
  ours.apachectl("stop");
  for (int i = 0; i < 50 && ::access(pid_file.c_str(), F_OK) == 0; ++i) ::usleep(100'000);
  const std::string log = read_file(ours.dir / "error.log");
  CHECK(log.find("MDA0100") == std::string::npos);
  const auto at = log.rfind(tag);
  REQUIRE(at != std::string::npos);
  const std::string json = log.substr(at + tag.size(), log.find('\n', at) - at - tag.size());
  auto cfg = mda::engine_config_from_json(nlohmann::ordered_json::parse(json), "log");
  REQUIRE(cfg);
  const auto& s = cfg->settings;
  CHECK(s.store_dir == ours.dir / "md-store");
  CHECK(s.retry_delay == std::chrono::seconds(7));
  CHECK(mda::format_timeslice(s.renew_window) == "20d");
  CHECK(s.orders_in_flight == 3);
  CHECK(s.command_timeout == std::chrono::minutes(2));
  CHECK(s.dns01_cmd == "/bin/dns-global arg");
  CHECK(s.message_cmd == "/bin/msg x");
  CHECK(s.ports == mda::port_map{port, 0});
  CHECK(s.can_http);
  CHECK_FALSE(s.can_https);
  REQUIRE(cfg->mds.size() == 2);
  const auto& a = cfg->mds[0];
  CHECK(a.used);
  CHECK(a.md.domains == std::vector<std::string>{"a.example.test", "www.a.example.test"});
  CHECK(a.md.contacts == std::vector<std::string>{"mailto:admin@example.test"});
  CHECK(a.md.ca.urls == std::vector<std::string>{"https://127.0.0.1:14000/dir"});
  CHECK(a.md.ca.agreement == "accepted");
  CHECK(a.md.renew_window == "20d");
  const auto& b = cfg->mds[1];
  CHECK_FALSE(b.used);
  CHECK(b.md.domains == std::vector<std::string>{"b.example.test", "mail.b.example.test"});
  CHECK(b.md.transitive == 0);
  CHECK(b.md.key_specs.size() == 2);
  CHECK(b.md.renew_window == "10%");
  CHECK(b.md.dns01_cmd == "/bin/dns-b");
  CHECK(b.md.ca.urls == std::vector<std::string>{"https://acme-staging-v02.api.letsencrypt.org/directory"});
  CHECK(b.md.require_https == mda::md_require_https::permanent);
  CHECK(b.md.contacts == std::vector<std::string>{"mailto:b@example.test"});
}
