// The SVG picture of the timelines (svg.hpp). Coordinates are whole pixels so that the output
// is the same on every machine.
#include "status/timeline_svg.hpp"

#include <algorithm>

namespace mda::replay {

namespace {

constexpr long long k_width = 1000;
constexpr long long k_plot_left = 220;
constexpr long long k_plot_right = 960;
constexpr long long k_top = 20;
constexpr long long k_lane = 50;

std::string num(long long v) { return std::to_string(v); }

struct time_range {
  long long from = 0; ///< unix seconds
  long long to = 0;
};

time_range range_of(const std::vector<timeline>& tls) {
  bool any = false;
  time_range r;
  auto take = [&](sys_time t) {
    const long long u = to_unix(t);
    if (!any) r.from = r.to = u;
    r.from = std::min(r.from, u);
    r.to = std::max(r.to, u);
    any = true;
  };
  for (const auto& tl : tls) {
    for (const auto& s : tl.steps) take(s.when);
    if (tl.next_run) take(*tl.next_run);
  }
  return r;
}

long long x_of(sys_time t, const time_range& r) {
  const long long span = r.to - r.from;
  if (span <= 0) return k_plot_left;
  return k_plot_left + (to_unix(t) - r.from) * (k_plot_right - k_plot_left) / span;
}

std::string circle(long long x, long long y, long long radius, const std::string& fill,
                   const std::string& stroke, const std::string& title) {
  return "    <circle cx=\"" + num(x) + "\" cy=\"" + num(y) + "\" r=\"" + num(radius) + "\" fill=\"" +
         fill + "\" stroke=\"" + stroke + "\"><title>" + xml_escape(title) + "</title></circle>\n";
}

std::string text(long long x, long long y, const std::string& s, const std::string& extra = "") {
  return "    <text x=\"" + num(x) + "\" y=\"" + num(y) + "\"" + extra + ">" + xml_escape(s) + "</text>\n";
}

std::string lane(const timeline& tl, long long y, const time_range& r) {
  std::string out = "  <g class=\"lane\">\n";
  out += text(10, y + 4, tl.md + (tl.kind == "renewal" ? "" : " (" + tl.kind + ")"));
  out += "    <line x1=\"" + num(k_plot_left) + "\" y1=\"" + num(y) + "\" x2=\"" + num(k_plot_right) +
         "\" y2=\"" + num(y) + "\" stroke=\"#cccccc\"/>\n";
  long long last_x = -1;
  int stacked = 0;
  for (const auto& s : tl.steps) {
    const long long x = x_of(s.when, r);
    stacked = x == last_x ? stacked + 1 : 0;
    last_x = x;
    static constexpr long long k_offsets[] = {0, -4, 4, -8, 8};
    const long long dy = k_offsets[stacked % 5];
    std::string title = s.when_text + " " + s.type;
    if (!s.status.empty()) title += " [" + s.status + "]";
    if (!s.detail.empty()) title += ": " + s.detail;
    out += circle(x, y + dy, 4, step_colour(s.type), "none", title);
    if (s.type == "starting") out += text(x, y - 12, "#" + std::to_string(s.run), " font-size=\"10\"");
    if (s.error) out += text(x, y + 20, "!", " font-size=\"12\" fill=\"#d62728\"");
  }
  if (tl.next_run) {
    out += circle(x_of(*tl.next_run, r), y, 6, "none", "#ff7f0e", "next-run " + tl.next_run_text);
  }
  return out + "  </g>\n";
}

} // namespace

const char* step_colour(const std::string& type) {
  if (type == "starting") return "#1f77b4";
  if (type == "finished") return "#2ca02c";
  if (type == "progress") return "#999999";
  if (type.size() > 6 && type.compare(type.size() - 6, 6, "-error") == 0) return "#d62728";
  if (type.compare(0, 8, "message-") == 0) return "#9467bd";
  return "#000000";
}

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // XML 1.0 allows no control characters but tab, newline and return.
        out += (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') ? ' ' : c;
    }
  }
  return out;
}

std::string render_svg(const std::vector<timeline>& tls) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + render_svg_element(tls);
}

std::string render_svg_element(const std::vector<timeline>& tls) {
  const time_range r = range_of(tls);
  const long long n = static_cast<long long>(tls.size());
  const long long axis_y = k_top + n * k_lane + 10;
  const long long height = axis_y + 30;
  std::string out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(k_width) + "\" height=\"" +
         num(height) + "\" viewBox=\"0 0 " + num(k_width) + " " + num(height) +
         "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  out += "  <rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
  for (long long i = 0; i < n; ++i)
    out += lane(tls[static_cast<std::size_t>(i)], k_top + k_lane / 2 + i * k_lane, r);
  out += "  <g class=\"axis\">\n";
  out += "    <line x1=\"" + num(k_plot_left) + "\" y1=\"" + num(axis_y) + "\" x2=\"" +
         num(k_plot_right) + "\" y2=\"" + num(axis_y) + "\" stroke=\"#000000\"/>\n";
  if (n > 0) {
    out += text(k_plot_left, axis_y + 18, format_rfc3339(from_unix(r.from)));
    out += text(k_plot_right, axis_y + 18, format_rfc3339(from_unix(r.to)), " text-anchor=\"end\"");
  }
  out += "  </g>\n</svg>\n";
  return out;
}

} // namespace mda::replay
