#include "tests/support/deb_package.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <stdexcept>

namespace mda::test {

namespace fs = std::filesystem;

namespace {

const std::string k_package = "libapache2-mod-mdactor";

/// A build tree (CMake's cache in it) or git's data: not part of the sources.
bool left_out(const fs::directory_entry& e) {
  const std::string name = e.path().filename().string();
  if (name == ".git") return true;
  std::error_code ec;
  return e.is_directory(ec) && fs::exists(e.path() / "CMakeCache.txt", ec);
}

void copy_sources(const std::string& from, const std::string& to) {
  fs::create_directories(to);
  for (const auto& e : fs::directory_iterator(from)) {
    if (left_out(e)) continue;
    std::error_code ec;
    fs::copy(e.path(), fs::path(to) / e.path().filename(),
             fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
    if (ec) throw std::runtime_error("copying '" + e.path().string() + "' to '" + to + "' failed: " + ec.message());
  }
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

void build(deb_package& p, const std::string& source_dir) {
  const std::string src = p.dir / "src";
  copy_sources(source_dir, src);
  const auto started = std::chrono::steady_clock::now();
  p.build_exit = run({"sh", "-c",
                      "cd '" + src + "' && DEB_BUILD_OPTIONS='parallel=2 nocheck noddebs' "
                      "dpkg-buildpackage -us -uc -b > ../build.log 2>&1"})
                     .exit_code;
  p.build_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const std::string version = trimmed(run({"dpkg-parsechangelog", "-l", src + "/debian/changelog", "-S", "Version"}).output);
  const std::string deb = p.dir / deb_file_name(version);
  if (p.build_exit != 0 || !path_exists(deb)) return;
  p.deb = deb;
  const std::string root = p.dir / "root";
  if (run({"dpkg-deb", "-x", deb, root}).exit_code == 0) p.root = root;
}

} // namespace

std::string deb_package::build_log() const {
  const std::string file = dir / "build.log";
  if (!path_exists(file)) return "";
  const std::string text = read_file(file);
  return text.size() > 6000 ? text.substr(text.size() - 6000) : text;
}

std::string deb_file_name(const std::string& version) {
  return k_package + "_" + version + "_" + trimmed(run({"dpkg", "--print-architecture"}).output) + ".deb";
}

const deb_package& package_of_tree(const std::string& source_dir) {
  static std::unique_ptr<deb_package> built;
  if (!built) {
    built = std::make_unique<deb_package>();
    build(*built, source_dir);
  }
  return *built;
}

} // namespace mda::test
