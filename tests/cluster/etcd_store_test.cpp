// cluster/etcd_store.hpp: the store contract (store.hpp) on a real etcd started by the test
// (Debian's etcd-server), the raw values read back through the client, and the secret check.
#include <atomic>
#include <thread>

#include <catch2/catch.hpp>

#include "cluster/etcd_client.hpp"
#include "cluster/etcd_store.hpp"
#include "core/base64.hpp"
#include "core/digest.hpp"
#include "store/fs_store.hpp"
#include "tests/support/etcd.hpp"

using namespace mda;
using namespace std::chrono_literals;

namespace {

std::shared_ptr<etcd::client> connect(const test::etcd_fixture& etcd) {
  etcd::client_options o;
  o.endpoints = etcd.endpoints();
  o.timeout = 2s;
  auto c = etcd::client::make(o);
  REQUIRE(c);
  return *c;
}

const std::string k_secret(48, 's');

store::time_point at_ms(std::int64_t ms) {
  return store::time_point(std::chrono::milliseconds(ms));
}

/// A store whose clock the test sets.
struct clocked {
  std::shared_ptr<store::time_point> now = std::make_shared<store::time_point>(at_ms(1000));
  etcd_store_options options() const {
    etcd_store_options o;
    auto t = now;
    o.clock = [t] { return *t; };
    return o;
  }
};

etcd_store open_store(std::shared_ptr<etcd::client> c, const std::string& prefix,
                      etcd_store_options o = {}) {
  auto s = etcd_store::open(std::move(c), prefix, k_secret, std::move(o));
  if (!s) FAIL(s.error().message);
  return std::move(*s);
}

std::string raw(const etcd::client& c, const std::string& key) {
  auto r = c.get(key);
  REQUIRE(r);
  REQUIRE(r->kvs.size() == 1);
  return r->kvs.front().value;
}

using names = std::vector<std::string>;

} // namespace

TEST_CASE("etcd_store: text, JSON and keys per group; keys encrypted everywhere",
          "[cluster][etcd][store]") {
  test::etcd_fixture etcd(1);
  auto c = connect(etcd);
  clocked clock;
  auto s = open_store(c, "/mdactor", clock.options());
  CHECK(s.key_of(store_group::domains, "a.test", "md.json") == "/mdactor/store/domains/a.test/md.json");
  CHECK(s.key_of(store_group::none, "", "httpd.json") == "/mdactor/store/none//httpd.json");

  // md_store.json: the fingerprint, never the secret
  const std::string fp = hex_lower(sha256(k_secret));
  CHECK(raw(*c, "/mdactor/store/none//md_store.json") ==
        "mda1 1000\n{\n  \"store\": {\n    \"version\": 3.0\n  },\n  \"secret-sha256\": \"" + fp +
            "\"\n}");
  auto w = s.save_text(store_group::none, "", "md_store.json", "{}");
  REQUIRE_FALSE(w);
  CHECK(w.error().message == "'md_store.json' is managed by the store itself");

  *clock.now = at_ms(1795000000123);
  REQUIRE(s.save_text(store_group::domains, "a.test", "pubcert.pem", "PEM\nchain\n"));
  CHECK(raw(*c, "/mdactor/store/domains/a.test/pubcert.pem") == "mda1 1795000000123\nPEM\nchain\n");
  auto text = s.load_text(store_group::domains, "a.test", "pubcert.pem");
  REQUIRE(text);
  CHECK(*text == "PEM\nchain\n");
  auto when = s.modified(store_group::domains, "a.test", "pubcert.pem");
  REQUIRE(when);
  CHECK(*when == at_ms(1795000000123));

  nlohmann::ordered_json j = {{"name", "a.test"}, {"domains", {"a.test", "www.a.test"}}};
  REQUIRE(s.save_json(store_group::staging, "a.test", "md.json", j));
  CHECK(raw(*c, "/mdactor/store/staging/a.test/md.json") ==
        "mda1 1795000000123\n" + store_json_text(j));
  auto back = s.load_json(store_group::staging, "a.test", "md.json");
  REQUIRE(back);
  CHECK(*back == j);

  auto key = private_key::generate(key_spec::ec("P-256"));
  REQUIRE(key);
  for (auto g : k_store_groups) {
    const std::string name = g == store_group::none ? "" : "k.test";
    REQUIRE(s.save_key(g, name, "privkey.pem", *key));
    const std::string value = raw(*c, s.key_of(g, name, "privkey.pem"));
    INFO(group_name(g));
    CHECK(value.rfind("mda1 1795000000123\n-----BEGIN ENCRYPTED PRIVATE KEY-----\n", 0) == 0);
    auto k = s.load_key(g, name, "privkey.pem");
    REQUIRE(k);
    CHECK(k->same_public_key(*key));
  }

  auto missing = s.load_text(store_group::domains, "a.test", "nothing.pem");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == store_errc::not_found);
  CHECK(missing.error().message == "etcd key '/mdactor/store/domains/a.test/nothing.pem' does not exist");
  CHECK(is_not_found(missing.error()));
  CHECK(s.exists(store_group::domains, "a.test", "pubcert.pem"));
  CHECK_FALSE(s.exists(store_group::domains, "a.test", "nothing.pem"));
  auto path = s.file_path(store_group::domains, "a.test", "pubcert.pem");
  REQUIRE_FALSE(path);
  CHECK(path.error().code == store_errc::invalid);
  CHECK(path.error().message ==
        "etcd_store has no files: etcd key '/mdactor/store/domains/a.test/pubcert.pem'");

  SECTION("bad names, as fs_store") {
    auto a = s.save_text(store_group::domains, "../etc", "md.json", "x");
    REQUIRE_FALSE(a);
    CHECK(a.error().code == store_errc::bad_name);
    CHECK(a.error().message == "invalid name '../etc' in store group 'domains': contains '/'");
    auto b = s.save_text(store_group::domains, "a.test", "x.tmp", "x");
    REQUIRE_FALSE(b);
    CHECK(b.error().message == "invalid aspect 'x.tmp': ends in '.tmp' (reserved for atomic writes)");
    auto n = s.load_text(store_group::none, "a.test", "httpd.json");
    REQUIRE_FALSE(n);
    CHECK(n.error().code == store_errc::invalid);
    CHECK(n.error().message == "store group 'none' takes no name, got 'a.test'");
    auto l = s.list_names(store_group::none);
    REQUIRE_FALSE(l);
    CHECK(l.error().message == "store group 'none' has no names");
  }

  SECTION("a damaged value is named, nothing else touched") {
    REQUIRE(c->put("/mdactor/store/domains/a.test/md.json", "{\"name\": \"a.test\"}"));
    auto h = s.load_json(store_group::domains, "a.test", "md.json");
    REQUIRE_FALSE(h);
    CHECK(h.error().code == store_errc::corrupt);
    CHECK(h.error().message == "etcd key '/mdactor/store/domains/a.test/md.json' has no 'mda1' header");
    REQUIRE(c->put("/mdactor/store/domains/a.test/md.json", "mda1 5\n{\"name\": "));
    auto p = s.load_json(store_group::domains, "a.test", "md.json");
    REQUIRE_FALSE(p);
    CHECK(p.error().code == store_errc::corrupt);
    CHECK(p.error().message ==
          "etcd key '/mdactor/store/domains/a.test/md.json' is not valid JSON: parse error at byte 10");
    REQUIRE(c->put("/mdactor/store/domains/a.test/privkey.pem", "mda1 5\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"));
    auto k = s.load_key(store_group::domains, "a.test", "privkey.pem");
    REQUIRE_FALSE(k);
    CHECK(k.error().message.find("etcd key '/mdactor/store/domains/a.test/privkey.pem'") !=
          std::string::npos);
    auto other = private_key::generate(key_spec::ec("P-256"))->to_pem_encrypted(std::string(48, 'x'));
    REQUIRE(other);
    REQUIRE(c->put("/mdactor/store/staging/a.test/privkey.pem", "mda1 5\n" + *other));
    auto wrong = s.load_key(store_group::staging, "a.test", "privkey.pem");
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error().code == crypto_errc::bad_passphrase);
    CHECK(s.load_text(store_group::domains, "a.test", "pubcert.pem"));
  }

  SECTION("etcd down is told apart from bad data") {
    etcd.stop(0);
    auto down = s.load_text(store_group::domains, "a.test", "pubcert.pem");
    REQUIRE_FALSE(down);
    CHECK(down.error().code == etcd::etcd_errc::unreachable);
    CHECK(down.error().message.rfind("reading etcd key '/mdactor/store/domains/a.test/pubcert.pem': ", 0) == 0);
    auto save = s.save_text(store_group::domains, "a.test", "pubcert.pem", "x");
    REQUIRE_FALSE(save);
    CHECK(save.error().code == etcd::etcd_errc::unreachable);
  }
}

TEST_CASE("etcd_store: create_only, listing, removing, moving, renaming",
          "[cluster][etcd][store]") {
  test::etcd_fixture etcd(1);
  auto c = connect(etcd);
  clocked clock;
  auto s = open_store(c, "", clock.options());
  CHECK(s.key_of(store_group::tmp, "x", "y") == "/store/tmp/x/y");

  SECTION("create_only: exactly one of two racing writers wins") {
    for (int round = 0; round < 5; ++round) {
      const std::string name = "race" + std::to_string(round);
      std::atomic<int> won{0}, lost{0};
      auto writer = [&](const std::string& text) {
        auto st = s.save_text(store_group::accounts, name, "account.json", text, true);
        if (st) ++won;
        else if (st.error().code == store_errc::exists) ++lost;
      };
      std::thread a(writer, "A"), b(writer, "B");
      a.join();
      b.join();
      CHECK(won.load() == 1);
      CHECK(lost.load() == 1);
    }
    auto again = s.save_text(store_group::accounts, "race0", "account.json", "C", true);
    REQUIRE_FALSE(again);
    CHECK(again.error().message == "etcd key '/store/accounts/race0/account.json' already exists");
  }

  SECTION("list, remove, purge, remove_not_modified_since") {
    for (const char* n : {"b.test", "a.test", "c.example"}) {
      REQUIRE(s.save_text(store_group::challenges, n, "acme-http-01.txt", "tok"));
      REQUIRE(s.save_text(store_group::challenges, n, "acme-tls-alpn-01-pubcert.pem", "pem"));
    }
    REQUIRE(c->put("/store/challenges/a.test/left.tmp", "mda1 1\nx"));
    CHECK(*s.list_names(store_group::challenges) == names{"a.test", "b.test", "c.example"});
    CHECK(*s.list_names(store_group::challenges, "*.test") == names{"a.test", "b.test"});
    CHECK(s.list_names(store_group::ocsp)->empty());
    CHECK(*s.list_aspects(store_group::challenges, "a.test") ==
          names{"acme-http-01.txt", "acme-tls-alpn-01-pubcert.pem"});
    CHECK(*s.list_aspects(store_group::challenges, "a.test", "*.txt") == names{"acme-http-01.txt"});
    CHECK(s.list_aspects(store_group::challenges, "zzz")->empty());

    REQUIRE(s.remove(store_group::challenges, "b.test", "acme-http-01.txt"));
    auto gone = s.remove(store_group::challenges, "b.test", "acme-http-01.txt");
    REQUIRE_FALSE(gone);
    CHECK(gone.error().code == store_errc::not_found);
    CHECK(gone.error().message == "etcd key '/store/challenges/b.test/acme-http-01.txt' does not exist");
    CHECK(s.remove(store_group::challenges, "b.test", "acme-http-01.txt", true));
    REQUIRE(s.purge(store_group::challenges, "b.test"));
    CHECK(s.purge(store_group::challenges, "b.test"));
    CHECK(*s.list_names(store_group::challenges) == names{"a.test", "c.example"});

    *clock.now = at_ms(5000);
    REQUIRE(s.save_text(store_group::challenges, "a.test", "acme-http-01.txt", "newer"));
    REQUIRE(s.remove_not_modified_since(store_group::challenges, at_ms(2000), "*", "acme-*"));
    CHECK(*s.list_aspects(store_group::challenges, "a.test") == names{"acme-http-01.txt"});
    CHECK(s.list_aspects(store_group::challenges, "c.example")->empty());
    CHECK(raw(*c, "/store/challenges/a.test/left.tmp") == "mda1 1\nx");
  }

  SECTION("move with archive: the old one to archive/<name>.<n>, n increments") {
    for (int run = 1; run <= 3; ++run) {
      REQUIRE(s.save_text(store_group::tmp, "a.test", "pubcert.pem", "cert" + std::to_string(run)));
      REQUIRE(s.save_text(store_group::tmp, "a.test", "md.json", "{}"));
      REQUIRE(s.move(store_group::tmp, store_group::domains, "a.test", true));
      CHECK(*s.load_text(store_group::domains, "a.test", "pubcert.pem") == "cert" + std::to_string(run));
      CHECK(s.list_aspects(store_group::tmp, "a.test")->empty());
    }
    CHECK(*s.list_names(store_group::archive) == names{"a.test.1", "a.test.2"});
    CHECK(*s.load_text(store_group::archive, "a.test.1", "pubcert.pem") == "cert1");
    CHECK(*s.load_text(store_group::archive, "a.test.2", "pubcert.pem") == "cert2");

    // without archive an existing target is refused, and nothing moves
    REQUIRE(s.save_text(store_group::staging, "a.test", "pubcert.pem", "staged"));
    auto no = s.move(store_group::staging, store_group::domains, "a.test", false);
    REQUIRE_FALSE(no);
    CHECK(no.error().code == store_errc::exists);
    CHECK(no.error().message == "etcd keys '/store/domains/a.test/*' already exist");
    CHECK(*s.load_text(store_group::staging, "a.test", "pubcert.pem") == "staged");
    auto absent = s.move(store_group::tmp, store_group::domains, "none.test", true);
    REQUIRE_FALSE(absent);
    CHECK(absent.error().code == store_errc::not_found);
    CHECK(absent.error().message == "etcd keys '/store/tmp/none.test/*' do not exist");
    auto inval = s.move(store_group::tmp, store_group::tmp, "a.test", true);
    REQUIRE_FALSE(inval);
    CHECK(inval.error().message == "cannot move from store group 'tmp' to 'tmp'");

    // a name larger than one transaction moves in pieces, archived all the same
    for (int i = 0; i < 150; ++i)
      REQUIRE(s.save_text(store_group::tmp, "big.test", "f" + std::to_string(i), "v"));
    REQUIRE(s.save_text(store_group::domains, "big.test", "old", "o"));
    REQUIRE(s.move(store_group::tmp, store_group::domains, "big.test", true));
    CHECK(s.list_aspects(store_group::domains, "big.test")->size() == 150);
    CHECK(s.list_aspects(store_group::tmp, "big.test")->empty());
    CHECK(*s.list_aspects(store_group::archive, "big.test.1") == names{"old"});
  }

  SECTION("archiving stops at 999") {
    for (int n = 1; n <= 999; ++n)
      REQUIRE(c->put("/store/archive/f.test." + std::to_string(n) + "/md.json", "mda1 1\n{}"));
    REQUIRE(s.save_text(store_group::domains, "f.test", "md.json", "{}"));
    REQUIRE(s.save_text(store_group::tmp, "f.test", "md.json", "{}"));
    auto full = s.move(store_group::tmp, store_group::domains, "f.test", true);
    REQUIRE_FALSE(full);
    CHECK(full.error().code == store_errc::archive_full);
  }

  SECTION("rename inside a group") {
    REQUIRE(s.save_text(store_group::accounts, "ACME-a-0000", "account.json", "{}"));
    REQUIRE(s.rename(store_group::accounts, "ACME-a-0000", "ACME-b-0000"));
    CHECK(*s.list_names(store_group::accounts) == names{"ACME-b-0000"});
    CHECK(s.rename(store_group::accounts, "ACME-a-0000", "ACME-c-0000")); // absent: fine
    REQUIRE(s.save_text(store_group::accounts, "ACME-c-0000", "account.json", "{}"));
    auto taken = s.rename(store_group::accounts, "ACME-b-0000", "ACME-c-0000");
    REQUIRE_FALSE(taken);
    CHECK(taken.error().code == store_errc::exists);
    CHECK(taken.error().message == "etcd keys '/store/accounts/ACME-c-0000/*' already exist");

    // a name of 100 keys is renamed in one transaction: one revision
    for (int i = 0; i < 100; ++i)
      REQUIRE(s.save_text(store_group::accounts, "many", "f" + std::to_string(i), "v"));
    auto before = c->get("/any");
    REQUIRE(before);
    REQUIRE(s.rename(store_group::accounts, "many", "many2"));
    auto after = c->get("/any");
    REQUIRE(after);
    CHECK(after->revision == before->revision + 1);
    CHECK(s.list_aspects(store_group::accounts, "many2")->size() == 100);
    CHECK(s.list_aspects(store_group::accounts, "many")->empty());
  }
}

TEST_CASE("etcd_store: one md_store.json per cluster, another secret refused",
          "[cluster][etcd][store]") {
  test::etcd_fixture etcd(1);
  auto c = connect(etcd);

  // two nodes start at once: one creates, the other agrees
  for (int round = 0; round < 5; ++round) {
    const std::string prefix = "/p" + std::to_string(round);
    std::atomic<int> ok{0};
    auto node = [&] {
      if (etcd_store::open(c, prefix, k_secret)) ++ok;
    };
    std::thread a(node), b(node);
    a.join();
    b.join();
    CHECK(ok.load() == 2);
    auto r = c->get_prefix(prefix + "/");
    REQUIRE(r);
    REQUIRE(r->kvs.size() == 1);
    CHECK(r->kvs.front().key == prefix + "/store/none//md_store.json");
    CHECK(r->kvs.front().version == 1);
  }

  auto other = etcd_store::open(c, "/p0", std::string(48, 'o'));
  REQUIRE_FALSE(other);
  CHECK(other.error().code == store_errc::refused);
  CHECK(other.error().message ==
        "the store secret of this node differs from the cluster's (etcd key "
        "'/p0/store/none//md_store.json' holds the SHA-256 of another one): copy md_store.json "
        "from a node of the cluster into this node's store directory");

  etcd_store_options no_create;
  no_create.create = false;
  auto none = etcd_store::open(c, "/empty", k_secret, no_create);
  REQUIRE_FALSE(none);
  CHECK(none.error().code == store_errc::not_found);
  CHECK(none.error().message ==
        "etcd key '/empty/store/none//md_store.json' does not exist: no store under prefix '/empty'");
  CHECK(c->get_prefix("/empty")->kvs.empty());

  auto slash = etcd_store::open(c, "/p/", k_secret);
  REQUIRE_FALSE(slash);
  CHECK(slash.error().message == "etcd store prefix '/p/': must start with '/' and not end with one");
  auto short_secret = etcd_store::open(c, "/p", "abc");
  REQUIRE_FALSE(short_secret);
  CHECK(short_secret.error().message == "store secret of 3 bytes (expected 48)");
}
