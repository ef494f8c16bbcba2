// The client of the status socket (protocol in status_socket.hpp): what the httpd workers and
// tools call to ask the engine for live status. Plain POSIX behind a header without CAF, so
// worker-side code does not pull the actor framework in. Implemented in status_socket.cpp
// beside the listener, which shares its socket helpers.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace mda {

/// Client side: connects to `path`, sends `request` and "\n", reads the answer until the
/// server closes. The body on "OK"; on "ERR <message>" an error with that message
/// (std::errc::protocol_error); connection problems name the failed call, e.g.
/// "connect('/run/x.sock') failed: No such file or directory" (errno's code). `timeout`
/// bounds connecting, sending and each wait for data.
expected<std::string> query_status_socket(const std::string& path, std::string_view request,
                                          std::chrono::milliseconds timeout);

} // namespace mda
