// What the status socket tests share: MDs for snapshots, a listener that never answers, the
// framing of an "OK" answer and reading a body in pieces through the client.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "core/timefmt.hpp"
#include "ipc/status_client.hpp"
#include "status/snapshot.hpp"

namespace mda::socket_test {

inline md_snapshot md_named(const std::string& name) {
  md_snapshot m;
  m.md.name = name;
  m.md.domains = {name, "www." + name};
  m.watched = true;
  return m;
}

inline status_snapshot two_mds() {
  status_snapshot s;
  s.published = from_unix(1767225600);
  s.mds = {md_named("b.example"), md_named("a.example")};
  return s;
}

inline bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

/// A listening socket that never accepts: connects succeed, answers never come.
inline int silent_listener(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(fd, 4) == 0);
  return fd;
}

/// The whole "OK" answer with this body.
inline std::string ok(const std::string& body) { return "OK " + std::to_string(body.size()) + "\n" + body; }

/// The body through query_status_socket_stream in pieces of `piece_size`, each checked for
/// its size; the error when the stream fails (`pieces` counts what arrived before).
struct streamed {
  std::string body;
  std::size_t pieces = 0;
  std::string error;
};
inline streamed stream(const std::string& path, const std::string& request, std::size_t piece_size,
                       std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) {
  streamed out;
  auto st = query_status_socket_stream(path, request, timeout, piece_size, [&](status_piece p) {
    CHECK(p.size > 0);
    CHECK(p.size <= piece_size);
    out.body.append(p.data, p.size);
    std::free(p.data);
    ++out.pieces;
    return true;
  });
  if (!st) out.error = st.error().message;
  return out;
}

} // namespace mda::socket_test
