#include "store/fs_io.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.hpp"

namespace mda::fsio {

namespace {

/// Deepest tree remove_tree_at walks: the store's are two levels deep (archive/<md>.<n>/
/// file); a deeper one was made by someone else and is not worth a descriptor per level.
constexpr int k_max_remove_depth = 32;

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

error exists_error(const std::string& path) {
  return {store_errc::exists, "'" + path + "' already exists"};
}

bool is_symlink_at(int dirfd, const std::string& name) {
  struct stat st {};
  return ::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
}

/// Why an open(O_NOFOLLOW) of `name` failed with `err`: a symlink is refused, the rest is
/// the call's error.
error open_error(int dirfd, const std::string& name, const std::string& path, int err) {
  if ((err == ELOOP || err == ENOTDIR || err == EMLINK) && is_symlink_at(dirfd, name))
    return symlink_refused(path);
  if (err == ENOTDIR) return {store_errc::io, "'" + path + "' is not a directory"};
  return sys_error("open", path, err);
}

/// fstat of a freshly opened descriptor, then the caller's check.
status checked(int fd, const std::string& path, const owner_check& check, struct stat* out = nullptr) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return sys_error("fstat", path, errno);
  if (out) *out = st;
  if (check) return check(st, path);
  return {};
}

// O_EXCL creation of the temp file, waiting out (then removing) another writer's leftover.
expected<unique_fd> create_tmp(const dir_handle& dir, const std::string& tmp_name, mode_t mode,
                               const atomic_write_options& o) {
  const std::string tmp = dir.child(tmp_name);
  const int attempts = std::max(1, o.tmp_attempts);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < attempts; ++i) {
      int fd = ::openat(dir.fd.get(), tmp_name.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
      if (fd >= 0) return unique_fd(fd);
      if (errno != EEXIST) return sys_error("open", tmp, errno);
      std::this_thread::sleep_for(o.tmp_retry_delay);
    }
    // Still there: a writer that died midway. Take it over (md_util_freplace does too);
    // unlinkat removes a symlink put there, not what it points to.
    if (round == 0 && ::unlinkat(dir.fd.get(), tmp_name.c_str(), 0) != 0 && errno != ENOENT)
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

expected<std::string> read_all(int fd, const std::string& path, const struct stat& st) {
  if (!S_ISREG(st.st_mode)) return error{store_errc::io, "'" + path + "' is not a regular file"};
  std::string out;
  out.reserve(static_cast<size_t>(st.st_size));
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("read", path, errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

/// The last component of a path and the directory it is in ("." when there is none).
std::pair<std::string, std::string> split_path(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  const auto pos = path.find_last_of('/');
  if (pos == std::string::npos) return {".", path};
  return {parent_dir(path), path.substr(pos + 1)};
}

status remove_entry(int dirfd, const std::string& name, const std::string& path, int depth) {
  struct stat st {};
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return {};
    return sys_error("stat", path, errno);
  }
  if (!S_ISDIR(st.st_mode)) { // a file, or a symlink: the entry itself goes
    if (::unlinkat(dirfd, name.c_str(), 0) != 0 && errno != ENOENT)
      return sys_error("unlink", path, errno);
    return {};
  }
  if (depth >= k_max_remove_depth)
    return error{store_errc::io, "'" + path + "' is nested more than " +
                                     std::to_string(k_max_remove_depth) +
                                     " levels deep, not removed"};
  int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return {};
    if (errno == ENOTDIR || errno == ELOOP) // replaced meanwhile by something else: unlink it
      return remove_entry(dirfd, name, path, depth);
    return sys_error("open", path, errno);
  }
  DIR* d = ::fdopendir(fd);
  if (!d) {
    const int err = errno;
    ::close(fd);
    return sys_error("fdopendir", path, err);
  }
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* e = ::readdir(d)) {
    const std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  const int read_err = errno;
  status result;
  if (read_err != 0) result = sys_error("readdir", path, read_err);
  for (const auto& n : names) {
    if (!result) break;
    result = remove_entry(::dirfd(d), n, path + "/" + n, depth + 1);
  }
  ::closedir(d);
  if (!result) return result;
  if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    return sys_error("rmdir", path, errno);
  return {};
}

} // namespace

unique_fd& unique_fd::operator=(unique_fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

unique_fd::~unique_fd() {
  if (fd_ >= 0) ::close(fd_);
}

error sys_error(const std::string& call, const std::string& path, int err) {
  return {errc_of(err), call + "('" + path + "') failed: " + std::strerror(err)};
}

error symlink_refused(const std::string& path) {
  return {store_errc::refused, "'" + path + "' is a symbolic link, refused"};
}

std::string parent_dir(const std::string& path) {
  auto pos = path.find_last_of('/');
  if (pos == std::string::npos) return ".";
  if (pos == 0) return "/";
  return path.substr(0, pos);
}

// --- relative to an open directory ----------------------------------------------------------

expected<dir_handle> open_dir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return sys_error("open", path, errno);
  return dir_handle{unique_fd(fd), path};
}

expected<dir_handle> open_dir_at(const dir_handle& parent, const std::string& name,
                                 const owner_check& check) {
  const std::string path = parent.child(name);
  int fd = ::openat(parent.fd.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return open_error(parent.fd.get(), name, path, errno);
  dir_handle out{unique_fd(fd), path};
  if (auto st = checked(out.fd.get(), path, check); !st) return st.error();
  return out;
}

expected<dir_handle> make_dir_at(const dir_handle& parent, const std::string& name, mode_t mode,
                                 bool* created, const owner_check& check) {
  if (created) *created = false;
  bool made = false;
  if (::mkdirat(parent.fd.get(), name.c_str(), mode) == 0) {
    made = true;
  } else if (errno != EEXIST) {
    return sys_error("mkdir", parent.child(name), errno);
  }
  auto dir = open_dir_at(parent, name, check);
  if (!dir) return dir;
  if (made) {
    if (::fchmod(dir->fd.get(), mode) != 0) return sys_error("fchmod", dir->path, errno);
    if (created) *created = true;
  }
  return dir;
}

status set_mode(const dir_handle& dir, mode_t mode) {
  struct stat st {};
  if (::fstat(dir.fd.get(), &st) != 0) return sys_error("fstat", dir.path, errno);
  if ((st.st_mode & 07777) == mode) return {};
  if (::fchmod(dir.fd.get(), mode) != 0) return sys_error("fchmod", dir.path, errno);
  return {};
}

status write_file_atomic_at(const dir_handle& dir, const std::string& name, std::string_view data,
                            mode_t mode, const atomic_write_options& opts) {
  const std::string path = dir.child(name);
  const std::string tmp_name = name + ".tmp";
  const std::string tmp = dir.child(tmp_name);
  auto fd = create_tmp(dir, tmp_name, mode, opts);
  if (!fd) return fd.error();
  unique_fd h = std::move(*fd);
  auto fail = [&](const error& e) -> status {
    h = unique_fd();
    ::unlinkat(dir.fd.get(), tmp_name.c_str(), 0);
    return e;
  };
  if (opts.group != static_cast<gid_t>(-1) && ::fchown(h.get(), static_cast<uid_t>(-1), opts.group) != 0)
    return fail(sys_error("fchown", tmp, errno));
  if (opts.owner && ::fchown(h.get(), opts.owner->first, opts.owner->second) != 0)
    return fail(sys_error("fchown", tmp, errno));
  if (::fchmod(h.get(), mode) != 0) return fail(sys_error("fchmod", tmp, errno));
  const bool inject = opts.fail_midway && opts.fail_midway(path);
  if (auto st = write_all(h.get(), data, tmp, inject); !st) return fail(st.error());
  if (opts.durable && ::fsync(h.get()) != 0) return fail(sys_error("fsync", tmp, errno));
  if (::close(h.release()) != 0) return fail(sys_error("close", tmp, errno));
  if (auto st = rename_at(dir, tmp_name, dir, name, opts.create_only); !st) return fail(st.error());
  return opts.durable ? fsync_dir(dir) : status{};
}

namespace {

expected<unique_fd> open_file_at(const dir_handle& dir, const std::string& name, const owner_check& check) {
  const std::string path = dir.child(name);
  // O_NONBLOCK: a FIFO planted in the store must not hang the reader; read_fd refuses it.
  int fd = ::openat(dir.fd.get(), name.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
  if (fd < 0) return open_error(dir.fd.get(), name, path, errno);
  unique_fd h(fd);
  if (auto s = checked(h.get(), path, check); !s) return s.error();
  return h;
}

} // namespace

expected<std::string> read_file_at(const dir_handle& dir, const std::string& name,
                                   const owner_check& check) {
  auto h = open_file_at(dir, name, check);
  if (!h) return h.error();
  return read_fd(h->get(), dir.child(name));
}

expected<unique_fd> open_file_below(const std::string& base, const std::string& rel,
                                    const owner_check& check) {
  auto dir = open_dir(base);
  if (!dir) return dir.error();
  std::string::size_type at = 0, slash;
  while ((slash = rel.find('/', at)) != std::string::npos) {
    if (slash > at) {
      auto next = open_dir_at(*dir, rel.substr(at, slash - at), check);
      if (!next) return next.error();
      dir = std::move(next);
    }
    at = slash + 1;
  }
  return open_file_at(*dir, rel.substr(at), check);
}

expected<std::string> read_fd(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return sys_error("fstat", path, errno);
  return read_all(fd, path, st);
}

expected<struct stat> stat_at(const dir_handle& dir, const std::string& name) {
  struct stat st {};
  if (::fstatat(dir.fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return sys_error("stat", dir.child(name), errno);
  return st;
}

expected<std::vector<dir_entry>> list_dir(const dir_handle& dir) {
  // fdopendir takes over the descriptor it is given: hand it a duplicate.
  int fd = ::openat(dir.fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return sys_error("open", dir.path, errno);
  DIR* d = ::fdopendir(fd);
  if (!d) {
    const int err = errno;
    ::close(fd);
    return sys_error("fdopendir", dir.path, err);
  }
  std::vector<dir_entry> out;
  errno = 0;
  while (const dirent* e = ::readdir(d)) {
    const std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    struct stat st {};
    if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) { // removed meanwhile
        errno = 0;
        continue;
      }
      const int err = errno;
      ::closedir(d);
      return sys_error("stat", dir.child(n), err);
    }
    out.push_back({n, static_cast<mode_t>(st.st_mode & S_IFMT)});
    errno = 0;
  }
  const int err = errno;
  ::closedir(d);
  if (err != 0) return sys_error("readdir", dir.path, err);
  return out;
}

status remove_tree_at(const dir_handle& dir, const std::string& name) {
  return remove_entry(dir.fd.get(), name, dir.child(name), 0);
}

status rename_at(const dir_handle& from_dir, const std::string& from, const dir_handle& to_dir,
                 const std::string& to, bool noreplace) {
  const int ffd = from_dir.fd.get(), tfd = to_dir.fd.get();
  const std::string from_path = from_dir.child(from), to_path = to_dir.child(to);
  if (!noreplace) {
    if (::renameat(ffd, from.c_str(), tfd, to.c_str()) != 0)
      return sys_error2("rename", from_path, to_path, errno);
    return {};
  }
  if (::renameat2(ffd, from.c_str(), tfd, to.c_str(), RENAME_NOREPLACE) == 0) return {};
  int err = errno;
  if (err == EINVAL || err == ENOSYS) { // a file system without RENAME_NOREPLACE
    struct stat st {};
    if (::fstatat(tfd, to.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      err = EEXIST;
    } else if (::fstatat(ffd, from.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)) {
      // a file: link(2) fails on an existing target, then the old name goes
      if (::linkat(ffd, from.c_str(), tfd, to.c_str(), 0) == 0) {
        ::unlinkat(ffd, from.c_str(), 0);
        return {};
      }
      err = errno;
    } else if (::renameat(ffd, from.c_str(), tfd, to.c_str()) == 0) {
      return {};
    } else {
      err = errno;
    }
  }
  if (err == EEXIST || err == ENOTEMPTY) return exists_error(to_path);
  return sys_error2("rename", from_path, to_path, err);
}

status fsync_dir(const dir_handle& dir) {
  if (::fsync(dir.fd.get()) != 0 && errno != EINVAL) return sys_error("fsync", dir.path, errno);
  return {};
}

// --- by path ---------------------------------------------------------------------------------

status write_file_atomic(const std::string& path, std::string_view data, mode_t mode,
                         const atomic_write_options& opts) {
  const auto [parent, name] = split_path(path);
  // a directory that cannot be opened: the temp file is named, whose creation fails
  unique_fd fd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return sys_error("open", path + ".tmp", errno);
  // errors name the file as the caller gave it
  dir_handle dir{std::move(fd), path.find('/') == std::string::npos ? std::string() : parent};
  return write_file_atomic_at(dir, name, data, mode, opts);
}

expected<std::string> read_file(const std::string& path) {
  // O_NONBLOCK: a FIFO planted in the store must not hang the reader; it is refused below.
  unique_fd h(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!h) return sys_error("open", path, errno);
  return read_fd(h.get(), path);
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
  const auto [parent, name] = split_path(path);
  auto up = open_dir(parent);
  if (!up) return up.error();
  auto dir = open_dir_at(*up, name);
  if (!dir) return dir.error();
  return set_mode(*dir, mode);
}

status fsync_dir(const std::string& dir) {
  auto h = open_dir(dir);
  if (!h) return h.error();
  return fsync_dir(*h);
}

status remove_tree(const std::string& path) {
  const auto [parent, name] = split_path(path);
  auto dir = open_dir(parent);
  if (!dir) return is_not_found(dir.error()) ? status{} : status(dir.error());
  return remove_entry(dir->fd.get(), name, path, 0);
}

status rename_noreplace(const std::string& from, const std::string& to) {
  const auto [from_parent, from_name] = split_path(from);
  const auto [to_parent, to_name] = split_path(to);
  auto fd = open_dir(from_parent);
  if (!fd) return fd.error();
  auto td = open_dir(to_parent);
  if (!td) return td.error();
  return rename_at(*fd, from_name, *td, to_name, true);
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
