// The bounded response stream of http/response_stream.hpp.
#include "http/response_stream.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace mda::acme {

namespace {

/// What one read from the connection asks for: a TLS record's worth.
constexpr std::size_t k_read_chunk = 16 * 1024;

using steady = std::chrono::steady_clock;

void address_of(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  auto* sa = reinterpret_cast<sockaddr*>(&a);
  if ((peer ? ::getpeername(fd, sa, &len) : ::getsockname(fd, sa, &len)) != 0) return;
  char host[NI_MAXHOST], serv[NI_MAXSERV];
  if (::getnameinfo(sa, len, host, sizeof host, serv, sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV) != 0) return;
  ip = host;
  port = std::atoi(serv);
}

} // namespace

response_head_meter::verdict response_head_meter::take(char c) {
  if (state_ != verdict::head) return state_;
  if (++bytes_ > k_max_response_head) return state_ = verdict::too_large;
  if (first_line_ && line_length_ < 12) status_[line_length_] = c;
  const bool blank = line_length_ == 1 && c == '\n' && line_start_ == '\r';
  if (line_length_ == 0) line_start_ = c;
  ++line_length_;
  if (c != '\n') return state_;
  if (++lines_ > k_max_response_lines) return state_ = verdict::too_many_lines;
  if (first_line_) {
    // "HTTP/1.x 1xx": an interim answer, another head follows its empty line
    interim_ = std::strncmp(status_, "HTTP/1.", 7) == 0 && status_[8] == ' ' && status_[9] == '1';
    first_line_ = false;
  } else if (blank) {
    if (interim_) first_line_ = true;
    else state_ = verdict::done;
  }
  line_length_ = 0;
  return state_;
}

bounded_stream::bounded_stream(int fd, SSL* ssl, const response_bounds& b)
    : fd_(fd), ssl_(ssl), b_(b), head_deadline_(std::min(b.deadline, steady::now() + b.head_timeout)) {
  // Non-blocking while we read: a TLS record that arrives a byte at a time would otherwise
  // keep SSL_read inside recv() past every deadline.
  const int flags = ::fcntl(fd_, F_GETFL);
  if (flags >= 0 && !(flags & O_NONBLOCK) && ::fcntl(fd_, F_SETFL, flags | O_NONBLOCK) == 0)
    restore_flags_ = flags;
  if (ssl_) SSL_clear_mode(ssl_, SSL_MODE_AUTO_RETRY); // as cpp-httplib's own TLS stream
}

bounded_stream::~bounded_stream() {
  if (restore_flags_ >= 0) ::fcntl(fd_, F_SETFL, restore_flags_);
}

bool bounded_stream::wait(short events, std::chrono::milliseconds stall) const {
  const auto start = steady::now();
  const steady_time phase_end = in_head_ ? head_deadline_ : b_.deadline;
  const steady_time until = std::min(start + stall, phase_end);
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - steady::now()).count();
    if (left <= 0) break;
    pollfd p{fd_, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, INT_MAX)));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
  if (phase_end <= start + stall) // the phase's deadline ran out, not the stall timeout
    fault_ = in_head_ && head_deadline_ < b_.deadline ? response_fault::head_overdue : response_fault::overdue;
  return false;
}

ssize_t bounded_stream::fill() {
  buf_.resize(k_read_chunk);
  buf_off_ = 0;
  for (;;) {
    // a server that never makes us wait still meets the deadline here
    if (steady::now() >= (in_head_ ? head_deadline_ : b_.deadline)) {
      fault_ = in_head_ && head_deadline_ < b_.deadline ? response_fault::head_overdue : response_fault::overdue;
      buf_.clear();
      return -1;
    }
    if (ssl_) {
      ERR_clear_error();
      const int r = SSL_read(ssl_, buf_.data(), static_cast<int>(buf_.size()));
      if (r > 0) {
        buf_.resize(static_cast<std::size_t>(r));
        return r;
      }
      const int e = SSL_get_error(ssl_, r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, b_.read_timeout)) continue;
        buf_.clear();
        return -1;
      }
      buf_.clear();
      return r == 0 ? 0 : -1;
    }
    const ssize_t n = ::recv(fd_, buf_.data(), buf_.size(), 0);
    if (n > 0) {
      buf_.resize(static_cast<std::size_t>(n));
      return n;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && wait(POLLIN, b_.read_timeout)) continue;
    buf_.clear();
    return n == 0 ? 0 : -1;
  }
}

ssize_t bounded_stream::read(char* ptr, size_t size) {
  if (fault_ != response_fault::none) return -1;
  if (buf_off_ >= buf_.size())
    if (const ssize_t got = fill(); got <= 0) return got;
  const std::size_t n = std::min(size, buf_.size() - buf_off_);
  std::size_t head = 0; // of these n bytes, how many belong to the head
  for (; in_head_ && head < n; ++head) {
    switch (meter_.take(buf_[buf_off_ + head])) {
      case response_head_meter::verdict::head: break;
      case response_head_meter::verdict::done: in_head_ = false; break;
      case response_head_meter::verdict::too_large: fault_ = response_fault::head_too_large; return -1;
      case response_head_meter::verdict::too_many_lines: fault_ = response_fault::head_too_many_lines; return -1;
    }
  }
  body_wire_ += n - head;
  if (body_wire_ > b_.max_body + k_max_response_head) {
    fault_ = response_fault::body_too_large;
    return -1;
  }
  std::memcpy(ptr, buf_.data() + buf_off_, n);
  buf_off_ += n;
  return static_cast<ssize_t>(n);
}

ssize_t bounded_stream::write(const char* ptr, size_t size) {
  if (fault_ != response_fault::none) return -1;
  size = std::min<size_t>(size, INT_MAX);
  for (;;) {
    if (ssl_) {
      ERR_clear_error();
      const int r = SSL_write(ssl_, ptr, static_cast<int>(size)); // retried with the same arguments
      if (r > 0) return r;
      const int e = SSL_get_error(ssl_, r);
      if ((e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) &&
          wait(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, b_.write_timeout))
        continue;
      return -1;
    }
    const ssize_t n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if ((errno == EAGAIN || errno == EWOULDBLOCK) && wait(POLLOUT, b_.write_timeout)) continue;
    return -1;
  }
}

bool bounded_stream::is_readable() const {
  if (buf_off_ < buf_.size() || (ssl_ && SSL_pending(ssl_) > 0)) return true;
  return wait(POLLIN, b_.read_timeout);
}

bool bounded_stream::is_writable() const { return wait(POLLOUT, b_.write_timeout); }

void bounded_stream::get_remote_ip_and_port(std::string& ip, int& port) const { address_of(fd_, true, ip, port); }

void bounded_stream::get_local_ip_and_port(std::string& ip, int& port) const { address_of(fd_, false, ip, port); }

} // namespace mda::acme
