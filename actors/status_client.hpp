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

/// Client side: connects to `path`, sends `request` and "\n", reads the answer until the
/// server closes. The body on "OK"; on "ERR <message>" an error with that message
/// (std::errc::protocol_error); connection problems name the failed call, e.g.
/// "connect('/run/x.sock') failed: No such file or directory" (errno's code). `timeout`
/// bounds connecting, sending and each wait for data.
expected<std::string> query_status_socket(const std::string& path, std::string_view request,
                                          std::chrono::milliseconds timeout);

/// One piece of an answer's body in a block from malloc().
struct status_piece {
  char* data = nullptr;
  std::size_t size = 0;
};

/// An answer's body in the pieces it arrived in (up to 1 MB each). The pieces are freed with
/// the object; a caller may take one over (set its data to nullptr) and free() it later.
struct status_pieces {
  std::vector<status_piece> pieces;
  status_pieces() = default;
  status_pieces(const status_pieces&) = delete;
  status_pieces& operator=(const status_pieces&) = delete;
  ~status_pieces() { clear(); }
  void clear();
  std::size_t size() const; ///< bytes in all pieces
};

/// As query_status_socket, but the body stays in the blocks it was received into, for a
/// caller that passes them on without copying (the md-status handler hands them to Apache as
/// heap buckets): 15 MB of md-status at 10,000 MDs are not copied again.
expected<std::unique_ptr<status_pieces>> query_status_socket_pieces(const std::string& path,
                                                                    std::string_view request,
                                                                    std::chrono::milliseconds timeout);

/// As query_status_socket, handing the body to `sink` in blocks of up to `piece_size` bytes
/// from malloc() as they arrive; `sink` owns each block it gets (free()) and returns false to
/// stop. An error before the first block: nothing was delivered (the caller may still fall
/// back); after it, the answer is truncated.
status query_status_socket_stream(const std::string& path, std::string_view request,
                                  std::chrono::milliseconds timeout, std::size_t piece_size,
                                  const std::function<bool(status_piece)>& sink);

/// The error after a failed receive (errno): a timeout ("no answer from '<path>' within N ms")
/// or the failed call.
error receive_failed(const std::string& path, std::chrono::milliseconds timeout);

} // namespace mda
