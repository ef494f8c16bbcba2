// `mdctl store migrate` as a program (MDCTL_PATH) against a real etcd started by the test: a
// realistic file store (staged and activated sets with real keys and certificates, an
// archive, accounts, OCSP, challenges, httpd.json) copied into etcd and back into a second
// directory, the two trees compared file by file; and the refusals.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>

#include <sys/stat.h>

#include "cluster/etcd_store.hpp"
#include "store/accounts.hpp"
#include "store/fs_store.hpp"
#include "tests/store/staging_test_util.hpp"
#include "tests/support/etcd.hpp"
#include "tests/test_util.hpp"

using namespace mda;
namespace fs = std::filesystem;

namespace {

test::run_result mdctl(std::vector<std::string> args) {
  args.insert(args.begin(), MDCTL_PATH);
  return test::run(args);
}

struct file_info {
  std::string content;
  unsigned mode = 0;
  std::int64_t mtime_ms = 0;
};

/// Every regular file under `dir`: relative path -> content, mode, mtime (ms).
std::map<std::string, file_info> files_of(const std::string& dir) {
  std::map<std::string, file_info> out;
  for (auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    struct stat st {};
    REQUIRE(::stat(e.path().c_str(), &st) == 0);
    out[fs::relative(e.path(), dir).string()] = {
        test::read_file(e.path()), static_cast<unsigned>(st.st_mode & 07777),
        static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000};
  }
  return out;
}

/// A file store as a server leaves it: example.org live (twice activated: one archived set)
/// and a third set staged with a new account, another MD with md.json/job.json only, an
/// account, OCSP responses, challenges (a plain tls-alpn-01 key), httpd.json, and one JSON
/// file not in the store's own formatting (as another writer may leave it).
void make_store(const std::string& dir) {
  auto st = fs_store::open(dir);
  REQUIRE(st);
  auto md = test::staging_md({key_spec::default_spec(), key_spec::ec("P-256")});
  for (int round = 0; round < 3; ++round) {
    auto certs = test::make_staged_certs(md);
    auto acct = round == 2 ? std::optional<staged_account>(test::staged_acct()) : std::nullopt;
    REQUIRE(write_staging(*st, md, certs, test::staged_job(md.name), acct));
    if (round < 2) REQUIRE(*activate_staging(*st, md.name));
  }
  auto other = test::staging_md({key_spec::default_spec()}, "other.test");
  other.state = md_state::incomplete;
  REQUIRE(st->save_json(store_group::domains, "other.test", aspect::md, to_json(other)));
  REQUIRE(st->save_json(store_group::domains, "other.test", aspect::job,
                        to_json(test::staged_job("other.test"))));
  REQUIRE(st->save_text(store_group::domains, "other.test", "order.json", "{\"a\":1,\n\"b\" : [ ]}\n"));
  auto acct = test::staged_acct();
  REQUIRE(save_account(*st, "ACME-127.0.0.1-0000", acct.file, acct.key));
  REQUIRE(st->save_json(store_group::ocsp, "example.org", aspect::ocsp(std::string(40, 'a')),
                        nlohmann::ordered_json{{"valid", {{"from", "x"}}}, {"response", "MIIB"}}));
  REQUIRE(st->save_text(store_group::challenges, "example.org", aspect::http01, "tok.thumb"));
  auto alpn = private_key::generate(key_spec::ec("P-256"));
  REQUIRE(st->save_key(store_group::challenges, "example.org",
                       aspect::tls_alpn01_privkey(key_spec::ec("P-256")), *alpn));
  REQUIRE(st->save_json(store_group::none, "", aspect::httpd_json,
                        nlohmann::ordered_json{{"proto", {{"http", true}, {"https", true}}}}));
}

std::string secret_of(const std::string& dir) {
  auto st = fs_store::open(dir);
  REQUIRE(st);
  return st->secret();
}

bool is_key(const std::string& text) { return text.find("PRIVATE KEY-----") != std::string::npos; }

} // namespace

TEST_CASE("mdctl store migrate: file -> etcd -> file gives the same store", "[tools][cluster][etcd]") {
  test::etcd_fixture etcd(1);
  test::temp_dir t;
  const std::string a = t / "a", b = t / "b";
  make_store(a);
  const std::string secret = secret_of(a);
  const std::string eps = etcd.endpoint_list();

  auto up = mdctl({"store", "migrate", "--from", a, "--to", "etcd", eps, "--prefix", "/m"});
  INFO(up.output);
  REQUIRE(up.exit_code == 0);
  CHECK(up.output == "copying '" + a + "' to etcd " + eps + " prefix '/m'\n"
                     "  none: 1 file\n"
                     "  accounts: 1 name, 2 files\n"
                     "  challenges: 1 name, 2 files\n"
                     "  domains: 2 names, 9 files\n"
                     "  staging: 1 name, 8 files\n"
                     "  archive: 1 name, 6 files\n"
                     "  tmp: 0 names, 0 files\n"
                     "  ocsp: 1 name, 1 file\n"
                     "done\n");

  // in etcd every private key is encrypted, also domains' and challenges' plain ones
  etcd::client_options co;
  co.endpoints = etcd.endpoints();
  auto c = etcd::client::make(co);
  REQUIRE(c);
  auto all = (*c)->get_prefix("/m/store/");
  REQUIRE(all);
  CHECK(all->kvs.size() == 30); // with md_store.json
  int keys = 0;
  for (const auto& kv : all->kvs) {
    if (!is_key(kv.value)) continue;
    ++keys;
    INFO(kv.key);
    CHECK(kv.value.find("\n-----BEGIN ENCRYPTED PRIVATE KEY-----\n") != std::string::npos);
  }
  CHECK(keys == 9);

  // back into a second directory, with the secret taken from the first one's md_store.json
  auto down = mdctl({"store", "migrate", "--from", "etcd", eps, "--prefix", "/m", "--to", b,
                     "--secret-from", a + "/md_store.json"});
  INFO(down.output);
  REQUIRE(down.exit_code == 0);
  CHECK(secret_of(b) == secret);

  // the same files: text and JSON byte for byte, keys equal once decrypted (an encrypted PEM
  // differs at each encryption by its random salt and IV), the same modes and times (ms)
  auto fa = files_of(a), fb = files_of(b);
  std::vector<std::string> na, nb;
  for (const auto& [p, f] : fa) na.push_back(p);
  for (const auto& [p, f] : fb) nb.push_back(p);
  CHECK(na == nb);
  CHECK(na == std::vector<std::string>{
                  "accounts/ACME-127.0.0.1-0000/account.json",
                  "accounts/ACME-127.0.0.1-0000/account.pem",
                  "archive/example.org.1/job.json",
                  "archive/example.org.1/md.json",
                  "archive/example.org.1/privkey.p-256.pem",
                  "archive/example.org.1/privkey.pem",
                  "archive/example.org.1/pubcert.p-256.pem",
                  "archive/example.org.1/pubcert.pem",
                  "challenges/example.org/acme-http-01.txt",
                  "challenges/example.org/acme-tls-alpn-01-privkey.p-256.pem",
                  "domains/example.org/job.json",
                  "domains/example.org/md.json",
                  "domains/example.org/privkey.p-256.pem",
                  "domains/example.org/privkey.pem",
                  "domains/example.org/pubcert.p-256.pem",
                  "domains/example.org/pubcert.pem",
                  "domains/other.test/job.json",
                  "domains/other.test/md.json",
                  "domains/other.test/order.json",
                  "httpd.json",
                  "md_store.json",
                  "ocsp/example.org/ocsp-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.json",
                  "staging/example.org/account.json",
                  "staging/example.org/account.pem",
                  "staging/example.org/job.json",
                  "staging/example.org/md.json",
                  "staging/example.org/privkey.p-256.pem",
                  "staging/example.org/privkey.pem",
                  "staging/example.org/pubcert.p-256.pem",
                  "staging/example.org/pubcert.pem"});
  for (const auto& [path, f] : fa) {
    INFO(path);
    if (!fb.count(path)) continue;
    const auto& g = fb[path];
    CHECK(f.mode == g.mode);
    if (path == "md_store.json") {
      CHECK(f.content == g.content);
      continue;
    }
    CHECK(f.mtime_ms == g.mtime_ms);
    if (!is_key(f.content)) {
      CHECK(f.content == g.content);
      continue;
    }
    // written by save_key, so encrypted by group: also in archive/, where activation left
    // domains/' plain keys as they were (a directory rename)
    CHECK(is_key(g.content));
    const bool plain = path.rfind("domains/", 0) == 0 || path.rfind("challenges/", 0) == 0;
    CHECK((g.content.find("ENCRYPTED") == std::string::npos) == plain);
    auto ka = private_key::from_pem(f.content, &secret, path);
    auto kb = private_key::from_pem(g.content, &secret, path);
    REQUIRE(ka);
    REQUIRE(kb);
    CHECK(*ka->to_pem() == *kb->to_pem());
  }

  SECTION("etcd -> file refuses without the secret") {
    const std::string c_dir = t / "c";
    auto r = mdctl({"store", "migrate", "--from", "etcd", eps, "--prefix", "/m", "--to", c_dir});
    CHECK(r.exit_code == 1);
    CHECK(r.output == "mdctl store migrate: '" + c_dir + "/md_store.json' does not exist: the keys "
                      "need the cluster's store secret; copy md_store.json from a node of the "
                      "cluster into '" + c_dir + "' (as root, mode 0600) or name it with "
                      "--secret-from FILE\n");
    CHECK_FALSE(fs::exists(c_dir));
  }

  SECTION("another secret is refused, nothing written") {
    const std::string other = t / "other", c_dir = t / "c";
    REQUIRE(fs_store::open(other));
    auto r = mdctl({"store", "migrate", "--from", "etcd", eps, "--prefix", "/m", "--to", c_dir,
                    "--secret-from", other + "/md_store.json"});
    CHECK(r.exit_code == 1);
    CHECK(r.output == "mdctl store migrate: the store secret of this node differs from the "
                      "cluster's (etcd key '/m/store/none//md_store.json' holds the SHA-256 of "
                      "another one): copy md_store.json from a node of the cluster into this "
                      "node's store directory\n");
    CHECK_FALSE(fs::exists(c_dir));
  }

  SECTION("a non-empty target is refused without --force") {
    auto r = mdctl({"store", "migrate", "--from", "etcd", eps, "--prefix", "/m", "--to", b});
    CHECK(r.exit_code == 1);
    CHECK(r.output == "mdctl store migrate: '" + b + "' holds files already; --force copies over them\n");
    auto r2 = mdctl({"store", "migrate", "--from", a, "--to", "etcd", eps, "--prefix", "/m"});
    CHECK(r2.exit_code == 1);
    CHECK(r2.output == "mdctl store migrate: etcd already holds keys under '/m/store/'; --force "
                       "copies over them\n");
    auto r3 = mdctl({"store", "migrate", "--from", "etcd", eps, "--prefix", "/m", "--to", b, "--force"});
    INFO(r3.output);
    CHECK(r3.exit_code == 0);
    CHECK(files_of(b).size() == 30);
  }

  SECTION("no store under the prefix, not a store directory, bad usage") {
    auto r = mdctl({"store", "migrate", "--from", "etcd", eps, "--prefix", "/none", "--to",
                    t / "c", "--secret-from", a + "/md_store.json"});
    CHECK(r.exit_code == 1);
    CHECK(r.output == "mdctl store migrate: etcd key '/none/store/none//md_store.json' does not "
                      "exist: no store under prefix '/none'\n");
    auto r2 = mdctl({"store", "migrate", "--from", t / "nothing", "--to", "etcd", eps});
    CHECK(r2.exit_code == 1);
    CHECK(r2.output == "mdctl store migrate: '" + (t / "nothing") + "/md_store.json' does not "
                       "exist: '" + (t / "nothing") + "' is not a store directory\n");
    auto r3 = mdctl({"store", "migrate", "--from", a, "--to", b});
    CHECK(r3.exit_code == 2);
    CHECK(r3.output.rfind("mdctl store migrate: one side must be a directory, the other etcd\n", 0) == 0);
  }
}
