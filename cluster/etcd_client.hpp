// A client of etcd's v3 API through its JSON gateway (etcd 3.4: POST /v3/kv/range, /v3/kv/put,
// /v3/kv/deleterange, /v3/kv/txn, /v3/lease/grant, /v3/lease/keepalive, /v3/lease/revoke,
// /v3/watch, /v3/cluster/member/list). Keys and values travel base64-encoded and 64-bit numbers
// as JSON strings, as the gateway does; this client hides both: keys and values are bytes.
//
// - Endpoints: "http://host:port" or "https://host:port" (IPv6 as [addr]), one or more members
//   of one cluster. A call goes to the endpoint that answered last; when it cannot be reached
//   (connection refused, timeout, a 5xx such as "etcdserver: no leader") the next one is tried,
//   each at most once per call. Every failure names the endpoint(s) and what happened.
// - TLS: the members' certificates are verified against `ca_file` (else the system's roots);
//   a client certificate and key (`cert_file`, `key_file`) are presented when given.
// - Thread-safety: a client may be used from many threads at once (each call makes its own
//   connection); the endpoint preference is an atomic.
// - watch: one thread per watch keeps a streaming POST /v3/watch open and calls back with
//   every event in revision order; when the stream breaks it reconnects (to the next endpoint)
//   from the revision after the last one delivered, so no event is lost or repeated unless
//   etcd compacted that revision away (then `on_error` hears it and the watch goes on from the
//   current revision: the caller re-reads).
// Not here: what the keys mean (etcd_store.hpp, cluster.hpp).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace mda::etcd {

/// What went wrong talking to etcd.
enum class etcd_errc {
  ok = 0,
  unreachable = 1,  ///< no endpoint answered (connection, timeout, 5xx)
  rejected = 2,     ///< an endpoint answered with an error (4xx, a gRPC error in the body)
  bad_answer = 3,   ///< an answer that does not parse as the API says
  bad_config = 4,   ///< an endpoint URL or TLS file that cannot be used
  lease_gone = 5,   ///< the lease expired or was revoked
  compacted = 6,    ///< a watch asked for a revision etcd no longer has
};
const std::error_category& etcd_category() noexcept;
std::error_code make_error_code(etcd_errc e) noexcept;

struct client_options {
  std::vector<std::string> endpoints; ///< at least one
  std::string ca_file;                ///< PEM bundle for https endpoints ("" = system roots)
  std::string cert_file, key_file;    ///< client certificate (both or neither)
  std::chrono::milliseconds timeout{std::chrono::seconds(5)}; ///< per request and endpoint
};

struct key_value {
  std::string key;
  std::string value;
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;
  std::int64_t version = 0;
  std::int64_t lease = 0;
};

struct range_result {
  std::vector<key_value> kvs;
  std::int64_t revision = 0; ///< the store's revision when answered
  bool more = false;         ///< a limit cut the answer
  std::int64_t count = 0;
};

/// One comparison of a transaction.
struct compare {
  enum class target { version, create, mod, value, lease };
  enum class result { equal, greater, less, not_equal };
  std::string key;
  target what = target::create;
  result op = result::equal;
  std::int64_t number = 0; ///< for version, create, mod, lease
  std::string value;       ///< for value
  /// "the key does not exist" (create revision 0)
  static compare absent(std::string key);
  /// "the key is held by this lease"
  static compare held_by(std::string key, std::int64_t lease);
  static compare mod_revision_is(std::string key, std::int64_t rev);
};

/// One operation of a transaction.
struct txn_op {
  enum class kind { put, del, range };
  kind what = kind::put;
  std::string key;
  std::string value;     ///< put
  std::string range_end; ///< del / range: "" = the key alone
  std::int64_t lease = 0;
  static txn_op put(std::string key, std::string value, std::int64_t lease = 0);
  static txn_op del(std::string key);
  static txn_op del_prefix(const std::string& prefix);
  static txn_op get(std::string key);
};

struct txn_result {
  bool succeeded = false;
  std::int64_t revision = 0;
  std::vector<range_result> ranges; ///< the answers of the range operations, in order
};

struct watch_event {
  enum class kind { put, del };
  kind what = kind::put;
  key_value kv; ///< for del: key and mod_revision only
};

struct member {
  std::uint64_t id = 0;
  std::string name;
  std::vector<std::string> client_urls;
};

/// "<prefix>" with its last byte incremented: the range_end that means "every key with this
/// prefix". "" stays "" ... the whole keyspace is "\0".
std::string prefix_end(const std::string& prefix);

class watch;

class client {
 public:
  /// Checks the options (URLs parse, TLS files readable); no request is made.
  static expected<std::shared_ptr<client>> make(client_options opts);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  const client_options& options() const { return opts_; }

  /// One key (kvs empty when absent).
  expected<range_result> get(const std::string& key) const;
  /// Every key starting with prefix, in key order. limit 0 = all; keys_only leaves values out.
  expected<range_result> get_prefix(const std::string& prefix, std::int64_t limit = 0,
                                    bool keys_only = false) const;
  /// Keys in [from, to), for paging through a large prefix.
  expected<range_result> get_range(const std::string& from, const std::string& to,
                                   std::int64_t limit, bool keys_only = false) const;
  /// The revision of the put.
  expected<std::int64_t> put(const std::string& key, const std::string& value,
                             std::int64_t lease = 0) const;
  /// The number of keys deleted.
  expected<std::int64_t> del(const std::string& key) const;
  expected<std::int64_t> del_prefix(const std::string& prefix) const;
  expected<txn_result> txn(const std::vector<compare>& compares,
                           const std::vector<txn_op>& success,
                           const std::vector<txn_op>& failure = {}) const;

  /// A lease of ttl seconds; its id.
  expected<std::int64_t> grant(std::int64_t ttl_seconds) const;
  /// Renews a lease; the TTL granted again. etcd_errc::lease_gone when it expired.
  expected<std::int64_t> keep_alive(std::int64_t lease) const;
  status revoke(std::int64_t lease) const;
  /// Seconds a lease has left; etcd_errc::lease_gone when it has none.
  expected<std::int64_t> time_to_live(std::int64_t lease) const;

  expected<std::vector<member>> members() const;

  /// Starts watching keys with `prefix` from `start_revision` (0 = from now). `on_events` is
  /// called on the watch's thread; `on_state` with true when the stream is up, false with the
  /// reason when it broke (it reconnects by itself every `retry` until stopped).
  std::unique_ptr<watch> watch_prefix(
      const std::string& prefix, std::int64_t start_revision,
      std::function<void(const std::vector<watch_event>&, std::int64_t revision)> on_events,
      std::function<void(bool up, const std::string& why)> on_state,
      std::chrono::milliseconds retry = std::chrono::seconds(1)) const;

  /// POSTs a JSON body to one gateway path; the answer's body. For the calls above.
  expected<std::string> call(const std::string& path, const std::string& body) const;

  struct parsed_endpoint {
    bool tls = false;
    std::string host;
    int port = 0;
    std::string text;
  };

 private:
  explicit client(client_options opts, std::vector<parsed_endpoint> eps);
  client_options opts_;
  std::vector<parsed_endpoint> eps_;
  mutable std::atomic<std::size_t> preferred_{0};
  friend class watch;
};

/// A running watch (see client::watch_prefix); stops and joins its thread when destroyed.
class watch {
 public:
  ~watch();
  void stop();
  struct state;
  explicit watch(std::shared_ptr<state> s);

 private:
  std::shared_ptr<state> s_;
};

/// Parses an endpoint URL; the error names it.
expected<client::parsed_endpoint> parse_endpoint(const std::string& url);

} // namespace mda::etcd

namespace std {
template <>
struct is_error_code_enum<mda::etcd::etcd_errc> : true_type {};
} // namespace std
