// The worker-side staple cache; see ocsp_cache.hpp.
#include "httpd/ocsp_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include "core/json_util.hpp"
#include "store/fs_io.hpp"
#include "store/store.hpp"

namespace mda::httpd {

bool servable(const ocsp::stored_response& s, sys_time now) {
  if (s.status != ocsp::cert_status::good && s.status != ocsp::cert_status::revoked) return false;
  return ocsp::is_servable(s, now);
}

namespace {

file_stamp stamp_from(const struct stat& sb) {
  file_stamp f;
  f.dev = sb.st_dev;
  f.ino = sb.st_ino;
  f.size = sb.st_size;
  f.mtime_ns = static_cast<long long>(sb.st_mtim.tv_sec) * 1'000'000'000LL + sb.st_mtim.tv_nsec;
  return f;
}

expected<ocsp::stored_response> parse_response(const expected<std::string>& text, const std::string& path) {
  if (!text) return text.error();
  auto j = parse_json(*text, path);
  if (!j) return j.error();
  return ocsp::stored_response_from_json(*j, path);
}

/// The file of an entry opened for reading (see the header for `below`).
expected<fsio::unique_fd> open_response_file(const std::string& file, const std::string& below) {
  if (below.empty() || file.compare(0, below.size() + 1, below + "/") != 0) {
    fsio::unique_fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (!fd) return fsio::sys_error("open", file, errno);
    return fd;
  }
  return fsio::open_file_below(below, file.substr(below.size() + 1));
}

} // namespace

std::optional<file_stamp> stamp_of(const std::string& path) {
  struct stat sb {};
  if (::stat(path.c_str(), &sb) != 0) return std::nullopt;
  return stamp_from(sb);
}

expected<ocsp::stored_response> read_response_file(const std::string& path) {
  return parse_response(fsio::read_file(path), path);
}

void staple_cache::add(const std::string& id, const std::string& owner, const std::string& file,
                       const std::string& below) {
  auto e = std::make_shared<entry>();
  e->owner = owner;
  e->file = file;
  e->below = below;
  std::unique_lock<std::shared_mutex> lock(entries_m_);
  entries_[id] = std::move(e);
}

void staple_cache::clear() {
  std::unique_lock<std::shared_mutex> lock(entries_m_);
  entries_.clear();
}

std::size_t staple_cache::size() const {
  std::shared_lock<std::shared_mutex> lock(entries_m_);
  return entries_.size();
}

std::shared_ptr<staple_cache::entry> staple_cache::find(const std::string& id) const {
  std::shared_lock<std::shared_mutex> lock(entries_m_);
  const auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : it->second;
}

std::string staple_cache::owner_of(const std::string& id) const {
  const auto e = find(id);
  return e ? e->owner : std::string();
}

std::string staple_cache::last_problem(const std::string& id) const {
  const auto e = find(id);
  if (!e) return {};
  std::lock_guard<std::mutex> lock(e->m);
  return e->problem;
}

// Runs without the entry's lock while it touches the file; `checking` keeps other threads
// out of this function for the same entry.
void staple_cache::refresh(entry& e, steady_time mono) {
  std::optional<file_stamp> known;
  {
    std::lock_guard<std::mutex> lock(e.m);
    known = e.stamp;
  }
  // Stamp and content from one descriptor: what was stamped is what is read.
  auto opened = open_response_file(e.file, e.below);
  std::optional<file_stamp> now_stamp;
  response_ptr fresh;
  std::string problem;
  struct stat sb {};
  if (opened && ::fstat(opened->get(), &sb) == 0) now_stamp = stamp_from(sb);
  else if (!opened && !is_not_found(opened.error())) problem = opened.error().message; // e.g. a symlink
  bool changed = false;
  if (!now_stamp) {
    changed = known.has_value() || !e.checked || !problem.empty();
  } else if (!known || *known != *now_stamp) {
    changed = true;
    auto r = parse_response(fsio::read_fd(opened->get(), e.file), e.file);
    if (r)
      fresh = std::make_shared<const ocsp::stored_response>(std::move(*r));
    else
      problem = r.error().message;
  }
  std::lock_guard<std::mutex> lock(e.m);
  if (changed) {
    e.stamp = now_stamp;
    e.response = std::move(fresh);
    e.problem = std::move(problem);
  }
  e.checked = true;
  e.checking = false;
  e.last_check = mono;
}

staple_cache::result staple_cache::lookup(const std::string& id, steady_time mono, sys_time now) {
  result out;
  const auto found = find(id); // kept alive by this lookup even if add() replaces it
  if (!found) return out;
  out.known = true;
  entry& e = *found;
  bool mine = false;
  {
    std::lock_guard<std::mutex> lock(e.m);
    if (!e.checking && (!e.checked || mono - e.last_check >= recheck_)) {
      e.checking = true;
      mine = true;
    }
    out.response = e.response;
  }
  if (mine) {
    refresh(e, mono);
    std::lock_guard<std::mutex> lock(e.m);
    out.response = e.response;
  }
  out.staple = out.response && servable(*out.response, now);
  return out;
}

} // namespace mda::httpd
