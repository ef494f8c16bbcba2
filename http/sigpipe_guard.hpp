// Blocks SIGPIPE in the calling thread while it lives: writing to a connection the peer closed
// (a reused one, or through OpenSSL, which does not ask for MSG_NOSIGNAL) then fails with EPIPE
// instead of killing the process. A SIGPIPE raised meanwhile is consumed. For every thread that
// talks to a server (the ACME and OCSP transport, the etcd client).
#pragma once

#include <csignal>

#include <pthread.h>

namespace mda {

class sigpipe_guard {
 public:
  sigpipe_guard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    sigset_t pending;
    was_pending_ = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
  }
  ~sigpipe_guard() {
    sigset_t pending;
    if (!was_pending_ && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
      timespec zero{0, 0};
      sigtimedwait(&pipe_, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  sigpipe_guard(const sigpipe_guard&) = delete;
  sigpipe_guard& operator=(const sigpipe_guard&) = delete;

 private:
  sigset_t pipe_, old_;
  bool was_pending_ = false;
};

} // namespace mda
