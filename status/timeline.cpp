// Timelines from jobs, and their text and JSON forms (timeline.hpp).
#include "status/timeline.hpp"

#include <cstdio>

namespace mda::replay {

namespace {

using ojson = nlohmann::ordered_json;
using std::chrono::seconds;

bool is_error_type(const std::string& type) {
  return type.size() > 6 && type.compare(type.size() - 6, 6, "-error") == 0;
}

/// Errors that end a run as failed; "message-error" (a failed MDMessageCmd) does not.
bool fails_run(const std::string& type) {
  return type == "renewal-error" || type == "ocsp-error" || type == "notify-error";
}

seconds between(sys_time from, sys_time to) {
  return std::chrono::duration_cast<seconds>(to - from);
}

/// Details on one line: control characters become spaces.
std::string one_line(std::string s) {
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  return s;
}

/// At most `width` bytes, never ending inside a UTF-8 sequence.
std::string cut(const std::string& s, std::size_t width) {
  if (width == 0 || s.size() <= width) return s;
  std::size_t n = width > 3 ? width - 3 : 0;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n) + "...";
}

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

std::string step_text(const step& s) {
  std::string t;
  if (!s.status.empty()) t = "[" + s.status + "]";
  if (!s.detail.empty()) t += (t.empty() ? "" : " ") + one_line(s.detail);
  return t;
}

/// Closes run `r` with what its steps say.
void close_run(run_info& r, const std::vector<step>& steps) {
  bool finished = false;
  for (const auto& s : steps) {
    if (s.run != r.number) continue;
    r.end = s.when;
    if (s.type == "finished") finished = true;
    if (fails_run(s.type)) {
      r.outcome = run_outcome::failed;
      r.error_type = s.type;
      r.problem = s.status;
      r.detail = s.detail;
    }
  }
  if (r.outcome != run_outcome::failed && finished) r.outcome = run_outcome::finished;
}

/// The time of the last run-failing error entry of run `number`.
std::optional<sys_time> error_time(const std::vector<step>& steps, int number) {
  std::optional<sys_time> t;
  for (const auto& s : steps)
    if (s.run == number && fails_run(s.type)) t = s.when;
  return t;
}

/// The error that stopped the last failed run, and the job's last result.
void append_stop(std::string& out, const timeline& tl, const text_options& opts) {
  const run_info* stop = nullptr;
  for (const auto& r : tl.runs)
    if (r.outcome == run_outcome::failed) stop = &r;
  if (stop) {
    out += "  stopped run " + std::to_string(stop->number) + ": " + stop->error_type + ", problem " +
           (stop->problem.empty() ? "-" : stop->problem) + ": " +
           cut(one_line(stop->detail), opts.detail_width) + "\n";
  } else if (tl.errors > 0 && tl.last) { // a job shown without its log
    out += "  stopped: problem " + (tl.last->problem.empty() ? "-" : tl.last->problem) + ": " +
           cut(one_line(tl.last->detail), opts.detail_width) + "\n";
  }
  if (tl.last && tl.last->status != 0) {
    out += "  last result: status " + std::to_string(tl.last->status) + " (" +
           status_description(tl.last->status) + ")";
    if (!tl.last->problem.empty()) out += ", problem " + tl.last->problem;
    if (!tl.last->activity.empty())
      out += ", activity: " + cut(one_line(tl.last->activity), opts.detail_width);
    out += "\n";
  }
}

/// Runs, retries and the next retry.
void append_summary(std::string& out, const timeline& tl, const text_options& opts) {
  int failed = 0, finished = 0;
  for (const auto& r : tl.runs) {
    failed += r.outcome == run_outcome::failed;
    finished += r.outcome == run_outcome::finished;
  }
  out += "  runs: " + std::to_string(tl.runs.size()) + " (" + std::to_string(failed) + " failed, " +
         std::to_string(finished) + " finished)\n";
  int retry = 0;
  for (const auto& r : tl.runs) {
    if (r.retry_delay) {
      out += "  retry " + std::to_string(++retry) + ": run " + std::to_string(r.number) +
             " started " + format_gap(*r.retry_delay) + " after run " +
             std::to_string(r.number - 1) + " failed\n";
    }
  }
  if (tl.errors > 0 && !tl.next_run_text.empty()) {
    out += "  next retry: " + tl.next_run_text;
    if (tl.next_retry_delay) out += ", " + format_gap(*tl.next_retry_delay) + " after the last error";
    out += " (errors: " + std::to_string(tl.errors) + ")\n";
  } else if (!tl.next_run_text.empty()) {
    out += "  next run: " + tl.next_run_text + "\n";
  }
  append_stop(out, tl, opts);
}

ojson opt_seconds(const std::optional<seconds>& s) {
  return s ? ojson(s->count()) : ojson(nullptr);
}

ojson step_json(const step& s) {
  ojson o;
  o["when"] = s.when_text;
  o["unix"] = to_unix(s.when);
  o["type"] = s.type;
  if (!s.status.empty()) o["status"] = s.status;
  if (!s.detail.empty()) o["detail"] = s.detail;
  o["since-previous"] = opt_seconds(s.since_previous);
  o["run"] = s.run;
  o["error"] = s.error;
  return o;
}

ojson run_json(const run_info& r) {
  ojson o;
  o["run"] = r.number;
  o["start"] = r.start_text;
  o["duration"] = between(r.start, r.end).count();
  o["outcome"] = to_string(r.outcome);
  o["retry-delay"] = opt_seconds(r.retry_delay);
  if (r.outcome == run_outcome::failed) {
    o["error"] = r.error_type;
    o["problem"] = r.problem;
    o["detail"] = r.detail;
  }
  return o;
}

} // namespace

const char* to_string(run_outcome o) noexcept {
  switch (o) {
    case run_outcome::open: return "open";
    case run_outcome::finished: return "finished";
    case run_outcome::failed: return "failed";
  }
  return "open";
}

std::string format_gap(seconds s) {
  if (s.count() < 0) return "-" + format_gap(-s);
  const long long v = s.count();
  char buf[48];
  if (v < 60) std::snprintf(buf, sizeof buf, "%llds", v);
  else if (v < 3600) std::snprintf(buf, sizeof buf, "%lldm%02llds", v / 60, v % 60);
  else if (v < 86400) std::snprintf(buf, sizeof buf, "%lldh%02lldm", v / 3600, v % 3600 / 60);
  else std::snprintf(buf, sizeof buf, "%lldd%02lldh", v / 86400, v % 86400 / 3600);
  return buf;
}

timeline build_timeline(const job_source& src) {
  timeline tl;
  tl.md = src.md;
  tl.kind = src.kind;
  tl.origin = src.origin;
  const job& j = src.job;
  int run = 0;
  for (std::size_t k = j.log.size(); k-- > 0;) {
    const log_entry& e = j.log[k];
    step s{e.when, k < src.when_text.size() ? src.when_text[k] : format_rfc822(e.when),
           e.type, e.status, e.detail, std::nullopt, 0, is_error_type(e.type)};
    if (!tl.steps.empty()) s.since_previous = between(tl.steps.back().when, e.when);
    if (e.type == "starting") {
      run_info r;
      r.number = ++run;
      r.start = e.when;
      r.start_text = s.when_text;
      tl.runs.push_back(r);
    }
    s.run = run;
    tl.steps.push_back(std::move(s));
  }
  for (std::size_t i = 0; i < tl.runs.size(); ++i) {
    close_run(tl.runs[i], tl.steps);
    if (i > 0 && tl.runs[i - 1].outcome == run_outcome::failed) {
      if (auto t = error_time(tl.steps, tl.runs[i - 1].number))
        tl.runs[i].retry_delay = between(*t, tl.runs[i].start);
    }
  }
  tl.errors = j.errors;
  tl.finished = j.finished;
  tl.last_run_text = src.last_run_text;
  tl.next_run_text = src.next_run_text;
  if (j.next_run != sys_time{}) tl.next_run = j.next_run;
  if (j.errors > 0 && tl.next_run && !tl.runs.empty()) {
    if (auto t = error_time(tl.steps, tl.runs.back().number))
      tl.next_retry_delay = between(*t, *tl.next_run);
  }
  tl.last = j.last;
  return tl;
}

std::string format_text(const std::vector<timeline>& tls, const text_options& opts) {
  std::string out;
  for (const auto& tl : tls) {
    if (!out.empty()) out += "\n";
    out += "== " + tl.md + " " + tl.kind + " job (" + tl.origin + ")\n";
    out += "  errors: " + std::to_string(tl.errors) + ", finished: " + (tl.finished ? "yes" : "no") +
           ", last-run: " + (tl.last_run_text.empty() ? "-" : tl.last_run_text) +
           ", next-run: " + (tl.next_run_text.empty() ? "-" : tl.next_run_text) + "\n";
    for (const auto& s : tl.steps) {
      const std::string gap = s.since_previous ? "+" + format_gap(*s.since_previous) : "";
      const std::string run = s.run > 0 ? "#" + std::to_string(s.run) : "-";
      std::string line = "  " + s.when_text + "  " + pad(gap, 8) + " " + pad(run, 4) + " " +
                         pad(s.type, 16) + " " + cut(step_text(s), opts.detail_width);
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line + "\n";
    }
    append_summary(out, tl, opts);
  }
  return out;
}

ojson to_json(const std::vector<timeline>& tls) {
  ojson arr = ojson::array();
  for (const auto& tl : tls) {
    ojson t;
    t["md"] = tl.md;
    t["kind"] = tl.kind;
    t["origin"] = tl.origin;
    t["errors"] = tl.errors;
    t["finished"] = tl.finished;
    t["last-run"] = tl.last_run_text.empty() ? ojson(nullptr) : ojson(tl.last_run_text);
    t["next-run"] = tl.next_run_text.empty() ? ojson(nullptr) : ojson(tl.next_run_text);
    t["next-retry-delay"] = opt_seconds(tl.next_retry_delay);
    t["last"] = tl.last ? mda::to_json(*tl.last) : ojson(nullptr);
    t["steps"] = ojson::array();
    for (const auto& s : tl.steps) t["steps"].push_back(step_json(s));
    t["runs"] = ojson::array();
    for (const auto& r : tl.runs) t["runs"].push_back(run_json(r));
    arr.push_back(std::move(t));
  }
  ojson doc;
  doc["timelines"] = std::move(arr);
  return doc;
}

} // namespace mda::replay
