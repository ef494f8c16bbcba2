// acme/account_store.hpp against the scripted CA: an unreachable CA costs no account key.
#include <catch2/catch.hpp>

#include "acme/account_store.hpp"
#include "store/fs_store.hpp"
#include "tests/acme/fake_ca.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace mda::acme;

TEST_CASE("account store: an unreachable CA costs no key and leaves no account files",
          "[acme][account-store]") {
  test::temp_dir dir;
  auto st = fs_store::open(dir / "md").value();
  auto ca = std::make_shared<test::fake_ca>();
  ca->fail = [](const http_request& r) -> status {
    return error(acme_errc::connection, "connect to " + r.url + " refused");
  };
  client c{ca, client_options{ca->dir_url()}, std::make_shared<manual_time_source>(from_unix(1'800'000'000))};
  account_options opts;
  opts.contacts = {"admin@example.test"};
  opts.agreement = "accepted";
  std::vector<std::string> logged;
  auto r = select_or_register_account(c, st, opts, [&](const std::string& l) { logged.push_back(l); });
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "connect to https://ca.test/dir refused");
  CHECK(logged.empty());
  CHECK(ca->posts.empty());
  auto ids = st.list_names(store_group::accounts, "*");
  CHECK((!ids || ids->empty()));
}
