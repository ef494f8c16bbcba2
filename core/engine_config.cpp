#include "core/engine_config.hpp"

#include <fstream>
#include <set>
#include <sstream>

#include "core/json_util.hpp"

namespace mda {

using ojson = nlohmann::ordered_json;

bool engine_settings::operator==(const engine_settings& o) const {
  return to_json(*this) == to_json(o);
}

std::string engine_dir(const engine_settings& s) { return s.store_dir + "/mdactor"; }

std::string status_file_path(const engine_settings& s) {
  return s.status_file.empty() ? engine_dir(s) + "/status.json" : s.status_file;
}

std::string live_file_path(const engine_settings& s) { return engine_dir(s) + "/live.json"; }

std::string default_status_socket(const engine_settings& s) { return engine_dir(s) + "/status.sock"; }

ojson to_json(const engine_settings& s) {
  ojson j = ojson::object();
  j["store-dir"] = s.store_dir;
  j["retry-delay"] = format_duration(s.retry_delay);
  j["retry-failover"] = s.retry_failover;
  j["check-interval"] = format_duration(s.check_interval);
  j["initial-delay"] = format_duration(s.initial_delay);
  j["activation-delay"] = format_duration(s.activation_delay);
  j["renew-window"] = format_timeslice(s.renew_window);
  j["warn-window"] = format_timeslice(s.warn_window);
  j["notify-cmd"] = s.notify_cmd;
  j["message-cmd"] = s.message_cmd;
  j["dns01-cmd"] = s.dns01_cmd;
  j["dns01-version"] = s.dns01_version;
  j["http-proxy"] = s.http_proxy;
  j["ca-certs"] = s.ca_certs;
  j["proxy-ca-certs"] = s.proxy_ca_certs;
  j["port-map"] = ojson{{"http", s.ports.http}, {"https", s.ports.https}};
  j["renew-via-ari"] = s.renew_via_ari;
  j["live-activation"] = s.live_activation;
  j["stapling"] = s.stapling;
  j["staple-others"] = s.staple_others;
  j["staple-other-files"] = json_string_array(s.staple_other_files);
  j["stapling-renew-window"] = format_timeslice(s.stapling_renew_window);
  j["stapling-keep-response"] = format_timeslice(s.stapling_keep_response);
  j["cert-check-name"] = s.cert_check_name;
  j["cert-check-url"] = s.cert_check_url;
  j["orders-in-flight"] = s.orders_in_flight;
  j["command-timeout"] = format_duration(s.command_timeout);
  j["status-file"] = s.status_file;
  j["status-socket"] = s.status_socket;
  j["http01-port"] = s.http01_port;
  j["tlsalpn01-port"] = s.tlsalpn01_port;
  j["responder-address"] = s.responder_address;
  if (s.cluster.enabled()) {
    j["store-etcd"] = ojson{{"endpoints", json_string_array(s.cluster.endpoints)},
                            {"prefix", s.cluster.prefix},
                            {"ca", s.cluster.ca_file},
                            {"cert", s.cluster.cert_file},
                            {"key", s.cluster.key_file},
                            {"node", s.cluster.node},
                            {"lease", s.cluster.lease_seconds}};
  }
  j["can-http"] = s.can_http;
  j["can-https"] = s.can_https;
  return j;
}

ojson to_json(const engine_config& c) {
  ojson j = ojson::object();
  j["version"] = 1;
  j["settings"] = to_json(c.settings);
  ojson mds = ojson::array();
  for (const auto& m : c.mds) mds.push_back(ojson{{"md", to_json(m.md)}, {"used", m.used}});
  j["mds"] = std::move(mds);
  return j;
}

namespace {

/// Reads a duration member given in format_duration text (default unit "s").
void get_duration(json_fields& f, const char* key, milliseconds& out) {
  std::string text;
  f.get(key, text);
  if (text.empty() || !f.ok()) return;
  auto d = parse_duration(text, "s");
  if (!d) {
    f.fail(json_errc::bad_value, key, "is not a duration: " + d.error().message);
    return;
  }
  out = *d;
}

void get_timeslice(json_fields& f, const char* key, timeslice& out, milliseconds norm) {
  std::string text;
  f.get(key, text);
  if (text.empty() || !f.ok()) return;
  auto t = parse_timeslice(text, norm);
  if (!t) {
    f.fail(json_errc::bad_value, key, "is not a timeslice: " + t.error().message);
    return;
  }
  out = *t;
}

} // namespace

expected<engine_settings> engine_settings_from_json(const ojson& j, const std::string& source) {
  engine_settings s;
  json_fields f(j, source);
  f.get("store-dir", s.store_dir);
  get_duration(f, "retry-delay", s.retry_delay);
  f.get("retry-failover", s.retry_failover);
  get_duration(f, "check-interval", s.check_interval);
  get_duration(f, "initial-delay", s.initial_delay);
  get_duration(f, "activation-delay", s.activation_delay);
  get_timeslice(f, "renew-window", s.renew_window, k_life_norm);
  get_timeslice(f, "warn-window", s.warn_window, k_life_norm);
  f.get("notify-cmd", s.notify_cmd);
  f.get("message-cmd", s.message_cmd);
  f.get("dns01-cmd", s.dns01_cmd);
  f.get("dns01-version", s.dns01_version);
  f.get("http-proxy", s.http_proxy);
  f.get("ca-certs", s.ca_certs);
  f.get("proxy-ca-certs", s.proxy_ca_certs);
  json_fields pm = f.object("port-map");
  pm.get("http", s.ports.http);
  pm.get("https", s.ports.https);
  f.get("renew-via-ari", s.renew_via_ari);
  f.get("live-activation", s.live_activation);
  f.get("stapling", s.stapling);
  f.get("staple-others", s.staple_others);
  f.get("staple-other-files", s.staple_other_files);
  get_timeslice(f, "stapling-renew-window", s.stapling_renew_window, k_life_norm);
  get_timeslice(f, "stapling-keep-response", s.stapling_keep_response, k_ocsp_keep_norm);
  f.get("cert-check-name", s.cert_check_name);
  f.get("cert-check-url", s.cert_check_url);
  f.get("orders-in-flight", s.orders_in_flight);
  get_duration(f, "command-timeout", s.command_timeout);
  f.get("status-file", s.status_file);
  f.get("status-socket", s.status_socket);
  f.get("http01-port", s.http01_port);
  f.get("tlsalpn01-port", s.tlsalpn01_port);
  f.get("responder-address", s.responder_address);
  f.get("can-http", s.can_http);
  f.get("can-https", s.can_https);
  if (j.contains("store-etcd")) {
    json_fields e = f.object("store-etcd");
    e.get("endpoints", s.cluster.endpoints);
    e.get("prefix", s.cluster.prefix);
    e.get("ca", s.cluster.ca_file);
    e.get("cert", s.cluster.cert_file);
    e.get("key", s.cluster.key_file);
    e.get("node", s.cluster.node);
    e.get("lease", s.cluster.lease_seconds);
    if (auto st = e.result(); !st) return st.error();
  }
  if (auto st = f.result(); !st) return st.error();
  return s;
}

expected<engine_config> engine_config_from_json(const ojson& j, const std::string& source) {
  engine_config c;
  json_fields f(j, source);
  int version = 1;
  f.get("version", version);
  if (f.ok() && version != 1) {
    f.fail(json_errc::bad_value, "version", "is " + std::to_string(version) +
                                                ", this mdactor reads version 1");
  }
  if (!f.ok()) return f.result().error();
  if (const ojson* sj = f.find("settings")) {
    auto s = engine_settings_from_json(*sj, source + " settings");
    if (!s) return s.error();
    c.settings = std::move(*s);
  }
  const std::size_t n = f.array_size("mds");
  c.mds.reserve(n); // 10,000 MDs: no copies while the vector grows
  for (std::size_t i = 0; i < n && f.ok(); ++i) {
    json_fields e = f.element("mds", i);
    engine_md m;
    e.get("used", m.used);
    const ojson* mj = e.find("md");
    if (!mj) {
      e.fail(json_errc::missing, "md", "is missing");
      break;
    }
    auto md = md_from_json(*mj, source + " mds[" + std::to_string(i) + "]");
    if (!md) return md.error();
    m.md = std::move(*md);
    c.mds.push_back(std::move(m));
  }
  if (auto st = f.result(); !st) return st.error();
  return c;
}

expected<engine_config> load_engine_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return error(json_errc::missing, "cannot read engine configuration '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  auto j = parse_json(text.str(), path);
  if (!j) return j.error();
  return engine_config_from_json(*j, path);
}

status validate(const engine_config& c) {
  if (c.settings.store_dir.empty()) {
    return error(json_errc::missing, "engine configuration: no store directory (MDStoreDir)");
  }
  if (c.settings.orders_in_flight < 1) {
    return error(json_errc::bad_value, "engine configuration: orders in flight must be at least 1");
  }
  std::set<std::string> names;
  for (const auto& m : c.mds) {
    if (m.md.name.empty()) return error(json_errc::bad_value, "engine configuration: an MD has no name");
    if (!names.insert(m.md.name).second) {
      return error(json_errc::bad_value, "engine configuration: MD '" + m.md.name + "' appears twice");
    }
    if (m.md.domains.empty()) {
      return error(json_errc::bad_value, "engine configuration: MD '" + m.md.name + "' has no domains");
    }
    if (m.md.ca.urls.empty() && m.md.ca.url.empty() && m.md.cert_files.empty()) {
      return error(json_errc::bad_value,
                   "engine configuration: MD '" + m.md.name + "' has no certificate authority");
    }
  }
  return {};
}

} // namespace mda
