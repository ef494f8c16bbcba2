// The Debian package of the tree under test (debian/): built once per test process with
// Debian's own tools (`dpkg-buildpackage -us -uc -b`) in a temporary copy of the source tree,
// so that the tree itself stays clean, then unpacked with `dpkg-deb -x` into a temporary root.
// The copy leaves out .git and every top-level directory holding a CMakeCache.txt (build
// trees). DEB_BUILD_OPTIONS: parallel=2 (the machine has 2 CPUs), nocheck, noddebs (no
// -dbgsym package: compressing its debug symbols takes minutes and nothing checks it).
// Not here: what a test checks in the package (tests/httpd/apache_package_test.cpp).
#pragma once

#include <string>

#include "tests/test_util.hpp"

namespace mda::test {

struct deb_package {
  temp_dir dir;             ///< <dir>/src: the copy; <dir>/*.deb; <dir>/root: the unpacked package
  int build_exit = -1;      ///< dpkg-buildpackage's exit status
  double build_seconds = 0; ///< how long the build took
  std::string deb;          ///< the .deb of debian/changelog's version; "" when none was made
  std::string root;         ///< where `dpkg-deb -x` put its files ("" when not unpacked)

  std::string build_log() const; ///< what dpkg-buildpackage printed (its last 6,000 characters)
};

/// The file name of the package of `version` (Debian's, e.g. 0.1.0-1):
/// libapache2-mod-mdactor_<version>_<dpkg's architecture>.deb.
std::string deb_file_name(const std::string& version);

/// The package built from `source_dir` and unpacked, made at the first call of the process and
/// kept until it ends. Throws std::runtime_error when the tree cannot be copied.
const deb_package& package_of_tree(const std::string& source_dir);

} // namespace mda::test
