#include <catch2/catch.hpp>

#include <filesystem>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base64.hpp"
#include "store/fs_io.hpp"
#include "store/fs_store.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using mda::test::read_file;
using mda::test::temp_dir;
using mda::test::write_file;

namespace {

unsigned mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

bool present(const std::string& path) { return std::filesystem::exists(path); }

struct umask_guard {
  explicit umask_guard(mode_t m) : old(::umask(m)) {}
  ~umask_guard() { ::umask(old); }
  mode_t old;
};

fs_store open_store(const std::string& base, fs_store_options opts = {}) {
  auto s = fs_store::open(base, std::move(opts));
  if (!s) FAIL(s.error().message);
  return std::move(*s);
}

// 48 printable bytes: the secret of a hand-made store, usable with `openssl -passin file:`.
const std::string k_printable_secret = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL";

std::string store_json(const std::string& key, const std::string& version = "3.0") {
  return "{\n  \"store\": {\n    \"version\": " + version + "\n  },\n  \"key\": \"" + key + "\"\n}";
}

} // namespace

TEST_CASE("groups and aspects have mod_md's names", "[store][fs]") {
  std::vector<std::string> names;
  for (auto g : k_store_groups) names.push_back(group_name(g));
  CHECK(names == std::vector<std::string>{"none", "accounts", "challenges", "domains", "staging",
                                          "archive", "tmp", "ocsp"});
  auto rsa = key_spec::default_spec();
  auto ec = key_spec::ec("secp256r1");
  CHECK(aspect::privkey(rsa) == "privkey.pem");
  CHECK(aspect::privkey(key_spec::rsa(4096)) == "privkey.pem");
  CHECK(aspect::privkey(ec) == "privkey.secp256r1.pem");
  CHECK(aspect::pubcert(key_spec::ec("P-384")) == "pubcert.p-384.pem");
  CHECK(aspect::fallback_privkey(rsa) == "fallback-privkey.pem");
  CHECK(aspect::fallback_pubcert(ec) == "fallback-pubcert.secp256r1.pem");
  CHECK(aspect::tls_alpn01_privkey(ec) == "acme-tls-alpn-01-privkey.secp256r1.pem");
  CHECK(aspect::tls_alpn01_pubcert(rsa) == "acme-tls-alpn-01-pubcert.pem");
  CHECK(aspect::ocsp_for_cert_der("abc") == "ocsp-a9993e364706816aba3e25717850c26c9cd0d89d.json");
  CHECK(std::string(aspect::md) == "md.json");
  CHECK(std::string(aspect::http01) == "acme-http-01.txt");
  CHECK(store_category().name() == std::string("mdactor.store"));
  CHECK(make_error_code(store_errc::lock_timeout).message() == "store lock timeout");
}

TEST_CASE("names are validated, never a path traversal", "[store][fs]") {
  temp_dir t;
  auto s = open_store(t / "md");
  auto bad = [&](const std::string& name, const std::string& msg) {
    auto st = s.save_text(store_group::domains, name, "md.json", "x");
    REQUIRE_FALSE(st);
    CHECK(st.error().code == store_errc::bad_name);
    CHECK(st.error().message == msg);
  };
  bad("", "invalid name '' in store group 'domains': is empty");
  bad("../etc", "invalid name '../etc' in store group 'domains': contains '/'");
  bad("..", "invalid name '..' in store group 'domains': contains '..'");
  bad("a..b", "invalid name 'a..b' in store group 'domains': contains '..'");
  bad(".hidden", "invalid name '.hidden' in store group 'domains': starts with '.'");
  bad("a\nb", "invalid name 'a?b' in store group 'domains': contains a control character");
  bad(std::string(256, 'a'), "invalid name '" + std::string(80, 'a') +
                                 "...' in store group 'domains': is longer than 255 bytes");
  CHECK_FALSE(present(t / "etc"));
  CHECK_FALSE(present(t / "md/domains/.hidden"));

  auto st = s.save_text(store_group::domains, "a.org", "../md_store.json", "x");
  REQUIRE_FALSE(st);
  CHECK(st.error().message == "invalid aspect '../md_store.json': contains '/'");
  st = s.save_text(store_group::domains, "a.org", "md.json.tmp", "x");
  REQUIRE_FALSE(st);
  CHECK(st.error().message ==
        "invalid aspect 'md.json.tmp': ends in '.tmp' (reserved for atomic writes)");
  st = s.save_text(store_group::none, "a.org", "httpd.json", "{}");
  REQUIRE_FALSE(st);
  CHECK(st.error().code == store_errc::invalid);
  CHECK(st.error().message == "store group 'none' takes no name, got 'a.org'");
  st = s.save_text(store_group::none, "", "md_store.json", "{}");
  REQUIRE_FALSE(st);
  CHECK(st.error().message == "'md_store.json' is managed by the store itself");
  CHECK_FALSE(s.exists(store_group::domains, "../md", "md_store.json"));
  CHECK_FALSE(s.load_text(store_group::accounts, "..", "x").ok());

  for (std::string good : {"*.example.org", "ACME-127.0.0.1-0000", "example.org.1", "other"})
    CHECK(s.save_text(store_group::staging, good, "job.json", "{}"));
  CHECK(*s.list_names(store_group::staging) ==
        std::vector<std::string>{"*.example.org", "ACME-127.0.0.1-0000", "example.org.1", "other"});
}

TEST_CASE("md_store.json is created once and read back", "[store][fs]") {
  temp_dir t;
  umask_guard u(022);
  auto s = open_store(t / "a/b/md");
  CHECK(mode_of(t / "a/b/md") == 0755);
  CHECK(mode_of(t / "a/b/md/md_store.json") == 0600);
  const std::string secret = s.secret();
  REQUIRE(secret.size() == 48);
  const std::string text = read_file(t / "a/b/md/md_store.json");
  CHECK(text == store_json(base64url_encode(secret)));
  CHECK(base64url_encode(secret).size() == 64);

  auto again = open_store(t / "a/b/md");
  CHECK(again.secret() == secret);
  CHECK(read_file(t / "a/b/md/md_store.json") == text);

  // An existing base directory keeps its mode.
  REQUIRE(::mkdir((t / "own").c_str(), 0700) == 0);
  open_store(t / "own");
  CHECK(mode_of(t / "own") == 0700);
}

TEST_CASE("a corrupt or too new md_store.json is refused", "[store][fs]") {
  temp_dir t;
  const std::string base = t / "md";
  const std::string file = base + "/md_store.json";
  REQUIRE(::mkdir(base.c_str(), 0755) == 0);
  auto refused = [&](const std::string& content, store_errc code, const std::string& msg) {
    write_file(file, content);
    auto s = fs_store::open(base);
    REQUIRE_FALSE(s);
    CHECK(s.error().code == code);
    CHECK(s.error().message == msg);
    CHECK(read_file(file) == content); // left as it was
  };
  const std::string what = "store file '" + file + "'";
  const std::string key = base64url_encode(k_printable_secret);
  refused("not json", store_errc::corrupt, what + " is not valid JSON: parse error at byte 2");
  refused("{\"store\": {\"version\": 3.0}, \"key\": \"abc", store_errc::corrupt,
          what + " is not valid JSON: parse error at byte 40");
  refused("[1, 2]", store_errc::corrupt, what + " is not a JSON object");
  refused("{\"store\": {\"version\": 3.0}}", store_errc::corrupt, what + ": missing key: key");
  refused(store_json("a*b"), store_errc::corrupt, what + ": key is not base64url");
  refused(store_json(base64url_encode(k_printable_secret.substr(1))), store_errc::corrupt,
          what + ": key length unexpected: 47 (expected 48)");
  refused(store_json(key, "\"3\""), store_errc::corrupt,
          what + ": \"store\".\"version\" is not a number");
  refused(store_json(key, "4.0"), store_errc::too_new,
          what + ": version too new: 4 (this software knows versions up to 3)");
  refused(store_json(key, "3.5"), store_errc::too_new,
          what + ": version too new: 3.5 (this software knows versions up to 3)");

  write_file(file, store_json(key));
  auto s = fs_store::open(base);
  REQUIRE(s);
  CHECK(s->secret() == k_printable_secret);
}

TEST_CASE("a version 1 store is upgraded to version 3", "[store][fs]") {
  temp_dir t;
  const std::string base = t / "md";
  const std::string cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----";
  const std::string chain = "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n";
  auto key = private_key::generate(key_spec::ec("P-256"));
  REQUIRE(key);
  const std::string key_pem = *key->to_pem();
  std::filesystem::create_directories(base + "/domains/example.org");
  std::filesystem::create_directories(base + "/domains/other.org");
  std::filesystem::create_directories(base + "/archive/example.org.1");
  std::filesystem::create_directories(base + "/staging/example.org");
  const std::string key64 = base64url_encode(k_printable_secret);
  write_file(base + "/md_store.json", "{\"version\": \"1.0.5\", \"key\": \"" + key64 + "\"}");
  write_file(base + "/domains/example.org/md.json", "{\"name\": \"example.org\"}");
  write_file(base + "/domains/example.org/pkey.pem", key_pem);
  write_file(base + "/domains/example.org/cert.pem", cert);
  write_file(base + "/domains/example.org/chain.pem", chain);
  write_file(base + "/domains/other.org/cert.pem", cert);
  write_file(base + "/domains/other.org/pubcert.pem", "kept");
  write_file(base + "/archive/example.org.1/pkey.pem", key_pem);
  write_file(base + "/archive/example.org.1/cert.pem", cert + "\n");
  write_file(base + "/staging/example.org/pkey.pem", "staged");

  auto s = open_store(base);
  CHECK(s.secret() == k_printable_secret);
  CHECK(read_file(base + "/md_store.json") ==
        "{\n  \"key\": \"" + key64 + "\",\n  \"store\": {\n    \"version\": 3.0\n  }\n}");
  CHECK(mode_of(base + "/md_store.json") == 0600);
  CHECK_FALSE(present(base + "/domains/example.org/pkey.pem"));
  auto loaded = s.load_key(store_group::domains, "example.org", "privkey.pem");
  REQUIRE(loaded);
  CHECK(loaded->same_public_key(*key));
  CHECK(read_file(base + "/domains/example.org/pubcert.pem") == cert + "\n" + chain);
  CHECK(mode_of(base + "/domains/example.org/pubcert.pem") == 0600);
  CHECK(read_file(base + "/domains/other.org/pubcert.pem") == "kept");
  CHECK(read_file(base + "/archive/example.org.1/pubcert.pem") == cert + "\n");
  CHECK(present(base + "/archive/example.org.1/privkey.pem"));
  CHECK(read_file(base + "/staging/example.org/privkey.pem") == "staged");
  CHECK_FALSE(present(base + "/staging/example.org/pubcert.pem"));

  // Opening again changes nothing.
  open_store(base);
  CHECK(read_file(base + "/domains/other.org/pubcert.pem") == "kept");
}

TEST_CASE("a version 2 store loses its top-level version", "[store][fs]") {
  temp_dir t;
  const std::string base = t / "md";
  std::filesystem::create_directories(base + "/domains/a.org");
  const std::string key64 = base64url_encode(k_printable_secret);
  write_file(base + "/md_store.json", "{\"version\": \"2.0.1\", \"store\": {\"version\": 2.0}, "
                                      "\"key\": \"" + key64 + "\"}");
  write_file(base + "/domains/a.org/pkey.pem", "left alone");
  open_store(base);
  CHECK(read_file(base + "/md_store.json") == store_json(key64));
  CHECK(read_file(base + "/domains/a.org/pkey.pem") == "left alone");
}

TEST_CASE("files and directories get mod_md's permissions", "[store][fs]") {
  temp_dir t;
  umask_guard u(077); // modes are set exactly, whatever the umask
  const std::string base = t / "md";
  auto s = open_store(base);
  struct expect_t {
    store_group g;
    unsigned dir, file;
  };
  for (auto e : {expect_t{store_group::accounts, 0755, 0644}, expect_t{store_group::staging, 0755, 0644},
                 expect_t{store_group::challenges, 0755, 0644}, expect_t{store_group::ocsp, 0755, 0644},
                 expect_t{store_group::domains, 0700, 0600}, expect_t{store_group::archive, 0700, 0600},
                 expect_t{store_group::tmp, 0700, 0600}}) {
    INFO(group_name(e.g));
    REQUIRE(s.save_json(e.g, "a.org", "md.json", {{"name", "a.org"}}));
    const std::string dir = base + "/" + group_name(e.g);
    CHECK(mode_of(dir) == e.dir);
    CHECK(mode_of(dir + "/a.org") == e.dir);
    CHECK(mode_of(dir + "/a.org/md.json") == e.file);
    CHECK(group_perms(e.g).dir == e.dir);
  }
  REQUIRE(s.save_json(store_group::none, "", "httpd.json", {{"proto", {{"http", true}}}}));
  CHECK(mode_of(base + "/httpd.json") == 0600);

  // Every save sets the directory modes again (mk_group_dir).
  REQUIRE(::chmod((base + "/accounts").c_str(), 0700) == 0);
  REQUIRE(s.save_text(store_group::accounts, "a.org", "x.txt", "x"));
  CHECK(mode_of(base + "/accounts") == 0755);
}

TEST_CASE("a JSON file with an EAB hmac is not world-readable", "[store][fs]") {
  temp_dir t;
  umask_guard u(022);
  const std::string base = t / "md";
  const gid_t www = 33;
  fs_store_options o;
  o.secret_group = www;
  auto s = open_store(base, o);
  const auto with_hmac = nlohmann::ordered_json::parse(R"({"url": "u", "eab": {"kid": "k", "hmac": "aG1hYw"}})");
  const auto kid_only = nlohmann::ordered_json::parse(R"({"url": "u", "eab": {"kid": "k"}})");
  const auto plain = nlohmann::ordered_json::parse(R"({"url": "u"})");
  REQUIRE(s.save_json(store_group::accounts, "ACME-x-0000", aspect::account, with_hmac));
  REQUIRE(s.save_json(store_group::accounts, "ACME-x-0001", aspect::account, kid_only));
  REQUIRE(s.save_json(store_group::accounts, "ACME-x-0002", aspect::account, plain));
  REQUIRE(s.save_json(store_group::staging, "a.org", aspect::md, with_hmac));
  REQUIRE(s.save_json(store_group::domains, "a.org", aspect::md, with_hmac));
  CHECK(mode_of(base + "/accounts/ACME-x-0000/account.json") == 0640);
  CHECK(mode_of(base + "/accounts/ACME-x-0001/account.json") == 0644); // as mod_md
  CHECK(mode_of(base + "/accounts/ACME-x-0002/account.json") == 0644);
  CHECK(mode_of(base + "/staging/a.org/md.json") == 0640);
  CHECK(mode_of(base + "/domains/a.org/md.json") == 0600); // private anyway
  // what was written reads back
  CHECK(*s.load_json(store_group::accounts, "ACME-x-0000", aspect::account) == with_hmac);
  auto group_of = [](const std::string& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_gid;
  };
  if (::geteuid() == 0) { // root hands the key to the User's group: mod_md's child reads it
    CHECK(group_of(base + "/accounts/ACME-x-0000/account.json") == www);
    CHECK(group_of(base + "/staging/a.org/md.json") == www);
    CHECK(group_of(base + "/accounts/ACME-x-0001/account.json") == ::getegid());
  }
  // rewritten without the hmac: readable by all again, as mod_md writes it
  REQUIRE(s.save_json(store_group::accounts, "ACME-x-0000", aspect::account, kid_only));
  CHECK(mode_of(base + "/accounts/ACME-x-0000/account.json") == 0644);
}

TEST_CASE("keys are encrypted by group, plain keys are 0600", "[store][fs]") {
  temp_dir t;
  const std::string base = t / "md";
  REQUIRE(::mkdir(base.c_str(), 0755) == 0);
  write_file(base + "/md_store.json", store_json(base64url_encode(k_printable_secret)));
  auto s = open_store(base);
  auto key = private_key::generate(key_spec::ec("P-256"));
  REQUIRE(key);
  const std::string plain_pem = *key->to_pem();

  for (auto g : {store_group::staging, store_group::accounts, store_group::ocsp,
                 store_group::archive, store_group::domains, store_group::challenges,
                 store_group::tmp}) {
    INFO(group_name(g));
    REQUIRE(s.save_key(g, "a.org", "privkey.pem", *key));
    const std::string path = base + "/" + group_name(g) + "/a.org/privkey.pem";
    const std::string pem = read_file(path);
    if (encrypts_keys(g)) {
      CHECK(pem.rfind("-----BEGIN ENCRYPTED PRIVATE KEY-----\n", 0) == 0);
      CHECK(mode_of(path) == group_perms(g).file);
    } else {
      CHECK(pem == plain_pem);
      CHECK(mode_of(path) == 0600);
    }
    auto back = s.load_key(g, "a.org", "privkey.pem");
    REQUIRE(back);
    CHECK(back->same_public_key(*key));
  }
  CHECK(mode_of(base + "/staging/a.org/privkey.pem") == 0644);
  CHECK(mode_of(base + "/challenges/a.org/privkey.pem") == 0600);
  REQUIRE(s.save_key(store_group::none, "", "other.pem", *key));
  CHECK(read_file(base + "/other.pem").rfind("-----BEGIN ENCRYPTED PRIVATE KEY-----\n", 0) == 0);

  // The openssl command line opens it with the store secret as passphrase.
  write_file(t / "secret", k_printable_secret);
  auto r = test::run({"openssl", "pkcs8", "-in", base + "/staging/a.org/privkey.pem", "-passin",
                      "file:" + (t / "secret")});
  CHECK(r.exit_code == 0);
  CHECK(r.output == plain_pem);

  // Another store (another secret) cannot open it.
  auto other = open_store(t / "other");
  std::filesystem::create_directories(t / "other/staging/a.org");
  std::filesystem::copy_file(base + "/staging/a.org/privkey.pem", t / "other/staging/a.org/privkey.pem");
  auto wrong = other.load_key(store_group::staging, "a.org", "privkey.pem");
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().code == crypto_errc::bad_passphrase);
  CHECK(wrong.error().message == (t / "other/staging/a.org/privkey.pem") +
                                     ": the key does not decrypt with the store secret (wrong passphrase?)");
}

TEST_CASE("text and JSON round-trip; broken JSON is reported, not lost", "[store][fs]") {
  temp_dir t;
  const std::string base = t / "md";
  auto s = open_store(base);
  nlohmann::ordered_json md = {{"name", "a.org"}, {"domains", {"a.org", "www.a.org"}}, {"state", 2}};
  REQUIRE(s.save_json(store_group::domains, "a.org", aspect::md, md));
  const std::string path = base + "/domains/a.org/md.json";
  CHECK(read_file(path) == "{\n  \"name\": \"a.org\",\n  \"domains\": [\n    \"a.org\",\n"
                           "    \"www.a.org\"\n  ],\n  \"state\": 2\n}");
  auto back = s.load_json(store_group::domains, "a.org", aspect::md);
  REQUIRE(back);
  CHECK(back->dump() == md.dump());

  REQUIRE(s.save_text(store_group::challenges, "a.org", aspect::http01, "token.thumb"));
  CHECK(*s.load_text(store_group::challenges, "a.org", aspect::http01) == "token.thumb");

  // A truncated file: an error naming it; the file is still there as it was.
  write_file(path, "{\n  \"name\": \"a.org\",\n  \"dom");
  auto broken = s.load_json(store_group::domains, "a.org", aspect::md);
  REQUIRE_FALSE(broken);
  CHECK(broken.error().code == store_errc::corrupt);
  CHECK(broken.error().message == "'" + path + "' is not valid JSON: parse error at byte 28");
  CHECK(read_file(path) == "{\n  \"name\": \"a.org\",\n  \"dom");
  CHECK(*s.list_aspects(store_group::domains, "a.org") == std::vector<std::string>{"md.json"});

  auto missing = s.load_json(store_group::domains, "b.org", aspect::md);
  REQUIRE_FALSE(missing);
  CHECK(is_not_found(missing.error()));
  CHECK(missing.error().message ==
        "open('" + base + "/domains/b.org/md.json') failed: No such file or directory");
  CHECK_FALSE(s.exists(store_group::domains, "b.org", aspect::md));
  CHECK(is_not_found(s.modified(store_group::domains, "b.org", aspect::md).error()));

  // create_only refuses to replace.
  auto st = s.save_text(store_group::challenges, "a.org", aspect::http01, "other", true);
  REQUIRE_FALSE(st);
  CHECK(st.error().code == store_errc::exists);
  CHECK(st.error().message == "'" + base + "/challenges/a.org/acme-http-01.txt' already exists");
  CHECK(*s.load_text(store_group::challenges, "a.org", aspect::http01) == "token.thumb");
  CHECK(s.save_text(store_group::challenges, "b.org", aspect::http01, "new", true));
  CHECK_FALSE(present(base + "/challenges/a.org/acme-http-01.txt.tmp"));
}

TEST_CASE("a write that fails midway leaves the old file intact", "[store][fs]") {
  temp_dir t;
  const std::string base = t / "md";
  const std::string path = base + "/staging/a.org/job.json";
  bool fail = false;
  fs_store_options opts;
  opts.tmp_attempts = 3;
  opts.tmp_retry_delay = std::chrono::milliseconds(1);
  opts.fail_write_midway = [&](const std::string& p) { return fail && p == path; };
  auto s = open_store(base, opts);
  REQUIRE(s.save_text(store_group::staging, "a.org", aspect::job, "old content"));

  SECTION("an injected failure") {
    fail = true;
    auto st = s.save_text(store_group::staging, "a.org", aspect::job, "new content, longer");
    REQUIRE_FALSE(st);
    CHECK(st.error().code == store_errc::io);
    CHECK(st.error().message == "write('" + path + ".tmp') failed: injected write failure");
  }
  SECTION("a file size limit in a child process") {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::signal(SIGXFSZ, SIG_IGN);
      struct rlimit lim {4096, 4096};
      ::setrlimit(RLIMIT_FSIZE, &lim);
      auto st = s.save_text(store_group::staging, "a.org", aspect::job, std::string(100000, 'x'));
      bool ok = !st && st.error().message == "write('" + path + ".tmp') failed: File too large";
      ::_exit(ok ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  SECTION("a temp file that cannot be made") {
    REQUIRE(::mkdir((path + ".tmp").c_str(), 0700) == 0);
    auto st = s.save_text(store_group::staging, "a.org", aspect::job, "new");
    REQUIRE_FALSE(st);
    CHECK(st.error().message == "unlink('" + path + ".tmp') failed: Is a directory");
    REQUIRE(::rmdir((path + ".tmp").c_str()) == 0);
  }
  CHECK(read_file(path) == "old content");
  CHECK_FALSE(present(path + ".tmp"));
}

TEST_CASE("a stale temp file is taken over", "[store][fs]") {
  temp_dir t;
  fs_store_options opts;
  opts.tmp_attempts = 3;
  opts.tmp_retry_delay = std::chrono::milliseconds(1);
  auto s = open_store(t / "md", opts);
  const std::string path = t / "md/domains/a.org/md.json";
  REQUIRE(s.save_text(store_group::domains, "a.org", aspect::md, "{}"));
  write_file(path + ".tmp", "left by a crashed writer");
  REQUIRE(s.save_text(store_group::domains, "a.org", aspect::md, "{\"a\": 1}"));
  CHECK(read_file(path) == "{\"a\": 1}");
  CHECK_FALSE(present(path + ".tmp"));
  CHECK(*s.list_aspects(store_group::domains, "a.org") == std::vector<std::string>{"md.json"});
}

TEST_CASE("listing, removing and purging", "[store][fs]") {
  temp_dir t;
  const std::string base = t / "md";
  auto s = open_store(base);
  CHECK(s.list_names(store_group::domains)->empty());
  CHECK(s.list_aspects(store_group::domains, "a.org")->empty());
  for (std::string n : {"b.org", "a.org", "www.c.net"})
    REQUIRE(s.save_text(store_group::domains, n, aspect::md, "{}"));
  REQUIRE(s.save_text(store_group::domains, "a.org", "pubcert.pem", "c"));
  REQUIRE(s.save_text(store_group::domains, "a.org", "privkey.pem", "k"));
  write_file(base + "/domains/stray-file", "not a name");
  write_file(base + "/domains/a.org/job.json.tmp", "leftover");

  CHECK(*s.list_names(store_group::domains) ==
        std::vector<std::string>{"a.org", "b.org", "www.c.net"});
  CHECK(*s.list_names(store_group::domains, "*.org") == std::vector<std::string>{"a.org", "b.org"});
  CHECK(*s.list_aspects(store_group::domains, "a.org") ==
        std::vector<std::string>{"md.json", "privkey.pem", "pubcert.pem"});
  CHECK(*s.list_aspects(store_group::domains, "a.org", "p*.pem") ==
        std::vector<std::string>{"privkey.pem", "pubcert.pem"});
  CHECK(s.list_names(store_group::none).error().code == store_errc::invalid);

  CHECK(s.remove(store_group::domains, "a.org", "privkey.pem"));
  CHECK_FALSE(s.exists(store_group::domains, "a.org", "privkey.pem"));
  auto st = s.remove(store_group::domains, "a.org", "privkey.pem");
  REQUIRE_FALSE(st);
  CHECK(is_not_found(st.error()));
  CHECK(s.remove(store_group::domains, "a.org", "privkey.pem", true));
  CHECK(s.remove(store_group::domains, "zzz.org", "privkey.pem", true));

  CHECK(s.purge(store_group::domains, "a.org"));
  CHECK_FALSE(present(base + "/domains/a.org"));
  CHECK(s.purge(store_group::domains, "a.org"));
  CHECK(s.purge(store_group::ocsp, "never.org"));
  CHECK(s.purge(store_group::none, "").error().code == store_errc::invalid);
  CHECK(*s.list_names(store_group::domains) == std::vector<std::string>{"b.org", "www.c.net"});

  // Old challenge files go, fresh ones stay.
  REQUIRE(s.save_text(store_group::challenges, "x.org", aspect::http01, "old"));
  REQUIRE(s.save_text(store_group::challenges, "y.org", aspect::http01, "new"));
  auto y_time = *s.modified(store_group::challenges, "y.org", aspect::http01);
  struct timespec times[2] = {{0, UTIME_OMIT}, {1000, 0}};
  REQUIRE(::utimensat(AT_FDCWD, (base + "/challenges/x.org/acme-http-01.txt").c_str(), times, 0) == 0);
  CHECK(*s.modified(store_group::challenges, "x.org", aspect::http01) ==
        store::time_point(std::chrono::seconds(1000)));
  CHECK(s.remove_not_modified_since(store_group::challenges, y_time, "*", "*"));
  CHECK_FALSE(s.exists(store_group::challenges, "x.org", aspect::http01));
  CHECK(s.exists(store_group::challenges, "y.org", aspect::http01));
}

TEST_CASE("activation moves tmp to domains and archives the old one", "[store][fs]") {
  temp_dir t;
  const std::string base = t / "md";
  auto s = open_store(base);
  REQUIRE(s.save_text(store_group::domains, "a.org", aspect::md, "v1"));
  REQUIRE(s.save_text(store_group::tmp, "a.org", aspect::md, "v2"));
  REQUIRE(s.move(store_group::tmp, store_group::domains, "a.org", true));
  CHECK(*s.load_text(store_group::domains, "a.org", aspect::md) == "v2");
  CHECK(*s.load_text(store_group::archive, "a.org.1", aspect::md) == "v1");
  CHECK(mode_of(base + "/archive") == 0700);
  CHECK(mode_of(base + "/archive/a.org.1") == 0700);
  CHECK_FALSE(present(base + "/tmp/a.org"));

  REQUIRE(s.save_text(store_group::tmp, "a.org", aspect::md, "v3"));
  REQUIRE(s.move(store_group::tmp, store_group::domains, "a.org", true));
  CHECK(*s.load_text(store_group::archive, "a.org.2", aspect::md) == "v2");
  CHECK(*s.list_names(store_group::archive) == std::vector<std::string>{"a.org.1", "a.org.2"});

  // A first activation has nothing to archive.
  REQUIRE(s.save_text(store_group::tmp, "new.org", aspect::md, "n"));
  REQUIRE(s.move(store_group::tmp, store_group::domains, "new.org", true));
  CHECK(*s.load_text(store_group::domains, "new.org", aspect::md) == "n");
  CHECK_FALSE(present(base + "/archive/new.org.1"));

  // Without archiving, an existing target is refused.
  REQUIRE(s.save_text(store_group::staging, "a.org", aspect::md, "s"));
  auto st = s.move(store_group::staging, store_group::domains, "a.org", false);
  REQUIRE_FALSE(st);
  CHECK(st.error().code == store_errc::exists);
  CHECK(*s.load_text(store_group::staging, "a.org", aspect::md) == "s");

  st = s.move(store_group::tmp, store_group::domains, "gone.org", true);
  REQUIRE_FALSE(st);
  CHECK(st.error().code == store_errc::not_found);
  CHECK(st.error().message == "'" + base + "/tmp/gone.org' does not exist");
  st = s.move(store_group::tmp, store_group::tmp, "a.org", true);
  REQUIRE_FALSE(st);
  CHECK(st.error().message == "cannot move from store group 'tmp' to 'tmp'");
}

TEST_CASE("archiving stops at 999", "[store][fs]") {
  temp_dir t;
  const std::string base = t / "md";
  auto s = open_store(base);
  REQUIRE(s.save_text(store_group::domains, "b.org", aspect::md, "live"));
  REQUIRE(s.save_text(store_group::tmp, "b.org", aspect::md, "staged"));
  for (int n = 1; n < 1000; ++n)
    std::filesystem::create_directories(base + "/archive/b.org." + std::to_string(n));
  auto st = s.move(store_group::tmp, store_group::domains, "b.org", true);
  REQUIRE_FALSE(st);
  CHECK(st.error().code == store_errc::archive_full);
  CHECK(st.error().message == "ran out of numbers less than 1000 while looking for a free '" +
                                  base + "/archive/b.org.<n>' to archive '" + base +
                                  "/domains/b.org'; remove old archive directories");
  CHECK(*s.load_text(store_group::domains, "b.org", aspect::md) == "live");
  CHECK(*s.load_text(store_group::tmp, "b.org", aspect::md) == "staged");
  CHECK_FALSE(present(base + "/archive/b.org.1000"));
}

TEST_CASE("names are renamed inside a group", "[store][fs]") {
  temp_dir t;
  auto s = open_store(t / "md");
  REQUIRE(s.save_text(store_group::domains, "old.org", aspect::md, "o"));
  REQUIRE(s.save_text(store_group::domains, "taken.org", aspect::md, "t"));
  REQUIRE(s.rename(store_group::domains, "old.org", "new.org"));
  CHECK(*s.load_text(store_group::domains, "new.org", aspect::md) == "o");
  CHECK(s.rename(store_group::domains, "absent.org", "x.org")); // nothing to do
  auto st = s.rename(store_group::domains, "new.org", "taken.org");
  REQUIRE_FALSE(st);
  CHECK(st.error().code == store_errc::exists);
  CHECK(st.error().message == "'" + (t / "md/domains/taken.org") + "' already exists");
  CHECK(*s.load_text(store_group::domains, "taken.org", aspect::md) == "t");
  CHECK(*s.file_path(store_group::domains, "new.org", "pubcert.pem") ==
        t / "md/domains/new.org/pubcert.pem");
}

TEST_CASE("worker directories are prepared for the child user", "[store][fs]") {
  temp_dir t;
  umask_guard u(022);
  const std::string base = t / "md";
  auto s = open_store(base);
  const uid_t nobody = 65534;
  REQUIRE(s.setup_worker_dirs(nobody, nobody));
  for (std::string g : {"challenges", "staging", "accounts", "ocsp"}) CHECK(mode_of(base + "/" + g) == 0750);
  REQUIRE(s.save_text(store_group::staging, "a.org", aspect::job, "{}"));
  REQUIRE(s.save_text(store_group::domains, "a.org", aspect::md, "{}"));
  CHECK(mode_of(base + "/staging") == 0755);
  auto owner = [](const std::string& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return std::make_pair(st.st_uid, st.st_gid);
  };
  if (::geteuid() == 0) {
    for (std::string g : {"challenges", "staging", "ocsp"})
      CHECK(owner(base + "/" + g) == std::make_pair(nobody, static_cast<gid_t>(nobody)));
    CHECK(owner(base + "/accounts").first == 0);
    CHECK(owner(base + "/staging/a.org").first == nobody);
    CHECK(owner(base + "/staging/a.org/job.json").first == 0);
    CHECK(owner(base + "/domains/a.org").first == 0);
  } else {
    CHECK(owner(base + "/staging").first == ::geteuid());
  }
}

TEST_CASE("readers see the old or the new file, never a part", "[store][fs]") {
  temp_dir t;
  auto s = open_store(t / "md");
  const std::string a(20000, 'a'), b(30000, 'b');
  REQUIRE(s.save_text(store_group::staging, "a.org", aspect::job, a));
  pid_t reader = ::fork();
  REQUIRE(reader >= 0);
  if (reader == 0) {
    for (int i = 0; i < 2000; ++i) {
      auto text = s.load_text(store_group::staging, "a.org", aspect::job);
      if (!text || (*text != a && *text != b)) ::_exit(1);
    }
    ::_exit(0);
  }
  bool writes_ok = true;
  for (int i = 0; i < 200; ++i)
    writes_ok = s.save_text(store_group::staging, "a.org", aspect::job, i % 2 ? a : b).ok() && writes_ok;
  int status = 0;
  REQUIRE(::waitpid(reader, &status, 0) == reader);
  CHECK(writes_ok);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("something other than a file is refused without hanging", "[store][fs]") {
  temp_dir t;
  auto s = open_store(t / "md");
  std::filesystem::create_directories(t / "md/challenges/a.org");
  const std::string fifo = t / "md/challenges/a.org/acme-http-01.txt";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto text = s.load_text(store_group::challenges, "a.org", aspect::http01);
  REQUIRE_FALSE(text);
  CHECK(text.error().code == store_errc::io);
  CHECK(text.error().message == "'" + fifo + "' is not a regular file");
  CHECK_FALSE(s.exists(store_group::challenges, "a.org", aspect::http01));
}

TEST_CASE("fs_store: unsynced writes are atomic, flush syncs them at once", "[store][fs]") {
  temp_dir dir;
  fs_store_options o;
  o.sync_writes = false;
  auto st = fs_store::open(dir.path(), o).value();
  nlohmann::ordered_json j = {{"name", "a.test"}};
  REQUIRE(st.save_json(store_group::domains, "a.test", "md.json", j));
  REQUIRE(st.save_text(store_group::domains, "a.test", "fallback-pubcert.pem", "PEM"));
  REQUIRE(st.move(store_group::domains, store_group::archive, "a.test", false));
  CHECK(read_file(dir / "archive/a.test/fallback-pubcert.pem") == "PEM");
  CHECK_FALSE(std::filesystem::exists(dir / "archive/a.test/fallback-pubcert.pem.tmp"));
  CHECK(st.flush());
  // nothing changed since: no sync at all (it would fail on a store that is gone)
  std::filesystem::remove_all(dir.path());
  CHECK(st.flush());
  // a store that is gone with unsynced writes: the failed call and the directory are named
  temp_dir dir2;
  auto st2 = fs_store::open(dir2.path(), o).value();
  REQUIRE(st2.save_json(store_group::domains, "b.test", "md.json", j));
  std::filesystem::remove_all(dir2.path());
  auto f = st2.flush();
  REQUIRE_FALSE(f);
  CHECK(f.error().message == "open('" + dir2.path() + "') failed: No such file or directory");
  // the failure keeps the store unsynced: the next flush tries again
  CHECK_FALSE(st2.flush());
}
