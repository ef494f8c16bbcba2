#include "store/fs_io.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.hpp"

namespace mda::fsio {

namespace {

store_errc errc_of(int err) {
  switch (err) {
    case ENOENT:
    case ENOTDIR: return store_errc::not_found;
    case EEXIST:
    case ENOTEMPTY: return store_errc::exists;
    default: return store_errc::io;
  }
}

error sys_error2(const std::string& call, const std::string& from, const std::string& to, int err) {
  return {errc_of(err), call + "('" + from + "', '" + to + "') failed: " + std::strerror(err)};
}

// Closes on scope exit unless released.
struct fd_holder {
  int fd = -1;
  ~fd_holder() {
    if (fd >= 0) ::close(fd);
  }
  int release() { return std::exchange(fd, -1); }
};

// O_EXCL creation of the temp file, waiting out (then removing) another writer's leftover.
expected<int> create_tmp(const std::string& tmp, mode_t mode, const atomic_write_options& o) {
  const int attempts = std::max(1, o.tmp_attempts);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < attempts; ++i) {
      int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
      if (fd >= 0) return fd;
      if (errno != EEXIST) return sys_error("open", tmp, errno);
      std::this_thread::sleep_for(o.tmp_retry_delay);
    }
    // Still there: a writer that died midway. Take it over (md_util_freplace does too).
    if (round == 0 && ::unlink(tmp.c_str()) != 0 && errno != ENOENT)
      return sys_error("unlink", tmp, errno);
  }
  return error{store_errc::exists, "'" + tmp + "' keeps reappearing: another writer is active"};
}

status write_all(int fd, std::string_view data, const std::string& tmp, bool fail_midway) {
  const size_t limit = fail_midway ? data.size() / 2 : data.size();
  size_t off = 0;
  while (off < limit) {
    ssize_t n = ::write(fd, data.data() + off, limit - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("write", tmp, errno);
    }
    off += static_cast<size_t>(n);
  }
  if (fail_midway) return error{store_errc::io, "write('" + tmp + "') failed: injected write failure"};
  return {};
}

// Moves the finished temp file into place: replacing, or only when the target is absent.
status put_in_place(const std::string& tmp, const std::string& path, bool create_only) {
  if (create_only) return rename_noreplace(tmp, path);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return sys_error2("rename", tmp, path, errno);
  return {};
}

} // namespace

error sys_error(const std::string& call, const std::string& path, int err) {
  return {errc_of(err), call + "('" + path + "') failed: " + std::strerror(err)};
}

std::string parent_dir(const std::string& path) {
  auto pos = path.find_last_of('/');
  if (pos == std::string::npos) return ".";
  if (pos == 0) return "/";
  return path.substr(0, pos);
}

status write_file_atomic(const std::string& path, std::string_view data, mode_t mode,
                         const atomic_write_options& opts) {
  const std::string tmp = path + ".tmp";
  auto fd = create_tmp(tmp, mode, opts);
  if (!fd) return fd.error();
  fd_holder h{*fd};
  auto fail = [&](const error& e) -> status {
    if (h.fd >= 0) ::close(h.release());
    ::unlink(tmp.c_str());
    return e;
  };
  if (opts.group != static_cast<gid_t>(-1) && ::fchown(h.fd, static_cast<uid_t>(-1), opts.group) != 0)
    return fail(sys_error("fchown", tmp, errno));
  if (::fchmod(h.fd, mode) != 0) return fail(sys_error("fchmod", tmp, errno));
  const bool inject = opts.fail_midway && opts.fail_midway(path);
  if (auto st = write_all(h.fd, data, tmp, inject); !st) return fail(st.error());
  if (opts.durable && ::fsync(h.fd) != 0) return fail(sys_error("fsync", tmp, errno));
  if (::close(h.release()) != 0) return fail(sys_error("close", tmp, errno));
  if (auto st = put_in_place(tmp, path, opts.create_only); !st) return fail(st.error());
  return opts.durable ? fsync_dir(parent_dir(path)) : status{};
}

expected<std::string> read_file(const std::string& path) {
  // O_NONBLOCK: a FIFO planted in the store must not hang the reader; it is refused below.
  fd_holder h{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
  if (h.fd < 0) return sys_error("open", path, errno);
  struct stat st {};
  if (::fstat(h.fd, &st) != 0) return sys_error("fstat", path, errno);
  if (!S_ISREG(st.st_mode)) return error{store_errc::io, "'" + path + "' is not a regular file"};
  std::string out;
  out.reserve(static_cast<size_t>(st.st_size));
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(h.fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("read", path, errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

status make_dirs(const std::string& path, mode_t mode, bool* created) {
  if (created) *created = false;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return {};
    return error{store_errc::io, "'" + path + "' is not a directory"};
  }
  if (errno != ENOENT) return sys_error("stat", path, errno);
  auto parent = parent_dir(path);
  if (parent != path && parent != "." && parent != "/") {
    if (auto s = make_dirs(parent, mode, nullptr); !s) return s;
  }
  if (::mkdir(path.c_str(), mode) != 0) {
    if (errno == EEXIST && is_dir(path)) return {};
    return sys_error("mkdir", path, errno);
  }
  if (created) *created = true;
  return {};
}

status ensure_dir(const std::string& path, mode_t mode, bool* created) {
  if (auto st = make_dirs(path, mode, created); !st) return st;
  if (::chmod(path.c_str(), mode) != 0) return sys_error("chmod", path, errno);
  return {};
}

status fsync_dir(const std::string& dir) {
  fd_holder h{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (h.fd < 0) return sys_error("open", dir, errno);
  if (::fsync(h.fd) != 0 && errno != EINVAL) return sys_error("fsync", dir, errno);
  return {};
}

status remove_tree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory)
    return error{store_errc::io, "removing '" + path + "' failed: " + ec.message()};
  return {};
}

status rename_noreplace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return {};
  int err = errno;
  if (err == EINVAL || err == ENOSYS) { // a file system without RENAME_NOREPLACE
    struct stat st {};
    if (::lstat(to.c_str(), &st) == 0) err = EEXIST;
    else if (::rename(from.c_str(), to.c_str()) == 0) return {};
    else err = errno;
  }
  if (err == EEXIST || err == ENOTEMPTY) return error{store_errc::exists, "'" + to + "' already exists"};
  return sys_error2("rename", from, to, err);
}

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

} // namespace mda::fsio
