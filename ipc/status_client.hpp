// The client of the status socket (protocol in status_socket.hpp): what the httpd workers and
// tools call to ask the engine for live status. Plain POSIX behind a header without CAF, so
// worker-side code does not pull the actor framework in (status_client.cpp; the socket helpers
// it shares with the listener are in unix_socket_io.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace mda {

/// Client side: connects to `path`, sends `request` and "\n", reads the answer. The body on
/// "OK <length>" (an answer that ends before <length> bytes is an error: "the answer of
/// '<path>' broke off after N of M bytes", std::errc::connection_aborted); on
/// "ERR <message>" an error with that message (std::errc::protocol_error); connection
/// problems name the failed call, e.g.
/// "connect('/run/x.sock') failed: No such file or directory" (errno's code). `timeout`
/// bounds connecting, sending and each wait for data.
expected<std::string> query_status_socket(const std::string& path, std::string_view request,
                                          std::chrono::milliseconds timeout);

/// One piece of an answer's body in a block from malloc().
struct status_piece {
  char* data = nullptr;
  std::size_t size = 0;
  std::size_t total = 0; ///< the whole body's length, as the answer announced it
};

/// As query_status_socket, handing the body to `sink` in blocks of up to `piece_size` bytes
/// from malloc() as they arrive; `sink` owns each block it gets (free()) and returns false to
/// stop. An error before the first block: nothing was delivered (the caller may still fall
/// back); after it, the answer is truncated. An empty body delivers no block.
status query_status_socket_stream(const std::string& path, std::string_view request,
                                  std::chrono::milliseconds timeout, std::size_t piece_size,
                                  const std::function<bool(status_piece)>& sink);

/// The error after a failed receive (errno): a timeout ("no answer from '<path>' within N ms")
/// or the failed call.
error receive_failed(const std::string& path, std::chrono::milliseconds timeout);

} // namespace mda
