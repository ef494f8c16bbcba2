// Small helpers for unix-domain stream sockets shared by the status socket's listener
// (status_socket.cpp) and its client (status_client.cpp): addresses, timeouts, sending and
// receiving whole texts, errors naming the call and the path. Blocking I/O, no CAF.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include <sys/un.h>

#include "core/error.hpp"

namespace mda::uds {

/// "<call>('<path>') failed: <strerror(errno)>" with errno's code.
error sys_err(const std::string& call, const std::string& path);

/// Fills `addr` for `path`; false when the path is empty or does not fit sun_path.
bool make_address(const std::string& path, sockaddr_un& addr);

/// The error for a path make_address refused.
error too_long(const std::string& path);

/// SO_RCVTIMEO and SO_SNDTIMEO: each blocking call waits at most `t`.
void set_timeouts(int fd, std::chrono::milliseconds t);

/// Sends all of `data`; false on an error or a timeout (errno says which).
bool send_all(int fd, std::string_view data);

/// Receives into `out` (after what it holds) until the peer closes or `out` holds `until`
/// bytes, straight into the string, which grows geometrically. false on an error or a
/// timeout (errno says which), `out` then holding what came.
bool recv_into(int fd, std::string& out, std::size_t until);

/// The line without its trailing CR/LF.
std::string trim_line(std::string_view line);

} // namespace mda::uds
