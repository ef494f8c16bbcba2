// Event reasons, rate limits, command lines and failure results (reference §5.6).
#include "core/events.hpp"

#include <array>
#include <utility>

namespace mda {

namespace {

using std::chrono::hours;
using std::chrono::milliseconds;

struct rate {
  std::string_view reason;
  milliseconds min_interval;
};

/// notify_rates[] of mod_md 2.6.
const std::array<rate, 7> k_rates = {{
    {event_reason::renewing, hours{1}},
    {event_reason::renewed, hours{24}},
    {event_reason::installed, hours{24}},
    {event_reason::expiring, hours{24}},
    {event_reason::errored, hours{1}},
    {event_reason::ocsp_renewed, hours{24}},
    {event_reason::ocsp_errored, hours{1}},
}};

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool is_blank(char c) { return c == ' ' || c == '\t'; }
bool is_escapable(char c) { return c == ' ' || c == '\t' || c == '"' || c == '\''; }

/// REMOVE_ESCAPE_CHARS: every backslash not itself escaped goes.
std::string drop_escapes(std::string_view raw) {
  std::string clean;
  bool escaped = false;
  for (char c : raw) {
    if (!escaped && c == '\\') {
      escaped = true;
    } else {
      escaped = false;
      clean += c;
    }
  }
  return clean;
}

std::string joined(std::initializer_list<std::string_view> parts) {
  std::string line;
  for (auto p : parts) {
    if (!line.empty()) line += ' ';
    line += p;
  }
  return line;
}

result command_failure(const char* problem, const char* directive, std::string_view cmd, int exit_code,
                       int status) {
  result r;
  r.status = status;
  r.problem = problem;
  r.detail = std::string(directive) + " " + std::string(cmd) + " failed with exit code " +
             std::to_string(exit_code) + ".";
  return r;
}

} // namespace

std::string challenge_setup_reason(std::string_view type, std::string_view dns) {
  return std::string(event_reason::challenge_setup_prefix) + std::string(type) + ":" + std::string(dns);
}

event_delivery delivery_of(std::string_view reason) {
  if (reason == event_reason::renewing || reason == event_reason::renewed ||
      reason == event_reason::expiring || starts_with(reason, event_reason::challenge_setup_prefix)) {
    return event_delivery::raise;
  }
  return event_delivery::holler;
}

milliseconds rate_limit_of(std::string_view reason) {
  for (const auto& r : k_rates) {
    if (r.reason == reason) return r.min_interval;
  }
  return milliseconds{0};
}

std::string message_entry_type(std::string_view reason) { return "message-" + std::string(reason); }

bool rate_limited(const job& j, std::string_view reason, sys_time now) {
  const milliseconds limit = rate_limit_of(reason);
  if (limit.count() <= 0) return false;
  const auto last = j.last_time_of(message_entry_type(reason));
  if (!last || last->time_since_epoch().count() <= 0) return false;
  const auto since = *last < now ? now - *last : sys_clock::duration{0};
  return since < limit;
}

std::vector<std::string> tokenize_command_line(std::string_view s) {
  std::vector<std::string> words;
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (true) {
    while (i < n && is_blank(s[i])) ++i;
    if (i >= n) break;
    char quote = 0;
    if (s[i] == '"' || s[i] == '\'') quote = s[i++];
    const std::size_t start = i;
    for (; i < n; ++i) {
      if (s[i] == '\\' && i + 1 < n && is_escapable(s[i + 1])) {
        ++i; // the escaped character stays in the word
        continue;
      }
      if (quote ? s[i] == quote : is_blank(s[i])) break;
    }
    words.push_back(drop_escapes(s.substr(start, i - start)));
    if (i < n) ++i; // past the closing quote or the blank
  }
  return words;
}

std::vector<std::string> notify_argv(std::string_view notify_cmd, std::string_view md_name) {
  return tokenize_command_line(joined({notify_cmd, md_name}));
}

std::vector<std::string> message_argv(std::string_view message_cmd, std::string_view reason,
                                      std::string_view md_name) {
  return tokenize_command_line(joined({message_cmd, reason, md_name}));
}

event_plan plan_event(const event_commands& cmds, std::string_view reason, std::string_view md_name,
                      const job& j, sys_time now) {
  event_plan plan;
  if (rate_limited(j, reason, now)) {
    plan.rate_limited = true;
    return plan;
  }
  if (reason == event_reason::renewed && !cmds.notify_cmd.empty()) {
    plan.notify_argv = notify_argv(cmds.notify_cmd, md_name);
  }
  if (!cmds.message_cmd.empty()) plan.message_argv = message_argv(cmds.message_cmd, reason, md_name);
  return plan;
}

result notify_failure(std::string_view notify_cmd, int exit_code, int status) {
  return command_failure(k_notify_cmd_problem, "MDNotifyCmd", notify_cmd, exit_code, status);
}

result message_failure(std::string_view message_cmd, int exit_code, int status) {
  return command_failure(k_message_cmd_problem, "MDMessageCmd", message_cmd, exit_code, status);
}

void mark_notified(job& j, std::string_view reason) {
  j.notified = true;
  if (reason == event_reason::renewed) j.notified_renewed = true;
}

std::string renewing_vetoed_text(std::string_view md_name, int status) {
  return std::string(md_name) + ": event-handler for 'renewing' returned " + std::to_string(status) +
         ", preventing renewal to proceed.";
}

std::string renewed_notice_text(std::string_view md_name) {
  return "The Managed Domain " + std::string(md_name) +
         " has been setup and changes will be activated on next (graceful) server restart.";
}

} // namespace mda
