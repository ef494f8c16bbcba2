#include <catch2/catch.hpp>

#include <httplib.h>

#include <arpa/inet.h>
#include <atomic>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "http/connect_tunnel.hpp"
#include "http/http_client.hpp"
#include "http/response_stream.hpp"
#include "tests/support/pebble.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace mda::acme;

namespace {

/// An httplib server (plain or TLS) on 127.0.0.1 and a free port, run on its own thread.
struct local_server {
  httplib::Server& svr;
  std::string scheme;
  std::string host;
  int port = -1;
  std::thread th;

  explicit local_server(httplib::Server& s, std::string sch = "http", std::string h = "127.0.0.1")
      : svr(s), scheme(std::move(sch)), host(std::move(h)) {
    port = svr.bind_to_any_port(host);
    REQUIRE(port > 0);
    th = std::thread([this] { svr.listen_after_bind(); });
    while (!svr.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~local_server() {
    svr.stop();
    th.join();
  }
  std::string url(const std::string& path) const {
    return scheme + "://" + host + ":" + std::to_string(port) + path;
  }
};

/// A one-connection CONNECT proxy (RFC 9110 §9.3.6) on 127.0.0.1: records the request line,
/// connects to the target on 127.0.0.1 and relays bytes both ways until one side closes.
struct connect_proxy {
  int listen_fd = -1;
  int port = 0;
  std::string answer; ///< the head it answers CONNECT with
  std::string request_line;
  std::string head;   ///< the whole CONNECT request head
  std::thread th;

  explicit connect_proxy(std::string answer_head = "HTTP/1.1 200 Connection established\r\n\r\n")
      : answer(std::move(answer_head)) {
    const auto l = test::listen_loopback(1);
    listen_fd = l.fd;
    port = l.port;
    th = std::thread([this] { serve(); });
  }
  ~connect_proxy() {
    ::shutdown(listen_fd, SHUT_RDWR);
    th.join();
    ::close(listen_fd);
  }
  void serve() {
    int c = ::accept(listen_fd, nullptr, nullptr);
    if (c < 0) return;
    std::string head;
    char buf[4096];
    ssize_t n;
    while (head.find("\r\n\r\n") == std::string::npos && (n = ::read(c, buf, 1)) > 0)
      head.append(buf, static_cast<size_t>(n));
    request_line = head.substr(0, head.find("\r\n"));
    this->head = head;
    auto colon = request_line.rfind(':');
    int target_port = std::atoi(request_line.c_str() + colon + 1);
    int t = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(target_port));
    if (::connect(t, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      (void)!::write(c, answer.data(), answer.size());
      pollfd fds[2] = {{c, POLLIN, 0}, {t, POLLIN, 0}};
      while (::poll(fds, 2, 5000) > 0) {
        int from = (fds[0].revents & (POLLIN | POLLHUP)) ? 0 : 1;
        if ((n = ::read(fds[from].fd, buf, sizeof buf)) <= 0) break;
        if (::write(fds[1 - from].fd, buf, static_cast<size_t>(n)) != n) break;
      }
    }
    ::close(t);
    ::close(c);
  }
};

std::shared_ptr<httplib_transport> make_transport(http_options o = {}) {
  auto t = httplib_transport::create(std::move(o));
  REQUIRE(t.ok());
  return *t;
}

} // namespace

TEST_CASE("parse_url splits absolute http(s) URLs", "[acme][http]") {
  auto u = parse_url("HTTPS://Example.test:8443/a/b?x=1#frag");
  REQUIRE(u.ok());
  CHECK(u->scheme == "https");
  CHECK(u->host == "Example.test");
  CHECK(u->port == 8443);
  CHECK(u->target == "/a/b?x=1");
  CHECK(u->authority == "Example.test:8443");

  u = parse_url("http://[::1]/dir");
  REQUIRE(u.ok());
  CHECK(u->host == "::1");
  CHECK(u->port == 80);
  CHECK(u->authority == "[::1]");

  u = parse_url("https://ca.test?q");
  REQUIRE(u.ok());
  CHECK(u->target == "/?q");
  CHECK(u->port == 443);

  struct bad_case { const char* url; const char* message; };
  const bad_case bad[] = {
      {"ftp://x/", "URL 'ftp://x/' is not an absolute http(s) URL"},
      {"/relative", "URL '/relative' is not an absolute http(s) URL"},
      {"https://u:p@x/", "URL 'https://u:p@x/' carries user information"},
      {"https://x:99999/", "URL 'https://x:99999/' has an invalid port"},
      {"https://x:/", "URL 'https://x:/' has an invalid port"},
      {"https:///dir", "URL 'https:///dir' has no host"},
      {"https://[::1/", "URL 'https://[::1/' has an unterminated IPv6 address"},
      {"https://x/a b", "URL 'https://x/a b' contains a space, control or non-ASCII character"},
  };
  for (const auto& c : bad) {
    auto r = parse_url(c.url);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == make_error_code(acme_errc::bad_url));
    CHECK(r.error().message == c.message);
  }
}

TEST_CASE("resolve_url resolves Location and Link references", "[acme][http]") {
  const std::string base = "https://ca.test:14000/acme/order/7?x=1";
  CHECK(resolve_url(base, "https://other.test/cert") == "https://other.test/cert");
  CHECK(resolve_url(base, "//cdn.test/c") == "https://cdn.test/c");
  CHECK(resolve_url(base, "/cert/1") == "https://ca.test:14000/cert/1");
  CHECK(resolve_url(base, "cert/1") == "https://ca.test:14000/acme/order/cert/1");
  CHECK(resolve_url("https://ca.test", "dir") == "https://ca.test/dir");
}

TEST_CASE("http_response looks up headers case-insensitively and reads Link", "[acme][http]") {
  http_response r;
  r.url = "https://ca.test/acme/cert/1";
  r.headers.emplace("content-type", "Application/PEM-Certificate-Chain; charset=utf-8");
  r.headers.emplace("Link", "<https://ca.test/dir>;rel=\"index\"");
  r.headers.emplace("link", "</acme/issuer/1>; rel=\"up\", <alt/2>;title=\"a,b\";rel=\"alternate up\"");
  r.headers.emplace("LOCATION", " /acme/order/9 ");
  CHECK(r.header("Content-Type") == std::optional<std::string>(
                                        "Application/PEM-Certificate-Chain; charset=utf-8"));
  CHECK(r.media_type() == "application/pem-certificate-chain");
  CHECK(r.header_values("LINK").size() == 2);
  CHECK(r.links("up") == std::vector<std::string>{"https://ca.test/acme/issuer/1",
                                                  "https://ca.test/acme/cert/alt/2"});
  CHECK(r.links("Alternate") == std::vector<std::string>{"https://ca.test/acme/cert/alt/2"});
  CHECK(r.links("index") == std::vector<std::string>{"https://ca.test/dir"});
  CHECK(r.links("next").empty());
  CHECK(r.location() == std::optional<std::string>("https://ca.test/acme/order/9"));
  CHECK_FALSE(r.header("Retry-After").has_value());
  CHECK(http_response{}.media_type() == "");
}

TEST_CASE("response_head_meter ends a head at its empty line, 1xx heads included", "[acme][http]") {
  using verdict = response_head_meter::verdict;
  auto feed = [](response_head_meter& m, const std::string& bytes) {
    verdict v = verdict::head;
    for (char c : bytes) v = m.take(c);
    return v;
  };
  response_head_meter m;
  CHECK(feed(m, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n") == verdict::head);
  CHECK(feed(m, "\r\n") == verdict::done);
  CHECK(m.bytes() == 38);
  CHECK(m.take('{') == verdict::done); // the body is not counted
  CHECK(m.bytes() == 38);

  response_head_meter interim;
  CHECK(feed(interim, "HTTP/1.1 100 Continue\r\n\r\n") == verdict::head);
  CHECK(feed(interim, "HTTP/1.1 204 No Content\r\n\r\n") == verdict::done);

  response_head_meter bare_lf; // a lone LF line is no end (cpp-httplib skips such lines)
  CHECK(feed(bare_lf, "HTTP/1.1 200 OK\r\nA: b\n\n") == verdict::head);

  response_head_meter big;
  CHECK(feed(big, "HTTP/1.1 200 OK\r\nX: " + std::string(k_max_response_head - 20, 'x')) == verdict::head);
  CHECK(feed(big, "xx") == verdict::too_large);
  CHECK(feed(big, "\r\n\r\n") == verdict::too_large);

  response_head_meter many;
  std::string lines = "HTTP/1.1 200 OK\r\n";
  for (std::size_t i = 1; i < k_max_response_lines; ++i) lines += "A: b\r\n";
  CHECK(feed(many, lines) == verdict::head);
  CHECK(feed(many, "A: b\r\n") == verdict::too_many_lines);
}

TEST_CASE("httplib_transport: status, headers, body, methods", "[acme][http]") {
  httplib::Server svr;
  std::string seen_ua, seen_body, seen_type, seen_host;
  svr.Get("/dir", [&](const httplib::Request& req, httplib::Response& res) {
    seen_ua = req.get_header_value("User-Agent");
    seen_host = req.get_header_value("Host");
    res.set_header("Replay-Nonce", "abc");
    res.set_header("Link", "<http://x/1>;rel=\"up\"");
    res.headers.emplace("Link", "<http://x/2>;rel=\"up\"");
    res.set_content("{\"a\":1}", "application/json");
  });
  svr.Post("/post", [&](const httplib::Request& req, httplib::Response& res) {
    seen_body = req.body;
    seen_type = req.get_header_value("Content-Type");
    res.status = 201;
    res.set_header("Location", "/acct/1");
    res.set_content("created", "text/plain");
  });
  svr.Get("/missing", [](const httplib::Request&, httplib::Response& res) {
    res.status = 404;
    res.set_content("{\"type\":\"urn:ietf:params:acme:error:malformed\"}", "application/problem+json");
  });
  local_server ls(svr);
  auto t = make_transport();

  auto r = t->get(ls.url("/dir"));
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  CHECK(r->body == "{\"a\":1}");
  CHECK(r->media_type() == "application/json");
  CHECK(r->header("replay-nonce") == std::optional<std::string>("abc"));
  CHECK(r->links("up") == std::vector<std::string>{"http://x/1", "http://x/2"});
  CHECK(seen_ua == std::string("mdactor/") + MDACTOR_VERSION);
  CHECK(seen_host == "127.0.0.1:" + std::to_string(ls.port));

  r = t->head(ls.url("/dir"));
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  CHECK(r->body.empty());
  CHECK(r->header("Replay-Nonce") == std::optional<std::string>("abc"));

  r = t->post(ls.url("/post"), "{\"x\":2}", "application/jose+json");
  REQUIRE(r.ok());
  CHECK(r->status == 201);
  CHECK(r->location() == std::optional<std::string>(ls.url("/acct/1")));
  CHECK(seen_body == "{\"x\":2}");
  CHECK(seen_type == "application/jose+json");

  r = t->get(ls.url("/missing"));
  REQUIRE(r.ok()); // a non-2xx answer is a response
  CHECK(r->status == 404);
  CHECK(r->media_type() == "application/problem+json");
}

TEST_CASE("httplib_transport caps response bodies at 1 MiB", "[acme][http]") {
  httplib::Server svr;
  svr.Get("/exact", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(default_max_body, 'a'), "text/plain");
  });
  svr.Get("/over", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(default_max_body + 1, 'a'), "text/plain");
  });
  svr.Get("/chunked", [](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("text/plain", [](size_t offset, httplib::DataSink& sink) {
      if (offset > 2 * default_max_body) { sink.done(); return true; }
      std::string chunk(64 * 1024, 'b');
      return sink.write(chunk.data(), chunk.size());
    });
  });
  local_server ls(svr);
  auto t = make_transport();

  auto r = t->get(ls.url("/exact"));
  REQUIRE(r.ok());
  CHECK(r->body.size() == default_max_body);

  for (const char* path : {"/over", "/chunked"}) {
    r = t->get(ls.url(path));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == make_error_code(acme_errc::body_too_large));
    CHECK(r.error().message ==
          "response body from " + ls.url(path) + " exceeds 1048576 bytes");
  }
}

TEST_CASE("httplib_transport times out and reports refused connections", "[acme][http]") {
  httplib::Server svr;
  svr.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    res.set_content("late", "text/plain");
  });
  svr.Get("/drip", [](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("text/plain", [](size_t offset, httplib::DataSink& sink) {
      if (offset >= 100) { sink.done(); return true; }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      return sink.write("0123456789", 10);
    });
  });
  local_server ls(svr);

  http_options o;
  o.read_timeout = std::chrono::milliseconds(300);
  auto r = make_transport(o)->get(ls.url("/slow"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == make_error_code(acme_errc::timeout));
  CHECK(r.error().message ==
        "Unsuccessful in contacting ACME server at " + ls.url("/slow") + ": no answer within 300 ms");

  o = {};
  o.total_timeout = std::chrono::milliseconds(350);
  r = make_transport(o)->get(ls.url("/drip"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == make_error_code(acme_errc::timeout));
  CHECK(r.error().message == "response from " + ls.url("/drip") + " took longer than 350 ms");

  const std::string refused = "http://127.0.0.1:" + std::to_string(test::free_port()) + "/dir";
  r = make_transport()->get(refused);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == make_error_code(acme_errc::connection));
  CHECK(r.error().message ==
        "Unsuccessful in contacting ACME server at " + refused + ": connection refused");
}

TEST_CASE("httplib_transport verifies TLS against the configured CA file", "[acme][http]") {
  test::temp_dir tmp;
  test::make_localhost_tls(tmp.path());
  httplib::SSLServer svr((tmp / "leaf.pem").c_str(), (tmp / "leaf.key").c_str());
  REQUIRE(svr.is_valid());
  svr.Get("/dir", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{}", "application/json");
  });
  local_server ls(svr, "https");

  http_options trusted;
  trusted.ca_file = tmp / "ca.pem";
  auto r = make_transport(trusted)->get(ls.url("/dir"));
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  CHECK(r->body == "{}");

  r = make_transport()->get(ls.url("/dir")); // system store: our CA is unknown there
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == make_error_code(acme_errc::tls));
  CHECK(r.error().message == "Unsuccessful in contacting ACME server at " + ls.url("/dir") +
                                 ": server certificate verification failed: unable to get "
                                 "local issuer certificate");

  // 127.0.0.2 is loopback too, but not in the certificate.
  httplib::SSLServer svr2((tmp / "leaf.pem").c_str(), (tmp / "leaf.key").c_str());
  local_server ls2(svr2, "https", "127.0.0.2");
  r = make_transport(trusted)->get(ls2.url("/"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == make_error_code(acme_errc::tls));
  CHECK(r.error().message == "Unsuccessful in contacting ACME server at " + ls2.url("/") +
                                 ": server certificate verification failed: IP address mismatch");

  http_options other;
  test::temp_dir tmp2;
  test::make_localhost_tls(tmp2.path());
  other.ca_file = tmp2 / "ca.pem"; // a different CA of the same name
  r = make_transport(other)->get(ls.url("/dir"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == make_error_code(acme_errc::tls));
}

TEST_CASE("httplib_transport refuses unusable options", "[acme][http]") {
  http_options o;
  o.ca_file = "/nonexistent/ca.pem";
  auto t = httplib_transport::create(o);
  REQUIRE_FALSE(t.ok());
  CHECK(t.error().code == make_error_code(acme_errc::config));
  CHECK(t.error().message == "CA file '/nonexistent/ca.pem' cannot be read: No such file or directory");

  o = {};
  o.proxy_url = "https://proxy.test:3128";
  t = httplib_transport::create(o);
  REQUIRE_FALSE(t.ok());
  CHECK(t.error().message == "proxy 'https://proxy.test:3128': TLS to the proxy (https://) is "
                             "not supported by cpp-httplib 0.11.4; use an http:// proxy");
  o.proxy_url = "socks5://proxy.test:1080";
  t = httplib_transport::create(o);
  REQUIRE_FALSE(t.ok());
  CHECK(t.error().message == "proxy 'socks5://proxy.test:1080': unsupported scheme 'socks5'");
  o.proxy_url = "socks5://user:s3cr3t@proxy.test:1080"; // the error may reach md-status: no password
  t = httplib_transport::create(o);
  REQUIRE_FALSE(t.ok());
  CHECK(t.error().message == "proxy 'socks5://***@proxy.test:1080': unsupported scheme 'socks5'");
  for (const char* ok : {"http://proxy.test:3128", "proxy.test:3128", "http://u:p@proxy.test"}) {
    o.proxy_url = ok;
    CHECK(httplib_transport::create(o).ok());
  }
}

TEST_CASE("httplib_transport sends plain http through a proxy in absolute form", "[acme][http]") {
  httplib::Server proxy;
  proxy.Get(".*", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(req.path + " " + req.get_header_value("Host"), "text/plain");
  });
  local_server ls(proxy);
  http_options o;
  o.proxy_url = "http://127.0.0.1:" + std::to_string(ls.port);
  auto r = make_transport(o)->get("http://ca.test:8080/acme/dir");
  REQUIRE(r.ok());
  CHECK(r->body == "http://ca.test:8080/acme/dir ca.test:8080");

  o.proxy_url = "http://127.0.0.1:" + std::to_string(test::free_port());
  r = make_transport(o)->get("http://ca.test/dir");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "Unsuccessful in contacting ACME server at http://ca.test/dir: proxy " +
                                 o.proxy_url.substr(7) + ": connection refused");
}

TEST_CASE("httplib_transport tunnels https through a proxy with CONNECT", "[acme][http]") {
  test::temp_dir tmp;
  test::make_localhost_tls(tmp.path());
  httplib::SSLServer svr((tmp / "leaf.pem").c_str(), (tmp / "leaf.key").c_str());
  svr.Get("/dir", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("tunnelled", "text/plain");
  });
  local_server ls(svr, "https");
  connect_proxy proxy;
  http_options o;
  o.ca_file = tmp / "ca.pem";
  o.proxy_url = "127.0.0.1:" + std::to_string(proxy.port);
  const std::string url = "https://localhost:" + std::to_string(ls.port) + "/dir";
  auto r = make_transport(o)->get(url);
  REQUIRE(r.ok());
  CHECK(r->body == "tunnelled");
  CHECK(proxy.request_line == "CONNECT localhost:" + std::to_string(ls.port) + " HTTP/1.1");
}

TEST_CASE("httplib_transport tunnels https through a proxy answering CONNECT with HTTP/1.0",
          "[acme][http]") {
  // Apache's mod_proxy_connect answers "HTTP/1.0 200 Connection Established" (mod_md's suite,
  // 702_008a): cpp-httplib 0.11.4's own CONNECT waited for a body there until the timeouts
  test::temp_dir tmp;
  test::make_localhost_tls(tmp.path());
  httplib::SSLServer svr((tmp / "leaf.pem").c_str(), (tmp / "leaf.key").c_str());
  svr.Get("/dir", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(req.get_header_value("Host"), "text/plain");
  });
  local_server ls(svr, "https");
  const std::string url = "https://localhost:" + std::to_string(ls.port) + "/dir";
  http_options o;
  o.ca_file = tmp / "ca.pem";
  o.read_timeout = std::chrono::seconds(3);
  SECTION("HTTP/1.0, with a header, as Apache answers") {
    connect_proxy proxy("HTTP/1.0 200 Connection Established\r\nProxy-agent: Apache/2.4.71 (Debian)\r\n\r\n");
    o.proxy_url = "http://user:secret@127.0.0.1:" + std::to_string(proxy.port);
    auto r = make_transport(o)->get(url);
    REQUIRE(r.ok());
    CHECK(r->body == "localhost:" + std::to_string(ls.port)); // the CA's name, not the tunnel's
    CHECK(proxy.head == "CONNECT localhost:" + std::to_string(ls.port) + " HTTP/1.1\r\nHost: localhost:" +
                            std::to_string(ls.port) + "\r\nProxy-Authorization: Basic dXNlcjpzZWNyZXQ=\r\n\r\n");
  }
  SECTION("a refusal is named") {
    connect_proxy proxy("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
    o.proxy_url = "127.0.0.1:" + std::to_string(proxy.port);
    auto r = make_transport(o)->get(url);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == make_error_code(acme_errc::connection));
    CHECK(r.error().message == "Unsuccessful in contacting ACME server at " + url + ": proxy 127.0.0.1:" +
                                   std::to_string(proxy.port) + ": answered CONNECT to localhost:" +
                                   std::to_string(ls.port) + " with 403");
  }
  SECTION("a proxy that is not there is 'connection refused'") {
    const int nobody = test::free_port();
    o.proxy_url = "http://127.0.0.1:" + std::to_string(nobody);
    auto r = make_transport(o)->get(url);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == make_error_code(acme_errc::connection));
    CHECK(r.error().message == "Unsuccessful in contacting ACME server at " + url + ": proxy 127.0.0.1:" +
                                   std::to_string(nobody) + ": connection refused");
  }
}

TEST_CASE("connect tunnel: request head and answer status", "[acme][http]") {
  tunnel_target t;
  t.host = "2001:db8::1";
  t.port = 14000;
  CHECK(connect_request(t) == "CONNECT [2001:db8::1]:14000 HTTP/1.1\r\nHost: [2001:db8::1]:14000\r\n\r\n");
  CHECK(connect_answer_status("HTTP/1.0 200 Connection Established\r\n\r\n") == 200);
  CHECK(connect_answer_status("HTTP/1.1 407 Proxy Authentication Required\r\n") == 407);
  CHECK(connect_answer_status("HTTP/2 200\r\n") == 0);
  CHECK(connect_answer_status("SSH-2.0-OpenSSH\r\n") == 0);
  CHECK(connect_answer_status("HTTP/1.1 2x0 OK") == 0);
  CHECK(connect_answer_status("") == 0);
}

TEST_CASE("httplib_transport serves several threads at once", "[acme][http]") {
  httplib::Server svr;
  svr.Get(R"(/n/(\d+))", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(req.matches[1].str(), "text/plain");
  });
  local_server ls(svr);
  auto t = make_transport();
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i)
    threads.emplace_back([&, i] {
      for (int k = 0; k < 5; ++k) {
        auto n = std::to_string(i * 10 + k);
        auto r = t->get(ls.url("/n/" + n));
        if (r && r->status == 200 && r->body == n) ++good;
      }
    });
  for (auto& th : threads) th.join();
  CHECK(good == 30);
}
