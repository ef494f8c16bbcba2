// The engine's view of the store (store/engine_store.hpp): root's groups from the parent's
// preload, the User's groups on disk, the engine's accounts in <store>/mdactor, and the
// parent filing those accounts.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include "core/config_files.hpp"
#include "store/accounts.hpp"
#include "store/engine_store.hpp"
#include "store/fs_io.hpp"
#include "tests/store/staging_test_util.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using mda::test::temp_dir;

namespace {

constexpr uid_t k_user = 33; // www-data on Debian

fs_store opened(const std::string& base) {
  auto r = fs_store::open(base);
  REQUIRE(r);
  return std::move(*r);
}

struct engine_store_case {
  temp_dir dir;
  std::string base = dir / "md";
  fs_store st = opened(base);
  managed_domain md = test::staging_md({key_spec::rsa(2048)}, "a.test");
  staged_account acct = test::staged_acct();

  engine_store_case() {
    REQUIRE(st.save_json(store_group::domains, md.name, aspect::md, to_json(md)));
    auto certs = test::make_staged_certs(md);
    REQUIRE(st.save_text(store_group::domains, md.name, aspect::pubcert(key_spec::rsa(2048)),
                         *write_pem_chain(certs[0].chain)));
    REQUIRE(st.save_key(store_group::domains, md.name, aspect::privkey(key_spec::rsa(2048)), certs[0].key));
    REQUIRE(save_account(st, "ACME-127.0.0.1-0000", acct.file, acct.key));
    REQUIRE(st.setup_worker_dirs(::getuid()));
  }

  engine_store engine(const std::vector<std::string>& outside = {}) {
    auto p = preload_for_engine(st, {md}, outside);
    REQUIRE(p);
    return engine_store(std::make_shared<const store_preload>(std::move(*p)));
  }
};

} // namespace

TEST_CASE_METHOD(engine_store_case, "engine store: root's groups come from the preload, never the key of domains/",
                 "[store][engine_store]") {
  auto p = preload_for_engine(st, {md}, {});
  REQUIRE(p);
  CHECK(p->secret == st.secret());
  std::vector<std::string> keys;
  for (const auto& [k, f] : p->files) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"accounts/ACME-127.0.0.1-0000/account.json",
                                         "accounts/ACME-127.0.0.1-0000/account.pem",
                                         "domains/a.test/md.json", "domains/a.test/pubcert.pem"});

  engine_store es(std::make_shared<const store_preload>(std::move(*p)));
  // The files may go away on disk: the engine keeps what the parent read.
  REQUIRE(st.purge(store_group::domains, md.name));
  CHECK(es.load_text(store_group::domains, md.name, "pubcert.pem")->rfind("-----BEGIN CERTIFICATE-----", 0) == 0);
  CHECK(es.exists(store_group::domains, md.name, "md.json"));
  CHECK_FALSE(es.exists(store_group::domains, md.name, "privkey.pem"));
  auto key = es.load_key(store_group::accounts, "ACME-127.0.0.1-0000", aspect::account_key);
  REQUIRE(key);
  CHECK(*key->public_pem() == *acct.key.public_pem());
  CHECK(*es.list_names(store_group::accounts) == std::vector<std::string>{"ACME-127.0.0.1-0000"});
  CHECK(*es.list_aspects(store_group::domains, md.name) == std::vector<std::string>{"md.json", "pubcert.pem"});
}

TEST_CASE_METHOD(engine_store_case, "engine store: writing root's groups is refused, naming the file",
                 "[store][engine_store]") {
  engine_store es = engine();
  auto s = es.save_text(store_group::domains, md.name, "pubcert.pem", "x");
  REQUIRE_FALSE(s);
  CHECK(s.error().message ==
        "the engine does not write domains/a.test/pubcert.pem: that part of the store belongs to root (the "
        "Apache parent writes it at its start)");
  CHECK_FALSE(es.purge(store_group::domains, md.name));
  CHECK_FALSE(es.save_json(store_group::tmp, md.name, "md.json", nlohmann::ordered_json::object()));
  CHECK_FALSE(es.move(store_group::staging, store_group::domains, md.name, true));
  CHECK_FALSE(es.remove(store_group::accounts, "ACME-127.0.0.1-0000", aspect::account));
  CHECK(test::path_exists(base + "/domains/a.test/pubcert.pem"));
}

TEST_CASE_METHOD(engine_store_case, "engine store: the User's groups are on disk, new accounts in <store>/mdactor",
                 "[store][engine_store]") {
  engine_store es = engine();
  REQUIRE(es.save_text(store_group::challenges, "a.test", aspect::http01, "token.key"));
  CHECK(test::read_file(base + "/challenges/a.test/acme-http-01.txt") == "token.key");
  // A new account: written below mdactor/, listed with the preloaded ones, read back first.
  auto other = test::staged_acct();
  other.file.url = "https://127.0.0.1:14000/my-account/2";
  REQUIRE(save_account(es, "ACME-127.0.0.1-0001", other.file, other.key));
  CHECK(test::path_exists(base + "/mdactor/accounts/ACME-127.0.0.1-0001/account.json"));
  CHECK_FALSE(test::path_exists(base + "/accounts/ACME-127.0.0.1-0001"));
  CHECK(*es.list_names(store_group::accounts, "ACME-127.0.0.1-*") ==
        std::vector<std::string>{"ACME-127.0.0.1-0000", "ACME-127.0.0.1-0001"});
  CHECK((*es.load_json(store_group::accounts, "ACME-127.0.0.1-0001", aspect::account))["url"] ==
        "https://127.0.0.1:14000/my-account/2");
  // A preloaded id is taken for a create-only write.
  auto taken = es.save_key(store_group::accounts, "ACME-127.0.0.1-0000", aspect::account_key, other.key, true);
  REQUIRE_FALSE(taken);
  CHECK(taken.error().code == make_error_code(store_errc::exists));
}

TEST_CASE_METHOD(engine_store_case, "engine store: files outside the store come from the parent's copy",
                 "[store][engine_store]") {
  const std::string file = dir / "static.pem";
  test::write_file(file, "the parent's copy");
  auto p = preload_for_engine(st, {md}, {file, dir / "missing.pem"});
  REQUIRE(p);
  CHECK(p->outside == std::map<std::string, std::string>{{file, "the parent's copy"}});
  REQUIRE(use_file_copies(p->outside));
  test::write_file(file, "changed later");
  engine_store es(std::make_shared<const store_preload>(std::move(*p)));
  CHECK(*es.read_outside(file) == "the parent's copy");
  CHECK(test::read_file(config_file_path(file)) == "the parent's copy");
  CHECK(config_file_path(file).rfind("/proc/self/fd/", 0) == 0);
  auto missing = es.read_outside(dir / "missing.pem");
  REQUIRE_FALSE(missing);
  CHECK(is_not_found(missing.error()));
  REQUIRE(use_file_copies({}));
  CHECK(*es.read_outside(file) == "changed later");
  CHECK(config_file_path(file) == file);
}

TEST_CASE_METHOD(engine_store_case, "engine store: the parent files the engine's accounts, never through a link",
                 "[store][engine_store]") {
  engine_store es = engine();
  auto fresh = test::staged_acct();
  fresh.file.url = "https://127.0.0.1:14000/my-account/7";
  REQUIRE(save_account(es, "ACME-127.0.0.1-0001", fresh.file, fresh.key));
  // Only the key: a registration not finished; left for the engine.
  REQUIRE(es.save_key(store_group::accounts, "ACME-127.0.0.1-0002", aspect::account_key, fresh.key));
  // A link planted by the User, pointing at a root-owned account elsewhere.
  const std::string outside = dir / "elsewhere";
  REQUIRE(::mkdir(outside.c_str(), 0700) == 0);
  test::write_file(outside + "/account.json", test::read_file(base + "/accounts/ACME-127.0.0.1-0000/account.json"));
  test::write_file(outside + "/account.pem", test::read_file(base + "/accounts/ACME-127.0.0.1-0000/account.pem"));
  REQUIRE(::symlink(outside.c_str(), (base + "/mdactor/accounts/ACME-127.0.0.1-0003").c_str()) == 0);

  // The store lists no symbolic link as a name: the planted one is never looked at.
  auto filed = file_engine_accounts(st, k_user);
  REQUIRE(filed.size() == 1);
  CHECK(filed[0].from == base + "/mdactor/accounts/ACME-127.0.0.1-0001");
  CHECK(filed[0].id == "ACME-127.0.0.1-0001");
  CHECK(filed[0].problem.empty());
  CHECK((*st.load_json(store_group::accounts, "ACME-127.0.0.1-0001", aspect::account))["url"] ==
        "https://127.0.0.1:14000/my-account/7");
  CHECK_FALSE(test::path_exists(base + "/mdactor/accounts/ACME-127.0.0.1-0001"));
  CHECK(test::path_exists(base + "/mdactor/accounts/ACME-127.0.0.1-0002/account.pem"));
  CHECK_FALSE(test::path_exists(base + "/accounts/ACME-127.0.0.1-0003"));
  CHECK(test::path_exists(outside + "/account.json"));

  SECTION("an id taken meanwhile by another account: the next free one") {
    auto again = test::staged_acct();
    again.file.url = "https://127.0.0.1:14000/my-account/9";
    fs_store own = fs_store::attach(base + "/mdactor", st.secret());
    REQUIRE(save_account(own, "ACME-127.0.0.1-0000", again.file, again.key));
    auto second = file_engine_accounts(st, k_user);
    REQUIRE(second.size() == 1);
    CHECK(second[0].id == "ACME-127.0.0.1-0002");
    CHECK(second[0].problem.empty());
    CHECK((*st.load_json(store_group::accounts, "ACME-127.0.0.1-0000", aspect::account))["url"] ==
          "https://127.0.0.1:14000/my-account/1");
  }
}

TEST_CASE_METHOD(engine_store_case, "accounts: an EAB key mod_md left world-readable is made 0640 at start",
                 "[store][engine_store]") {
  auto eab = test::staged_acct();
  eab.file.eab_kid = "kid-1";
  eab.file.eab_hmac = "c2VjcmV0";
  REQUIRE(save_account(st, "ACME-127.0.0.1-0001", eab.file, eab.key));
  const std::string file = base + "/accounts/ACME-127.0.0.1-0001/account.json";
  const std::string plain = base + "/accounts/ACME-127.0.0.1-0000/account.json";
  REQUIRE(::chmod(file.c_str(), 0644) == 0); // as mod_md writes it
  const std::string before = test::read_file(file);
  CHECK(protect_eab_accounts(st) == std::vector<std::string>{"ACME-127.0.0.1-0001"});
  struct stat sb {};
  REQUIRE(::stat(file.c_str(), &sb) == 0);
  CHECK((sb.st_mode & 07777) == 0640);
  CHECK(test::read_file(file) == before);
  REQUIRE(::stat(plain.c_str(), &sb) == 0);
  CHECK((sb.st_mode & 07777) == 0644); // no key in it: as mod_md has it
  CHECK(protect_eab_accounts(st).empty());
}
