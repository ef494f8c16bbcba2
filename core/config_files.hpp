// Files named by the configuration that the engine reads: CA bundles (MDCACertificateFile),
// MDCertificateFile chains, the certificates of other SSL virtual hosts for stapling.
//
// The unprivileged engine (docs/process-model.md) may not be able to open them: the Apache
// parent, root, reads them before the fork (store/engine_store.hpp store_preload) and the
// engine installs those copies here once, before its threads start (use_file_copies). Each
// copy also gets a path the engine can open (a memfd, "/proc/self/fd/<n>"), for libraries
// that want a path (cpp-httplib's CA file). Without copies, or for a file without one, both
// functions answer as if there were no copies.
// Not here: the store's files (store/), which the engine reads through its store.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "core/error.hpp"

namespace mda {

/// Installs the copies (path -> content), replacing earlier ones; an empty map removes them.
/// Not for concurrent use with the readers: call before threads read configuration files.
status use_file_copies(const std::map<std::string, std::string>& copies);

/// The copy of `path`; nullopt when there is none (read the file itself).
std::optional<std::string> config_file_copy(const std::string& path);

/// A path that opens the copy of `path` ("/proc/self/fd/<n>"), else `path` itself.
std::string config_file_path(const std::string& path);

} // namespace mda
