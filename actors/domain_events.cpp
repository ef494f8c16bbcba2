// The events of a domain actor (see domain.hpp): rate limits and commands of core/events.hpp,
// run on the io pool with the command timeout; the job log records what happened.
#include <utility>

#include "actors/domain_detail.hpp"

namespace mda::domain_detail {

namespace {

struct event_outcome {
  bool ok = true;
  bool notify_failed = false; ///< MDNotifyCmd failed (else MDMessageCmd, when !ok)
  result r;
  std::string log_line;       ///< what the failed command left (stderr tail)
};

/// Runs the commands of an event plan (blocking, on a worker).
event_outcome run_event(domain_backend& backend, const event_commands& cmds,
                        const event_plan& plan, milliseconds timeout) {
  event_outcome out;
  auto run = [&](const std::vector<std::string>& argv, bool notify) {
    if (argv.empty()) return true;
    auto res = backend.run_command(argv, timeout);
    int code = res ? res->exit_code : -1;
    if (res && res->success()) return true;
    out.ok = false;
    out.notify_failed = notify;
    out.r = notify ? notify_failure(cmds.notify_cmd, code) : message_failure(cmds.message_cmd, code);
    out.log_line = res ? res->describe(timeout) + " " + output_tail(res->err) : res.error().message;
    return false;
  };
  if (run(plan.notify_argv, true)) run(plan.message_argv, false);
  return out;
}

} // namespace

void deliver_event(domain_pointer self, const std::string& reason,
                   std::function<void(bool, std::string)> done) {
  auto& st = self->state;
  auto plan = plan_event(st.cfg.settings.commands, reason, st.cfg.md.name, st.renewal, now(self));
  if (plan.rate_limited) {
    done(true, "");
    return;
  }
  auto backend = st.cfg.backend;
  auto cmds = st.cfg.settings.commands;
  auto timeout = st.cfg.settings.command_timeout;
  run_job<expected<event_outcome>>(
    self, st.cfg.io_pool, "event " + reason + " " + st.cfg.md.name,
    [backend, cmds, plan, timeout] {
      return expected<event_outcome>(run_event(*backend, cmds, plan, timeout));
    },
    [self, reason, done](expected<event_outcome> o) {
      auto& st = self->state;
      auto t = now(self);
      if (o && o->ok) {
        st.renewal.log_message(t, reason);
        persist_job(self);
        done(true, "");
        return;
      }
      result r = o ? o->r : result{k_apr_egeneral, "", o.error().message, "", {}, nullptr};
      if (o && o->notify_failed)
        st.renewal.log_notify_error(t, r);
      else
        st.renewal.log_message_error(t, reason, r);
      log(self, "event " + reason + ": " + r.detail + (o ? " " + o->log_line : std::string()));
      persist_job(self);
      done(false, r.detail);
    });
}

} // namespace mda::domain_detail
