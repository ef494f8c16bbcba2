// Running an event's commands and recording the outcome (core/event_commands.hpp) with a
// scripted runner: no process is started.
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "core/event_commands.hpp"

using namespace mda;
using namespace std::chrono_literals;
using argv_list = std::vector<std::vector<std::string>>;
using entries = std::vector<log_entry>;

namespace {

const sys_time k_now = from_unix(1767225600); // Thu, 01 Jan 2026 00:00:00 GMT

/// A runner that records what it ran and exits with the code set for its program (0 when
/// none); a failing program leaves two lines on stderr.
struct scripted_runner {
  argv_list ran;
  std::map<std::string, int> exit_codes;

  command_runner runner() {
    return [this](const std::vector<std::string>& argv,
                  std::chrono::milliseconds) -> expected<process_result> {
      ran.push_back(argv);
      process_result r;
      r.exit_code = exit_codes[argv.front()];
      if (r.exit_code != 0) r.err = "first\nlast line\n";
      return r;
    };
  }
};

} // namespace

TEST_CASE("event commands: MDNotifyCmd first, MDMessageCmd after, a failure stops",
          "[core][events]") {
  const event_commands cmds{"/bin/notify -v", "/bin/message"};
  event_plan plan;
  plan.notify_argv = notify_argv(cmds.notify_cmd, "a.example");
  plan.message_argv = message_argv(cmds.message_cmd, "renewed", "a.example");
  scripted_runner script;

  SECTION("both succeed") {
    const auto out = run_event_commands(script.runner(), cmds, plan, 500ms);
    CHECK(out.ok);
    CHECK(script.ran ==
          argv_list{{"/bin/notify", "-v", "a.example"}, {"/bin/message", "renewed", "a.example"}});
  }
  SECTION("MDNotifyCmd fails: MDMessageCmd does not run") {
    script.exit_codes["/bin/notify"] = 3;
    const auto out = run_event_commands(script.runner(), cmds, plan, 500ms);
    CHECK(!out.ok);
    CHECK(out.notify_failed);
    CHECK(out.r.problem == "urn:org:apache:httpd:log:AH10108:");
    CHECK(out.r.detail == "MDNotifyCmd /bin/notify -v failed with exit code 3.");
    CHECK(out.log_line == "exited with status 3 first | last line");
    CHECK(script.ran == argv_list{{"/bin/notify", "-v", "a.example"}});
  }
  SECTION("MDMessageCmd fails") {
    script.exit_codes["/bin/message"] = 1;
    const auto out = run_event_commands(script.runner(), cmds, plan, 500ms);
    CHECK(!out.ok);
    CHECK(!out.notify_failed);
    CHECK(out.r.problem == "urn:org:apache:httpd:log:AH10109:");
    CHECK(out.r.detail == "MDMessageCmd /bin/message failed with exit code 1.");
    CHECK(script.ran.size() == 2);
  }
  SECTION("commands not configured are skipped") {
    const auto out = run_event_commands(script.runner(), cmds, event_plan{}, 500ms);
    CHECK(out.ok);
    CHECK(script.ran.empty());
  }
}

TEST_CASE("event commands: the outcome in the job log", "[core][events]") {
  job j;
  SECTION("delivered: message-<reason>") {
    const auto rec = record_event(j, "renewed", event_outcome{}, k_now);
    CHECK(rec.ok);
    CHECK(rec.detail == "");
    CHECK(j.log == entries{{k_now, "message-renewed", "", ""}});
    CHECK(!j.last);
  }
  SECTION("MDNotifyCmd failed: notify-error, and the job's last result") {
    event_outcome out;
    out.ok = false;
    out.notify_failed = true;
    out.r = notify_failure("/bin/notify", 3);
    out.log_line = "exited with status 3 boom";
    const auto rec = record_event(j, "renewed", out, k_now);
    CHECK(!rec.ok);
    CHECK(rec.detail == "MDNotifyCmd /bin/notify failed with exit code 3.");
    CHECK(rec.log == "MDNotifyCmd /bin/notify failed with exit code 3. exited with status 3 boom");
    CHECK(j.log == entries{{k_now, "notify-error", "urn:org:apache:httpd:log:AH10108:",
                            "MDNotifyCmd /bin/notify failed with exit code 3."}});
    CHECK(j.last == out.r);
  }
  SECTION("the commands could not run: message-error with the reason") {
    const expected<event_outcome> failed =
        error(std::make_error_code(std::errc::no_such_file_or_directory), "no launcher");
    const auto rec = record_event(j, "installed", failed, k_now);
    CHECK(!rec.ok);
    CHECK(rec.detail == "no launcher");
    CHECK(rec.log == "no launcher");
    CHECK(j.log == entries{{k_now, "message-error", "installed", "no launcher"}});
    REQUIRE(j.last);
    CHECK(j.last->status == 20014);
  }
}
