// Live status queries over a unix-domain socket: the listener the engine runs beside its
// status actor, and the client the httpd workers (and tools) use, with a short timeout and the
// status file as their fallback (DESIGN.md, process model). No CAF: the listener asks a
// snapshot_source for what the md_status_cache does not hold; the engine's source asks the
// status actor (actors/status.cpp, status_actor_source).
//
// Protocol, one query per connection: the client sends one line (at most 1024 bytes, "\n"
// ends it); the server answers and closes.
//   "GET md-status"          -> all MDs, md-status JSON without logs (md_status_all_json),
//                               joined from the status actor's per-MD fragments
//   "GET md-status <name>"   -> what mod_md's md-status handler answers for the path "/<name>":
//                               the MD of that name or domain with its logs (the actor
//                               copies just that MD), else all MDs
//   "GET snapshot"           -> the whole snapshot JSON (status/snapshot.hpp to_json)
//   "GET metrics"            -> Prometheus' text format 0.0.4 of every MD (status/metrics.hpp),
//                               joined from the status actor's per-MD metric fragments;
//   "GET metrics openmetrics"   the same in OpenMetrics 1.0 (the md-metrics handler)
//   "RENEW <name>"           -> a renewal of the MD of that exact name now, whatever its renew
//                               window says (mdctl renew): the domain actor's decision text,
//                               "renewal started: <reason>", or ERR with why not
//   "GET snapshot <name>"    -> the snapshot JSON of one MD: the MD named <name>, else the
//                               first listing <name> as a domain, with its stapling entries;
//                               no MD when none matches (what /.httpd/certificate-status asks;
//                               an MD of that very name comes from the actor's per-MD texts
//                               without asking it, "published" being the listener's clock)
// Answer: "OK <length>\n" followed by a body of exactly <length> bytes, or "ERR <message>\n";
// then the server closes. The length lets a client tell a whole answer from one broken off
// (the engine gone mid-answer closes the stream just as the end of an answer does).
// The listener serves many clients at once, outside the actors (the engine's source holds
// only a weak reference to the status actor):
// - one loop thread polls the listening socket and every connection, all non-blocking: it
//   reads request lines, answers "GET md-status" and "GET snapshot <name>" from the actor's
//   per-MD texts (md_status_cache) itself when it can, and writes every answer as far as
//   each reader takes it, so a slow client delays nobody else;
// - k_status_answer_threads answer threads take the other requests from a queue, ask their
//   snapshot_source (the engine's asks the status actor, with its ask timeout) and render
//   the JSON;
// - a client must send its whole request line within k_status_request_deadline of being
//   accepted (not per byte), else it gets "ERR the request line did not come within 1000 ms"
//   and is dropped; a client that takes no byte of its answer for k_status_write_stall is
//   dropped; at most k_status_max_clients connections are served at once: one more is
//   accepted, told "ERR too many clients at once" and closed at once (its worker falls back
//   to the status file instead of waiting in the backlog). When no descriptor is left
//   (EMFILE), accepting pauses for 100 ms.
// The client (query_status_socket) is declared in status_client.hpp, free of CAF headers.
// Not here: the status actor and asking it (actors/status.hpp), the status file, HTTP, access
// control beyond the socket's mode.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <sys/types.h>

#include "core/error.hpp"
#include "ipc/status_client.hpp"
#include "status/metrics.hpp"
#include "status/snapshot.hpp"

namespace mda {

/// The longest request line accepted.
constexpr std::size_t k_status_request_max = 1024;
/// How long a client has for its whole request line, from its accept.
constexpr std::chrono::milliseconds k_status_request_deadline{1000};
/// How long a client may take no byte of its answer before it is dropped.
constexpr std::chrono::milliseconds k_status_write_stall{1000};
/// Connections served at once (the 50 slow clients of a test and a busy Apache's workers fit).
constexpr std::size_t k_status_max_clients = 256;
/// Threads that ask the snapshot source and render answers other than "GET md-status".
constexpr std::size_t k_status_answer_threads = 2;

/// One MD's part of the status file's text (status/snapshot.hpp): its entry
/// (snapshot_md_text) and the entries of its staplings (snapshot_stapling_text) in (domain,
/// id) order.
struct md_snapshot_texts {
  std::shared_ptr<const std::string> entry;
  std::vector<std::shared_ptr<const std::string>> staplings;
};

/// The md-status fragment (status/md_status.hpp md_status_fragment) and the snapshot texts of
/// every MD, kept by the status actor: it re-renders an MD's texts in the handler of that
/// MD's (or its staplings') update, so the listener answers "GET md-status" by joining the
/// fragments and "GET snapshot <name>" from that MD's texts, as current as the actor, without
/// asking it and without rendering per MD per request. Thread-safe; the texts are shared with
/// the answers, never copied.
class md_status_cache {
 public:
  void set(const std::string& name, std::string fragment);
  void set_snapshot(const std::string& name, md_snapshot_texts texts);
  /// MDCertificateCheck, as the snapshot carries it.
  void set_cert_check(std::string name, std::string url);
  /// MD `name`'s metric samples (status/metrics.hpp md_metrics_fragment).
  void set_metrics(const std::string& name, metrics_fragment fragment);
  /// What the metrics say of the engine itself (`up` is set by metrics()).
  void set_engine(engine_figures e);
  /// Removes every text of MD `name`.
  void erase(const std::string& name);
  /// The metrics of every MD in name order (metrics_join), the engine up; nullopt once closed.
  std::optional<std::string> metrics(metrics_format f) const;
  /// The actor has ended: fragments() and snapshot() give nullopt from now on.
  void close();
  /// The fragments in name order; nullopt once closed.
  std::optional<std::vector<std::shared_ptr<const std::string>>> fragments() const;
  /// The snapshot of the MD named exactly `name` ("published" = now): what the actor's
  /// (get_atom, snapshot_atom, name) gives for an MD of that name, as text; nullopt when no
  /// MD has that name, or once closed.
  std::optional<std::string> snapshot(const std::string& name) const;
  std::size_t size() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const std::string>> by_name_;
  std::map<std::string, md_snapshot_texts> snapshots_;
  std::map<std::string, std::shared_ptr<const metrics_fragment>> metrics_;
  engine_figures engine_;
  std::string cert_check_name_, cert_check_url_;
  bool closed_ = false;
};

/// One answer, written as `line` ("OK <body length>\n" or "ERR <message>\n"), then the body:
/// `head`, then `fragments` separated by `separator`, then `tail`. "GET md-status" answered
/// from the cache keeps the shared fragments (sent with one sendmsg per batch, never joined
/// into one string); other bodies are all in `head`. Made by ok_answer / error_answer.
struct status_answer {
  std::string line;
  std::string head;
  std::vector<std::shared_ptr<const std::string>> fragments;
  std::string_view separator;
  std::string_view tail;
  /// The texts in order: views into this answer, valid while it lives unchanged.
  std::vector<std::string_view> pieces() const;
  /// Everything as one text.
  std::string str() const;
};

/// "OK" with the length of the body these pieces make.
status_answer ok_answer(std::string head, std::vector<std::shared_ptr<const std::string>> fragments = {},
                        std::string_view separator = {}, std::string_view tail = {});
/// "ERR <message>" (line breaks in `message` become blanks: the message is one line).
status_answer error_answer(std::string message);

using snapshot_fetch = std::function<expected<status_snapshot>()>;
/// Gets the snapshot of the one MD named so, else listing it as a domain (no MD: none).
using md_snapshot_fetch = std::function<expected<status_snapshot>(const std::string&)>;

/// Starts a renewal of the MD named so now (RENEW): the engine's answer text.
using renew_request = std::function<expected<std::string>(const std::string&)>;

/// Where an answer thread gets the snapshots the cache does not hold: all MDs, and one MD;
/// and where it passes RENEW requests (empty: "ERR 'RENEW' is not served here").
/// An error's message is the answer ("ERR <message>").
struct snapshot_source {
  snapshot_fetch all;
  md_snapshot_fetch one;
  renew_request renew;
};

/// The answer to "RENEW <md>" (mdctl renew): `renew`'s text, or its error; nullopt for any
/// other line. Who may send it is who may connect: the socket's mode (0600) and its
/// directory's (<store>/mdactor, 0700) leave that to root and the engine's User.
std::optional<status_answer> answer_renew_request(std::string_view line, const renew_request& renew);
/// Makes one answer thread's source, called on that thread as it starts (a source may hold
/// what belongs to one thread, as the engine's scoped actor); the source ends with the thread.
using snapshot_source_maker = std::function<snapshot_source()>;

/// The answer to a request line that `cache` answers alone: "GET md-status", "GET metrics
/// [openmetrics]", and "GET snapshot <name>" for an MD of exactly that name; nullopt for
/// anything else.
std::optional<status_answer> answer_from_cache(std::string_view line, const md_status_cache& cache);

/// The answer to one request line; `fetch` gets the whole snapshot (the listener asks its
/// source). What answer_from_cache answers comes from `cache` when one is given, else
/// "GET md-status" is rendered from the snapshot; "GET md-status <name>" asks `fetch_one` when
/// given (falling back to all MDs when no MD matches), else looks in the whole snapshot;
/// "GET snapshot <name>" not in the cache needs `fetch_one` (without it: an error answer);
/// "GET metrics [openmetrics]" without a cache is rendered from the whole snapshot.
/// Pure apart from the functions: unit-testable without a socket.
status_answer answer_status_request(std::string_view line, const snapshot_fetch& fetch,
                                    const md_status_cache* cache = nullptr,
                                    const md_snapshot_fetch& fetch_one = {});

namespace detail {
struct status_socket_fds;
struct status_socket_core;
} // namespace detail

class status_socket_server {
 public:
  /// Creates the socket at `path` with `mode` and listens; a stale socket file (nobody
  /// listening) is replaced, anything else in the way is an error. No thread yet.
  static expected<std::unique_ptr<status_socket_server>> bind(const std::string& path,
                                                              mode_t mode);

  /// Starts the loop thread and the answer threads, each asking the source `make_source`
  /// makes for it. Once only.
  void start(snapshot_source_maker make_source, std::shared_ptr<const md_status_cache> cache = nullptr);

  /// Wakes and joins the threads, removes the socket file; the socket closes when the last
  /// thread is gone (connections still open are closed unanswered). Idempotent; not for
  /// concurrent calls. Called on an answer thread (in the engine: it held the last reference
  /// to the status actor, whose end stops this server) that thread is detached instead: it
  /// ends after the answer it is making.
  void stop();

  const std::string& path() const { return path_; }

  ~status_socket_server();
  status_socket_server(const status_socket_server&) = delete;
  status_socket_server& operator=(const status_socket_server&) = delete;

 private:
  status_socket_server(std::string path, std::shared_ptr<detail::status_socket_fds> fds);

  std::string path_;
  std::shared_ptr<detail::status_socket_core> core_; ///< shared with the threads
  std::vector<std::thread> threads_; ///< the answer threads, then the loop thread
  std::atomic<bool> stopped_{false};
};


} // namespace mda
