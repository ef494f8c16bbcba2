// File-system helpers of the store on plain POSIX calls: the atomic temp-file-then-rename
// write (mod_md's md_util_freplace, plus the fsyncs mod_md leaves out), reading a file,
// directories with exact permissions, removal of a tree.
// Two kinds of calls:
// - by path (write_file_atomic, read_file, make_dirs, ...): for paths an administrator gave
//   (the store's base directory, MDCertificateFile, the status file); symlinks in them are
//   followed, as mod_md follows them.
// - relative to an open directory (the *_at calls on a dir_handle): for everything below the
//   store's base, where code running as the Apache User may have put something. Each level is
//   opened with O_DIRECTORY|O_NOFOLLOW, files with O_NOFOLLOW, and an optional owner_check
//   sees the fstat of what was opened before it is used; a symbolic link where a file or
//   directory is expected is store_errc::refused ("'<path>' is a symbolic link, refused"),
//   except when removing, which removes the link itself. Modes and owners are set on open
//   descriptors (fchmod, fchown), never by path; trees are removed by walking descriptors.
// Usable by anything that must replace a file atomically (e.g. a published status file).
// Not here: store keys, groups, permissions and ownership policy (fs_store.hpp), locking
// (store_lock.hpp).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <utility>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/stat.h>
#include <sys/types.h>

#include "core/error.hpp"

namespace mda::fsio {

struct atomic_write_options {
  /// Fail with store_errc::exists when the target already exists; the check and the
  /// appearance of the complete file are one step (link(2) of the temp file).
  bool create_only = false;
  /// How often "<file>.tmp" is tried while another writer's temp file is there, and the
  /// pause between tries; after that the temp file is taken as stale, removed, and tried
  /// once more (md_util_freplace: 20 x 50 ms).
  int tmp_attempts = 20;
  std::chrono::milliseconds tmp_retry_delay{50};
  /// fsync the file and its directory (survives a power loss). false: still atomic and safe
  /// against the process being killed (the rename is), but a crash of the machine may
  /// lose the write — for progress records that are rewritten all the time (job.json,
  /// order.json, status.json), whose loss only restarts a step.
  bool durable = true;
  /// Not (gid_t)-1: the temp file's group is set to this (fchown) before it takes the
  /// file's place, so the file never shows with another group.
  gid_t group = static_cast<gid_t>(-1);
  /// Test hook: when set and true for the target path, the write stops after half of the
  /// data and fails as a failing write(2) would ("injected write failure").
  std::function<bool(const std::string& path)> fail_midway;
  /// Owner (uid, gid) given to the file before it appears (fchown of the temp file): root
  /// writing a file the User must read, in a directory of the User's.
  std::optional<std::pair<uid_t, gid_t>> owner;
};

/// A file descriptor, closed when the holder goes.
class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept : fd_(o.release()) {}
  unique_fd& operator=(unique_fd&& o) noexcept;
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd();
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

/// An open directory and the path errors name it by.
struct dir_handle {
  unique_fd fd;
  std::string path;
  /// "<path>/<name>" ("<name>" when path is empty, "/<name>" when it is "/").
  std::string child(std::string_view name) const {
    if (path.empty()) return std::string(name);
    return (path == "/" ? path : path + "/") + std::string(name);
  }
};

/// Sees the fstat of a directory or file just opened below a dir_handle, before anything is
/// read from or done to it; an error refuses it (fs_store's owner rule).
using owner_check = std::function<status(const struct stat& st, const std::string& path)>;

/// The error for a symbolic link met where the store expects its own file or directory.
error symlink_refused(const std::string& path);

/// Opens a directory by path, following symlinks (a path an administrator gave).
expected<dir_handle> open_dir(const std::string& path);

/// Opens `name` in `parent` as a directory without following a symlink. Absent:
/// store_errc::not_found; a symlink: store_errc::refused; anything else but a directory:
/// store_errc::io ("'<path>' is not a directory"); then `check`, when given.
expected<dir_handle> open_dir_at(const dir_handle& parent, const std::string& name,
                                 const owner_check& check = {});

/// open_dir_at, creating the directory first when missing (mkdirat, then its mode set
/// exactly with fchmod). `created` tells whether this call made it. An existing directory
/// keeps its mode.
expected<dir_handle> make_dir_at(const dir_handle& parent, const std::string& name, mode_t mode,
                                 bool* created = nullptr, const owner_check& check = {});

/// The mode of an open directory set to exactly `mode` (fchmod; nothing done when it has it).
status set_mode(const dir_handle& dir, mode_t mode);

/// write_file_atomic for `name` in an open directory: "<name>.tmp" created there with
/// O_EXCL|O_NOFOLLOW, renamed over `name` with renameat (a symlink at `name` is replaced,
/// never followed), the directory fsynced through its descriptor.
status write_file_atomic_at(const dir_handle& dir, const std::string& name, std::string_view data,
                            mode_t mode, const atomic_write_options& opts = {});

/// The content of the regular file `name` in an open directory, opened with O_NOFOLLOW
/// (a symlink: store_errc::refused), `check` applied to its fstat before reading.
expected<std::string> read_file_at(const dir_handle& dir, const std::string& name,
                                   const owner_check& check = {});

/// Opens the regular file at `rel` (a relative path) below the directory `base` for reading:
/// `base` by its path (symlinks followed), then every directory of `rel` and the file with
/// O_NOFOLLOW (a symlink: store_errc::refused), `check` applied to each; for readers that
/// keep a path into the store and look at the file's fstat too (the worker's staple cache).
expected<unique_fd> open_file_below(const std::string& base, const std::string& rel,
                                    const owner_check& check = {});

/// The content of an open regular file (anything else: store_errc::io "'<path>' is not a
/// regular file"), read from where the descriptor stands.
expected<std::string> read_fd(int fd, const std::string& path);

/// The entry `name` itself (fstatat with AT_SYMLINK_NOFOLLOW); absent: store_errc::not_found.
expected<struct stat> stat_at(const dir_handle& dir, const std::string& name);

/// One entry of a directory: its name and its type bits (S_IFDIR, S_IFREG, S_IFLNK, ...),
/// those of the entry itself.
struct dir_entry {
  std::string name;
  mode_t type;
};

/// The entries of an open directory but "." and "..", in no particular order.
expected<std::vector<dir_entry>> list_dir(const dir_handle& dir);

/// Removes `name` in an open directory and, when it is a directory, everything below it,
/// walking with openat(O_DIRECTORY|O_NOFOLLOW)/fdopendir: a symlink met is unlinked, never
/// followed. Absent is fine. Trees nested deeper than 32 levels are refused (the store's
/// are 2 deep).
status remove_tree_at(const dir_handle& dir, const std::string& name);

/// renameat from one open directory to another; `noreplace`: an existing target is
/// store_errc::exists ("'<to>' already exists") (RENAME_NOREPLACE, or link + unlink on file
/// systems without it).
status rename_at(const dir_handle& from_dir, const std::string& from, const dir_handle& to_dir,
                 const std::string& to, bool noreplace);

/// fsync of an open directory.
status fsync_dir(const dir_handle& dir);

/// Writes `data` to "<path>.tmp" (O_EXCL, mode set with fchmod so the umask does not
/// matter), fsyncs it, renames it over `path`, fsyncs the directory (no fsyncs when not
/// `durable`). On failure the temp
/// file is removed and `path` is untouched. Errors name the failed call and the file.
status write_file_atomic(const std::string& path, std::string_view data, mode_t mode,
                         const atomic_write_options& opts = {});

/// The whole content of a regular file. Absent: store_errc::not_found.
expected<std::string> read_file(const std::string& path);

/// Creates the directory (parents as needed, with the same mode; the umask applies) when
/// missing; an existing directory is left as it is. `created` tells whether this call made
/// `path` itself. A non-directory in the way is store_errc::io.
status make_dirs(const std::string& path, mode_t mode, bool* created = nullptr);

/// make_dirs, then the mode of `path` set exactly (fchmod of the directory opened with
/// O_NOFOLLOW: a symlink as the last component is store_errc::refused; umask ignored), every
/// time, as mod_md's mk_group_dir does on each save.
status ensure_dir(const std::string& path, mode_t mode, bool* created = nullptr);

/// rename(2) that fails with store_errc::exists ("'<to>' already exists") instead of
/// replacing an existing target (RENAME_NOREPLACE; a plain check first on file systems
/// without it).
status rename_noreplace(const std::string& from, const std::string& to);

/// fsync of a directory, so renames and new entries in it survive a crash.
status fsync_dir(const std::string& dir);

/// Removes a file or a directory tree without following symlinks (remove_tree_at in the
/// parent directory, which is opened following them); absent is fine.
status remove_tree(const std::string& path);

bool is_dir(const std::string& path);  ///< follows symlinks
bool is_file(const std::string& path); ///< regular file, follows symlinks

/// The directory part of a path ("." when there is none).
std::string parent_dir(const std::string& path);

/// "<call>('<path>') failed: <strerror>", code from errno: ENOENT/ENOTDIR -> not_found,
/// EEXIST/ENOTEMPTY -> exists, anything else -> io.
error sys_error(const std::string& call, const std::string& path, int err);

} // namespace mda::fsio
