// a2md's ACME commands over our ACME client (acme/) and store, as mod_md 2.6's a2md runs
// them ("acme newreg / validate / agree / delreg", "drive"):
//
// - newreg: a new RSA 3072 account registered for the contacts ("mailto:" added where no
//   scheme), agreeing to the terms of service when -t gave them ("accepted" or the URL), filed
//   as accounts/ACME-<sname>-NNNN (first free NNNN; account.pem encrypted, account.json with
//   the CA's "registration"), then read back from the CA: only then does it exist. Prints
//   "registered: <id>".
// - validate: the stored account, for the CA given with -a, asked of the CA (POST-as-GET);
//   "account valid: <id>". An unknown id, another CA, or an account the CA no longer knows fail.
// - agree: the stored account's agreement set (default "accepted") and sent to the CA.
// - delreg: the account's files removed from the store (mod_md's a2md does not ask the CA).
// - drive: one MD toward a complete certificate set: skipped when complete and not due
//   (unless forced), refused in error state or for a protocol other than ACME; the account
//   of md.json (when the CA still knows it), else a stored one for the MD's CA, else a new
//   one (needs contacts and an agreement: mod_md's messages); one order per key spec, the
//   challenges answered through the store's challenges/ (which a running Apache serves; free
//   to choose: tls-alpn-01 only for an MD with acme-tls/1 names, http-01, and dns-01 through
//   the MD's MDChallengeDns01 command when it has one),
//   the set written to staging/ (store/staging.hpp) and activated at once: the previous
//   domains/<md> goes to archive/<md>.<n>.
// Errors carry mod_md's texts and the codes of tools/a2md_registry.hpp.
// Not here: option parsing and output (tools/a2md.cpp), the registry (a2md_registry.hpp).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/md.hpp"
#include "store/store.hpp"

namespace mda::a2md {

/// What the command line says about the CA and how to reach it.
struct acme_context {
  std::string ca_url;    ///< -a; "" = none given
  std::string ca_file;   ///< -C: trusted roots for the CA's TLS certificate
  std::string proxy_url; ///< -p
};

/// Lines for the user (stderr at a2md's default level).
using say_fn = std::function<void(const std::string&)>;

/// newreg (see above): the new account's id.
expected<std::string> new_registration(store& st, const acme_context& ctx,
                                       const std::vector<std::string>& contacts,
                                       const std::string& tos);
/// validate (see above).
status validate_account(store& st, const acme_context& ctx, const std::string& id);
/// agree (see above). `tos` "" = "accepted".
status agree_tos(store& st, const acme_context& ctx, const std::string& id, const std::string& tos);
/// delreg (see above).
status delete_account(store& st, const std::string& id);

struct drive_options {
  bool force = false;     ///< -f: renew even when the certificates are fine
  bool reset = false;     ///< -r: throw away what staging/ holds for the MD first
  std::string challenge;  ///< -c: the challenge type to use; "" = the MD's or automatic
};

/// drive for one MD (loaded with its state, a2md_registry.hpp load_md).
status drive_md(store& st, const acme_context& ctx, const managed_domain& md,
                const drive_options& opts, const say_fn& say);

} // namespace mda::a2md
