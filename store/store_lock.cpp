#include "store/store_lock.hpp"

#include <cerrno>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/fs_io.hpp"
#include "store/store.hpp"

namespace mda {

namespace {

constexpr mode_t k_lock_mode = 0640; // MD_FPROT_F_UALL_GREAD

#ifdef F_OFD_SETLK
constexpr int k_setlk = F_OFD_SETLK;
#else
constexpr int k_setlk = F_SETLK;
#endif

// One non-blocking try: the locked descriptor, -1 when someone else holds it.
expected<int> try_lock(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, k_lock_mode);
  if (fd < 0) return fsio::sys_error("open", path, errno);
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET; // whole file: start 0, len 0; l_pid must be 0 for OFD locks
  if (::fcntl(fd, k_setlk, &fl) == 0) return fd;
  int err = errno;
  ::close(fd);
  if (err == EACCES || err == EAGAIN) return -1;
  return fsio::sys_error("fcntl(F_SETLK)", path, err);
}

} // namespace

expected<store_lock> store_lock::acquire(const std::string& base_dir,
                                         std::chrono::milliseconds wait,
                                         std::chrono::milliseconds retry) {
  std::string path = base_dir + "/store.lock";
  const auto end = std::chrono::steady_clock::now() + wait;
  for (;;) {
    auto fd = try_lock(path);
    if (!fd) return fd.error();
    if (*fd >= 0) return store_lock(*fd, std::move(path));
    if (std::chrono::steady_clock::now() + retry > end) break;
    std::this_thread::sleep_for(retry);
  }
  return error{store_errc::lock_timeout, "store lock '" + path +
                                             "' is held by another process; gave up after " +
                                             std::to_string(wait.count()) + " ms"};
}

store_lock::store_lock(store_lock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

store_lock& store_lock::operator=(store_lock&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

store_lock::~store_lock() { release(); }

void store_lock::release() noexcept {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1)); // closing the description drops the lock
}

} // namespace mda
