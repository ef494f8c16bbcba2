// The global store lock (MDStoreLocks, reference §2.7): an exclusive lock on
// <base>/store.lock (created 0640), taken without blocking and retried every 100 ms until a
// timeout (5 s by default). mod_md holds it in the parent around the sync of the
// configuration with the store and the activation of staged certificates.
//
// The lock is an fcntl(2) write lock, as APR's apr_file_lock takes it, so it excludes a
// mod_md of the same store as well. Linux open-file-description locks (F_OFD_SETLK) are
// used where available: they also exclude a second store_lock in the same process, and
// closing some other descriptor of the file does not drop them. The lock goes away with the
// object, or when the holding process dies. A child forked while the lock is held shares it
// (the descriptor is close-on-exec, so an exec'd one does not): fork after releasing.
// Not here: locking of single keys (there is none; see store.hpp on concurrency).
#pragma once

#include <chrono>
#include <string>

#include "core/error.hpp"

namespace mda {

/// mod_md's defaults: 5 s overall, a new try every 100 ms.
inline constexpr std::chrono::milliseconds k_store_lock_wait{5000};
inline constexpr std::chrono::milliseconds k_store_lock_retry{100};

class store_lock {
 public:
  /// Takes the lock on <base_dir>/store.lock. When another holder keeps it past `wait`:
  /// store_errc::lock_timeout "store lock '<path>' is held by another process; gave up
  /// after <n> ms". At least one attempt is made even with a zero wait.
  static expected<store_lock> acquire(const std::string& base_dir,
                                      std::chrono::milliseconds wait = k_store_lock_wait,
                                      std::chrono::milliseconds retry = k_store_lock_retry);

  store_lock(store_lock&& other) noexcept;
  store_lock& operator=(store_lock&& other) noexcept;
  store_lock(const store_lock&) = delete;
  store_lock& operator=(const store_lock&) = delete;
  ~store_lock();

  /// Gives the lock up early; the destructor then has nothing to do.
  void release() noexcept;
  bool held() const noexcept { return fd_ >= 0; }
  const std::string& path() const noexcept { return path_; }

 private:
  store_lock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
};

} // namespace mda
