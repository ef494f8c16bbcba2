// The redaction rules of what status outputs show (core/redact.hpp), exact strings.
#include "core/redact.hpp"

#include <catch2/catch.hpp>

#include "core/md.hpp"

using namespace mda;

TEST_CASE("redact_url: the userinfo of a URL becomes ***", "[core][redact]") {
  CHECK(redact_url("http://user:secret@proxy.example:3128") == "http://***@proxy.example:3128");
  CHECK(redact_url("http://user@proxy.example:3128/") == "http://***@proxy.example:3128/");
  CHECK(redact_url("user:secret@proxy.example:3128") == "***@proxy.example:3128");
  CHECK(redact_url("http://us%40er:p@ss@proxy.example") == "http://***@proxy.example"); // the last '@'
  CHECK(redact_url("https://u:p@[::1]:8443/dir?x=@y#@z") == "https://***@[::1]:8443/dir?x=@y#@z");
  CHECK(redact_url("http://@proxy.example") == "http://***@proxy.example");
  // nothing to hide: as it is
  CHECK(redact_url("http://proxy.example:3128") == "http://proxy.example:3128");
  CHECK(redact_url("proxy.example:3128") == "proxy.example:3128");
  CHECK(redact_url("https://ca.example/dir/user@example") == "https://ca.example/dir/user@example");
  CHECK(redact_url("https://ca.example?contact=a@b") == "https://ca.example?contact=a@b");
  CHECK(redact_url("") == "");
}

TEST_CASE("redact_command: the program stays, *** stands for its arguments", "[core][redact]") {
  CHECK(redact_command("/usr/bin/dns-hook --key=s3cr3t zone") == "/usr/bin/dns-hook ***");
  CHECK(redact_command("/usr/bin/dns-hook s3cr3t") == "/usr/bin/dns-hook ***");
  CHECK(redact_command("  /usr/bin/dns-hook\t s3cr3t  ") == "/usr/bin/dns-hook ***");
  CHECK(redact_command("/usr/bin/dns-hook") == "/usr/bin/dns-hook");
  CHECK(redact_command(" /usr/bin/dns-hook  ") == "/usr/bin/dns-hook");
  CHECK(redact_command("\"/opt/my hooks/dns\" --token x") == "\"/opt/my hooks/dns\" ***");
  CHECK(redact_command("'/opt/my hooks/dns'") == "'/opt/my hooks/dns'");
  CHECK(redact_command("/opt/my\\ hooks/dns token") == "/opt/my\\ hooks/dns ***");
  CHECK(redact_command("") == "");
}

TEST_CASE("md_to_public_json hides the credentials of an MD", "[core][redact][md]") {
  managed_domain md;
  md.name = "a.example";
  md.domains = {"a.example"};
  md.ca.url = "https://acct:pw@ca.example/dir";
  md.ca.urls = {"https://acct:pw@ca.example/dir", "https://ca2.example/dir"};
  md.dns01_cmd = "/usr/bin/dns-hook --key=s3cr3t";
  md.proxy_url = "http://user:secret@proxy.example:3128";
  md.eab = {"kid-1", "aG1hYw"};
  const auto j = to_public_json(md);
  CHECK(j["ca"]["url"] == "https://***@ca.example/dir");
  CHECK(j["ca"]["urls"] == nlohmann::ordered_json::array({"https://***@ca.example/dir", "https://ca2.example/dir"}));
  CHECK(j["cmd-dns-01"] == "/usr/bin/dns-hook ***");
  CHECK(j["proxy-url"] == "http://***@proxy.example:3128");
  CHECK(j["eab"]["kid"] == "kid-1");
  CHECK(j["eab"]["hmac"] == "***");
  // the same keys in the same order as md.json; md.json itself keeps the clear values
  const auto clear = to_json(md);
  CHECK(clear["proxy-url"] == "http://user:secret@proxy.example:3128");
  CHECK(clear["cmd-dns-01"] == "/usr/bin/dns-hook --key=s3cr3t");
  std::vector<std::string> keys, clear_keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
  for (auto it = clear.begin(); it != clear.end(); ++it) clear_keys.push_back(it.key());
  CHECK(keys == clear_keys);
  // nothing configured: nothing added
  managed_domain plain;
  plain.name = "b.example";
  const auto p = to_public_json(plain);
  CHECK(p == to_json(plain));
}
