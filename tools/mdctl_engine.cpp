// `mdctl renew MD` and `mdctl status [MD]`: the running engine, through its status socket
// (ipc/status_socket.hpp; <store>/mdactor/status.sock where the Apache module runs it).
//
// - renew: "GET snapshot <md>" (the MD must be the engine's), then "RENEW <md>": the engine's
//   domain actor looks at the MD at once with its renew window ignored and answers with its
//   decision (an MD not renewed at all — MDRenewMode manual, static files — says why, as does
//   a renewed set already waiting for the server's restart). mdctl then polls "GET snapshot
//   <md>" every 300 ms, prints the job log entries as they come and ends when the run does:
//   0 when a certificate with a new serial is staged or served, 1 with the run's last error
//   otherwise or after --timeout (default 600 s). No engine at the socket: said so, exit 3;
//   nothing runs in-process (a renewal needs the challenge setup of the server).
// - status: "GET md-status [MD]" as mod_md's md-status handler answers it; --json prints
//   that JSON, otherwise per MD its names, state, each certificate's serial, end of validity
//   and days left, OCSP status, the renewal (planned time, in progress, staged, last error).
//   An MD the engine does not have (the answer lists all MDs instead): exit 1 naming it.
// Who may ask: whoever may connect to the socket (0600, owned by the engine's user: root and
// that user, i.e. Apache's User — docs/mdctl.md).
#include <algorithm>
#include <iostream>
#include <optional>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/timefmt.hpp"
#include "ipc/status_client.hpp"
#include "status/snapshot.hpp"
#include "tools/mdctl_admin.hpp"

namespace mda::mdctl {

const char* const k_renew_usage =
    "  renew MD [--store DIR | --socket PATH] [--timeout SECS]\n"
    "      Ask the running engine (its status socket, default DIR/mdactor/status.sock) to\n"
    "      renew MD now, whatever its renew window says, print the run's progress and its\n"
    "      result. Exit 0 when a new certificate was obtained (staged or served), 1 when the\n"
    "      run failed or did not end within SECS (default 600), 3 when no engine answers.\n";

const char* const k_status_usage =
    "  status [MD] [--store DIR | --socket PATH] [--json]\n"
    "      The md-status of the running engine, per MD: state, certificates (serial, valid\n"
    "      until, days left, OCSP), renewal (planned, in progress, staged, last error).\n"
    "      --json: the md-status JSON as the server's md-status handler gives it.\n";

namespace {

/// The snapshot of one MD from the engine; nullopt when it has none of that name.
expected<std::optional<md_snapshot>> engine_md(const std::string& socket, const std::string& md) {
  auto body = query_status_socket(socket, "GET snapshot " + md, k_socket_timeout);
  if (!body) return body.error();
  auto snap = parse_snapshot(*body, socket);
  if (!snap) return snap.error();
  if (snap->mds.empty()) return std::optional<md_snapshot>{};
  return std::optional<md_snapshot>{snap->mds.front()};
}

/// The connection failed (no socket file, nobody listening, no permission): no engine to ask.
bool no_engine(const error& e) { return e.message.rfind("connect('", 0) == 0; }

std::set<std::string> serials_of(const md_snapshot& m) {
  std::set<std::string> out;
  for (const auto* slots : {&m.certs, &m.staged_certs})
    for (const auto& s : *slots)
      if (s.cert) out.insert(s.cert->serial);
  return out;
}

std::string log_key(const log_entry& e) {
  return std::to_string(to_unix(e.when)) + "|" + e.type + "|" + e.status + "|" + e.detail;
}

/// What mdctl renew watches of an MD while its run goes on.
struct renew_watch {
  std::set<std::string> serials;  ///< of the certificates before the run
  std::set<std::string> logged;   ///< job log entries printed (or there before)
  int errors = 0;
  sys_time last_run{};
  bool seen_renewing = false;

  explicit renew_watch(const md_snapshot& m) : serials(serials_of(m)) {
    if (m.renewal) {
      for (const auto& e : m.renewal->log) logged.insert(log_key(e));
      errors = m.renewal->errors;
      last_run = m.renewal->last_run;
    }
  }

  /// Prints the entries not seen yet, oldest first.
  void print_new(const md_snapshot& m) {
    if (!m.renewal) return;
    for (auto it = m.renewal->log.rbegin(); it != m.renewal->log.rend(); ++it) {
      if (!logged.insert(log_key(*it)).second) continue;
      std::cout << "  " << it->type << (it->detail.empty() ? "" : ": " + it->detail) << "\n";
    }
  }

  /// The run has ended: a new certificate is served, or staged and announced ("renewed"
  /// delivered) for k_settle without being served (it waits for a restart), or no run is in
  /// progress any more (one was seen, or has left its trace in the job) without one.
  bool ended(const md_snapshot& m) {
    seen_renewing = seen_renewing || m.renewing;
    if (m.renewing) return false;
    auto fresh = new_certs(m);
    if (std::any_of(fresh.begin(), fresh.end(), [](const auto& f) { return f.served; })) return true;
    if (!fresh.empty()) {
      if (!m.renewal || !m.renewal->notified_renewed) return false; // activation may follow
      const auto t = std::chrono::steady_clock::now();
      if (!announced) announced = t;
      return t - *announced >= k_settle;
    }
    const bool traced = m.renewal && (m.renewal->errors != errors || m.renewal->last_run != last_run);
    return seen_renewing || traced;
  }

  /// How long a staged, announced set may take to be served (in-process or live activation).
  static constexpr std::chrono::seconds k_settle{3};
  std::optional<std::chrono::steady_clock::time_point> announced;

  struct fresh_cert {
    std::string slot;
    cert_info cert;
    bool served = false;
  };

  /// Certificates with a serial not seen before the run: the served ones first.
  std::vector<fresh_cert> new_certs(const md_snapshot& m) const {
    std::vector<fresh_cert> out;
    std::set<std::string> listed;
    for (const auto* slots : {&m.certs, &m.staged_certs})
      for (const auto& s : *slots)
        if (s.cert && !serials.count(s.cert->serial) && listed.insert(s.cert->serial).second)
          out.push_back({s.name, *s.cert, slots == &m.certs});
    return out;
  }
};

int report_end(const std::string& cmd, const std::string& md, const md_snapshot& m,
               const renew_watch& w) {
  auto fresh = w.new_certs(m);
  if (!fresh.empty()) {
    for (const auto& f : fresh)
      std::cout << "new certificate " << f.slot << " for '" << md << "': serial " << f.cert.serial
                << ", valid until " << format_rfc822(f.cert.valid_until) << "\n";
    std::cout << (fresh.front().served ? "served now\n"
                                       : "staged: served after the server's next (graceful) restart\n");
    return 0;
  }
  std::string why = "the run ended without a new certificate";
  if (m.renewal && m.renewal->last && !m.renewal->last->detail.empty())
    why = m.renewal->last->detail;
  return fail(cmd, "renewing '" + md + "' failed: " + why);
}

} // namespace

int renew_md(const std::string& cmd, const std::string& socket, const std::string& md,
             std::chrono::seconds timeout, std::string* why_no_engine) {
  auto first = engine_md(socket, md);
  if (!first && no_engine(first.error())) {
    if (why_no_engine) *why_no_engine = first.error().message;
    return k_no_engine;
  }
  if (!first) return fail(cmd, first.error().message);
  if (!*first) return fail(cmd, "the engine at " + socket + " manages no MD named '" + md + "'");
  const std::string name = (*first)->md.name;
  renew_watch watch(**first);
  auto started = query_status_socket(socket, "RENEW " + name, k_socket_timeout);
  if (!started) return fail(cmd, "'" + name + "': " + started.error().message);
  std::cout << name << ": " << *started << "\n";
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto now = engine_md(socket, name);
    if (!now) return fail(cmd, "following the renewal of '" + name + "': " + now.error().message);
    if (!*now) return fail(cmd, "the engine at " + socket + " no longer manages '" + name + "'");
    watch.print_new(**now);
    if (watch.ended(**now)) return report_end(cmd, name, **now, watch);
    if (std::chrono::steady_clock::now() >= deadline)
      return fail(cmd, "renewing '" + name + "': no result within " +
                           std::to_string(timeout.count()) + " s (the run goes on in the engine)");
  }
}

int renew_main(const std::vector<std::string>& args) {
  const char* cmd = "renew";
  auto a = parse_admin_args(args, {"--timeout"}, {});
  if (!a) return usage_fail(cmd, a.error().message, k_renew_usage);
  if (a->help) {
    std::cout << "usage:\n" << k_renew_usage;
    return 0;
  }
  if (a->positional.size() != 1) return usage_fail(cmd, "expected one MD name", k_renew_usage);
  int secs = 600;
  if (auto t = option(*a, "--timeout")) {
    secs = std::atoi(t->c_str());
    if (secs <= 0) return usage_fail(cmd, "--timeout '" + *t + "': expected seconds", k_renew_usage);
  }
  std::string why;
  int rc = renew_md(cmd, socket_path(*a), a->positional.front(), std::chrono::seconds(secs), &why);
  if (rc == k_no_engine)
    std::cerr << "mdctl renew: no engine answers at " << socket_path(*a) << ": " << why
              << " (is the server running? --store DIR or --socket PATH name another)\n";
  return rc;
}

namespace {

const char* const k_md_states[] = {"unknown", "incomplete", "complete", "expired", "error",
                                   "missing information"};

/// Whether the MD has a certificate (an entry with a serial in "cert").
bool has_certificate(const nlohmann::json& md) {
  const auto certs = md.value("cert", nlohmann::json::object());
  for (const auto& c : certs)
    if (c.is_object() && c.contains("serial")) return true;
  return false;
}

std::string state_name(const nlohmann::json& md) {
  int s = md.value("state", 0);
  // an engine without Apache (mdctl run) reports md.json's state, often unknown: what the
  // certificates say, as mod_md's state_init would
  if (s == 0) s = has_certificate(md) ? 2 : 1;
  std::string out = s >= 0 && s < 6 ? k_md_states[s] : "state " + std::to_string(s);
  if (md.contains("state-descr") && md["state-descr"].is_string())
    out += " (" + md["state-descr"].get<std::string>() + ")";
  return out;
}

std::string until_text(const nlohmann::json& valid, sys_time now) {
  if (!valid.is_object() || !valid.contains("until") || !valid["until"].is_string()) return "";
  const std::string until = valid["until"].get<std::string>();
  auto t = parse_rfc822(until);
  if (!t) return "valid until " + until;
  auto days = std::chrono::duration_cast<std::chrono::hours>(*t - now).count() / 24;
  return "valid until " + until + " (" +
         (*t < now ? "expired" : std::to_string(days) + (days == 1 ? " day left" : " days left")) +
         ")";
}

void print_certs(const nlohmann::json& certs, sys_time now, const char* indent) {
  if (!certs.is_object()) return;
  for (auto it = certs.begin(); it != certs.end(); ++it) {
    if (it.key() == "valid" || !it->is_object()) continue;
    std::cout << indent << it.key() << ": serial " << it->value("serial", "?") << ", "
              << until_text(it->value("valid", nlohmann::json()), now);
    if (it->contains("ocsp") && (*it)["ocsp"].is_object())
      std::cout << ", OCSP " << (*it)["ocsp"].value("status", "?");
    std::cout << "\n";
  }
}

void print_renewal(const nlohmann::json& md, sys_time now) {
  if (md.contains("renew-at")) std::cout << "  renew at: " << md.value("renew-at", "") << "\n";
  if (!md.contains("renewal") || !md["renewal"].is_object()) return;
  const auto& r = md["renewal"];
  const int errors = r.value("errors", 0);
  std::string what = r.value("finished", false) ? "finished, new certificate staged"
                     : errors > 0                ? "retrying after errors"
                                                 : "in progress";
  if (r.contains("activity") && r["activity"].is_string()) what += ": " + r["activity"].get<std::string>();
  std::cout << "  renewal: " << what << "\n";
  print_certs(r.value("cert", nlohmann::json()), now, "    staged ");
  if (errors > 0 && r.contains("last") && r["last"].is_object())
    std::cout << "  last error (" << errors << (errors == 1 ? " error" : " errors") << "): "
              << r["last"].value("detail", r["last"].value("problem", "")) << "\n";
  if (r.contains("next-run")) std::cout << "  next try: " << r.value("next-run", "") << "\n";
}

void print_md(const nlohmann::json& md, sys_time now) {
  std::cout << md.value("name", "?") << "\n  names:";
  for (const auto& d : md.value("domains", nlohmann::json::array()))
    if (d.is_string()) std::cout << " " << d.get<std::string>();
  std::cout << "\n  state: " << state_name(md) << "\n";
  print_certs(md.value("cert", nlohmann::json()), now, "  cert ");
  print_renewal(md, now);
}

} // namespace

int status_main(const std::vector<std::string>& args) {
  const char* cmd = "status";
  auto a = parse_admin_args(args, {}, {"--json"});
  if (!a) return usage_fail(cmd, a.error().message, k_status_usage);
  if (a->help) {
    std::cout << "usage:\n" << k_status_usage;
    return 0;
  }
  if (a->positional.size() > 1) return usage_fail(cmd, "at most one MD name", k_status_usage);
  const std::string socket = socket_path(*a);
  const std::string md = a->positional.empty() ? "" : a->positional.front();
  auto body = query_status_socket(socket, md.empty() ? "GET md-status" : "GET md-status " + md,
                                  k_socket_timeout);
  if (!body && no_engine(body.error()))
    return fail(cmd, "no engine answers at " + socket + ": " + body.error().message);
  if (!body) return fail(cmd, body.error().message);
  auto j = nlohmann::json::parse(*body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(cmd, "the answer of " + socket + " is not JSON");
  if (!md.empty() && j.contains("managed-domains"))
    return fail(cmd, "the engine at " + socket + " manages no MD named '" + md + "'");
  if (has_flag(*a, "--json")) {
    std::cout << *body << "\n";
    return 0;
  }
  const auto now = sys_clock::now();
  if (!md.empty()) {
    print_md(j, now);
    return 0;
  }
  const auto mds = j.value("managed-domains", nlohmann::json::array());
  if (mds.empty()) std::cout << "no managed domains\n";
  for (const auto& m : mds) print_md(m, now);
  return 0;
}

} // namespace mda::mdctl
