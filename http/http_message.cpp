// URL parsing and resolution, Link header parsing and the response helpers declared in
// http/http_client.hpp. No I/O here: the transport lives in http_client.cpp.
#include "http/http_client.hpp"

#include <algorithm>
#include <cctype>
#include <utility>

namespace mda::acme {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

/// One link-value of a Link header field (RFC 8288 §3): "<target>" and its rel types.
struct link_value {
  std::string target;
  std::vector<std::string> rels; ///< lowercase
};

/// Reads one "name[=value]" link parameter at v[i] (just after ';'); advances i.
std::pair<std::string, std::string> read_link_param(std::string_view v, size_t& i) {
  auto skip_ws = [&] { while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i; };
  skip_ws();
  size_t name_end = std::min(v.find_first_of("=;,", i), v.size());
  std::string name = lower(trim(v.substr(i, name_end - i)));
  i = name_end;
  std::string val;
  if (i < v.size() && v[i] == '=') {
    ++i;
    skip_ws();
    if (i < v.size() && v[i] == '"') {
      auto q = std::min(v.find('"', i + 1), v.size());
      val = std::string(v.substr(i + 1, q - i - 1));
      i = std::min(q + 1, v.size());
    } else {
      auto e = std::min(v.find_first_of(";,", i), v.size());
      val = trim(v.substr(i, e - i));
      i = e;
    }
  }
  return {name, val};
}

std::vector<link_value> parse_link_header(std::string_view v) {
  std::vector<link_value> out;
  size_t i = 0;
  while (true) {
    auto open = v.find('<', i);
    auto close = open == std::string_view::npos ? open : v.find('>', open);
    if (close == std::string_view::npos) break;
    link_value link;
    link.target = std::string(v.substr(open + 1, close - open - 1));
    i = close + 1;
    while (true) {
      while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i;
      if (i >= v.size() || v[i] != ';') break;
      ++i;
      auto [name, val] = read_link_param(v, i);
      if (name != "rel") continue;
      std::string rels = lower(val);
      for (size_t p = 0; p < rels.size();) {
        auto sp = std::min(rels.find(' ', p), rels.size());
        if (sp > p) link.rels.push_back(rels.substr(p, sp - p));
        p = sp + 1;
      }
    }
    out.push_back(std::move(link));
    auto comma = v.find(',', i);
    if (comma == std::string_view::npos) break;
    i = comma + 1;
  }
  return out;
}

} // namespace

bool ci_less::operator()(const std::string& a, const std::string& b) const {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                      [](unsigned char x, unsigned char y) {
                                        return std::tolower(x) < std::tolower(y);
                                      });
}

std::string default_user_agent() { return std::string("mdactor/") + MDACTOR_VERSION; }

expected<url_parts> parse_url(std::string_view url) {
  auto bad = [&](const std::string& why) {
    return error(acme_errc::bad_url, "URL '" + std::string(url) + "' " + why);
  };
  for (unsigned char c : url)
    if (c <= 0x20 || c >= 0x7f) return bad("contains a space, control or non-ASCII character");
  auto sep = url.find("://");
  if (sep == std::string_view::npos) return bad("is not an absolute http(s) URL");
  url_parts u;
  u.scheme = lower(std::string(url.substr(0, sep)));
  if (u.scheme != "http" && u.scheme != "https") return bad("is not an absolute http(s) URL");
  int default_port = u.scheme == "https" ? 443 : 80;
  auto rest = url.substr(sep + 3);
  auto end = std::min(rest.find_first_of("/?#"), rest.size());
  auto authority = rest.substr(0, end);
  if (authority.find('@') != std::string_view::npos) return bad("carries user information");
  std::optional<std::string_view> port_text;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("has an unterminated IPv6 address");
    u.host = std::string(authority.substr(1, close - 1));
    auto after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return bad("has junk after the IPv6 address");
    if (!after.empty()) port_text = after.substr(1);
  } else {
    auto colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (u.host.empty()) return bad("has no host");
  u.port = default_port;
  if (port_text) {
    if (port_text->empty() || port_text->size() > 5 ||
        !std::all_of(port_text->begin(), port_text->end(), ::isdigit))
      return bad("has an invalid port");
    u.port = std::stoi(std::string(*port_text));
    if (u.port < 1 || u.port > 65535) return bad("has an invalid port");
  }
  auto target = rest.substr(end);
  target = target.substr(0, target.find('#'));
  u.target = (target.empty() || target.front() != '/') ? "/" + std::string(target)
                                                       : std::string(target);
  u.authority = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
  if (u.port != default_port) u.authority += ":" + std::to_string(u.port);
  return u;
}

std::string resolve_url(const std::string& base, const std::string& ref) {
  auto colon = ref.find(':');
  if (colon != std::string::npos && colon > 0 && std::isalpha(static_cast<unsigned char>(ref[0])) &&
      ref.find_first_of("/?#") > colon)
    return ref; // has a scheme
  auto sep = base.find("://");
  if (sep == std::string::npos) return ref;
  if (ref.rfind("//", 0) == 0) return base.substr(0, sep + 1) + ref;
  auto path_start = std::min(base.find_first_of("/?#", sep + 3), base.size());
  std::string origin = base.substr(0, path_start);
  if (!ref.empty() && ref.front() == '/') return origin + ref;
  std::string path = base.substr(path_start);
  path = path.substr(0, path.find_first_of("?#"));
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "/" : path.substr(0, slash + 1);
  return origin + dir + ref;
}

std::optional<std::string> http_response::header(const std::string& name) const {
  auto it = headers.find(name);
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> http_response::header_values(const std::string& name) const {
  std::vector<std::string> out;
  auto range = headers.equal_range(name);
  for (auto it = range.first; it != range.second; ++it) out.push_back(it->second);
  return out;
}

std::string http_response::media_type() const {
  auto ct = header("Content-Type");
  if (!ct) return "";
  return lower(trim(std::string_view(*ct).substr(0, ct->find(';'))));
}

std::vector<std::string> http_response::links(std::string_view rel) const {
  std::vector<std::string> out;
  const std::string want = lower(std::string(rel));
  for (const auto& value : header_values("Link"))
    for (const auto& link : parse_link_header(value))
      if (std::find(link.rels.begin(), link.rels.end(), want) != link.rels.end())
        out.push_back(resolve_url(url, link.target));
  return out;
}

std::optional<std::string> http_response::location() const {
  auto loc = header("Location");
  if (!loc) return std::nullopt;
  return resolve_url(url, trim(*loc));
}

expected<http_response> http_transport::get(const std::string& url) {
  http_request r;
  r.url = url;
  return request(r);
}

expected<http_response> http_transport::head(const std::string& url) {
  http_request r;
  r.method = "HEAD";
  r.url = url;
  return request(r);
}

expected<http_response> http_transport::post(const std::string& url, std::string body,
                                             std::string content_type) {
  http_request r;
  r.method = "POST";
  r.url = url;
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  return request(r);
}

} // namespace mda::acme
