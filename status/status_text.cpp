#include "status/status_text.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "core/duration.hpp"

namespace mda::status_text {

namespace {

/// Below this distance print_time says "in ~N hours", from it on the date (mod_md: 4 days).
constexpr std::chrono::hours k_rough_time_limit{4 * 24};

} // namespace

std::string ymd(sys_time t) {
  std::time_t tt = static_cast<std::time_t>(to_unix(t));
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

std::string escape_html(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else if (c == '"') out += "&quot;";
    else if (c >= 0x80) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "&#%3.3d;", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

void writer::nested(const std::string& more, const std::function<void()>& fn) {
  const std::string saved = prefix;
  prefix += more;
  fn();
  prefix = saved;
}

void writer::date(sys_time t, const std::string& title) {
  if (t <= sys_time{}) return;
  if (html) out += "<span title='" + escape_html(title) + "' style='white-space: nowrap;'>" + ymd(t) + "</span>";
  else line(title, ymd(t));
}

void writer::time(const std::string& label, sys_time t) {
  if (t == sys_time{}) return;
  if (!html) {
    // apr_time_sec(t - now): whole seconds, truncated toward zero.
    line(label, std::to_string(std::chrono::duration_cast<std::chrono::seconds>(t - now).count()));
    return;
  }
  const std::string sep = label.empty() ? "" : " ";
  const bool ahead = t > now;
  const auto delta = ahead ? t - now : now - t;
  if (delta >= k_rough_time_limit) {
    out += label + sep + "<span title='" + format_rfc822(t) + "' style='white-space: nowrap;'>" + ymd(t) +
           "</span>";
    return;
  }
  const auto rough = print_duration_roughly(std::chrono::duration_cast<std::chrono::milliseconds>(delta));
  out += label + sep + "<span title='" + format_rfc822(t) + "'>" + (ahead ? "in " : "") + rough +
         (ahead ? "" : " ago") + "</span>";
}

void writer::valid(const std::string& label, sys_time from, sys_time until) {
  if (!html) {
    if (from > now) date(from, label + "From");
    if (until != sys_time{}) date(until, label + "Until");
    return;
  }
  const std::string sfrom = from != sys_time{} ? format_rfc822(from) : "";
  const char* sep = "";
  if (from > now) {
    out += "from ";
    date(from, sfrom);
    sep = " ";
  }
  if (until != sys_time{}) {
    out += sep;
    out += "until ";
    const std::string suntil = format_rfc822(until);
    date(until, sfrom.empty() ? suntil : sfrom + " - " + suntil);
  }
}

void writer::link(const std::string& label, const std::string& url, const std::string& name, std::size_t index) {
  if (html) {
    out += std::string(index ? " " : "") + "<a href='" + escape_html(url) + "'>" + escape_html(name) + "</a>";
    return;
  }
  const std::string n = index ? std::to_string(index) : "";
  line(label + "Name" + n, name);
  line(label + "URL" + n, url);
}

void writer::job_summary(const job& jb, std::size_t staged, const std::string& separator) {
  std::string text = separator;
  const int rv = jb.last ? jb.last->status : 0;
  if (rv != 0) {
    const std::string& problem = jb.last->problem;
    if (html) {
      text += " Error[" + status_description(rv) + "]: " + problem;
    } else {
      line("LastStatus", status_description(rv));
      line("LastProblem", problem.empty() ? "(null)" : problem); // mod_md passes a NULL to %s
    }
  }
  if (!html) line("Finished", jb.finished ? "yes" : "no");
  if (jb.finished) {
    if (!html) line("NewStaged", std::to_string(staged));
    else if (staged > 0)
      text += "  finished, " + std::to_string(staged) + " new certificate" + (staged > 1 ? "s" : "") + " staged.";
    else
      text += "  finished successfully.";
  } else if (jb.last && !jb.last->detail.empty()) {
    if (html) text += " " + jb.last->detail;
    else line("LastDetail", jb.last->detail);
  }
  // Here mod_md would add "(N retries)", but it reads "errors" from the MD object, where it
  // never is: the retry count never shows (kept).
  if (html) out += text;
  if (jb.next_run > now && !jb.finished) {
    time(html ? "\nNext run" : "NextRun", jb.next_run);
  } else if (!text.empty()) {
    if (html) out += "\nOngoing...";
    else line("", "Ongoing");
  }
}

void row(writer& w, const std::string& row_prefix, std::size_t index, const std::vector<cell>& cells) {
  if (w.html) {
    w.out += std::string("<tr class=\"") + (index % 2 ? "odd" : "even") + "\">";
    for (const auto& c : cells) {
      w.out += "<td>";
      c.fn(w);
      w.out += "</td>";
    }
    w.out += "</tr>";
    return;
  }
  const std::string saved = w.prefix;
  w.prefix = row_prefix + "[" + std::to_string(index) + "]";
  for (const auto& c : cells) c.fn(w);
  w.prefix = saved;
}

void table(writer& w, const char* title, const char* css_class, const std::vector<cell>& cells,
           const std::function<void()>& rows) {
  w.out += std::string("<hr>\n<h3>") + title + "</h3>\n<table class='" + css_class + "'><thead><tr>\n";
  for (const auto& c : cells) {
    const std::string label = escape_html(c.label);
    w.out += "<th class=\"" + label + "\">" + label + "</th>";
  }
  w.out += "</tr>\n</thead><tbody>";
  rows();
  // The stray "</td></tr>" is mod_md's; pages and scrapers have lived with it for years.
  w.out += "</td></tr>\n</tbody>\n</table>\n";
}

} // namespace mda::status_text
