// dns-01 through an external program, as MDChallengeDns01 configures it (reference §6 "dns-01"):
//
//   setup:     <cmd...> setup <dns> <token>
//   teardown:  <cmd...> teardown <dns>            (MDChallengeDns01Version 1, the default)
//              <cmd...> teardown <dns> <token>    (version 2)
//
// <cmd...> is the configured command line split as apr_tokenize_to_argv does (extra arguments
// allowed); <dns> the authorization's identifier (for a wildcard the base domain, RFC 8555
// §7.1.3); <token> the TXT record value base64url(SHA-256(key authorization)) (RFC 8555 §8.4) —
// what mod_md calls the token. The program must exit 0. It runs via core/process.hpp: absolute
// path, stdin /dev/null, output captured, and — beyond mod_md — a timeout after which its
// process group is killed.
// Not here: DNS itself, waiting for propagation (the program's business).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "acme/challenge.hpp"
#include "core/process.hpp"

namespace mda::acme {

struct dns01_command_options {
  std::string command; ///< MDChallengeDns01, e.g. "/usr/local/bin/dns-hook --zone x"
  int version = 1;      ///< MDChallengeDns01Version: 1 or 2
  /// Our addition: a program still running after this is killed (its process group).
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
  std::chrono::milliseconds kill_grace{std::chrono::seconds(2)};
  /// Called with the argument list and the captured output of every run (for logging).
  std::function<void(const std::vector<std::string>& argv, const process_result& r)> on_run;
};

class dns01_command final : public challenge_setup {
 public:
  /// Checks the options: a non-empty command whose program is an absolute path
  /// (process_errc::bad_command "MDChallengeDns01 '<cmd>': '<prog>' is not an absolute path
  /// (programs are run without a PATH search)"), version 1 or 2.
  static expected<dns01_command> create(dns01_command_options opts);

  bool supports(challenge_type t) const override { return t == challenge_type::dns_01; }
  /// Runs "<cmd> setup <dns> <token>"; needs the key authorization.
  status setup(const challenge_data& c) override;
  /// Runs the teardown. Data rebuilt from order.json carries the TXT value as `token` and no
  /// key authorization: then `token` is used as it is.
  status teardown(const challenge_data& c) override;

  /// The argument lists the two actions run (for tests and logs).
  expected<std::vector<std::string>> setup_argv(const challenge_data& c) const;
  expected<std::vector<std::string>> teardown_argv(const challenge_data& c) const;

  const dns01_command_options& options() const { return opts_; }

 private:
  dns01_command(dns01_command_options opts, std::vector<std::string> base)
      : opts_(std::move(opts)), base_(std::move(base)) {}
  status run(const std::string& action, const challenge_data& c,
             const std::vector<std::string>& argv) const;

  dns01_command_options opts_;
  std::vector<std::string> base_; ///< the tokenized command line
};

/// The TXT value for a challenge: dns01_txt_value(key authorization), or `token` when the
/// key authorization is empty (teardown data from order.json). Empty when both are.
std::string dns01_token(const challenge_data& c);

} // namespace mda::acme
