// The md-status page for a browser (see status_page.hpp).
#include "status/status_page.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <vector>

#include "status/metrics.hpp"
#include "status/timeline_svg.hpp"

namespace mda {

namespace {

/// Small enough to read on a phone: one column, tables that wrap, pictures that shrink.
constexpr char k_style[] =
  "body{font-family:sans-serif;margin:0 auto;padding:0.5em;max-width:72em;color:#222;background:#fafafa}"
  "h1{font-size:1.4em}h2{font-size:1.15em;margin:0 0 0.3em;overflow-wrap:anywhere}"
  "section.md{background:#fff;border:1px solid #ddd;border-radius:6px;padding:0.7em;margin:0 0 1em}"
  "p{margin:0.3em 0;overflow-wrap:anywhere}"
  "table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:0.2em 0.4em;"
  "border-top:1px solid #eee;vertical-align:top;overflow-wrap:break-word}"
  ".state{display:inline-block;padding:0 0.4em;border-radius:4px;color:#fff}"
  ".state-ok{background:#2ca02c}.state-due{background:#ff7f0e}.state-renewing{background:#1f77b4}"
  ".state-error{background:#d62728}"
  ".bar{background:#eee;border-radius:3px;height:0.7em;width:100%;max-width:14em}"
  ".bar span{display:block;height:100%;border-radius:3px}"
  ".fill-ok{background:#2ca02c}.fill-low{background:#ff7f0e}.fill-out{background:#d62728}"
  ".error{color:#d62728}.note{color:#666;font-size:0.9em}"
  "figure{margin:0.5em 0 0}figure svg{max-width:100%;height:auto}"
  "@media (max-width:40em){th.wide,td.wide{display:none}}";

std::string t3339(sys_time t) { return format_rfc3339(t); }

/// The bar's fill: how much of the certificate's lifetime is left.
std::string days_bar(const cert_info& c, sys_time now) {
  const long long life = std::max<long long>(1, to_unix(c.valid_until) - to_unix(c.valid_from));
  const long long left = std::clamp<long long>(to_unix(c.valid_until) - to_unix(now), 0, life);
  const long long percent = left * 100 / life;
  const long long days = days_left(c.valid_until, now);
  const char* fill = days < 0 ? "fill-out" : (percent < 33 || days < 14 ? "fill-low" : "fill-ok");
  return "<div class=\"bar\"><span class=\"" + std::string(fill) + "\" style=\"width:" + std::to_string(percent) +
         "%\"></span></div>";
}

/// An MD's stapling entries (found once for all MDs, not searched per MD).
using staplings_of_md = std::vector<const stapling_info*>;

const stapling_info* stapling_of(const staplings_of_md& own, const cert_info& c) {
  for (const stapling_info* st : own)
    if (st->sha256_fingerprint == c.sha256_fingerprint) return st;
  return nullptr;
}

/// The MD's OCSP job: its own, else the newest (by last-run) of its entries' (ocsp_job_of).
const job* ocsp_job(const md_snapshot& m, const staplings_of_md& own) {
  if (m.ocsp_renewal) return &*m.ocsp_renewal;
  const job* best = nullptr;
  for (const stapling_info* st : own)
    if (st->renewal && (!best || st->renewal->last_run > best->last_run)) best = &*st->renewal;
  return best;
}

std::string ocsp_cell(const stapling_info* st) {
  if (!st) return "-";
  std::string out = to_string(st->status);
  if (st->valid_until != sys_time{}) out += ", valid until " + t3339(st->valid_until);
  if (st->renew_at != sys_time{}) out += ", refresh " + t3339(st->renew_at);
  return html_escape(out);
}

std::string certificates(const staplings_of_md& own, const md_snapshot& m, sys_time now) {
  std::string out = "<table class=\"certs\"><tr><th>key</th><th>valid until</th><th>days left</th>"
                    "<th class=\"wide\">serial / issuer</th><th>OCSP</th></tr>";
  bool any = false;
  for (const cert_slot& slot : m.certs) {
    if (!slot.cert) continue;
    any = true;
    const cert_info& c = *slot.cert;
    out += "<tr><td>" + html_escape(slot.name) + "</td><td>" + t3339(c.valid_until) + "</td><td>" +
           days_bar(c, now) + "<span class=\"days\">" + std::to_string(days_left(c.valid_until, now)) +
           " days left</span></td><td class=\"wide\">" + html_escape(c.serial) + "<br>" +
           html_escape(c.issuer_name) + "</td><td>" + (m.md.stapling ? ocsp_cell(stapling_of(own, c)) : "off") +
           "</td></tr>";
  }
  out += "</table>";
  return any ? out : "<p class=\"note\">No certificate yet.</p>";
}

/// The renewal job's last error, when its last run failed.
std::string last_error(const md_snapshot& m) {
  if (!m.renewal || m.renewal->errors == 0) return "";
  const job& jb = *m.renewal;
  std::string text = jb.last ? jb.last->detail : "";
  if (jb.last && !jb.last->problem.empty()) text += " (" + jb.last->problem + ")";
  std::string out = "<p class=\"error\">Last error (" + std::to_string(jb.errors) + " failed run" +
                    (jb.errors == 1 ? "" : "s") + " in a row";
  if (auto t = jb.last_time_of("renewal-error")) out += ", " + t3339(*t);
  out += "): " + html_escape(text) + "</p>";
  if (jb.next_run != sys_time{}) out += "<p class=\"note\">Next try: " + t3339(jb.next_run) + "</p>";
  return out;
}

/// The MD's renewal and OCSP jobs as md-replay draws them; "" when it has none with a log.
std::string timeline_figure(const staplings_of_md& own, const md_snapshot& m) {
  std::vector<replay::timeline> tls;
  auto add = [&](const job& jb, const char* kind) {
    if (jb.log.empty() && jb.next_run == sys_time{}) return;
    replay::job_source src;
    src.md = m.md.name;
    src.kind = kind;
    src.origin = "md-status";
    src.job = jb;
    if (jb.next_run != sys_time{}) src.next_run_text = format_rfc822(jb.next_run);
    if (jb.last_run != sys_time{}) src.last_run_text = format_rfc822(jb.last_run);
    tls.push_back(replay::build_timeline(src));
  };
  if (m.renewal) add(*m.renewal, "renewal");
  if (const job* o = ocsp_job(m, own)) add(*o, "ocsp");
  if (tls.empty()) return "";
  return "<figure class=\"timeline\">" + replay::render_svg_element(tls) + "</figure>";
}

std::string md_section(const staplings_of_md& own, const md_snapshot& m, sys_time now) {
  const std::string state = md_renewal_state(m);
  std::string domains;
  for (const auto& d : m.md.domains) domains += (domains.empty() ? "" : ", ") + d;
  std::string out = "<section class=\"md\" id=\"md-" + html_escape(m.md.name) + "\"><h2>" + html_escape(m.md.name) +
                    "</h2><p><span class=\"state state-" + state + "\">" + state + "</span>";
  if (m.renew_at != sys_time{}) out += " renewal planned " + t3339(m.renew_at);
  out += "</p>";
  if (!domains.empty()) out += "<p class=\"note\">Domains: " + html_escape(domains) + "</p>";
  out += last_error(m);
  out += certificates(own, m, now);
  out += timeline_figure(own, m);
  return out + "</section>\n";
}

} // namespace

bool wants_html(std::string_view accept) {
  std::string lower(accept);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  const auto html = lower.find("text/html");
  if (html == std::string::npos) return false;
  const auto json = lower.find("application/json");
  return json == std::string::npos || html < json;
}

std::string html_escape(std::string_view s) { return replay::xml_escape(std::string(s)); }

long long days_left(sys_time until, sys_time now) {
  const long long secs = to_unix(until) - to_unix(now);
  return secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
}

std::string md_status_html(const status_snapshot& s, sys_time now) {
  std::vector<const md_snapshot*> sorted;
  for (const auto& m : s.mds) sorted.push_back(&m);
  std::sort(sorted.begin(), sorted.end(), [](const md_snapshot* a, const md_snapshot* b) { return a->md.name < b->md.name; });
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                    "<title>Managed domains</title><style>" + std::string(k_style) + "</style></head>\n<body>"
                    "<h1>Managed domains</h1><p class=\"note\">" + std::to_string(sorted.size()) +
                    " managed domain" + (sorted.size() == 1 ? "" : "s") + ", as of " + t3339(now) + "</p>\n";
  std::map<std::string_view, staplings_of_md> staplings;
  for (const stapling_info& st : s.staplings) staplings[st.domain].push_back(&st);
  const staplings_of_md none;
  for (const md_snapshot* m : sorted) {
    auto it = staplings.find(m->md.name);
    out += md_section(it == staplings.end() ? none : it->second, *m, now);
  }
  return out + "</body></html>\n";
}

} // namespace mda
