// The worker-side cache of OCSP staples (issue 6 item 3; reference §7 "Handshake"): which
// certificates mdactor staples, and the stored response of each, re-read from its store
// file (ocsp/<owner>/ocsp-<sha1hex>.json, ocsp/persist.hpp) when the file changed.
//
// - A certificate is registered by its id (lowercase hex SHA-1 of the leaf DER, the file
//   key of persist.hpp) with the file that holds its response.
// - lookup() never blocks on another thread: the file is looked at (stat) at most once per
//   `recheck` per certificate, by the one thread that finds the interval passed; it reads and
//   parses the file only when its identity, size or mtime changed. Other threads meanwhile
//   use the response they find. No network, no engine in a lookup.
// - What is stapled (servable()): a good or revoked response with DER, before its
//   valid.until. mod_md staples whatever it holds, expired ones included; we send nothing
//   then (persist.hpp's rule). Unknown is never stapled (mod_md never stores it).
// - A missing or unreadable file drops the cached response (the engine writes atomically,
//   so a damaged file stays damaged until replaced); the reason is kept for the log.
// - The files live in ocsp/, which the Apache User owns, and the parent (root) reads them
//   too (prime): registered with the store's base directory, a file is opened without
//   following a symlink anywhere below the base (fs_io.hpp open_file_below), and its stamp
//   and content come from that one descriptor. A symlink is such an unusable file.
// Threads: every member may run from many threads at once. The table of ids is behind a
// reader-writer lock: lookups share it (held only to find the entry, never while a file is
// read), add() takes it alone; live activation (live_certs.hpp) adds the ids of a new set's
// leaves while handshakes look up. clear() is for the parent's configuration phase (it
// forgets entries that a lookup may still be using: they live until that lookup ends).
// Not here: Apache's hooks and eligibility (ocsp_hooks.cpp), fetching and writing files
// (the engine, ocsp/).
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <optional>
#include <string>

#include <sys/types.h>

#include "core/timefmt.hpp"
#include "ocsp/persist.hpp"

namespace mda::httpd {

/// Whether a stored response goes into a handshake at `now` (see above).
bool servable(const ocsp::stored_response& s, sys_time now);

/// Identity of a file version: a changed one is read again.
struct file_stamp {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  long long mtime_ns = 0;
  bool operator==(const file_stamp& o) const {
    return dev == o.dev && ino == o.ino && size == o.size && mtime_ns == o.mtime_ns;
  }
  bool operator!=(const file_stamp& o) const { return !(*this == o); }
};

/// stat(2) of `path`; std::nullopt when it does not exist or cannot be examined.
std::optional<file_stamp> stamp_of(const std::string& path);

/// Reads a stored response file (the format of persist.hpp); errors name the file.
expected<ocsp::stored_response> read_response_file(const std::string& path);

class staple_cache {
 public:
  using steady_time = std::chrono::steady_clock::time_point;
  using response_ptr = std::shared_ptr<const ocsp::stored_response>;

  explicit staple_cache(std::chrono::milliseconds recheck = std::chrono::seconds(2))
      : recheck_(recheck) {}

  /// Registers certificate `id` whose response lives in `file` (owner: MD name or "other",
  /// for logs). Registering an id again replaces its file and forgets its response.
  /// `below`: the store's base directory, which `file` is in (see above); "": `file` is
  /// opened by its path.
  void add(const std::string& id, const std::string& owner, const std::string& file,
           const std::string& below = "");
  void clear();
  bool knows(const std::string& id) const { return find(id) != nullptr; }
  std::size_t size() const;
  /// The owner given to add(), "" for an unknown id.
  std::string owner_of(const std::string& id) const;

  struct result {
    bool known = false;       ///< the id was registered: the hook answers for it
    response_ptr response;    ///< what the file held at the last look (may be unservable)
    bool staple = false;      ///< response->der goes into the handshake
  };
  /// What to staple for `id` (see above). `mono` paces the file checks, `now` decides
  /// whether the response is still valid.
  result lookup(const std::string& id, steady_time mono, sys_time now);

  /// Why the last look at the file of `id` found nothing usable; "" when it did (or the
  /// file does not exist yet).
  std::string last_problem(const std::string& id) const;

 private:
  struct entry {
    std::string owner, file, below;
    mutable std::mutex m;
    bool checked = false;      ///< looked at the file at least once
    bool checking = false;     ///< a thread is looking now
    steady_time last_check{};
    std::optional<file_stamp> stamp;
    response_ptr response;
    std::string problem;
  };
  void refresh(entry& e, steady_time mono);
  std::shared_ptr<entry> find(const std::string& id) const;

  std::chrono::milliseconds recheck_;
  mutable std::shared_mutex entries_m_; ///< guards entries_ (the map, not the entries)
  std::map<std::string, std::shared_ptr<entry>> entries_;
};

} // namespace mda::httpd
