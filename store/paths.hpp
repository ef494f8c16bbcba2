// The path builder of the file store: turns group + name + aspect into paths under the base
// directory, mod_md's layout (reference §2.1):
//   <base>/md_store.json, <base>/store.lock, <base>/<aspect> (group none),
//   <base>/<group>/<name>/<aspect>, <base>/archive/<name>.<n>.
// Every name and aspect is checked first, so a key can never point outside its directory.
// Not here: touching the file system (fs_io.hpp, fs_store.hpp).
#pragma once

#include <string>
#include <string_view>

#include "core/error.hpp"
#include "store/store.hpp"

namespace mda {

/// Longest name or aspect accepted (NAME_MAX of common file systems).
inline constexpr size_t k_store_name_max = 255;

/// Checks a name used as one directory level (MD name, DNS name incl. "*.example.org",
/// account id, "<md>.<n>" in archive): not empty, at most 255 bytes, no '/', no "..",
/// no leading '.', no control characters. Failure: store_errc::bad_name, e.g.
/// "invalid name '../etc' in store group 'domains': contains '/'".
status check_name(store_group g, std::string_view name);

/// Checks an aspect (a file name) by the same rules; names ending in ".tmp" are reserved
/// for atomic writes. Failure: store_errc::bad_name "invalid aspect '...': ...".
status check_aspect(std::string_view aspect);

class store_paths {
 public:
  explicit store_paths(std::string base);

  const std::string& base() const { return base_; }
  std::string store_file() const { return base_ + "/md_store.json"; }
  std::string lock_file() const { return base_ + "/store.lock"; }
  /// <base>/<group>; the base itself for group none.
  std::string group_dir(store_group g) const;
  /// <base>/<group>/<name>. Group none takes only "" (-> the base), anything else is
  /// store_errc::invalid; other groups need a valid name.
  expected<std::string> name_dir(store_group g, std::string_view name) const;
  /// <base>/<group>/<name>/<aspect>, or <base>/<aspect> for group none.
  expected<std::string> file(store_group g, std::string_view name, std::string_view aspect) const;
  /// <base>/archive/<name>.<n>
  std::string archive_dir(std::string_view name, int n) const;

  /// "<path>.tmp": where an atomic write puts its data before the rename.
  static std::string tmp_of(const std::string& path) { return path + ".tmp"; }

 private:
  std::string base_;
};

} // namespace mda
