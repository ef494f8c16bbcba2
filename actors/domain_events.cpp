// The events of a domain actor (see domain.hpp): rate limits and commands of core/events.hpp,
// run on the io pool with the command timeout (actors/events.hpp); an event without a command
// to run is recorded at once. The job log records what happened.
#include <utility>

#include "actors/domain_detail.hpp"
#include "core/event_commands.hpp"

namespace mda::domain_detail {

void deliver_event(domain_pointer self, const std::string& reason,
                   std::function<void(bool, std::string)> done) {
  auto& st = self->state;
  auto plan = plan_event(st.cfg.settings.commands, reason, st.cfg.md.name, st.run.renewal, now(self));
  if (plan.rate_limited) {
    done(true, "");
    return;
  }
  if (plan.notify_argv.empty() && plan.message_argv.empty()) {
    // nothing to run (no MDNotifyCmd / MDMessageCmd for it): recorded here, without a trip
    // through the io pool (with thousands of MDs failing at once that queue was the backlog)
    auto rec = record_event(st.run.renewal, reason, expected<event_outcome>(event_outcome{}), now(self));
    persist_job(self);
    done(rec.ok, rec.detail);
    return;
  }
  auto backend = st.cfg.backend;
  auto cmds = st.cfg.settings.commands;
  auto timeout = st.cfg.settings.command_timeout;
  run_job<expected<event_outcome>>(
    self, st.cfg.io_pool, "event " + reason + " " + st.cfg.md.name,
    [backend, cmds, plan, timeout] {
      command_runner run = [backend](const std::vector<std::string>& argv,
                                     std::chrono::milliseconds t) {
        return backend->run_command(argv, t);
      };
      return expected<event_outcome>(run_event_commands(run, cmds, plan, timeout));
    },
    [self, reason, done](expected<event_outcome> o) {
      auto rec = record_event(self->state.run.renewal, reason, o, now(self));
      if (!rec.ok) log(self, "event " + reason + ": " + rec.log);
      persist_job(self);
      done(rec.ok, rec.detail);
    });
}

} // namespace mda::domain_detail
