// Live status queries over a unix-domain socket: the listener beside the status actor, and
// the client the httpd workers (and tools) use, with a short timeout and the status file as
// their fallback (DESIGN.md, process model).
//
// Protocol, one query per connection: the client sends one line (at most 1024 bytes, "\n"
// ends it); the server answers and closes.
//   "GET md-status"          -> all MDs, md-status JSON without logs (md_status_all_json)
//   "GET md-status <name>"   -> what mod_md's md-status handler answers for the path "/<name>":
//                               the MD of that name or domain with its logs, else all MDs
//   "GET snapshot"           -> the whole snapshot JSON (status/snapshot.hpp to_json)
// Answer: "OK\n" followed by the body up to the end of the stream, or "ERR <message>\n".
// The listener is one thread outside the actors: it serves one connection at a time (each
// bounded by 1 s socket timeouts), asks the status actor with `ask_timeout`, renders the JSON
// itself, and holds only a weak reference to the actor.
// The client (query_status_socket) is declared in status_client.hpp, free of CAF headers.
// Not here: the status file (status.hpp), HTTP, access control beyond the socket's mode.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include <sys/types.h>

#include <caf/actor_addr.hpp>
#include <mutex>
#include <optional>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

#include "actors/actors.hpp"
#include "actors/status_client.hpp"
#include "core/error.hpp"

namespace mda {

/// The longest request line accepted.
constexpr std::size_t k_status_request_max = 1024;

/// The md-status document of all MDs as the status actor last published it (rendered off
/// the actor, with the status file), with the actor's update count it was rendered at: the
/// listener answers "GET md-status" from it while that count is still current, without
/// copying and rendering thousands of MDs per request. Thread-safe.
class rendered_status {
 public:
  void set(std::string md_status_all, std::uint64_t version);
  /// The document when it was rendered at `version`, else nullptr.
  std::shared_ptr<const std::string> md_status_all(std::uint64_t version) const;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const std::string> all_;
  std::uint64_t version_ = 0;
};

/// The answer to one request line; `fetch` gets the snapshot (the listener asks the actor).
/// "GET md-status" comes from `rendered` when `version` (the actor's update count now) says
/// it is current. Pure apart from the functions: unit-testable without a socket.
std::string answer_status_request(std::string_view line,
                                  const std::function<caf::expected<status_snapshot>()>& fetch,
                                  const rendered_status* rendered = nullptr,
                                  const std::function<std::optional<std::uint64_t>()>& version = {});

namespace detail {
struct status_socket_fds;
} // namespace detail

class status_socket_server {
 public:
  /// Creates the socket at `path` with `mode` and listens; a stale socket file (nobody
  /// listening) is replaced, anything else in the way is an error. No thread yet.
  static expected<std::unique_ptr<status_socket_server>> bind(const std::string& path,
                                                              mode_t mode);

  /// Starts the listener thread asking `status` (held weakly). Once only.
  void start(caf::actor_system& sys, const status_actor& status, caf::timespan ask_timeout,
             std::shared_ptr<const rendered_status> rendered = nullptr);

  /// Wakes and joins the thread, removes the socket file; the socket closes when the thread
  /// is gone. Idempotent; not for concurrent calls. Called on the listener thread itself
  /// (it held the last reference to the status actor, whose end stops this server) it
  /// detaches instead: the thread ends after the answer it is writing.
  void stop();

  const std::string& path() const { return path_; }

  ~status_socket_server();
  status_socket_server(const status_socket_server&) = delete;
  status_socket_server& operator=(const status_socket_server&) = delete;

 private:
  status_socket_server(std::string path, std::shared_ptr<detail::status_socket_fds> fds);

  std::string path_;
  std::shared_ptr<detail::status_socket_fds> fds_; ///< shared with the listener thread
  std::thread thread_;
  std::atomic<bool> stopped_{false};
};


} // namespace mda
