// Bounds on what a server may send back in one HTTP exchange, kept on the stream cpp-httplib
// 0.11.4 reads the response from. The library alone bounds a response head only per read (the
// stall timeout): one header line over 8 KiB fails, but only after all of it was read into
// memory, and neither the number of lines nor the time the head takes is limited — a server
// answering with a megabyte of headers, or trickling one byte per second, was read for as long
// as it went on.
//
// - response_head_meter (pure): counts a response head byte by byte as the reader takes it —
//   status line, header lines, and any 1xx interim heads before the final one — and says when
//   it ends (the empty line) or exceeds k_max_response_head bytes or k_max_response_lines lines.
// - bounded_stream: an httplib::Stream over the connected socket (plain or TLS, the socket
//   non-blocking while the stream lives) that waits with poll up to the earlier of the stall
//   timeout and the deadline of the phase: the head must be complete `head_timeout` after the
//   request starts going out, the whole response by `deadline`. The body on the wire (chunk
//   framing, compressed bytes) may take max_body + k_max_response_head bytes; the decoded body's
//   own cap stays with the caller (http_client.cpp's content receiver). A bound overstepped
//   makes the read fail and is kept as `fault()`.
// - bounded_client<Base>: a cpp-httplib client (ClientImpl or SSLClient) whose every exchange
//   goes through a bounded_stream with the bounds set in `watch` before the request.
// Not here: connecting, TLS set-up and verification, the error messages (http_client.cpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include <httplib.h>

namespace mda::acme {

/// The most bytes a response head may have (status line and header lines, interim 1xx heads
/// included). Let's Encrypt's and pebble's heads are under 2 KB (about 15 lines, the longest a
/// Link); curl, mod_md's transport, stops at 300 KiB. 64 KiB is thirty times what any ACME
/// server or OCSP responder sends and keeps what one exchange holds in memory small.
inline constexpr std::size_t k_max_response_head = 64 * 1024;

/// The most lines a response head may have (status line included): Apache's own bound on a
/// request's header fields (LimitRequestFields) is 100; an ACME answer has about 15.
inline constexpr std::size_t k_max_response_lines = 100;

class response_head_meter {
 public:
  enum class verdict { head, done, too_large, too_many_lines };
  /// Takes the next byte of the response; where it stands after it. Once `done` (or over a
  /// bound) the answer stays.
  verdict take(char c);
  std::size_t bytes() const { return bytes_; }

 private:
  verdict state_ = verdict::head;
  std::size_t bytes_ = 0, lines_ = 0;
  std::size_t line_length_ = 0; ///< bytes of the current line so far
  char line_start_ = 0;         ///< its first byte
  bool first_line_ = true;      ///< the current line is a status line
  bool interim_ = false;        ///< the current head is a 1xx one
  char status_[13] = {};        ///< the first 12 bytes of the current status line
};

using steady_time = std::chrono::steady_clock::time_point;

/// The bounds of one exchange.
struct response_bounds {
  steady_time deadline{};                      ///< the whole response
  std::chrono::milliseconds head_timeout{0};   ///< the head, counted from the request
  std::chrono::milliseconds read_timeout{0};   ///< a stall while reading
  std::chrono::milliseconds write_timeout{0};  ///< a stall while writing
  std::size_t max_body = 0;                    ///< decoded body cap; the wire gets k_max_response_head more
};

/// Which bound a response overstepped.
enum class response_fault { none, head_too_large, head_too_many_lines, head_overdue, overdue, body_too_large };

class bounded_stream final : public httplib::Stream {
 public:
  /// `ssl` null: plain TCP on `fd`.
  bounded_stream(int fd, SSL* ssl, const response_bounds& b);
  ~bounded_stream() override;
  bounded_stream(const bounded_stream&) = delete;
  bounded_stream& operator=(const bounded_stream&) = delete;

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  socket_t socket() const override { return fd_; }

  response_fault fault() const { return fault_; }

 private:
  bool wait(short events, std::chrono::milliseconds stall) const;
  ssize_t fill();

  int fd_;
  SSL* ssl_;
  response_bounds b_;
  steady_time head_deadline_;
  int restore_flags_ = -1; ///< the socket's flags to put back, when we changed them
  response_head_meter meter_;
  bool in_head_ = true;
  std::size_t body_wire_ = 0;
  std::string buf_;
  std::size_t buf_off_ = 0;
  mutable response_fault fault_ = response_fault::none;
};

/// Set before each request on a bounded_client; read after it.
struct response_watch {
  response_bounds bounds;
  response_fault fault = response_fault::none;
};

template <class Base>
class bounded_client final : public Base {
 public:
  using Base::Base;
  response_watch watch;

 private:
  // cpp-httplib hands every exchange on the connection to this (private virtual) hook.
  bool process_socket(const typename Base::Socket& socket,
                      std::function<bool(httplib::Stream&)> callback) override {
    bounded_stream strm(socket.sock, socket.ssl, watch.bounds);
    const bool ok = callback(strm);
    watch.fault = strm.fault();
    return ok;
  }
};

} // namespace mda::acme
