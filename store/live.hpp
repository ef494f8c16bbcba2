// Live activation (issue 16): a renewed set is served from staging/<md> by every worker of
// every child without a restart, and the parent's staging -> domains move at the next
// restart does the bookkeeping as before.
//
// The announcement: the engine (the User) writes <store>/mdactor/live.json, the list of MDs
// whose staged set is to be served, each with the SHA-256 fingerprints of its staged leaves
// (in key spec order) and the time it went live:
//   {"version": 1, "generation": 7,
//    "mds": [{"name": "a.example", "since": "<RFC 822>", "certs": ["<sha256 hex>", ...]}]}
// `generation` grows with every change; readers compare it, not the mtime alone. Workers
// (the User as well) poll the file's stamp and load what it names; the parent (root) never
// reads it: nothing the User writes is trusted by root.
//
// The check: a set is served only when load_staging read it (every key decrypted with the
// store secret and matching its leaf), its leaves are the announced ones (a set rewritten
// since the announcement is not half served), it has a certificate for every key spec of
// the MD, every leaf covers every name of the MD and is valid now. Errors name the MD and
// what is wrong; the caller keeps serving what it served.
// Not here: who decides to go live (core/renewal_run.hpp), the workers' snapshot and the
// handshake (httpd/live_certs.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/key_spec.hpp"
#include "core/timefmt.hpp"
#include "store/staging.hpp"
#include "store/store.hpp"

namespace mda {

/// One MD served from its staged set.
struct live_md {
  std::string name;
  sys_time since{};                      ///< when the engine announced it (whole seconds)
  std::vector<std::string> fingerprints; ///< SHA-256 of each staged leaf, key spec order
  bool operator==(const live_md& o) const {
    return name == o.name && since == o.since && fingerprints == o.fingerprints;
  }
};

struct live_table {
  std::uint64_t generation = 0;
  std::vector<live_md> mds;              ///< sorted by name, one entry per MD
  bool operator==(const live_table& o) const {
    return generation == o.generation && mds == o.mds;
  }
};

/// The file's text (2-space indented JSON, as the store writes JSON).
std::string render_live_file(const live_table& t);
/// Reads the file's text; an error names `source` and the member ("<source>: \"mds[1].certs\"
/// must be an array of strings"). Unknown members are ignored; a version above 1 is refused.
expected<live_table> parse_live_file(std::string_view text, const std::string& source);

/// What a live set must show (the MD as configured).
struct live_expectation {
  std::string md;                       ///< the MD's name
  std::vector<std::string> names;       ///< every name the leaves must cover (md.domains)
  std::vector<key_spec> specs;          ///< effective key specs: one certificate each
};

/// Checks a staged set read by load_staging against `want` at `now` (see above). `announced`:
/// the fingerprints the engine announced (empty: not compared). Errors:
/// "<md>: the staged certificate for <spec> <problem>", problems being "is missing",
/// "does not cover <name>", "is not valid before <time>", "expired at <time>",
/// "is not the announced one (sha256 <fp>)".
status check_live_set(const staged_set& set, const live_expectation& want,
                      const std::vector<std::string>& announced, sys_time now);

/// load_staging + check_live_set. "nothing staged" is an error too
/// ("<md>: nothing complete is staged").
expected<staged_set> load_live_set(const store& st, const live_expectation& want,
                                   const std::vector<std::string>& announced, sys_time now);

/// The copy of the sets served live: a store rooted at <store>/mdactor/live (the engine's
/// own directory), whose staging/<md> holds each served set as staging held it (keys
/// encrypted with the store secret). The engine writes it when a set goes live, before the
/// announcement, so a later renewal may rewrite staging/<md> while the workers (also those
/// started later) keep loading the announced set from here.
std::string live_store_dir(const std::string& store_dir);

/// Writes `set` (read by load_live_set) into the live copy store.
status save_live_copy(store& live, const staged_set& set);

/// The fingerprints of a set's leaves, key spec order (what the engine announces).
std::vector<std::string> live_fingerprints(const staged_set& set);

/// Whether the staging job of `md` says its set went live (finished, "renewed" delivered,
/// mdactor-live-since set): what the engine serves and staples for the MD.
bool staged_set_live(const store& st, const managed_domain& md);

} // namespace mda
