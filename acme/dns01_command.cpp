#include "acme/dns01_command.hpp"

#include "core/events.hpp"
#include "core/jws.hpp"
#include "core/redact.hpp"

namespace mda::acme {

std::string dns01_token(const challenge_data& c) {
  if (!c.key_authorization.empty()) return dns01_txt_value(c.key_authorization);
  return c.token;
}

expected<dns01_command> dns01_command::create(dns01_command_options opts) {
  auto base = tokenize_command_line(opts.command);
  if (base.empty())
    return error(process_errc::bad_command, "MDChallengeDns01: the command line is empty");
  if (base[0][0] != '/')
    return error(process_errc::bad_command,
                 "MDChallengeDns01 '" + redact_command(opts.command) + "': '" + base[0] +
                     "' is not an absolute path (programs are run without a PATH search)");
  if (opts.version != 1 && opts.version != 2)
    return error(
        process_errc::bad_command,
        "MDChallengeDns01Version " + std::to_string(opts.version) + ": only 1 and 2 are known");
  return dns01_command(std::move(opts), std::move(base));
}

expected<std::vector<std::string>> dns01_command::setup_argv(const challenge_data& c) const {
  if (c.identifier.empty())
    return error(process_errc::bad_command, "dns-01 setup: the challenge has no identifier");
  if (c.key_authorization.empty())
    return error(process_errc::bad_command,
                 "dns-01 setup for '" + c.identifier + "': no key authorization");
  auto argv = base_;
  argv.insert(argv.end(), {"setup", c.identifier, dns01_txt_value(c.key_authorization)});
  return argv;
}

expected<std::vector<std::string>> dns01_command::teardown_argv(const challenge_data& c) const {
  if (c.identifier.empty())
    return error(process_errc::bad_command, "dns-01 teardown: the challenge has no identifier");
  auto argv = base_;
  argv.insert(argv.end(), {"teardown", c.identifier});
  if (opts_.version >= 2) {
    std::string token = dns01_token(c);
    if (token.empty())
      return error(process_errc::bad_command,
                   "dns-01 teardown for '" + c.identifier + "': no token");
    argv.push_back(std::move(token));
  }
  return argv;
}

status dns01_command::run(const std::string& action, const challenge_data& c,
                          const std::vector<std::string>& argv) const {
  process_options po;
  po.timeout = opts_.timeout;
  po.kill_grace = opts_.kill_grace;
  const std::string what = "dns-01 " + action + " for '" + c.identifier + "': '" + argv[0] + "'";
  auto r = run_process(argv, po);
  if (!r) return r.error().prefixed("dns-01 " + action + " for '" + c.identifier + "'");
  if (opts_.on_run) opts_.on_run(argv, *r);
  if (r->success()) return {};
  std::string msg = what + " " + r->describe(opts_.timeout);
  std::string tail = output_tail(r->err);
  if (!tail.empty()) msg += ": " + tail;
  return error(r->timed_out ? process_errc::timeout : process_errc::failed, msg);
}

status dns01_command::setup(const challenge_data& c) {
  if (c.type != challenge_type::dns_01)
    return error(process_errc::bad_command, std::string("dns-01 command cannot answer ") +
                                                to_string(c.type) + " for '" + c.identifier + "'");
  auto argv = setup_argv(c);
  if (!argv) return argv.error();
  return run("setup", c, *argv);
}

status dns01_command::teardown(const challenge_data& c) {
  if (c.type != challenge_type::dns_01)
    return error(process_errc::bad_command, std::string("dns-01 command cannot answer ") +
                                                to_string(c.type) + " for '" + c.identifier + "'");
  auto argv = teardown_argv(c);
  if (!argv) return argv.error();
  return run("teardown", c, *argv);
}

} // namespace mda::acme
