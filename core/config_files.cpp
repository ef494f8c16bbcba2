// Configuration files with the parent's copies (see config_files.hpp).
#include "core/config_files.hpp"

#include <cerrno>
#include <cstring>

#include <sys/mman.h>
#include <unistd.h>

namespace mda {

namespace {

struct file_copy {
  std::string data;
  int fd = -1; ///< memfd holding data
};

std::map<std::string, file_copy>& copies() {
  static std::map<std::string, file_copy> m;
  return m;
}

void forget_all() {
  for (auto& [path, c] : copies()) {
    if (c.fd >= 0) ::close(c.fd);
  }
  copies().clear();
}

} // namespace

status use_file_copies(const std::map<std::string, std::string>& files) {
  forget_all();
  for (const auto& [path, data] : files) {
    const int fd = ::memfd_create("mdactor-config", MFD_CLOEXEC);
    if (fd < 0) return error(std::error_code(errno, std::generic_category()), "memfd_create for '" + path + "': " + std::strerror(errno));
    std::size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const int e = errno;
        ::close(fd);
        return error(std::error_code(e, std::generic_category()), "copying '" + path + "' to memory: " + std::strerror(e));
      }
      done += static_cast<std::size_t>(n);
    }
    copies()[path] = file_copy{data, fd};
  }
  return {};
}

std::optional<std::string> config_file_copy(const std::string& path) {
  auto i = copies().find(path);
  if (i == copies().end()) return std::nullopt;
  return i->second.data;
}

std::string config_file_path(const std::string& path) {
  auto i = copies().find(path);
  if (i == copies().end()) return path;
  return "/proc/self/fd/" + std::to_string(i->second.fd);
}

} // namespace mda
