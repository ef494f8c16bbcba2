// md-replay's command line (cli.hpp).
#include "tools/replay/cli.hpp"

#include <ostream>

#include "core/engine_config.hpp"
#include "store/fs_io.hpp"
#include "tools/replay/explain.hpp"
#include "status/timeline_svg.hpp"
#include "tools/replay/input.hpp"

namespace mda::replay {

const char* const k_usage =
    "usage: md-replay FILE|STOREDIR [--md NAME] [--json] [--full] [--svg OUT.svg]\n"
    "       md-replay STOREDIR --explain [--now RFC3339] [--config FILE] [--md NAME] [--json]\n"
    "\n"
    "Replays the renewal and OCSP jobs of mod_md or mdactor: FILE is a job.json, an md-status\n"
    "document (one MD or all) or a status snapshot; STOREDIR is an MDStoreDir, whose\n"
    "domains/, staging/ and ocsp/<md>/job.json are read. Nothing is written to the store.\n"
    "\n"
    "Timeline (per job, oldest first): time as the file gives it, time since the previous\n"
    "entry, run number (#N from each \"starting\"), entry type, [status] and detail; then the\n"
    "runs, each retry with its delay after the failed run, the next retry and the error that\n"
    "stopped the last failed run.\n"
    "\n"
    "options:\n"
    "  --md NAME       only this managed domain\n"
    "  --json          machine-readable output instead of text\n"
    "  --full          whole details (text output cuts them at 120 characters)\n"
    "  --svg OUT.svg   also draw the timelines into an SVG file\n"
    "  --explain       what the engine would decide for each MD at --now, and why\n"
    "  --now T         the time for --explain, RFC 3339 (default: now)\n"
    "  --config FILE   engine configuration (JSON, as mdctl run takes) for --explain\n"
    "  --help          this text\n"
    "\n"
    "exit status: 0 done, 1 an output file could not be written, 2 usage error or bad input\n";

namespace {

struct options {
  std::string input;
  std::string md;
  std::string svg;
  std::string now;
  std::string config;
  bool json = false;
  bool full = false;
  bool explain = false;
  bool help = false;
};

/// Parses the arguments; returns "" or the usage problem.
std::string parse(const std::vector<std::string>& args, options& o) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& into) -> bool {
      if (i + 1 >= args.size()) return false;
      into = args[++i];
      return true;
    };
    if (a == "--help" || a == "-h") o.help = true;
    else if (a == "--json") o.json = true;
    else if (a == "--full") o.full = true;
    else if (a == "--explain") o.explain = true;
    else if (a == "--md" || a == "--svg" || a == "--now" || a == "--config") {
      std::string& into = a == "--md" ? o.md : a == "--svg" ? o.svg : a == "--now" ? o.now : o.config;
      if (!value(into)) return "'" + a + "' needs a value";
    } else if (!a.empty() && a[0] == '-') {
      return "unknown option '" + a + "'";
    } else if (o.input.empty()) {
      o.input = a;
    } else {
      return "more than one input: '" + o.input + "' and '" + a + "'";
    }
  }
  if (o.help) return {};
  if (o.input.empty()) return "no FILE or STOREDIR given";
  if (o.explain && !o.svg.empty()) return "'--svg' does not go with '--explain'";
  if (!o.explain && (!o.now.empty() || !o.config.empty())) return "'--now' and '--config' need '--explain'";
  return {};
}

int bad(std::ostream& err, const std::string& message) {
  err << "md-replay: " << message << "\n";
  return 2;
}

int run_explain(const options& o, std::ostream& out, std::ostream& err, sys_time now) {
  if (!o.now.empty()) {
    auto t = parse_rfc3339(o.now);
    if (!t) return bad(err, "--now: '" + o.now + "' is not an RFC 3339 time");
    now = *t;
  }
  engine_config cfg;
  if (!o.config.empty()) {
    auto c = load_engine_config(o.config);
    if (!c) return bad(err, c.error().message);
    cfg = std::move(*c);
  }
  auto inputs = load_explain_inputs(o.input, o.config.empty() ? nullptr : &cfg, o.md);
  if (!inputs) return bad(err, inputs.error().message);
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  std::string text;
  for (const auto& in : *inputs) {
    const explanation e = explain(in, cfg.settings, now);
    if (o.json) arr.push_back(to_json(e));
    else text += (text.empty() ? "" : "\n") + format_explanation(e);
  }
  if (o.json) out << nlohmann::ordered_json{{"explanations", arr}}.dump(2) << "\n";
  else out << text;
  return 0;
}

int run_timelines(const options& o, std::ostream& out, std::ostream& err) {
  auto jobs = load_input(o.input);
  if (!jobs) return bad(err, jobs.error().message);
  std::vector<timeline> tls;
  for (const auto& j : *jobs)
    if (o.md.empty() || j.md == o.md) tls.push_back(build_timeline(j));
  if (tls.empty()) return bad(err, "'" + o.md + "': no job of this managed domain in '" + o.input + "'");
  if (o.json) {
    out << to_json(tls).dump(2) << "\n";
  } else {
    text_options t;
    if (o.full) t.detail_width = 0;
    out << format_text(tls, t);
  }
  if (!o.svg.empty()) {
    if (auto s = fsio::write_file_atomic(o.svg, render_svg(tls), 0644); !s) {
      err << "md-replay: " << s.error().message << "\n";
      return 1;
    }
  }
  return 0;
}

} // namespace

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
            sys_time wall_now) {
  options o;
  if (const std::string problem = parse(args, o); !problem.empty()) {
    err << "md-replay: " << problem << "\n" << k_usage;
    return 2;
  }
  if (o.help) {
    out << k_usage;
    return 0;
  }
  return o.explain ? run_explain(o, out, err, wall_now) : run_timelines(o, out, err);
}

} // namespace mda::replay
