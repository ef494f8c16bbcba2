// Interoperability of staging with the real mod_md (Debian's mod_md.so 2.6.10 in Apache
// 2.4): a set staged by mdactor is activated by mod_md at server start. A private Apache runs
// on free ports with everything under a temp dir; its CA URL points at a closed port and
// MDRenewMode manual keeps mod_md from renewing.
#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <fstream>
#include <thread>

#include <sys/stat.h>
#include <unistd.h>

#include "store/fs_store.hpp"
#include "store/staging.hpp"
#include "tests/store/staging_test_util.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/pebble.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace mda::test;

namespace {

const std::string k_httpd = "/usr/sbin/apache2";
const std::string k_modules = "/usr/lib/apache2/modules";

template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

/// A private Apache with mod_ssl and mod_md, stopped by PID when it goes.
class private_apache {
 public:
  /// `md_conf`: further MD directives; `port`: where it listens (0: a free port).
  private_apache(const std::string& root, const managed_domain& md, const std::string& ca_url,
                 const std::string& md_conf = "MDRenewMode manual\n", int port = 0)
      : root_(root) {
    if (port == 0) port = free_port();
    std::string conf;
    conf += "ServerRoot \"" + root + "\"\nServerName localhost\n";
    conf += "Listen 127.0.0.1:" + std::to_string(port) + "\n";
    conf += "PidFile \"" + root + "/httpd.pid\"\nDefaultRuntimeDir \"" + root + "\"\n";
    conf += "ErrorLog \"" + root + "/error.log\"\nLogLevel warn md:debug\n";
    if (::geteuid() == 0) conf += "User www-data\nGroup www-data\n";
    for (const char* m : {"mpm_event", "socache_shmcb", "ssl", "md"})
      conf += std::string("LoadModule ") + m + "_module " + k_modules + "/mod_" + m + ".so\n";
    conf += "MDStoreDir \"" + root + "/md\"\n";
    conf += "MDCertificateAuthority " + ca_url + "\nMDCertificateAgreement accepted\n" + md_conf;
    conf += "MDContactEmail admin@" + md.name + "\n";
    conf += "MDomain";
    for (const auto& d : md.domains) conf += " " + d;
    conf += "\n<VirtualHost 127.0.0.1:" + std::to_string(port) + ">\n  ServerName " + md.name +
            "\n</VirtualHost>\n";
    write_file(root + "/httpd.conf", conf);
  }
  ~private_apache() { stop(); }

  /// Starts the server in the foreground (child_process.hpp); true once its PID file is
  /// written.
  bool start() {
    pid_ = spawn_child({k_httpd, "-d", root_, "-f", root_ + "/httpd.conf", "-DFOREGROUND"}, root_ + "/stderr.log");
    wait_until([&] { return child_ended(pid_) || path_exists(root_ + "/httpd.pid"); }, std::chrono::seconds(10));
    const bool up = pid_ > 0 && path_exists(root_ + "/httpd.pid");
    if (!up) UNSCOPED_INFO("apache2 did not start: " << read_file(root_ + "/stderr.log") << log());
    return up;
  }

  void stop() { stop_child(pid_, std::chrono::seconds(10)); }

  std::string log() const {
    return path_exists(root_ + "/error.log") ? read_file(root_ + "/error.log") : "";
  }

 private:
  std::string root_;
  pid_t pid_ = -1;
};

bool have_apache() {
  return path_exists(k_httpd) && path_exists(k_modules + "/mod_md.so") &&
         path_exists(k_modules + "/mod_ssl.so");
}

fs_store open_store(const std::string& dir) {
  auto st = fs_store::open(dir);
  REQUIRE(st);
  return std::move(*st);
}

std::string live_account_id(const store& st, const managed_domain& md) {
  auto j = st.load_json(store_group::domains, md.name, aspect::md);
  return j ? (*j)["ca"].value("account", "") : "";
}

/// A store under a temp dir with one MD (renew mode manual, its CA a closed port) and
/// domains/<md>/md.json as an earlier start left it: mod_md 2.6.10 saves new MDs only after
/// the activation step, and its move fails on a store without domains/ ("rename ... No
/// such file or directory").
struct apache_case {
  temp_dir tmp;
  int ca_port = free_port(); // nobody listens there
  managed_domain md;
  managed_domain earlier;
  fs_store st;

  explicit apache_case(const std::string& name)
      : md(staging_md({}, name, "https://127.0.0.1:" + std::to_string(ca_port) + "/dir")),
        st(open_store(tmp / "md")) {
    md.renew_mode = md_renew_mode::manual;
    earlier = md;
    earlier.ca.url.clear();
    earlier.state = md_state::incomplete;
    REQUIRE(st.save_json(store_group::domains, md.name, aspect::md, to_json(earlier)));
  }
};

} // namespace

TEST_CASE("staging: mod_md activates a set staged by mdactor", "[store][staging][apache]") {
  INFO("needs apache2 with mod_md and mod_ssl (tools/install-deps installs them)");
  REQUIRE(have_apache());
  apache_case c("a.mdactor.test");
  auto& st = c.st;
  const auto& md = c.md;
  const auto& tmp = c.tmp;
  auto certs = make_staged_certs(md);
  REQUIRE(write_staging(st, md, certs, staged_job(md.name), staged_acct(md.ca.url)));

  private_apache httpd(tmp.path(), md, md.ca.url);
  REQUIRE(httpd.start());
  const bool activated = wait_until(
      [&] { return !path_exists(tmp / "md/staging/a.mdactor.test/md.json"); },
      std::chrono::seconds(15));
  httpd.stop();
  INFO("error.log:\n" << httpd.log());
  REQUIRE(activated);
  CHECK(httpd.log().find("AH10068: a.mdactor.test: staged set activated") != std::string::npos);

  // domains/<md> holds our chain and key, the key now plain.
  CHECK(read_file(tmp / "md/domains/a.mdactor.test/pubcert.pem") ==
        *write_pem_chain(certs[0].chain));
  auto key = st.load_key(store_group::domains, md.name, "privkey.pem");
  REQUIRE(key);
  CHECK(key->same_public_key(certs[0].key));
  CHECK(read_file(tmp / "md/domains/a.mdactor.test/privkey.pem")
            .rfind("-----BEGIN PRIVATE KEY-----", 0) == 0);
  // mod_md filed our staged account under the first id for the CA host and read our
  // encrypted account key.
  auto acct = st.load_json(store_group::accounts, "ACME-127.0.0.1-0000", aspect::account);
  REQUIRE(acct);
  CHECK((*acct)["url"] == "https://127.0.0.1:14000/my-account/1");
  CHECK_FALSE(acct->contains("registration"));
  CHECK(st.load_key(store_group::accounts, "ACME-127.0.0.1-0000", aspect::account_key));
  auto live = st.load_json(store_group::domains, md.name, aspect::md);
  REQUIRE(live);
  CHECK((*live)["ca"]["account"] == "ACME-127.0.0.1-0000");
  CHECK(read_file(tmp / "md/archive/a.mdactor.test.1/md.json") == to_json(c.earlier).dump(2));
  // The job came along; mdactor reads what mod_md left.
  CHECK(st.exists(store_group::domains, md.name, aspect::job));
  auto leaves = load_domain_leaves(st, md);
  REQUIRE(leaves.size() == 1);
  REQUIRE(leaves[0]);
  CHECK(leaves[0]->same_as(certs[0].chain[0]));
}

TEST_CASE("staging: mod_md refuses a staged key that does not match", "[store][staging][apache]") {
  INFO("needs apache2 with mod_md and mod_ssl (tools/install-deps installs them)");
  REQUIRE(have_apache());
  apache_case c("b.mdactor.test");
  REQUIRE(write_staging(c.st, c.md, make_staged_certs(c.md), staged_job(c.md.name),
                        std::nullopt));
  REQUIRE(c.st.save_key(store_group::staging, c.md.name, "privkey.pem",
                        *private_key::generate(key_spec{})));
  REQUIRE(c.st.save_text(store_group::challenges, c.md.name, aspect::http01, "tok.thumb"));

  private_apache httpd(c.tmp.path(), c.md, c.md.ca.url);
  REQUIRE(httpd.start());
  const bool logged = wait_until(
      [&] { return httpd.log().find("AH10069") != std::string::npos; }, std::chrono::seconds(15));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  httpd.stop();
  INFO("error.log:\n" << httpd.log());
  CHECK(logged);
  // mod_md 2.6.10 purges a staged set it cannot load (the stored sources of older versions
  // do not), as activate_staging does; domains/<md> stays as it was.
  CHECK(httpd.log().find("AH10069: b.mdactor.test: error loading staged set, purging it") !=
        std::string::npos);
  CHECK(httpd.log().find("certificate and private key do not match in staged credentials #0") !=
        std::string::npos);
  CHECK_FALSE(path_exists(c.tmp / "md/staging/b.mdactor.test"));
  CHECK_FALSE(path_exists(c.tmp / "md/challenges/b.mdactor.test"));
  CHECK(path_exists(c.tmp / "md/domains/b.mdactor.test/md.json")); // rewritten by mod_md's sync
  CHECK_FALSE(path_exists(c.tmp / "md/domains/b.mdactor.test/pubcert.pem"));
  CHECK_FALSE(path_exists(c.tmp / "md/archive"));
}


TEST_CASE("staging: mdactor activates a set staged by mod_md", "[store][staging][apache][pebble]") {
  INFO("needs apache2 with mod_md and mod_ssl, and pebble (tools/install-deps installs them)");
  REQUIRE(have_apache());
  REQUIRE(pebble_missing().empty());
  pebble_options po;
  po.http_port = free_port(); // pebble checks http-01 on our Apache
  pebble_fixture pebble(po);
  temp_dir tmp;
  ::chmod(tmp.path().c_str(), 0755); // Apache's workers (www-data) renew
  auto st = open_store(tmp / "md");
  auto md = staging_md({}, "c.mdactor.test", pebble.directory_url());
  md.domains = {md.name};
  write_file(tmp / "pebble-ca.pem", read_file(pebble.ca_file())); // readable by www-data
  ::chmod((tmp / "pebble-ca.pem").c_str(), 0644);
  const std::string md_conf = "MDRenewMode always\nMDCAChallenges http-01\nMDCACertificateFile " +
                              tmp / "pebble-ca.pem" + "\nMDPortMap http:" +
                              std::to_string(po.http_port) + " https:-\n";
  private_apache httpd(tmp.path(), md, md.ca.url, md_conf, po.http_port);
  REQUIRE(httpd.start());
  const auto staged = [&] {
    auto j = st.load_json(store_group::staging, md.name, aspect::job);
    return j && j->value("finished", false) &&
           st.exists(store_group::staging, md.name, "pubcert.pem");
  };
  const bool done = wait_until(staged, std::chrono::seconds(90));
  httpd.stop();
  INFO("error.log:\n" << httpd.log() << "\npebble:\n" << pebble.pebble_log());
  REQUIRE(done);

  auto loaded = load_staging(st, md.name);
  REQUIRE(loaded);
  REQUIRE(*loaded);
  const staged_set& set = **loaded;
  CHECK(set.md.ca.url == pebble.directory_url());
  REQUIRE(set.certs.size() == 1);
  CHECK(set.certs[0].chain.size() >= 2);
  CHECK(set.certs[0].chain[0].covers({md.name}));
  REQUIRE(set.account); // mod_md registered an account and staged it
  CHECK(set.account->file.ca_url == pebble.directory_url());
  REQUIRE(set.renewal);
  CHECK(set.renewal->finished);

  auto activated = activate_staging(st, md.name);
  REQUIRE(activated);
  CHECK(*activated);
  auto leaves = load_domain_leaves(st, md);
  REQUIRE(leaves[0]);
  CHECK(leaves[0]->same_as(set.certs[0].chain[0]));
  CHECK(live_account_id(st, md) == "ACME-127.0.0.1-0000");
  CHECK(st.exists(store_group::accounts, "ACME-127.0.0.1-0000", aspect::account_key));
}
