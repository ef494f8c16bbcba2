#include <catch2/catch.hpp>

#include <sys/stat.h>

#include "core/certgen.hpp"
#include "core/x509.hpp"
#include "store/cert_files.hpp"
#include "store/fs_store.hpp"
#include "tests/test_util.hpp"

using namespace mda;

namespace {

managed_domain make_md(std::vector<key_spec> specs) {
  managed_domain md;
  md.name = "example.org";
  md.domains = {"example.org", "www.example.org"};
  md.key_specs = std::move(specs);
  return md;
}

md_spec spec_of(const managed_domain& md) { return *make_md_spec(md, engine_settings{}, true); }

} // namespace

TEST_CASE("fallback files per key spec, one key per spec shared", "[store][fallback]") {
  test::temp_dir tmp;
  auto st = fs_store::open(tmp.path());
  REQUIRE(st);
  const sys_time now = from_unix(1767225600);
  fallback_keys keys;
  auto md = make_md({key_spec::ec("P-256"), key_spec::ec("secp384r1")});
  auto files = ensure_fallback_files(*st, spec_of(md), keys, now);
  REQUIRE(files);
  REQUIRE(files->size() == 2);
  CHECK(files->at(0).cert_file == tmp.path() + "/domains/example.org/fallback-pubcert.p-256.pem");
  CHECK(files->at(0).key_file == tmp.path() + "/domains/example.org/fallback-privkey.p-256.pem");
  CHECK(files->at(1).cert_file == tmp.path() + "/domains/example.org/fallback-pubcert.secp384r1.pem");
  CHECK(keys.generated() == 2);
  auto cert = certificate::from_pem(test::read_file(files->at(0).cert_file), "fallback");
  REQUIRE(cert);
  CHECK(cert->alt_names() == std::vector<std::string>{"example.org", "www.example.org"});
  struct stat sb {};
  REQUIRE(::stat(files->at(0).key_file.c_str(), &sb) == 0);
  CHECK((sb.st_mode & 0777) == 0600);

  // A second MD with the same spec reuses the key but gets its own certificate.
  managed_domain other = make_md({key_spec::ec("P-256")});
  other.name = "other.org";
  other.domains = {"other.org"};
  auto files2 = ensure_fallback_files(*st, spec_of(other), keys, now);
  REQUIRE(files2);
  CHECK(keys.generated() == 2);
  CHECK(test::read_file(files2->at(0).key_file) == test::read_file(files->at(0).key_file));
  auto cert2 = certificate::from_pem(test::read_file(files2->at(0).cert_file), "fallback");
  REQUIRE(cert2);
  CHECK(cert2->alt_names() == std::vector<std::string>{"other.org"});

  // Present files are kept as they are (mod_md checks existence only).
  const std::string before = test::read_file(files->at(0).cert_file);
  fallback_keys fresh;
  REQUIRE(ensure_fallback_files(*st, spec_of(md), fresh, now + std::chrono::hours(24 * 30)));
  CHECK(fresh.generated() == 0);
  CHECK(test::read_file(files->at(0).cert_file) == before);
}

TEST_CASE("real certificate files: static, per spec, missing specs skipped", "[store][fallback]") {
  test::temp_dir tmp;
  auto st = fs_store::open(tmp.path());
  REQUIRE(st);
  auto md = make_md({key_spec::rsa(2048), key_spec::ec("P-256")});
  CHECK(md_cert_files(*st, spec_of(md)).empty());

  auto key = private_key::generate(key_spec::ec("P-256"));
  REQUIRE(key);
  auto cert = make_fallback_certificate(*key, md.domains, from_unix(1767225600));
  REQUIRE(cert);
  REQUIRE(st->save_key(store_group::domains, md.name, aspect::privkey(key_spec::ec("P-256")), *key));
  REQUIRE(st->save_text(store_group::domains, md.name, aspect::pubcert(key_spec::ec("P-256")),
                        *cert->to_pem()));
  auto files = md_cert_files(*st, spec_of(md));
  REQUIRE(files.size() == 1);
  CHECK(files[0] == cert_file_pair{tmp.path() + "/domains/example.org/pubcert.p-256.pem",
                                   tmp.path() + "/domains/example.org/privkey.p-256.pem"});

  md.cert_files = {"/etc/ssl/a.pem"};
  md.pkey_files = {"/etc/ssl/a.key"};
  CHECK(md_cert_files(*st, spec_of(md)) == std::vector<cert_file_pair>{{"/etc/ssl/a.pem", "/etc/ssl/a.key"}});
}
