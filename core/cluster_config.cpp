#include "core/cluster_config.hpp"

#include <cctype>
#include <cstdlib>

#include <unistd.h>

#include "core/config_values.hpp"

namespace mda {

namespace {

bool has_space(const std::string& s) {
  for (unsigned char c : s)
    if (std::isspace(c) || std::iscntrl(c)) return true;
  return false;
}

status check_endpoint(const std::string& e) {
  auto fail = [&](const std::string& why) {
    return error(config_errc::bad_format, "MDStoreEtcd: endpoint '" + e + "' " + why);
  };
  std::string rest;
  if (e.rfind("http://", 0) == 0)
    rest = e.substr(7);
  else if (e.rfind("https://", 0) == 0)
    rest = e.substr(8);
  else
    return fail("must start with http:// or https://");
  if (rest.empty() || rest.front() == ':' || rest.front() == '/') return fail("has no host");
  if (has_space(rest)) return fail("contains white space");
  return {};
}

} // namespace

expected<cluster_config> parse_store_etcd(const std::vector<std::string>& args) {
  cluster_config c;
  if (args.empty())
    return error(config_errc::missing_argument, "MDStoreEtcd: needs at least one endpoint");
  for (const auto& a : args) {
    auto eq = a.find('=');
    const bool is_url = a.rfind("http://", 0) == 0 || a.rfind("https://", 0) == 0;
    if (eq == std::string::npos || is_url) {
      std::size_t start = 0;
      while (start <= a.size()) {
        auto comma = a.find(',', start);
        if (comma == std::string::npos) comma = a.size();
        auto e = a.substr(start, comma - start);
        if (!e.empty()) {
          if (auto st = check_endpoint(e); !st) return st.error();
          while (e.size() > 1 && e.back() == '/') e.pop_back();
          c.endpoints.push_back(e);
        }
        start = comma + 1;
      }
      continue;
    }
    auto key = a.substr(0, eq);
    auto value = a.substr(eq + 1);
    if (value.empty())
      return error(config_errc::missing_argument, "MDStoreEtcd: '" + a + "' has no value");
    if (key == "prefix") {
      if (value.front() != '/' || value.back() == '/' || has_space(value))
        return error(config_errc::bad_format,
                     "MDStoreEtcd: prefix '" + value +
                       "' must start with '/', not end with '/' and have no white space");
      c.prefix = value;
    } else if (key == "ca") {
      c.ca_file = value;
    } else if (key == "cert") {
      c.cert_file = value;
    } else if (key == "key") {
      c.key_file = value;
    } else if (key == "node") {
      if (has_space(value) || value.find('/') != std::string::npos)
        return error(config_errc::bad_format,
                     "MDStoreEtcd: node '" + value + "' must have no '/' and no white space");
      c.node = value;
    } else if (key == "lease") {
      char* end = nullptr;
      long v = std::strtol(value.c_str(), &end, 10);
      if (!end || *end != '\0' || v < 2 || v > 300)
        return error(config_errc::out_of_range, "MDStoreEtcd: lease '" + value + "' is not 2..300");
      c.lease_seconds = static_cast<int>(v);
    } else {
      return error(config_errc::unknown_value, "MDStoreEtcd: unknown parameter '" + a + "'");
    }
  }
  if (c.endpoints.empty())
    return error(config_errc::missing_argument, "MDStoreEtcd: needs at least one endpoint");
  if (c.cert_file.empty() != c.key_file.empty())
    return error(config_errc::conflict, "MDStoreEtcd: cert= and key= go together");
  return c;
}

std::string cluster_node_name(const cluster_config& cfg) {
  if (!cfg.node.empty()) return cfg.node;
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) == 0 && buf[0] != '\0') return buf;
  return "node";
}

} // namespace mda
