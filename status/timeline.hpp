// Job timelines, as md-replay shows them and the md-status page draws them: the job files of
// mod_md (and of mdactor, which writes the same job.json, core/job.hpp) laid out oldest
// first, one timeline per job.
//
// - A job_source is one job with the time texts as its file had them; md-replay reads them
//   (tools/replay/input.hpp), the status page makes them from a snapshot (status_page.hpp).
// - Times are printed as the file gives them: RFC 822 as mod_md writes, RFC 3339 accepted too.
// - Runs: a "starting" entry opens a run; a run with a renewal-, ocsp- or notify-error entry
//   failed, one with "finished" and no such error finished, anything else is open. A retry is
//   a run after a failed one; its delay counts from the failed run's last error entry. The
//   next retry is the job's next-run while it counts errors.
// Not here: reading files (tools/replay/input.hpp), the SVG drawing (timeline_svg.hpp), the
// renewal decision (tools/replay/explain.hpp), writing anything.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/job.hpp"
#include "core/timefmt.hpp"

namespace mda::replay {

/// One job as read, with the time texts as the file had them.
struct job_source {
  std::string md;     ///< the MD name
  std::string kind;   ///< "renewal" or "ocsp"
  std::string origin; ///< the file (and member) it came from, for headings and errors
  mda::job job;
  std::vector<std::string> when_text; ///< per job.log entry (newest first, as job.log)
  std::string next_run_text;          ///< "" when absent
  std::string last_run_text;
};

/// One log entry in time order.
struct step {
  sys_time when{};
  std::string when_text;
  std::string type;
  std::string status;
  std::string detail;
  std::optional<std::chrono::seconds> since_previous; ///< none for the first step
  int run = 0;        ///< 0: before the first "starting"
  bool error = false; ///< a "*-error" entry
};

enum class run_outcome { open, finished, failed };
const char* to_string(run_outcome o) noexcept;

struct run_info {
  int number = 0;
  sys_time start{};
  std::string start_text;
  sys_time end{};     ///< the time of its last entry
  run_outcome outcome = run_outcome::open;
  std::string error_type; ///< failed: the last error entry's type, status and detail
  std::string problem;
  std::string detail;
  std::optional<std::chrono::seconds> retry_delay; ///< after a failed run: since its error
};

struct timeline {
  std::string md;
  std::string kind;
  std::string origin;
  std::vector<step> steps; ///< oldest first
  std::vector<run_info> runs;
  int errors = 0;
  bool finished = false;
  std::string last_run_text;
  std::string next_run_text;
  std::optional<sys_time> next_run;
  std::optional<std::chrono::seconds> next_retry_delay; ///< errors > 0: next-run - last error
  std::optional<result> last;                           ///< the result of the last run
};

timeline build_timeline(const job_source& src);

/// "0s", "45s", "1m05s", "2h03m", "3d04h"; negative ones with a leading '-'.
std::string format_gap(std::chrono::seconds s);

struct text_options {
  std::size_t detail_width = 120; ///< longer details are cut and end in "..."; 0 = whole
};

/// The timelines as text (see md-replay --help for the layout).
std::string format_text(const std::vector<timeline>& tls, const text_options& opts = {});
/// {"timelines": [{"md", "kind", "origin", "errors", "finished", "last-run", "next-run",
///  "next-retry-delay", "last", "steps": [...], "runs": [...]}]}; delays in seconds.
nlohmann::ordered_json to_json(const std::vector<timeline>& tls);

} // namespace mda::replay
