// Running an event's commands and recording the outcome (see event_commands.hpp).
#include "core/event_commands.hpp"

namespace mda {

command_runner process_command_runner() {
  return [](const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
    process_options o;
    o.timeout = timeout;
    return run_process(argv, o);
  };
}

event_outcome run_event_commands(const command_runner& run, const event_commands& cmds,
                                 const event_plan& plan, std::chrono::milliseconds timeout) {
  event_outcome out;
  auto one = [&](const std::vector<std::string>& argv, bool notify) {
    if (argv.empty()) return true;
    auto res = run(argv, timeout);
    if (res && res->success()) return true;
    int code = res ? res->exit_code : -1;
    out.ok = false;
    out.notify_failed = notify;
    out.r = notify ? notify_failure(cmds.notify_cmd, code) : message_failure(cmds.message_cmd, code);
    out.log_line = res ? res->describe(timeout) + " " + output_tail(res->err) : res.error().message;
    return false;
  };
  if (one(plan.notify_argv, true)) one(plan.message_argv, false);
  return out;
}

event_record record_event(job& j, std::string_view reason, const expected<event_outcome>& outcome,
                          sys_time now) {
  event_record rec;
  if (outcome && outcome->ok) {
    j.log_message(now, std::string(reason));
    return rec;
  }
  result r = outcome ? outcome->r : result{k_apr_egeneral, "", outcome.error().message, "", {}, nullptr};
  j.last = r; // as mod_md's notify() writes the failure into the run's result
  if (outcome && outcome->notify_failed)
    j.log_notify_error(now, r);
  else
    j.log_message_error(now, std::string(reason), r);
  rec.ok = false;
  rec.detail = r.detail;
  rec.log = r.detail + (outcome ? " " + outcome->log_line : std::string());
  return rec;
}

} // namespace mda
