// What mdctl's admin commands (revoke, account, renew, status) share: their common options,
// the store and its files read the way the engine reads them, an ACME client for a stored
// account, and the engine's status socket.
//
// - --store DIR (default ./md, as `mdctl obtain`), --socket PATH (default
//   <store>/mdactor/status.sock, where the Apache module's engine listens), --ca-file FILE
//   (trust for the CA's TLS certificate; default: the system's).
// - Failures are "mdctl <command>: <message>" on stderr, naming the MD, account or file;
//   exit status 1, 2 for bad usage.
// Not here: the commands themselves (mdctl_revoke.cpp, mdctl_account.cpp, mdctl_engine.cpp).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "acme/account.hpp"
#include "acme/client.hpp"
#include "core/md.hpp"
#include "store/fs_store.hpp"

namespace mda::mdctl {

/// The options every admin command may take, and the arguments left.
struct admin_args {
  std::string store_dir = "md";
  std::string socket;  ///< "" = <store_dir>/mdactor/status.sock
  std::string ca_file;
  std::vector<std::string> positional;
  /// Options the command takes with a value (--reason, --with...): name -> value.
  std::vector<std::pair<std::string, std::string>> valued;
  std::vector<std::string> flags; ///< options without a value the command takes (--json)
  bool help = false;
};

/// Parses `args` knowing the command's own valued options and flags; an unknown option or
/// one missing its value is a usage error (its message).
expected<admin_args> parse_admin_args(const std::vector<std::string>& args,
                                      const std::vector<std::string>& valued_options,
                                      const std::vector<std::string>& flag_options);

/// The value of a valued option, if given (the last one wins).
std::optional<std::string> option(const admin_args& a, const std::string& name);
bool has_flag(const admin_args& a, const std::string& name);

/// The socket to talk to: --socket, else <store>/mdactor/status.sock.
std::string socket_path(const admin_args& a);

/// Writes "mdctl <cmd>: <msg>" to stderr; returns 1.
int fail(const std::string& cmd, const std::string& msg);
/// Writes "mdctl <cmd>: <msg>", then "usage:" and the usage text to stderr; returns 2.
int usage_fail(const std::string& cmd, const std::string& msg, const char* usage);

/// domains/<md>/md.json; its absence is "no managed domain '<md>' in <store>/domains".
expected<managed_domain> load_md(const fs_store& st, const std::string& md);

/// A stored account: accounts/<id>/account.json and account.pem. Absent ->
/// "no account '<id>' in <store>/accounts".
expected<acme::account> load_account(const fs_store& st, const std::string& id);

/// An ACME client for the CA directory `ca_url`, trusting `ca_file` when given.
expected<std::unique_ptr<acme::client>> make_client(const std::string& ca_url,
                                                    const std::string& ca_file);

/// A path as the store names it, for messages ("<store>/domains/x/pubcert.pem").
std::string store_path(const fs_store& st, store_group g, const std::string& name,
                       const std::string& aspect);

// --- the commands (each file's top comment says what it does) ----------------------------

extern const char* const k_revoke_usage;  ///< mdctl_revoke.cpp
extern const char* const k_account_usage; ///< mdctl_account.cpp
extern const char* const k_renew_usage;   ///< mdctl_engine.cpp
extern const char* const k_status_usage;  ///< mdctl_engine.cpp
extern const char* const k_store_usage;   ///< mdctl_store.cpp

/// Each runs its command with the arguments after its name; returns the exit status.
int revoke_main(const std::vector<std::string>& args);
int account_main(const std::vector<std::string>& args);
int renew_main(const std::vector<std::string>& args);
int status_main(const std::vector<std::string>& args);
int store_main(const std::vector<std::string>& args);

/// What `mdctl renew` does after its arguments are read (also the end of `mdctl revoke`):
/// asks the engine at `socket` to renew `md` now and follows the run. 0 = a new certificate
/// was obtained; 1 otherwise (the reason on stderr, prefixed "mdctl <cmd>: "); 3 = no engine
/// answers at `socket` (nothing was started, nothing printed; the connection's failure in
/// `why_no_engine` when given).
int renew_md(const std::string& cmd, const std::string& socket, const std::string& md,
             std::chrono::seconds timeout, std::string* why_no_engine = nullptr);
/// renew_md's status when no engine answers.
inline constexpr int k_no_engine = 3;

/// How long mdctl waits for one answer of the status socket.
inline constexpr std::chrono::milliseconds k_socket_timeout{10'000};

} // namespace mda::mdctl
