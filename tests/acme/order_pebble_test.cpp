// The ACME client against real pebble (tests/support/pebble.hpp): accounts (register, find
// again, EAB-required mode), certificates via http-01 for several DNS names and for an IP
// identifier, RSA and P-256 keys, a badNonce storm. A tiny http-01 responder (an
// httplib::Server on the port pebble validates on) answers the challenges.
// dns-01 and tls-alpn-01 end to end are tested with the responders (responders_test.cpp).
#include <catch2/catch.hpp>

#include <map>
#include <mutex>
#include <thread>

#include <httplib.h>

#include "acme/account.hpp"
#include "acme/order.hpp"
#include "tests/support/pebble.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace mda::acme;
using namespace std::chrono_literals;

namespace {

/// Serves /.well-known/acme-challenge/<token> on 127.0.0.1:port while it lives.
class http01_server final : public challenge_setup {
 public:
  explicit http01_server(int port) {
    srv_.Get(R"(/\.well-known/acme-challenge/([A-Za-z0-9_-]+))",
             [this](const httplib::Request& req, httplib::Response& res) {
               std::lock_guard<std::mutex> lock(mu_);
               auto it = answers_.find(req.matches[1]);
               if (it == answers_.end()) {
                 res.status = 404;
                 return;
               }
               res.set_content(it->second, "text/plain");
             });
    if (!srv_.bind_to_port("127.0.0.1", port)) throw std::runtime_error("cannot bind http-01 port");
    thread_ = std::thread([this] { srv_.listen_after_bind(); });
  }
  ~http01_server() override {
    srv_.stop();
    thread_.join();
  }
  bool supports(challenge_type t) const override { return t == challenge_type::http_01; }
  status setup(const challenge_data& c) override {
    std::lock_guard<std::mutex> lock(mu_);
    answers_[c.token] = c.key_authorization;
    ++setups;
    return {};
  }
  status teardown(const challenge_data& c) override {
    std::lock_guard<std::mutex> lock(mu_);
    answers_.erase(c.token);
    return {};
  }
  int setups = 0;

 private:
  httplib::Server srv_;
  std::thread thread_;
  std::mutex mu_;
  std::map<std::string, std::string> answers_;
};

struct pebble_session {
  test::pebble_fixture pebble;
  http01_server http01{pebble.http_port()};
  client c;

  explicit pebble_session(test::pebble_options opts = {}, int bad_nonce_retries = 9)
      : pebble(std::move(opts)), c(make_transport(pebble.ca_file()),
                                   client_options{pebble.directory_url(), bad_nonce_retries},
                                   std::make_shared<system_time_source>()) {}

  static std::shared_ptr<http_transport> make_transport(const std::string& ca_file) {
    http_options o;
    o.ca_file = ca_file;
    auto t = httplib_transport::create(o);
    REQUIRE(t.ok());
    return *t;
  }

  account new_account(const std::optional<key_spec>& spec = key_spec::ec("P-256")) {
    auto key = make_account_key(spec);
    REQUIRE(key.ok());
    account_options ao;
    ao.contacts = {"admin@example.test"};
    ao.agreement = "accepted";
    auto a = register_account(c, *key, ao);
    INFO((a ? std::string() : a.error().message));
    REQUIRE(a.ok());
    return *a;
  }

  order_options order_for(std::vector<std::string> names, key_spec spec) {
    order_options o;
    o.md_name = names.front();
    o.domains = std::move(names);
    o.spec = std::move(spec);
    o.challenges = {challenge_type::http_01};
    o.setup = &http01;
    o.poll.total = 60s;
    return o;
  }

  /// The chain verifies against pebble's root of this run (`openssl verify`).
  void verify_chain(const obtained_cert& r) {
    test::temp_dir tmp;
    test::write_file(tmp / "root.pem", pebble.fetch_root());
    test::write_file(tmp / "leaf.pem", *r.chain.front().to_pem());
    std::string rest;
    for (std::size_t i = 1; i < r.chain.size(); ++i) rest += *r.chain[i].to_pem();
    test::write_file(tmp / "rest.pem", rest);
    auto v = test::run({"openssl", "verify", "-CAfile", tmp / "root.pem", "-untrusted",
                        tmp / "rest.pem", tmp / "leaf.pem"});
    INFO(v.output);
    CHECK(v.exit_code == 0);
  }
};

void check_obtained(const acme_result<obtained_cert>& r, const std::vector<std::string>& names) {
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  REQUIRE(r->chain.size() >= 2);
  CHECK(r->chain.front().covers(names));
  CHECK(r->chain.front().matches_key(r->key));
  CHECK(r->order.status == order_status::valid);
  CHECK(r->chain_pem.rfind("-----BEGIN CERTIFICATE-----", 0) == 0);
}

} // namespace

TEST_CASE("pebble: account registration and lookup", "[acme][pebble][acme-flow]") {
  pebble_session s;
  auto a = s.new_account(std::nullopt); // RSA 3072 as mod_md makes it, signed RS256
  CHECK(a.key.bits() == 3072);
  CHECK(a.file.status == account_status::valid);
  CHECK(a.file.contact == std::vector<std::string>{"mailto:admin@example.test"});
  CHECK(a.file.agreement.empty() == false);

  auto found = find_account(s.c, a.key);
  INFO((found ? "" : found.error().message));
  REQUIRE(found.ok());
  CHECK(found->url() == a.url()); // the same account, no second one

  auto other = find_account(s.c, *make_account_key(key_spec::ec("P-256")));
  REQUIRE_FALSE(other.ok());
  CHECK(other.error().code == acme_errc::not_found);

  auto upd = update_contacts(s.c, a, {"ops@example.test"});
  REQUIRE(upd.ok());
  CHECK(upd->file.contact == std::vector<std::string>{"mailto:ops@example.test"});

  auto gone = deactivate_account(s.c, a);
  REQUIRE(gone.ok());
  CHECK(gone->file.status == account_status::deactivated);
  CHECK_FALSE(fetch_account(s.c, a).ok());
}

TEST_CASE("pebble: certificates via http-01", "[acme][pebble][acme-flow]") {
  pebble_session s;
  auto acct = s.new_account();
  std::vector<std::string> progress;

  SECTION("two DNS names, RSA 2048, then P-256 with the same account") {
    std::vector<std::string> names = {"a.example.test", "www.a.example.test"};
    auto o = s.order_for(names, key_spec::rsa(2048));
    o.progress = [&](const std::string& t) { progress.push_back(t); };
    auto r = obtain(s.c, acct.as_signer(), o);
    check_obtained(r, names);
    CHECK(r->key.is_rsa());
    CHECK(r->key.bits() == 2048);
    CHECK(s.http01.setups >= 1);
    CHECK(progress.back() == "Retrieving rsa certificate chain for a.example.test");
    s.verify_chain(*r);

    auto r2 = obtain(s.c, acct.as_signer(), s.order_for(names, key_spec::ec("P-256")));
    check_obtained(r2, names);
    CHECK(r2->key.curve_name() == "prime256v1");
    s.verify_chain(*r2);
  }
  SECTION("an IP identifier") {
    auto r = obtain(s.c, acct.as_signer(), s.order_for({"127.0.0.1"}, key_spec::ec("P-256")));
    check_obtained(r, {"127.0.0.1"});
    CHECK(r->chain.front().alt_names() == std::vector<std::string>{"127.0.0.1"});
    s.verify_chain(*r);
  }
  SECTION("resume by URL after a restart") {
    std::optional<acme_order_file> saved;
    auto o = s.order_for({"b.example.test"}, key_spec::ec("P-256"));
    o.on_update = [&](const acme_order_file& f) { saved = f; };
    auto first = obtain(s.c, acct.as_signer(), o);
    check_obtained(first, {"b.example.test"});
    REQUIRE(saved);
    auto again = s.order_for({"b.example.test"}, key_spec::ec("P-256"));
    again.resume = *saved;
    again.cert_key = first->key;
    auto r = obtain(s.c, acct.as_signer(), again);
    check_obtained(r, {"b.example.test"});
    CHECK(r->order.url == first->order.url);
    CHECK(r->chain.front().same_as(first->chain.front()));
  }
}

TEST_CASE("pebble: external account binding required", "[acme][pebble][acme-flow]") {
  const std::string hmac = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";
  test::pebble_options po;
  po.eab_required = true;
  po.eab_keys = {{"kid-1", hmac}};
  pebble_session s(po);
  REQUIRE(s.c.get_directory()->external_account_required);

  auto key = *make_account_key(key_spec::ec("P-256"));
  account_options ao;
  ao.contacts = {"admin@example.test"};
  ao.agreement = "accepted";
  auto refused = register_account(s.c, key, ao);
  REQUIRE_FALSE(refused.ok());
  REQUIRE(refused.prob());
  CHECK(refused.prob()->short_type() == "externalAccountRequired");

  ao.eab = eab_credentials{"kid-1", hmac};
  auto a = register_account(s.c, key, ao);
  INFO((a ? "" : a.error().message));
  REQUIRE(a.ok());
  CHECK(a->file.eab_kid == "kid-1");
  auto r = obtain(s.c, a->as_signer(), s.order_for({"eab.example.test"}, key_spec::ec("P-256")));
  check_obtained(r, {"eab.example.test"});
}

TEST_CASE("pebble: a badNonce storm", "[acme][pebble][acme-flow]") {
  test::pebble_options po;
  po.nonce_reject = 50;
  pebble_session s(po, 30); // 2^-31 per request to fail: the storm cannot win
  auto acct = s.new_account();
  std::vector<std::string> names = {"n1.example.test", "n2.example.test"};
  auto r = obtain(s.c, acct.as_signer(), s.order_for(names, key_spec::ec("P-256")));
  check_obtained(r, names);
}
