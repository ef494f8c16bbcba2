// Smoke test of the pebble fixture with the ACME transport pieces: directory, nonces, problem
// documents from a real server, pebble's root, and TXT records through challtestsrv.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "acme/directory.hpp"
#include "acme/nonce_pool.hpp"
#include "acme/problem.hpp"
#include "http/http_client.hpp"
#include "tests/support/pebble.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace mda::acme;

namespace {

std::shared_ptr<httplib_transport> transport(const std::string& ca_file) {
  http_options o;
  o.ca_file = ca_file;
  auto t = httplib_transport::create(o);
  REQUIRE(t.ok());
  return *t;
}

/// TXT strings for `name` from the DNS server on 127.0.0.1:port (one UDP query, RFC 1035).
std::vector<std::string> query_txt(const std::string& name, int port) {
  std::string q("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = std::min(name.find('.', start), name.size());
    q += static_cast<char>(dot - start);
    q += name.substr(start, dot - start);
    start = dot + 1;
  }
  q += std::string("\x00\x00\x10\x00\x01", 5); // root, type TXT, class IN
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  REQUIRE(::sendto(fd, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a) ==
          static_cast<ssize_t>(q.size()));
  pollfd p{fd, POLLIN, 0};
  REQUIRE(::poll(&p, 1, 3000) == 1);
  unsigned char buf[1500];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  ::close(fd);
  REQUIRE(n >= 12);
  auto u16 = [&](size_t i) { return static_cast<size_t>(buf[i] << 8 | buf[i + 1]); };
  auto skip_name = [&](size_t i) {
    while (i < static_cast<size_t>(n) && buf[i] != 0) {
      if ((buf[i] & 0xC0) == 0xC0) return i + 2;
      i += buf[i] + 1u;
    }
    return i + 1;
  };
  std::vector<std::string> out;
  size_t i = skip_name(12) + 4, answers = u16(6);
  for (size_t k = 0; k < answers && i < static_cast<size_t>(n); ++k) {
    i = skip_name(i);
    size_t type = u16(i), len = u16(i + 8);
    i += 10;
    for (size_t j = i; type == 16 && j < i + len; j += buf[j] + 1u)
      out.emplace_back(reinterpret_cast<char*>(buf + j + 1), buf[j]);
    i += len;
  }
  return out;
}

} // namespace

TEST_CASE("pebble fixture: directory, nonces and problems over real TLS", "[acme][pebble]") {
  test::pebble_fixture pebble; // fails (throws) with what to install when pebble is missing
  auto http = transport(pebble.ca_file());

  auto res = http->get(pebble.directory_url());
  REQUIRE(res.ok());
  auto dir = directory_from_response(*res);
  REQUIRE(dir.ok());
  CHECK(dir->url == pebble.directory_url());
  const std::string base = pebble.directory_url().substr(0, pebble.directory_url().size() - 4);
  CHECK(dir->new_nonce == base + "/nonce-plz");
  CHECK(dir->new_account == base + "/sign-me-up");
  CHECK(dir->new_order == base + "/order-plz");
  CHECK(dir->terms_of_service == "data:text/plain,Do%20what%20thou%20wilt");
  CHECK_FALSE(dir->external_account_required);
  CHECK_FALSE(dir->has_renewal_info()); // pebble 2.4.0 has no ARI
  CHECK(dir->profiles.empty());         // ... and no profiles

  nonce_pool pool;
  auto head = http->head(dir->new_nonce);
  REQUIRE(head.ok());
  CHECK(head->status == 200);
  CHECK(pool.add_from(*head) == 1);
  auto nonce = pool.take();
  REQUIRE(nonce.has_value());
  CHECK(is_valid_nonce(*nonce));
  CHECK(head->links("index") == std::vector<std::string>{pebble.directory_url()});

  // An unsigned POST: pebble answers with a problem document and a fresh nonce.
  auto bad = http->post(dir->new_account, "{}", "application/jose+json");
  REQUIRE(bad.ok());
  CHECK(bad->status == 400);
  CHECK(pool.add_from(*bad) == 1);
  auto p = problem_from_response(*bad, sys_clock::now());
  CHECK(p.type == "urn:ietf:params:acme:error:malformed");
  CHECK(p.code == acme_errc::invalid);
  CHECK(classify(p).input_related);

  // Without pebble's TLS CA the connection is refused.
  auto untrusted = transport("")->get(pebble.directory_url());
  REQUIRE_FALSE(untrusted.ok());
  CHECK(untrusted.error().code == make_error_code(acme_errc::tls));
}

TEST_CASE("pebble fixture: issuance root and challtestsrv TXT records", "[acme][pebble]") {
  test::pebble_fixture pebble;
  auto root = pebble.write_root_file();
  auto subject = test::run({"openssl", "x509", "-in", root, "-noout", "-subject"});
  CHECK(subject.exit_code == 0);
  CHECK(subject.output.find("Pebble Root CA") != std::string::npos);

  const std::string name = "_acme-challenge.smoke.example.test";
  CHECK(query_txt(name, pebble.dns_port()).empty());
  pebble.set_txt(name, "value-1");
  CHECK(query_txt(name, pebble.dns_port()) == std::vector<std::string>{"value-1"});
  pebble.clear_txt(name + ".");
  CHECK(query_txt(name, pebble.dns_port()).empty());
  CHECK_THROWS_WITH(pebble.challtestsrv_post("/no-such-endpoint", "{}"),
                    Catch::Contains("challtestsrv /no-such-endpoint answered 404"));
}

TEST_CASE("pebble fixture: EAB-required mode shows in the directory", "[acme][pebble]") {
  test::pebble_options o;
  o.eab_required = true;
  o.eab_keys = {{"kid-1", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"}};
  o.nonce_reject = 0;
  test::pebble_fixture pebble(o);
  auto res = transport(pebble.ca_file())->get(pebble.directory_url());
  REQUIRE(res.ok());
  auto dir = directory_from_response(*res);
  REQUIRE(dir.ok());
  CHECK(dir->external_account_required);
  CHECK(pebble.pebble_log().find("Configured to reject 0% of good nonces") != std::string::npos);
  CHECK(test::pebble_missing().empty());
}
