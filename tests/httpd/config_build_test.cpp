#include <catch2/catch.hpp>

#include "httpd/config_build.hpp"

using namespace mda;
using namespace mda::httpd;

namespace {

md_section section(std::vector<std::string> names, int line) {
  md_section s;
  for (const auto& n : names) add_domain_name(s.domains, n);
  s.defn_file = "/etc/httpd.conf";
  s.defn_line = line;
  return s;
}

vhost_info vhost(const std::string& name, std::vector<std::string> aliases, int port, bool ssl) {
  vhost_info v;
  v.server_name = name;
  v.aliases = std::move(aliases);
  v.port = port;
  v.addrs = {{"*", port}};
  v.ssl = ssl;
  v.server_admin = k_default_admin;
  return v;
}

build_input base_input() {
  build_input in;
  vhost_info base = vhost("localhost", {}, 80, false);
  base.is_base = true;
  base.addrs.clear();
  in.vhosts.push_back(base);
  in.listen_ports = {80, 443};
  in.server_root = "/srv/httpd";
  return in;
}

} // namespace

TEST_CASE("an MD is completed from its section, the server defaults and mod_md's defaults",
          "[httpd][config-build]") {
  build_input in = base_input();
  in.vhosts[0].server_admin = "webmaster@a.org";
  in.mc.mds.push_back(section({"A.org", "www.a.org", "a.org"}, 3));
  md_section b = section({"b.org"}, 4);
  b.props.renew_window = *parse_renew_window("10d");
  b.props.ca_urls = std::vector<std::string>{"https://ca.test/dir"};
  b.props.dns01_cmd = "/bin/dns";
  b.props.transitive = 0;
  in.mc.mds.push_back(b);
  in.base.warn_window = *parse_warn_window("20%");
  in.base.contact = "ops@a.org";
  in.mc.ports = *parse_port_maps({"http:8080", "https:-"});

  auto r = link_config(in);
  REQUIRE(r);
  const engine_config& c = r->config;
  CHECK(c.settings.store_dir == "/srv/httpd/md");
  CHECK(c.settings.warn_window == *parse_warn_window("20%"));
  CHECK_FALSE(c.settings.can_http); // nothing listens on 8080
  CHECK_FALSE(c.settings.can_https); // mapped away
  REQUIRE(c.mds.size() == 2);
  const managed_domain& a = c.mds[0].md;
  CHECK(a.name == "a.org");
  CHECK(a.domains == std::vector<std::string>{"a.org", "www.a.org"});
  CHECK(a.contacts == std::vector<std::string>{"mailto:ops@a.org"});
  CHECK(a.ca.urls == std::vector<std::string>{k_default_ca_url});
  CHECK(a.ca.proto == "ACME");
  CHECK(a.renew_window == "33%");
  CHECK(a.warn_window == "20%");
  CHECK(a.transitive == 1);
  CHECK(a.renew_mode == md_renew_mode::automatic);
  CHECK(a.key_specs.empty());
  const managed_domain& bm = c.mds[1].md;
  CHECK(bm.renew_window == "10d");
  CHECK(bm.ca.urls == std::vector<std::string>{"https://ca.test/dir"});
  CHECK(bm.dns01_cmd == "/bin/dns");
  CHECK(bm.transitive == 0);
  CHECK_FALSE(c.mds[0].used); // no vhost
  CHECK(validate(c));

  SECTION("without MDContactEmail the base ServerAdmin is the contact") {
    in.base.contact.reset();
    auto r2 = link_config(in);
    REQUIRE(r2);
    CHECK(r2->config.mds[0].md.contacts == std::vector<std::string>{"mailto:webmaster@a.org"});
  }
  SECTION("httpd's placeholder ServerAdmin is no contact") {
    in.base.contact.reset();
    in.vhosts[0].server_admin = k_default_admin;
    auto r2 = link_config(in);
    REQUIRE(r2);
    CHECK(r2->config.mds[0].md.contacts.empty());
  }
}

TEST_CASE("overlapping MDs and static file lists are configuration errors", "[httpd][config-build]") {
  build_input in = base_input();
  in.mc.mds.push_back(section({"a.org", "www.a.org"}, 3));
  in.mc.mds.push_back(section({"b.org", "www.a.org"}, 7));
  auto r = link_config(in);
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "two Managed Domains have an overlap in domain 'www.a.org', first definition "
                             "in /etc/httpd.conf(line 3), second in /etc/httpd.conf(line 7)");

  SECTION("MDMatchNames servernames allows the overlap") {
    in.mc.match = match_mode::servernames;
    CHECK(link_config(in));
  }
  SECTION("key files must pair with certificate files") {
    in.mc.mds.pop_back();
    in.mc.mds[0].cert_files = {"/c1.pem", "/c2.pem"};
    in.mc.mds[0].key_files = {"/k1.pem"};
    auto e = link_config(in);
    REQUIRE_FALSE(e);
    CHECK(e.error().message ==
          "The Managed Domain 'a.org' needs one MDCertificateKeyFile for each MDCertificateFile.");
    in.mc.mds[0].cert_files.clear();
    e = link_config(in);
    REQUIRE_FALSE(e);
    CHECK(e.error().message == "The Managed Domain 'a.org' has MDCertificateKeyFile(s) but no MDCertificateFile.");
  }
}

TEST_CASE("MDs are assigned to the virtual hosts their names match", "[httpd][config-build]") {
  build_input in = base_input();
  in.mc.mds.push_back(section({"a.org", "www.a.org"}, 3));
  in.mc.mds.push_back(section({"*.b.org"}, 4));
  in.vhosts.push_back(vhost("www.a.org", {}, 443, true));           // 1: by ServerName
  in.vhosts.push_back(vhost("other.org", {"a.org"}, 80, false));    // 2: by ServerAlias
  in.vhosts.push_back(vhost("x.b.org", {}, 443, true));             // 3: wildcard MD
  in.vhosts.push_back(vhost("c.org", {}, 443, true));               // 4: nothing
  in.vhosts[4].wild_aliases = {"*.a.org"};                          //    ... unless wildcard alias
  in.vhosts[0].server_name = "a.org";                               // base: only with MDBaseServer
  in.vhosts[2].contact = "vhost@a.org";

  auto r = link_config(in);
  REQUIRE(r);
  CHECK(r->assigned[0].empty());
  CHECK(r->assigned[1] == std::vector<std::size_t>{0});
  CHECK(r->assigned[2] == std::vector<std::size_t>{0});
  CHECK(r->assigned[3] == std::vector<std::size_t>{1});
  CHECK(r->assigned[4] == std::vector<std::size_t>{0}); // www.a.org matches *.a.org
  // vhost 1 has no contact; the next matching one gives its MDContactEmail
  CHECK(r->config.mds[0].md.contacts == std::vector<std::string>{"mailto:vhost@a.org"});

  in.mc.manage_base_server = true;
  r = link_config(in);
  REQUIRE(r);
  CHECK(r->assigned[0] == std::vector<std::size_t>{0});

  SECTION("MDMatchNames servernames: only ServerName counts, exact beats wildcard") {
    in.mc.manage_base_server = false;
    in.mc.match = match_mode::servernames;
    in.mc.mds.push_back(section({"x.b.org"}, 5));
    r = link_config(in);
    REQUIRE(r);
    CHECK(r->assigned[1] == std::vector<std::size_t>{0});
    CHECK(r->assigned[2].empty());
    CHECK(r->assigned[3] == std::vector<std::size_t>{2});
    CHECK(r->assigned[4].empty());
  }
}

TEST_CASE("after mod_ssl: conflicts, names added, acme-tls/1, usage", "[httpd][config-build]") {
  build_input in = base_input();
  in.mc.mds.push_back(section({"a.org"}, 3));
  in.mc.mds.push_back(section({"b.org"}, 4));
  in.mc.mds.push_back(section({"unused.org"}, 5));
  in.mc.mds[1].props.transitive = 0;
  in.mc.mds[1].props.require_https = md_require_https::permanent;
  in.vhosts.push_back(vhost("a.org", {"www.a.org"}, 443, true));
  in.vhosts.push_back(vhost("b.org", {"www.b.org"}, 443, false));
  in.vhosts.push_back(vhost("b.org", {"mail.b.org"}, 443, true));
  in.vhosts[1].acme_tls_1 = true;
  in.vhosts[3].addrs = {{"*", 8443}};

  auto r = build_config(in);
  REQUIRE(r);
  const auto& mds = r->config.mds;
  CHECK(mds[0].md.domains == std::vector<std::string>{"a.org", "www.a.org"});
  CHECK(mds[0].md.acme_tls_1_domains == std::vector<std::string>{"a.org", "www.a.org"});
  CHECK(mds[1].md.domains == std::vector<std::string>{"b.org"});
  CHECK(mds[1].md.acme_tls_1_domains.empty());
  CHECK(mds[0].used);
  CHECK(mds[1].used);
  CHECK_FALSE(mds[2].used);
  CHECK(r->warnings == std::vector<build_message>{
                           {"MDA0105", "Virtual Host b.org:443 matches Managed Domain 'b.org', but the name/alias "
                                       "mail.b.org itself is not managed. A requested MD certificate will not "
                                       "match ServerName."},
                           {"MDA0107", "No VirtualHost matches Managed Domain unused.org"}});

  SECTION("MDRequireHttps without an SSL vhost is reported") {
    in.vhosts[3].ssl = false;
    auto r2 = build_config(in);
    REQUIRE(r2);
    CHECK(r2->warnings[0] == build_message{"MDA0106", "MD b.org does not match any VirtualHost with 'SSLEngine "
                                                      "on', but is configured to require https. This cannot work."});
  }
  SECTION("MDRenewMode always: no warning for an MD without vhost") {
    in.mc.mds[2].props.renew_mode = md_renew_mode::always;
    auto r2 = build_config(in);
    REQUIRE(r2);
    CHECK(r2->warnings.size() == 1);
    CHECK_FALSE(r2->config.mds[2].used);
  }
  SECTION("a wildcard MD does not add the names it covers") {
    // mod_md's suite, 720_007: <MDomain *.w.org> with a vhost www.w.org keeps its one name
    in.mc.mds.push_back(section({"*.w.org"}, 6));
    in.vhosts.push_back(vhost("www.w.org", {"w.org"}, 443, true));
    auto r2 = build_config(in);
    REQUIRE(r2);
    const auto& w = r2->config.mds[3].md;
    CHECK(w.domains == std::vector<std::string>{"*.w.org", "w.org"}); // w.org is not covered
    CHECK(r2->config.mds[3].used);
  }
  SECTION("two MDs on one SSL vhost") {
    in.vhosts[1].aliases.push_back("b.org");
    auto r2 = build_config(in);
    REQUIRE_FALSE(r2);
    CHECK(r2.error().message == "conflict: 2 MDs match to SSL VirtualHost a.org, there can at most be one.");
  }
}

TEST_CASE("name matching follows httpd and mod_md", "[httpd][config-build]") {
  CHECK(dns_matches("*.a.org", "www.a.org"));
  CHECK(dns_matches("A.org", "a.ORG"));
  CHECK_FALSE(dns_matches("*.a.org", "a.org"));
  CHECK_FALSE(dns_matches("*.a.org", "x.www.a.org"));
  CHECK(is_wildcard("*.a.org"));
  CHECK_FALSE(is_wildcard("a.*.org"));
  CHECK(glob_matches("*.a.org", "x.y.A.org"));
  CHECK(glob_matches("w?w.a.org", "www.a.org"));
  CHECK_FALSE(glob_matches("*.a.org", "a.org"));
  vhost_info v = vhost("a.org", {"b.org"}, 443, true);
  v.addrs = {{"c.org", 0}};
  CHECK(vhost_matches(v, "A.ORG"));
  CHECK(vhost_matches(v, "b.org"));
  CHECK(vhost_matches(v, "c.org"));
  CHECK_FALSE(vhost_matches(v, "d.org"));
}
