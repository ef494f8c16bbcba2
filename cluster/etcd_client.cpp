#include "cluster/etcd_client.hpp"

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <utility>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "core/base64.hpp"
#include "http/sigpipe_guard.hpp"

namespace mda::etcd {

namespace {

using json = nlohmann::json;

class etcd_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "etcd"; }
  std::string message(int c) const override {
    switch (static_cast<etcd_errc>(c)) {
      case etcd_errc::ok: return "ok";
      case etcd_errc::unreachable: return "etcd unreachable";
      case etcd_errc::rejected: return "etcd rejected the request";
      case etcd_errc::bad_answer: return "etcd answer not understood";
      case etcd_errc::bad_config: return "etcd client configuration";
      case etcd_errc::lease_gone: return "etcd lease expired";
      case etcd_errc::compacted: return "etcd revision compacted";
    }
    return "etcd error";
  }
};

std::string b64(const std::string& s) { return base64_encode(s); }

/// 64-bit numbers come as strings from the gateway (and may be absent when zero).
std::int64_t number(const json& j, const char* member) {
  auto it = j.find(member);
  if (it == j.end() || it->is_null()) return 0;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    char* end = nullptr;
    auto v = std::strtoll(s.c_str(), &end, 10);
    if (end && *end == '\0') return v;
  }
  return 0;
}

expected<std::string> unb64(const json& j, const char* member) {
  auto it = j.find(member);
  if (it == j.end() || it->is_null()) return std::string();
  if (!it->is_string()) return error(etcd_errc::bad_answer, std::string(member) + " is not a string");
  auto d = base64_decode(it->get_ref<const std::string&>());
  if (!d) return error(etcd_errc::bad_answer, std::string(member) + ": " + d.error().message);
  return std::move(*d);
}

expected<key_value> read_kv(const json& j) {
  if (!j.is_object()) return error(etcd_errc::bad_answer, "a key-value that is not an object");
  key_value kv;
  auto k = unb64(j, "key");
  if (!k) return k.error();
  auto v = unb64(j, "value");
  if (!v) return v.error();
  kv.key = std::move(*k);
  kv.value = std::move(*v);
  kv.create_revision = number(j, "create_revision");
  kv.mod_revision = number(j, "mod_revision");
  kv.version = number(j, "version");
  kv.lease = number(j, "lease");
  return kv;
}

expected<range_result> read_range(const json& j) {
  range_result r;
  if (auto h = j.find("header"); h != j.end() && h->is_object()) r.revision = number(*h, "revision");
  if (auto kvs = j.find("kvs"); kvs != j.end() && kvs->is_array()) {
    for (const auto& e : *kvs) {
      auto kv = read_kv(e);
      if (!kv) return kv.error();
      r.kvs.push_back(std::move(*kv));
    }
  }
  if (auto m = j.find("more"); m != j.end() && m->is_boolean()) r.more = m->get<bool>();
  r.count = number(j, "count");
  return r;
}

expected<json> parse_answer(const std::string& body, const std::string& where) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return error(etcd_errc::bad_answer, where + ": the answer is not a JSON object");
  // a gRPC error travels in the body: {"error": "...", "code": N, "message": "..."}
  if (auto e = j.find("error"); e != j.end() && e->is_string()) {
    auto msg = j.value("message", e->get<std::string>());
    return error(etcd_errc::rejected, where + ": " + msg);
  }
  return j;
}

json range_request(const std::string& key, const std::string& end, std::int64_t limit,
                   bool keys_only) {
  json r{{"key", b64(key)}};
  if (!end.empty()) r["range_end"] = b64(end);
  if (limit > 0) r["limit"] = std::to_string(limit);
  if (keys_only) r["keys_only"] = true;
  return r;
}

const char* compare_target_name(compare::target t) {
  switch (t) {
    case compare::target::version: return "VERSION";
    case compare::target::create: return "CREATE";
    case compare::target::mod: return "MOD";
    case compare::target::value: return "VALUE";
    case compare::target::lease: return "LEASE";
  }
  return "CREATE";
}

const char* compare_result_name(compare::result r) {
  switch (r) {
    case compare::result::equal: return "EQUAL";
    case compare::result::greater: return "GREATER";
    case compare::result::less: return "LESS";
    case compare::result::not_equal: return "NOT_EQUAL";
  }
  return "EQUAL";
}

json to_json(const compare& c) {
  json j{{"key", b64(c.key)},
         {"target", compare_target_name(c.what)},
         {"result", compare_result_name(c.op)}};
  switch (c.what) {
    case compare::target::version: j["version"] = std::to_string(c.number); break;
    case compare::target::create: j["create_revision"] = std::to_string(c.number); break;
    case compare::target::mod: j["mod_revision"] = std::to_string(c.number); break;
    case compare::target::value: j["value"] = b64(c.value); break;
    case compare::target::lease: j["lease"] = std::to_string(c.number); break;
  }
  return j;
}

json to_json(const txn_op& o) {
  switch (o.what) {
    case txn_op::kind::put: {
      json p{{"key", b64(o.key)}, {"value", b64(o.value)}};
      if (o.lease) p["lease"] = std::to_string(o.lease);
      return json{{"request_put", p}};
    }
    case txn_op::kind::del: {
      json d{{"key", b64(o.key)}};
      if (!o.range_end.empty()) d["range_end"] = b64(o.range_end);
      return json{{"request_delete_range", d}};
    }
    case txn_op::kind::range:
      return json{{"request_range", range_request(o.key, o.range_end, 0, false)}};
  }
  return json::object();
}

std::unique_ptr<httplib::Client> make_http(const client::parsed_endpoint& ep,
                                           const client_options& opts) {
  std::string base = (ep.tls ? "https://" : "http://") + ep.host + ":" + std::to_string(ep.port);
  std::unique_ptr<httplib::Client> c;
  if (ep.tls && !opts.cert_file.empty())
    c = std::make_unique<httplib::Client>(base, opts.cert_file, opts.key_file);
  else
    c = std::make_unique<httplib::Client>(base);
  if (ep.tls) {
    if (!opts.ca_file.empty()) c->set_ca_cert_path(opts.ca_file.c_str());
    c->enable_server_certificate_verification(true);
  }
  const auto ms = opts.timeout.count();
  c->set_connection_timeout(ms / 1000, (ms % 1000) * 1000);
  c->set_read_timeout(ms / 1000, (ms % 1000) * 1000);
  c->set_write_timeout(ms / 1000, (ms % 1000) * 1000);
  return c;
}

bool readable(const std::string& path) { return ::access(path.c_str(), R_OK) == 0; }

} // namespace

const std::error_category& etcd_category() noexcept {
  static const etcd_category_impl c;
  return c;
}
std::error_code make_error_code(etcd_errc e) noexcept { return {static_cast<int>(e), etcd_category()}; }

compare compare::absent(std::string key) {
  compare c;
  c.key = std::move(key);
  c.what = target::create;
  c.number = 0;
  return c;
}
compare compare::held_by(std::string key, std::int64_t lease) {
  compare c;
  c.key = std::move(key);
  c.what = target::lease;
  c.number = lease;
  return c;
}
compare compare::mod_revision_is(std::string key, std::int64_t rev) {
  compare c;
  c.key = std::move(key);
  c.what = target::mod;
  c.number = rev;
  return c;
}

txn_op txn_op::put(std::string key, std::string value, std::int64_t lease) {
  txn_op o;
  o.what = kind::put;
  o.key = std::move(key);
  o.value = std::move(value);
  o.lease = lease;
  return o;
}
txn_op txn_op::del(std::string key) {
  txn_op o;
  o.what = kind::del;
  o.key = std::move(key);
  return o;
}
txn_op txn_op::del_prefix(const std::string& prefix) {
  txn_op o;
  o.what = kind::del;
  o.key = prefix;
  o.range_end = prefix_end(prefix);
  return o;
}
txn_op txn_op::get(std::string key) {
  txn_op o;
  o.what = kind::range;
  o.key = std::move(key);
  return o;
}

std::string prefix_end(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    auto& c = end.back();
    if (static_cast<unsigned char>(c) < 0xff) {
      c = static_cast<char>(static_cast<unsigned char>(c) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0'); // every key
}

expected<client::parsed_endpoint> parse_endpoint(const std::string& url) {
  client::parsed_endpoint ep;
  ep.text = url;
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    ep.tls = true;
    rest = url.substr(8);
  } else {
    return error(etcd_errc::bad_config,
                 "etcd endpoint '" + url + "': must start with http:// or https://");
  }
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.find('/') != std::string::npos)
    return error(etcd_errc::bad_config, "etcd endpoint '" + url + "': a path is not allowed");
  std::string port_text;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string::npos)
      return error(etcd_errc::bad_config, "etcd endpoint '" + url + "': unclosed '['");
    ep.host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':')
        return error(etcd_errc::bad_config, "etcd endpoint '" + url + "': junk after ']'");
      port_text = rest.substr(close + 2);
    }
  } else {
    auto colon = rest.rfind(':');
    ep.host = rest.substr(0, colon);
    if (colon != std::string::npos) port_text = rest.substr(colon + 1);
  }
  if (ep.host.empty()) return error(etcd_errc::bad_config, "etcd endpoint '" + url + "': no host");
  if (port_text.empty()) {
    ep.port = 2379;
  } else {
    char* end = nullptr;
    long p = std::strtol(port_text.c_str(), &end, 10);
    if (!end || *end != '\0' || p < 1 || p > 65535)
      return error(etcd_errc::bad_config,
                   "etcd endpoint '" + url + "': port '" + port_text + "' is not 1..65535");
    ep.port = static_cast<int>(p);
  }
  return ep;
}

client::client(client_options opts, std::vector<parsed_endpoint> eps)
    : opts_(std::move(opts)), eps_(std::move(eps)) {}
client::~client() = default;

expected<std::shared_ptr<client>> client::make(client_options opts) {
  if (opts.endpoints.empty()) return error(etcd_errc::bad_config, "no etcd endpoint given");
  std::vector<parsed_endpoint> eps;
  for (const auto& e : opts.endpoints) {
    auto p = parse_endpoint(e);
    if (!p) return p.error();
    eps.push_back(std::move(*p));
  }
  if (opts.cert_file.empty() != opts.key_file.empty())
    return error(etcd_errc::bad_config, "etcd client TLS: cert= and key= go together");
  for (const auto* f : {&opts.ca_file, &opts.cert_file, &opts.key_file})
    if (!f->empty() && !readable(*f))
      return error(etcd_errc::bad_config, "etcd client TLS file '" + *f + "' cannot be read");
  if (opts.timeout.count() <= 0) opts.timeout = std::chrono::seconds(5);
  return std::shared_ptr<client>(new client(std::move(opts), std::move(eps)));
}

expected<std::string> client::call(const std::string& path, const std::string& body) const {
  sigpipe_guard no_sigpipe;
  std::string tried;
  const auto n = eps_.size();
  const auto first = preferred_.load() % n;
  for (std::size_t k = 0; k < n; ++k) {
    const auto i = (first + k) % n;
    const auto& ep = eps_[i];
    auto http = make_http(ep, opts_);
    auto res = http->Post(path.c_str(), body, "application/json");
    std::string why;
    if (!res) {
      why = httplib::to_string(res.error());
    } else if (res->status >= 500) {
      auto j = json::parse(res->body, nullptr, false);
      why = "HTTP " + std::to_string(res->status);
      if (j.is_object() && j.contains("message") && j["message"].is_string())
        why += " (" + j["message"].get<std::string>() + ")";
    } else if (res->status >= 400) {
      auto j = json::parse(res->body, nullptr, false);
      std::string msg = j.is_object() && j.contains("message") && j["message"].is_string()
                          ? j["message"].get<std::string>()
                          : res->body.substr(0, 200);
      preferred_.store(i);
      return error(etcd_errc::rejected, "etcd " + ep.text + path + ": HTTP " +
                                            std::to_string(res->status) + ": " + msg);
    } else {
      preferred_.store(i);
      return std::move(res->body);
    }
    if (!tried.empty()) tried += "; ";
    tried += ep.text + ": " + why;
  }
  return error(etcd_errc::unreachable, "etcd " + path + " failed at every endpoint (" + tried + ")");
}

namespace {
template <class T, class F>
expected<T> with_answer(const client& c, const std::string& path, const json& req, F&& read) {
  auto body = c.call(path, req.dump());
  if (!body) return body.error();
  auto j = parse_answer(*body, "etcd " + path);
  if (!j) return j.error();
  return read(*j);
}
} // namespace

expected<range_result> client::get(const std::string& key) const {
  return with_answer<range_result>(*this, "/v3/kv/range", range_request(key, "", 0, false),
                                   [](const json& j) { return read_range(j); });
}

expected<range_result> client::get_prefix(const std::string& prefix, std::int64_t limit,
                                          bool keys_only) const {
  return get_range(prefix, prefix_end(prefix), limit, keys_only);
}

expected<range_result> client::get_range(const std::string& from, const std::string& to,
                                         std::int64_t limit, bool keys_only) const {
  return with_answer<range_result>(*this, "/v3/kv/range", range_request(from, to, limit, keys_only),
                                   [](const json& j) { return read_range(j); });
}

expected<std::int64_t> client::put(const std::string& key, const std::string& value,
                                   std::int64_t lease) const {
  json req{{"key", b64(key)}, {"value", b64(value)}};
  if (lease) req["lease"] = std::to_string(lease);
  return with_answer<std::int64_t>(*this, "/v3/kv/put", req, [](const json& j) -> expected<std::int64_t> {
    auto h = j.find("header");
    return h != j.end() && h->is_object() ? number(*h, "revision") : 0;
  });
}

expected<std::int64_t> client::del(const std::string& key) const {
  return with_answer<std::int64_t>(*this, "/v3/kv/deleterange", json{{"key", b64(key)}},
                                   [](const json& j) -> expected<std::int64_t> { return number(j, "deleted"); });
}

expected<std::int64_t> client::del_prefix(const std::string& prefix) const {
  json req{{"key", b64(prefix)}, {"range_end", b64(prefix_end(prefix))}};
  return with_answer<std::int64_t>(*this, "/v3/kv/deleterange", req,
                                   [](const json& j) -> expected<std::int64_t> { return number(j, "deleted"); });
}

expected<txn_result> client::txn(const std::vector<compare>& compares,
                                 const std::vector<txn_op>& success,
                                 const std::vector<txn_op>& failure) const {
  json req{{"compare", json::array()}, {"success", json::array()}, {"failure", json::array()}};
  for (const auto& c : compares) req["compare"].push_back(to_json(c));
  for (const auto& o : success) req["success"].push_back(to_json(o));
  for (const auto& o : failure) req["failure"].push_back(to_json(o));
  return with_answer<txn_result>(*this, "/v3/kv/txn", req, [](const json& j) -> expected<txn_result> {
    txn_result r;
    if (auto h = j.find("header"); h != j.end() && h->is_object()) r.revision = number(*h, "revision");
    if (auto s = j.find("succeeded"); s != j.end() && s->is_boolean()) r.succeeded = s->get<bool>();
    if (auto rs = j.find("responses"); rs != j.end() && rs->is_array()) {
      for (const auto& e : *rs) {
        if (auto rr = e.find("response_range"); rr != e.end()) {
          auto range = read_range(*rr);
          if (!range) return range.error();
          r.ranges.push_back(std::move(*range));
        }
      }
    }
    return r;
  });
}

expected<std::int64_t> client::grant(std::int64_t ttl_seconds) const {
  json req{{"TTL", std::to_string(ttl_seconds)}};
  return with_answer<std::int64_t>(*this, "/v3/lease/grant", req,
                                   [](const json& j) -> expected<std::int64_t> {
                                     auto id = number(j, "ID");
                                     if (id == 0)
                                       return error(etcd_errc::bad_answer, "lease grant: no ID");
                                     return id;
                                   });
}

expected<std::int64_t> client::keep_alive(std::int64_t lease) const {
  json req{{"ID", std::to_string(lease)}};
  return with_answer<std::int64_t>(
    *this, "/v3/lease/keepalive", req, [lease](const json& j) -> expected<std::int64_t> {
      // the gateway streams: {"result": {"ID", "TTL"}}; TTL absent or 0 = gone
      const json* r = &j;
      if (auto it = j.find("result"); it != j.end() && it->is_object()) r = &*it;
      auto ttl = number(*r, "TTL");
      if (ttl <= 0)
        return error(etcd_errc::lease_gone, "lease " + std::to_string(lease) + " has expired");
      return ttl;
    });
}

status client::revoke(std::int64_t lease) const {
  json req{{"ID", std::to_string(lease)}};
  auto r = with_answer<bool>(*this, "/v3/lease/revoke", req, [](const json&) -> expected<bool> { return true; });
  if (!r) {
    if (r.error().message.find("requested lease not found") != std::string::npos) return {};
    return r.error();
  }
  return {};
}

expected<std::int64_t> client::time_to_live(std::int64_t lease) const {
  json req{{"ID", std::to_string(lease)}};
  return with_answer<std::int64_t>(*this, "/v3/lease/timetolive", req,
                                   [lease](const json& j) -> expected<std::int64_t> {
                                     auto ttl = number(j, "TTL");
                                     if (ttl <= 0)
                                       return error(etcd_errc::lease_gone,
                                                    "lease " + std::to_string(lease) + " has expired");
                                     return ttl;
                                   });
}

expected<std::vector<member>> client::members() const {
  return with_answer<std::vector<member>>(
    *this, "/v3/cluster/member/list", json::object(),
    [](const json& j) -> expected<std::vector<member>> {
      std::vector<member> out;
      if (auto ms = j.find("members"); ms != j.end() && ms->is_array()) {
        for (const auto& m : *ms) {
          member x;
          auto id = m.value("ID", std::string("0"));
          x.id = std::strtoull(id.c_str(), nullptr, 10);
          x.name = m.value("name", std::string());
          if (auto u = m.find("clientURLs"); u != m.end() && u->is_array())
            for (const auto& s : *u)
              if (s.is_string()) x.client_urls.push_back(s.get<std::string>());
          out.push_back(std::move(x));
        }
      }
      return out;
    });
}

// --- watch ------------------------------------------------------------------------------------

struct watch::state {
  const client* owner = nullptr;
  client_options opts;
  std::vector<client::parsed_endpoint> eps;
  std::string prefix;
  std::int64_t next_revision = 0; ///< 0 = from now
  std::function<void(const std::vector<watch_event>&, std::int64_t)> on_events;
  std::function<void(bool, const std::string&)> on_state;
  std::chrono::milliseconds retry{1000};
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  httplib::Client* current = nullptr; ///< the stream's connection, to stop it (under mu)
  std::thread thread;
  std::size_t endpoint = 0;

  void run();
  /// One stream until it breaks; the reason.
  std::string stream_once(const client::parsed_endpoint& ep);
};

std::string watch::state::stream_once(const client::parsed_endpoint& ep) {
  sigpipe_guard no_sigpipe;
  auto opts_long = opts;
  auto http = make_http(ep, opts_long);
  // a stream may be idle for long: progress notifications come every few minutes
  http->set_read_timeout(15 * 60, 0);
  {
    std::lock_guard<std::mutex> lk(mu);
    if (stopping) return "stopped";
    current = http.get();
  }
  json create{{"key", b64(prefix)}, {"range_end", b64(prefix_end(prefix))},
              {"progress_notify", true}};
  if (next_revision > 0) create["start_revision"] = std::to_string(next_revision);
  httplib::Request req;
  req.method = "POST";
  req.path = "/v3/watch";
  req.body = json{{"create_request", create}}.dump();
  req.set_header("Content-Type", "application/json");
  std::string buffer, why;
  bool announced = false;
  req.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
    buffer.append(data, n);
    for (;;) {
      // the gateway writes one JSON object per message, newline-separated
      auto nl = buffer.find('\n');
      if (nl == std::string::npos) break;
      auto line = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
      auto j = json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object()) {
        why = "a watch message that is not JSON";
        return false;
      }
      if (auto e = j.find("error"); e != j.end()) {
        why = e->is_object() ? e->value("message", std::string("error")) : e->dump();
        return false;
      }
      const json& r = j.contains("result") ? j["result"] : j;
      if (r.value("canceled", false)) {
        auto compact = number(r, "compact_revision");
        if (compact > 0) {
          if (on_state)
            on_state(false, "revision " + std::to_string(next_revision) +
                              " was compacted (now " + std::to_string(compact) + ")");
          next_revision = 0; // go on from now; the caller re-reads
          why = "compacted";
        } else {
          why = "canceled: " + r.value("cancel_reason", std::string("by etcd"));
        }
        return false;
      }
      if (!announced) {
        announced = true;
        if (on_state) on_state(true, "");
      }
      std::int64_t rev = 0;
      if (auto h = r.find("header"); h != r.end() && h->is_object()) rev = number(*h, "revision");
      std::vector<watch_event> events;
      if (auto es = r.find("events"); es != r.end() && es->is_array()) {
        for (const auto& e : *es) {
          watch_event ev;
          ev.what = e.value("type", std::string("PUT")) == "DELETE" ? watch_event::kind::del
                                                                     : watch_event::kind::put;
          if (auto kv = e.find("kv"); kv != e.end()) {
            auto parsed = read_kv(*kv);
            if (!parsed) continue;
            ev.kv = std::move(*parsed);
          }
          if (ev.kv.mod_revision > 0) next_revision = ev.kv.mod_revision + 1;
          events.push_back(std::move(ev));
        }
      }
      if (!events.empty() && on_events) on_events(events, rev);
      {
        std::lock_guard<std::mutex> lk(mu);
        if (stopping) return false;
      }
    }
    return true;
  };
  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  bool ok = http->send(req, res, err);
  {
    std::lock_guard<std::mutex> lk(mu);
    current = nullptr;
  }
  if (!why.empty()) return why;
  if (!ok) return ep.text + ": " + httplib::to_string(err);
  if (res.status != 200) return ep.text + ": HTTP " + std::to_string(res.status);
  return ep.text + ": the watch stream ended";
}

void watch::state::run() {
  for (;;) {
    {
      std::lock_guard<std::mutex> lk(mu);
      if (stopping) return;
    }
    const auto& ep = eps[endpoint % eps.size()];
    auto why = stream_once(ep);
    {
      std::unique_lock<std::mutex> lk(mu);
      if (stopping) return;
      if (why != "compacted") {
        if (on_state) on_state(false, why);
        ++endpoint; // try the next member
        cv.wait_for(lk, retry, [this] { return stopping; });
        if (stopping) return;
      }
    }
  }
}

watch::watch(std::shared_ptr<state> s) : s_(std::move(s)) {}

void watch::stop() {
  if (!s_) return;
  {
    std::lock_guard<std::mutex> lk(s_->mu);
    s_->stopping = true;
    if (s_->current) s_->current->stop();
  }
  s_->cv.notify_all();
  if (s_->thread.joinable()) s_->thread.join();
}

watch::~watch() { stop(); }

std::unique_ptr<watch> client::watch_prefix(
    const std::string& prefix, std::int64_t start_revision,
    std::function<void(const std::vector<watch_event>&, std::int64_t)> on_events,
    std::function<void(bool, const std::string&)> on_state, std::chrono::milliseconds retry) const {
  auto s = std::make_shared<watch::state>();
  s->owner = this;
  s->opts = opts_;
  s->eps = eps_;
  s->endpoint = preferred_.load();
  s->prefix = prefix;
  s->next_revision = start_revision;
  s->on_events = std::move(on_events);
  s->on_state = std::move(on_state);
  s->retry = retry;
  auto raw = s.get();
  s->thread = std::thread([raw] { raw->run(); });
  return std::make_unique<watch>(std::move(s));
}

} // namespace mda::etcd
