// md-replay's inputs: the jobs of a job.json (reference §2.4), an md-status document of one
// MD or of all ("managed-domains"), an mdactor status snapshot ("mds"), or a store directory:
// domains/<md>/job.json (the job copied at activation), staging/<md>/job.json (the current
// renewal job) and ocsp/<md>/job.json (the OCSP job), in that order per MD. Read only.
// Not here: the timelines made of them (status/timeline.hpp).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "status/timeline.hpp"

namespace mda::replay {

/// Reads one job.json object. Times in RFC 3339 are accepted besides RFC 822. Errors name
/// `origin` and the member (core/job.hpp).
expected<job_source> read_job(const nlohmann::ordered_json& j, const std::string& origin,
                              const std::string& md, const std::string& kind);

/// The jobs of one JSON document: a job.json, an md-status of one MD or of all MDs, or a
/// status snapshot (see above). A document with no job at all is an error.
expected<std::vector<job_source>> read_document(const nlohmann::ordered_json& doc,
                                                const std::string& origin);

/// The jobs of a store directory (see above), MDs sorted by name. Nothing is written.
expected<std::vector<job_source>> read_store(const std::string& dir);

/// A file (read_document) or a store directory (read_store). Errors name the path.
expected<std::vector<job_source>> load_input(const std::string& path);

/// The directory names in a store group directory, sorted; none when it is absent.
std::vector<std::string> group_names(const std::string& group_dir);

} // namespace mda::replay
