// File-system helpers of the store on plain POSIX calls: the atomic temp-file-then-rename
// write (mod_md's md_util_freplace, plus the fsyncs mod_md leaves out), reading a file,
// directories with exact permissions, removal of a tree.
// Usable by anything that must replace a file atomically (e.g. a published status file).
// Not here: store keys, groups, permissions policy (fs_store.hpp), locking (store_lock.hpp).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

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
};

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

/// make_dirs, then the mode of `path` set exactly (chmod, umask ignored), every time, as
/// mod_md's mk_group_dir does on each save.
status ensure_dir(const std::string& path, mode_t mode, bool* created = nullptr);

/// rename(2) that fails with store_errc::exists ("'<to>' already exists") instead of
/// replacing an existing target (RENAME_NOREPLACE; a plain check first on file systems
/// without it).
status rename_noreplace(const std::string& from, const std::string& to);

/// fsync of a directory, so renames and new entries in it survive a crash.
status fsync_dir(const std::string& dir);

/// Removes a file or a directory tree without following symlinks; absent is fine.
status remove_tree(const std::string& path);

bool is_dir(const std::string& path);  ///< follows symlinks
bool is_file(const std::string& path); ///< regular file, follows symlinks

/// The directory part of a path ("." when there is none).
std::string parent_dir(const std::string& path);

/// "<call>('<path>') failed: <strerror>", code from errno: ENOENT/ENOTDIR -> not_found,
/// EEXIST/ENOTEMPTY -> exists, anything else -> io.
error sys_error(const std::string& call, const std::string& path, int err);

} // namespace mda::fsio
