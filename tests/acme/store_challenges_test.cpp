// acme/store_challenges.hpp: mod_md's challenge files in the store (contents, names, modes),
// teardown, and dns-01 delegation.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "acme/store_challenges.hpp"
#include "core/certgen.hpp"
#include "core/x509.hpp"
#include "store/fs_store.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace mda::acme;

namespace {

mode_t mode_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

/// The DER extnValue of id-pe-acmeIdentifier and whether it is critical; "" when absent.
std::string acme_identifier_ext(const certificate& cert, bool& critical) {
  ASN1_OBJECT* oid = OBJ_txt2obj(k_acme_identifier_oid, 1);
  int idx = X509_get_ext_by_OBJ(cert.get(), oid, -1);
  ASN1_OBJECT_free(oid);
  if (idx < 0) return "";
  X509_EXTENSION* ext = X509_get_ext(cert.get(), idx);
  critical = X509_EXTENSION_get_critical(ext) == 1;
  ASN1_OCTET_STRING* v = X509_EXTENSION_get_data(ext);
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(v)),
                     static_cast<size_t>(ASN1_STRING_length(v)));
}

challenge_data challenge(challenge_type t, const std::string& identifier) {
  challenge_data c;
  c.type = t;
  c.identifier = identifier;
  c.md_name = identifier;
  c.token = "tok_1-A";
  c.key_authorization = "tok_1-A.thumbprint";
  return c;
}

/// Records what it is asked to do.
struct recording_setup final : challenge_setup {
  std::vector<std::string> calls;
  bool supports(challenge_type t) const override { return t == challenge_type::dns_01; }
  status setup(const challenge_data& c) override {
    calls.push_back("setup " + c.identifier);
    return {};
  }
  status teardown(const challenge_data& c) override {
    calls.push_back("teardown " + c.identifier);
    return {};
  }
};

} // namespace

TEST_CASE("store_challenges writes mod_md's http-01 file", "[acme][store-challenges]") {
  test::temp_dir dir;
  auto st = fs_store::open(dir / "md");
  REQUIRE(st);
  store_challenges sc(*st, {});
  CHECK(sc.supports(challenge_type::http_01));
  CHECK(sc.supports(challenge_type::tls_alpn_01));
  CHECK_FALSE(sc.supports(challenge_type::dns_01));

  auto c = challenge(challenge_type::http_01, "a.example.test");
  REQUIRE(sc.setup(c));
  const std::string file = dir / "md/challenges/a.example.test/acme-http-01.txt";
  CHECK(test::read_file(file) == "tok_1-A.thumbprint");
  CHECK(mode_of(file) == 0644);
  CHECK(mode_of(dir / "md/challenges/a.example.test") == 0755);
  // Setting up again (same answer) is fine; a new answer replaces the old.
  REQUIRE(sc.setup(c));
  c.key_authorization = "other.thumbprint";
  REQUIRE(sc.setup(c));
  CHECK(test::read_file(file) == "other.thumbprint");

  REQUIRE(sc.teardown(c));
  CHECK_FALSE(exists(dir / "md/challenges/a.example.test"));
  REQUIRE(sc.teardown(c)); // absent is fine

  c.key_authorization.clear();
  auto bad = sc.setup(c);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message ==
        "http-01 setup for 'a.example.test': identifier or key authorization missing");
}

TEST_CASE("store_challenges writes a tls-alpn-01 key and certificate per key spec",
          "[acme][store-challenges]") {
  test::temp_dir dir;
  auto st = fs_store::open(dir / "md");
  REQUIRE(st);
  store_challenges_options o;
  o.key_specs = {key_spec::default_spec(), key_spec::ec("P-256")};
  store_challenges sc(*st, o);
  auto c = challenge(challenge_type::tls_alpn_01, "b.example.test");
  REQUIRE(sc.setup(c));

  CHECK(aspect::tls_alpn01_privkey(o.key_specs[0]) == "acme-tls-alpn-01-privkey.pem");
  CHECK(aspect::tls_alpn01_pubcert(o.key_specs[1]) == "acme-tls-alpn-01-pubcert.p-256.pem");
  auto names = st->list_aspects(store_group::challenges, "b.example.test");
  REQUIRE(names);
  CHECK(*names == std::vector<std::string>{
                      "acme-tls-alpn-01-privkey.p-256.pem", "acme-tls-alpn-01-privkey.pem",
                      "acme-tls-alpn-01-pubcert.p-256.pem", "acme-tls-alpn-01-pubcert.pem"});
  const auto now = sys_clock::now();
  for (const auto& spec : o.key_specs) {
    const std::string base = dir / "md/challenges/b.example.test/";
    const std::string key_file = base + aspect::tls_alpn01_privkey(spec);
    const std::string cert_file = base + aspect::tls_alpn01_pubcert(spec);
    CHECK(mode_of(key_file) == 0600);
    CHECK(mode_of(cert_file) == 0644);
    std::string key_pem = test::read_file(key_file);
    CHECK(key_pem.rfind("-----BEGIN PRIVATE KEY-----", 0) == 0); // plain PKCS#8
    auto key = private_key::from_pem(key_pem, nullptr, key_file);
    REQUIRE(key);
    CHECK(key->matches(spec));
    auto cert = certificate::from_pem(test::read_file(cert_file), cert_file);
    REQUIRE(cert);
    CHECK(cert->matches_key(*key));
    CHECK(cert->subject_cn() == "tls-alpn-01-challenge");
    CHECK(cert->alt_names() == std::vector<std::string>{"b.example.test"});
    CHECK(cert->not_before() <= now);
    CHECK(cert->not_after() > now + std::chrono::hours(6 * 24));
    bool critical = false;
    CHECK(acme_identifier_ext(*cert, critical) == acme_identifier_value("tok_1-A.thumbprint"));
    CHECK(critical);
  }
  REQUIRE(sc.teardown(c));
  CHECK_FALSE(exists(dir / "md/challenges/b.example.test"));
}

TEST_CASE("store_challenges hands dns-01 to its delegate", "[acme][store-challenges]") {
  test::temp_dir dir;
  auto st = fs_store::open(dir / "md");
  REQUIRE(st);
  SECTION("without a delegate dns-01 is not supported") {
    store_challenges sc(*st, {});
    auto r = sc.setup(challenge(challenge_type::dns_01, "c.example.test"));
    REQUIRE_FALSE(r);
    CHECK(r.error().message ==
          "dns-01 setup for 'c.example.test': no MDChallengeDns01 command is configured");
  }
  SECTION("with one") {
    auto rec = std::make_shared<recording_setup>();
    store_challenges_options o;
    o.dns01 = rec;
    store_challenges sc(*st, o);
    CHECK(sc.supports(challenge_type::dns_01));
    auto c = challenge(challenge_type::dns_01, "c.example.test");
    REQUIRE(sc.setup(c));
    REQUIRE(sc.teardown(c));
    CHECK(rec->calls ==
          std::vector<std::string>{"setup c.example.test", "teardown c.example.test"});
    auto names = st->list_names(store_group::challenges);
    REQUIRE(names);
    CHECK(names->empty());
  }
}
