// The building blocks of mod_md's server-status output (mod_md_status.c status_ctx and its
// print_* helpers), shared by the two sections in server_status.cpp. Internal to status/.
//
// One writer serves both forms, as mod_md's status_ctx does: in HTML the values go into table
// cells; in the `?auto` form every value is a line "<prefix><label>: <value>", the prefix
// naming the row and cell ("ManagedDomain[0]Activity").
// Not here: what the sections contain (server_status.cpp).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "core/job.hpp"
#include "core/timefmt.hpp"

namespace mda::status_text {

/// "%Y-%m-%d" in UTC.
std::string ymd(sys_time t);

/// ap_escape_html2(p, s, 1): <, >, &, " as entities, every non-ASCII byte as "&#NNN;".
std::string escape_html(const std::string& s);

/// The text of one section.
struct writer {
  bool html = true;
  sys_time now{};
  std::string out;
  std::string prefix;

  /// A `?auto` line "<prefix><label>: <value>".
  void line(const std::string& label, const std::string& value) { out += prefix + label + ": " + value + "\n"; }
  /// The text in HTML, line(label, text) in `?auto`.
  void value(const std::string& label, const std::string& text) {
    if (html) out += text;
    else line(label, text);
  }
  /// Runs `fn` with `more` appended to the prefix.
  void nested(const std::string& more, const std::function<void()>& fn);

  /// print_date: a day, titled; nothing for an unset time.
  void date(sys_time t, const std::string& title);
  /// print_time: a point in time relative to now ("in ~2 hours", seconds in `?auto`); nothing
  /// for an unset time.
  void time(const std::string& label, sys_time t);
  /// si_val_valid_time: "from <date> until <date>", the from part only while it is ahead.
  void valid(const std::string& label, sys_time from, sys_time until);
  /// val_url_print: a CA or responder link; `index` > 0 numbers further URLs ("CAName1").
  void link(const std::string& label, const std::string& url, const std::string& name, std::size_t index);
  /// print_job_summary: the last result of a renewal or OCSP job and what comes next;
  /// `staged` = certificates staged by it; `separator` starts the HTML text (": " for OCSP).
  void job_summary(const job& jb, std::size_t staged, const std::string& separator);
};

struct cell {
  const char* label;
  std::function<void(writer&)> fn;
};

/// One table row (HTML, "even"/"odd" by index) or the `?auto` lines of row `index`, prefixed
/// "<row_prefix>[<index>]".
void row(writer& w, const std::string& row_prefix, std::size_t index, const std::vector<cell>& cells);

/// An HTML table with a <th> per cell label; `rows` writes the body. Ends with mod_md's stray
/// "</td></tr>" before "</tbody>".
void table(writer& w, const char* title, const char* css_class, const std::vector<cell>& cells,
           const std::function<void()>& rows);

} // namespace mda::status_text
