#include <catch2/catch.hpp>

#include <sys/stat.h>

#include "core/certgen.hpp"
#include "store/accounts.hpp"
#include "store/fs_io.hpp"
#include "store/fs_store.hpp"
#include "store/staging.hpp"
#include "tests/store/staging_test_util.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace mda::test;

namespace {

mode_t mode_of(const std::string& path) {
  struct stat sb {};
  return ::stat(path.c_str(), &sb) == 0 ? (sb.st_mode & 0777) : 0;
}

bool exists(const std::string& path) { return fsio::is_dir(path) || fsio::is_file(path); }

std::vector<std::string> aspects(const store& st, store_group g, const std::string& name) {
  auto a = st.list_aspects(g, name);
  return a ? *a : std::vector<std::string>{};
}

/// The aspects of group/name: exactly `names`, the directory with mode `dir`, each file `file`.
void check_files(const store& st, store_group g, const std::string& name,
                 const std::vector<std::string>& names, mode_t dir, mode_t file) {
  auto path = st.file_path(g, name, "x");
  REQUIRE(path);
  const std::string d = fsio::parent_dir(*path);
  CHECK(aspects(st, g, name) == names);
  CHECK(mode_of(d) == dir);
  for (const auto& a : names) {
    INFO(a);
    CHECK(mode_of(d + "/" + a) == file);
  }
}

fs_store open_store(const temp_dir& tmp) {
  auto st = fs_store::open(tmp.path());
  REQUIRE(st);
  return std::move(*st);
}

/// A fresh store and an MD "example.org" with the given key specs.
struct staging_case {
  temp_dir tmp;
  fs_store st{open_store(tmp)};
  managed_domain md;
  explicit staging_case(std::vector<key_spec> specs = {}) : md(staging_md(std::move(specs))) {}
};

struct two_specs : staging_case {
  two_specs() : staging_case({key_spec::default_spec(), key_spec::ec("P-256")}) {}
};

/// Stages a fresh set (a new one each call) and returns it.
std::vector<staged_cert> stage(store& st, const managed_domain& md,
                               const std::optional<staged_account>& acct = std::nullopt) {
  auto certs = make_staged_certs(md);
  REQUIRE(write_staging(st, md, certs, staged_job(md.name), acct));
  return certs;
}

/// Stages and activates a set, then stages the next one; the live pubcert.pem.
std::string live_then_staged(store& st, const managed_domain& md, const temp_dir& tmp) {
  stage(st, md);
  REQUIRE(*activate_staging(st, md.name));
  stage(st, md);
  return read_file(tmp / ("domains/" + md.name + "/pubcert.pem"));
}

/// An activation that must fail: its error, after checking that the staged set is gone and
/// domains/<md> still holds `live` with nothing archived.
error failed_activation(store& st, const managed_domain& md, const temp_dir& tmp,
                        const std::string& live) {
  auto done = activate_staging(st, md.name);
  REQUIRE_FALSE(done);
  CHECK_FALSE(exists(tmp / ("staging/" + md.name)));
  CHECK_FALSE(exists(tmp / ("challenges/" + md.name)));
  CHECK(read_file(tmp / ("domains/" + md.name + "/pubcert.pem")) == live);
  CHECK_FALSE(exists(tmp / ("archive/" + md.name + ".2")));
  return done.error();
}

std::string live_account(const store& st, const managed_domain& md) {
  auto j = st.load_json(store_group::domains, md.name, aspect::md);
  REQUIRE(j);
  return (*j)["ca"].value("account", "");
}

} // namespace

TEST_CASE_METHOD(two_specs, "staging: write and load round trip", "[store][staging]") {
  auto certs = make_staged_certs(md);
  job jb = staged_job(md.name);
  REQUIRE(write_staging(st, md, certs, jb, std::nullopt));

  auto loaded = load_staging(st, md.name);
  REQUIRE(loaded);
  REQUIRE(*loaded);
  const staged_set& set = **loaded;
  CHECK(set.md == md);
  REQUIRE(set.certs.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    CHECK(set.certs[i].spec == md.key_specs[i]);
    CHECK(set.certs[i].key.same_public_key(certs[i].key));
    REQUIRE(set.certs[i].chain.size() == 2);
    CHECK(set.certs[i].chain[0].same_as(certs[i].chain[0]));
    CHECK(set.certs[i].chain[1].same_as(certs[i].chain[1]));
    CHECK(set.certs[i].chain_pem == *write_pem_chain(certs[i].chain));
  }
  CHECK_FALSE(set.account);
  REQUIRE(set.renewal);
  CHECK(*set.renewal == jb);

  SECTION("with an account") {
    auto acct = staged_acct();
    REQUIRE(write_staging(st, md, certs, jb, acct));
    auto again = load_staging(st, md.name);
    REQUIRE(again);
    REQUIRE(*again);
    REQUIRE((*again)->account);
    CHECK((*again)->account->id.empty());
    CHECK((*again)->account->file == acct.file);
    CHECK((*again)->account->key.same_public_key(acct.key));
  }
  SECTION("chain given as PEM only") {
    auto pem_only = certs;
    for (auto& c : pem_only) {
      c.chain_pem = *write_pem_chain(c.chain);
      c.chain.clear();
    }
    REQUIRE(write_staging(st, md, pem_only, jb, std::nullopt));
    auto again = load_staging(st, md.name);
    REQUIRE(again);
    REQUIRE(*again);
    CHECK((*again)->certs[1].chain_pem == pem_only[1].chain_pem);
  }
}

TEST_CASE_METHOD(two_specs, "staging: file names, permissions, key encryption",
                 "[store][staging]") {
  stage(st, md, staged_acct());

  const std::string dir = tmp / "staging/example.org";
  check_files(st, store_group::staging, md.name,
              {"account.json", "account.pem", "job.json", "md.json", "privkey.p-256.pem",
               "privkey.pem", "pubcert.p-256.pem", "pubcert.pem"},
              0755, 0644);
  CHECK(read_file(dir + "/privkey.pem").rfind("-----BEGIN ENCRYPTED PRIVATE KEY-----", 0) == 0);
  CHECK(read_file(dir + "/account.pem").rfind("-----BEGIN ENCRYPTED PRIVATE KEY-----", 0) == 0);
  CHECK(read_file(dir + "/pubcert.pem").rfind("-----BEGIN CERTIFICATE-----", 0) == 0);
  CHECK(read_file(dir + "/md.json") == to_json(md).dump(2));
  // The staged account keeps "registration" (mod_md's save_acct_staged).
  CHECK(read_file(dir + "/account.json").find("\"registration\"") != std::string::npos);

  auto done = activate_staging(st, md.name);
  REQUIRE(done);
  CHECK(*done);
  const std::string live = tmp / "domains/example.org";
  check_files(st, store_group::domains, md.name,
              {"job.json", "md.json", "privkey.p-256.pem", "privkey.pem", "pubcert.p-256.pem",
               "pubcert.pem"},
              0700, 0600);
  CHECK(read_file(live + "/privkey.pem").rfind("-----BEGIN PRIVATE KEY-----", 0) == 0);
  CHECK(read_file(live + "/privkey.p-256.pem").rfind("-----BEGIN PRIVATE KEY-----", 0) == 0);
  CHECK_FALSE(exists(tmp / "staging/example.org"));
  CHECK_FALSE(exists(tmp / "tmp/example.org"));
  // The new account: the first id for the CA's host, md.json pointing at it.
  const std::string acct_dir = tmp / "accounts/ACME-127.0.0.1-0000";
  CHECK(read_file(acct_dir + "/account.json").find("registration") == std::string::npos);
  CHECK(read_file(acct_dir + "/account.pem").rfind("-----BEGIN ENCRYPTED PRIVATE KEY-----", 0) ==
        0);
  CHECK(live_account(st, md) == "ACME-127.0.0.1-0000");
}

TEST_CASE_METHOD(staging_case, "staging: activation archives the previous set",
                 "[store][staging]") {
  std::vector<std::string> chains;
  for (int round = 0; round < 3; ++round) {
    chains.push_back(*write_pem_chain(stage(st, md)[0].chain));
    REQUIRE(st.save_text(store_group::challenges, md.name, aspect::http01, "tok.thumb"));
    auto done = activate_staging(st, md.name);
    REQUIRE(done);
    CHECK(*done);
    CHECK(read_file(tmp / "domains/example.org/pubcert.pem") == chains.back());
    CHECK_FALSE(exists(tmp / "challenges/example.org"));
  }
  CHECK(read_file(tmp / "archive/example.org.1/pubcert.pem") == chains[0]);
  CHECK(read_file(tmp / "archive/example.org.2/pubcert.pem") == chains[1]);
  CHECK(mode_of(tmp / "archive/example.org.2") == 0700);
  CHECK_FALSE(exists(tmp / "archive/example.org.3"));

  auto leaves = load_domain_leaves(st, md);
  REQUIRE(leaves.size() == 1);
  REQUIRE(leaves[0]);
  CHECK(leaves[0]->same_as(*certificate::from_pem(chains[2], "x")));

  // Nothing staged now.
  auto again = activate_staging(st, md.name);
  REQUIRE(again);
  CHECK_FALSE(*again);
}

TEST_CASE_METHOD(staging_case, "staging: the staged account is filed once", "[store][staging]") {
  auto acct = staged_acct();

  SECTION("a matching valid account takes it over") {
    account_file other = acct.file;
    other.url = "https://127.0.0.1:14000/my-account/old";
    other.registration = nullptr;
    REQUIRE(save_account(st, "ACME-127.0.0.1-0003", other, acct.key));
    stage(st, md, acct);
    REQUIRE(*activate_staging(st, md.name));
    auto j = st.load_json(store_group::accounts, "ACME-127.0.0.1-0003", aspect::account);
    REQUIRE(j);
    CHECK((*j)["url"] == acct.file.url);
    CHECK_FALSE(exists(tmp / "accounts/ACME-127.0.0.1-0000"));
    CHECK(live_account(st, md) == "ACME-127.0.0.1-0003");
  }
  SECTION("md.json's ca.account names the id") {
    md.ca.account = "ACME-127.0.0.1-0042";
    stage(st, md, acct);
    REQUIRE(*activate_staging(st, md.name));
    CHECK(exists(tmp / "accounts/ACME-127.0.0.1-0042/account.pem"));
  }
  SECTION("no staged account: an empty ca.account is filled from accounts/") {
    REQUIRE(save_account(st, "ACME-127.0.0.1-0001", acct.file, acct.key));
    stage(st, md);
    REQUIRE(*activate_staging(st, md.name));
    CHECK(live_account(st, md) == "ACME-127.0.0.1-0001");
  }
  SECTION("an account with EAB does not serve an MD without") {
    account_file with_eab = acct.file;
    with_eab.eab_kid = "kid-1";
    with_eab.eab_hmac = "aG1hYw";
    REQUIRE(save_account(st, "ACME-127.0.0.1-0000", with_eab, acct.key));
    stage(st, md, acct);
    REQUIRE(*activate_staging(st, md.name));
    CHECK(live_account(st, md) == "ACME-127.0.0.1-0001");
  }
}

TEST_CASE_METHOD(staging_case, "staging: a key that does not match its certificate",
                 "[store][staging]") {
  const std::string before = live_then_staged(st, md, tmp);
  REQUIRE(st.save_key(store_group::staging, md.name, aspect::privkey(key_spec{}),
                       *private_key::generate(key_spec{})));
  REQUIRE(st.save_text(store_group::challenges, md.name, aspect::http01, "tok.thumb"));

  auto loaded = load_staging(st, md.name);
  REQUIRE_FALSE(loaded);
  CHECK(loaded.error().message ==
        "staging/example.org/pubcert.pem: certificate does not match the private key in "
        "staging/example.org/privkey.pem");

  auto err = failed_activation(st, md, tmp, before);
  CHECK(err.code == store_errc::corrupt);
  CHECK(err.message ==
        "activating the staged set of 'example.org': loading the staged set: "
        "staging/example.org/pubcert.pem: certificate does not match the private key in "
        "staging/example.org/privkey.pem");
}

TEST_CASE_METHOD(staging_case, "staging: a corrupt md.json", "[store][staging]") {
  const std::string before = live_then_staged(st, md, tmp);
  SECTION("not JSON") {
    REQUIRE(st.save_text(store_group::staging, md.name, aspect::md, "{\"name\": "));
    auto err = failed_activation(st, md, tmp, before);
    CHECK(err.code == store_errc::corrupt);
    CHECK_THAT(err.message,
               Catch::StartsWith("activating the staged set of 'example.org': loading the "
                                 "staged set: '" + tmp.path() +
                                 "/staging/example.org/md.json' is not valid JSON: "));
  }
  SECTION("a member of the wrong type") {
    REQUIRE(st.save_text(store_group::staging, md.name, aspect::md,
                          "{\"name\": \"example.org\", \"domains\": 7}"));
    CHECK_THAT(failed_activation(st, md, tmp, before).message,
               Catch::StartsWith("activating the staged set of 'example.org': loading the "
                                 "staged set: staging/example.org/md.json"));
  }
}

TEST_CASE_METHOD(two_specs, "staging: an incomplete set is nothing staged", "[store][staging]") {
  stage(st, md, staged_acct());

  SECTION("no CA chosen yet") {
    auto no_ca = md;
    no_ca.ca.url.clear();
    REQUIRE(st.save_json(store_group::staging, md.name, aspect::md, to_json(no_ca)));
  }
  SECTION("second certificate missing") {
    REQUIRE(st.remove(store_group::staging, md.name, aspect::pubcert(md.key_specs[1])));
  }
  SECTION("first key missing") {
    REQUIRE(st.remove(store_group::staging, md.name, aspect::privkey(md.key_specs[0])));
  }
  SECTION("account key missing") {
    REQUIRE(st.remove(store_group::staging, md.name, aspect::account_key));
  }
  SECTION("no md.json") {
    REQUIRE(st.remove(store_group::staging, md.name, aspect::md));
  }
  auto loaded = load_staging(st, md.name);
  REQUIRE(loaded);
  CHECK_FALSE(*loaded);
  auto done = activate_staging(st, md.name);
  REQUIRE(done);
  CHECK_FALSE(*done);
  CHECK(exists(tmp / "staging/example.org/job.json"));
  CHECK_FALSE(exists(tmp / "domains/example.org"));
}

TEST_CASE_METHOD(staging_case, "staging: the staged order's challenges are torn down",
                 "[store][staging]") {
  stage(st, md);
  acme_order_file order;
  order.url = "https://127.0.0.1:14000/order/1";
  order.challenge_setups = {"http-01:www.example.org", "tls-alpn-01:other.example.org",
                            "dns-01:dns.example.org tok"};
  REQUIRE(st.save_json(store_group::staging, md.name, aspect::order, to_json(order)));
  for (const char* d : {"www.example.org", "other.example.org", "dns.example.org", "keep.org"})
    REQUIRE(st.save_text(store_group::challenges, d, aspect::http01, "x"));
  REQUIRE(*activate_staging(st, md.name));
  CHECK_FALSE(exists(tmp / "challenges/www.example.org"));
  CHECK_FALSE(exists(tmp / "challenges/other.example.org"));
  CHECK(exists(tmp / "challenges/dns.example.org"));
  CHECK(exists(tmp / "challenges/keep.org"));
}

TEST_CASE_METHOD(two_specs, "staging: write_staging refuses an unusable set", "[store][staging]") {
  auto certs = make_staged_certs(md);
  const auto refusal = [&] {
    auto s = write_staging(st, md, certs, staged_job(md.name), std::nullopt);
    REQUIRE_FALSE(s);
    CHECK(s.error().code == store_errc::invalid);
    return s.error().message;
  };
  SECTION("a spec without certificate") {
    certs.pop_back();
    CHECK(refusal() == "no certificate for key spec 'P-256' of MD 'example.org' to stage");
  }
  SECTION("a key of another certificate") {
    std::swap(certs[0].key, certs[1].key);
    CHECK(refusal() ==
          "the certificate for key spec 'rsa' of MD 'example.org' does not match its private key");
  }
  SECTION("no CA") {
    md.ca.url.clear();
    CHECK(refusal() == "MD 'example.org' to stage names no CA (ca.url)");
  }
  CHECK_FALSE(exists(tmp / "staging/example.org"));
}

TEST_CASE_METHOD(two_specs, "staging: current leaves per slot", "[store][staging]") {
  auto certs = make_staged_certs(md);
  REQUIRE(st.save_text(store_group::domains, md.name, "pubcert.p-256.pem",
                        *write_pem_chain(certs[1].chain)));
  auto leaves = load_domain_leaves(st, md);
  REQUIRE(leaves.size() == 2);
  CHECK_FALSE(leaves[0]);
  REQUIRE(leaves[1]);
  CHECK(leaves[1]->same_as(certs[1].chain[0]));

  SECTION("unreadable") {
    REQUIRE(st.save_text(store_group::domains, md.name, "pubcert.pem", "garbage"));
    CHECK_FALSE(load_domain_leaves(st, md)[0]);
  }
  SECTION("static certificate files") {
    write_file(tmp / "static.pem", *write_pem_chain(certs[0].chain));
    md.cert_files = {tmp / "static.pem", tmp / "missing.pem"};
    auto s = load_domain_leaves(st, md);
    REQUIRE(s.size() == 2);
    REQUIRE(s[0]);
    CHECK(s[0]->same_as(certs[0].chain[0]));
    CHECK_FALSE(s[1]);
  }
}

TEST_CASE("accounts: ids from CA urls", "[store][staging]") {
  CHECK(*account_id_prefix_for_url("https://127.0.0.1:14000/dir") == "ACME-127.0.0.1-");
  CHECK(*account_id_prefix_for_url("https://acme-v02.api.letsencrypt.org/directory") ==
        "ACME-.letsencrypt.org-"); // the last 16 characters
  CHECK(*account_id_prefix_for_url("https://user@[::1]:14000/dir") == "ACME-::1-");
  CHECK(*account_id_prefix_for_url("http://ca.test?x=1") == "ACME-ca.test-");
  auto bad = account_id_prefix_for_url("ca.test/dir");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "invalid CA url 'ca.test/dir': no host");
}

TEST_CASE_METHOD(two_specs, "staging: a finished, announced job needs its staged set", "[store][staging]") {
  // mod_md #420: job.json claims a renewal that left nothing in staging/
  job j = staged_job(md.name);
  j.notified_renewed = true;
  CHECK_FALSE(staging_job_plausible(st, md, j));      // nothing staged at all
  stage(st, md);
  CHECK(staging_job_plausible(st, md, j));            // md.json and both certificates
  REQUIRE(st.remove(store_group::staging, md.name, aspect::pubcert(md.key_specs[1])));
  CHECK_FALSE(staging_job_plausible(st, md, j));      // one certificate missing
  j.notified_renewed = false;
  CHECK(staging_job_plausible(st, md, j));            // not announced yet: a run in progress
  j.finished = false;
  j.notified_renewed = true;
  CHECK(staging_job_plausible(st, md, j));
}

TEST_CASE_METHOD(staging_case, "staging: the account of an order (clusters)", "[store][staging]") {
  auto key = private_key::generate(key_spec::ec("P-256"));
  REQUIRE(key);
  const std::string name = md.name;
  auto none = load_order_account(st, name);
  REQUIRE(none);
  CHECK_FALSE(*none);
  REQUIRE(save_order_account(st, name, order_account{"ACME-ca.test-0003", "https://ca.test/acct/9",
                                                     "https://ca.test/dir", *key}));
  // the key encrypted as every staged key
  const std::string pem = read_file(tmp / ("staging/" + name + "/order-account.pem"));
  CHECK(pem.find("ENCRYPTED PRIVATE KEY") != std::string::npos);
  CHECK(nlohmann::json::parse(read_file(tmp / ("staging/" + name + "/order-account.json"))) ==
        nlohmann::json::parse(R"({"id":"ACME-ca.test-0003","url":"https://ca.test/acct/9","ca-url":"https://ca.test/dir"})"));
  auto back = load_order_account(st, name);
  REQUIRE(back);
  REQUIRE(*back);
  CHECK((*back)->id == "ACME-ca.test-0003");
  CHECK((*back)->url == "https://ca.test/acct/9");
  CHECK((*back)->ca_url == "https://ca.test/dir");
  CHECK((*back)->key.same_public_key(*key));
  SECTION("a corrupt file is named") {
    write_file(tmp / ("staging/" + name + "/order-account.json"), R"({"id":"x","url":7})");
    auto bad = load_order_account(st, name);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message == "staging/" + name + "/order-account.json: no string \"url\"");
  }
  SECTION("without its key: none") {
    REQUIRE(st.remove(store_group::staging, name, order_account_key_aspect));
    auto half = load_order_account(st, name);
    REQUIRE(half);
    CHECK_FALSE(*half);
  }
  SECTION("activation purges it with the rest of staging/<md>") {
    stage(st, md);
    REQUIRE(activate_staging(st, name));
    CHECK_FALSE(st.exists(store_group::staging, name, order_account_aspect));
    CHECK_FALSE(st.exists(store_group::staging, name, order_account_key_aspect));
  }
}
