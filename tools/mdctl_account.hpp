// The ACME account of `mdctl obtain` in a mod_md store (reference §2.1, §2.5, §6 "Account
// selection"):
//
// - Reuse: the first account in accounts/ACME-<sname>-* (sorted) whose account.json is valid,
//   names the same CA directory URL and the same EAB (kid and hmac; no EAB configured -> only
//   accounts without one), whose account.pem opens, and which the CA still knows (POST-as-GET,
//   as mod_md validates). An account the CA rejects (not found, unauthorized, invalid) is
//   skipped; any other failure (CA unreachable) ends the search with that error.
// - Otherwise register a new one (RSA 3072 key, acme/account.hpp) and store it as
//   accounts/ACME-<sname>-NNNN with the first free NNNN (0000..0999): account.json as mod_md's
//   accounts/ copy (no "registration") and the encrypted account.pem.
// <sname> is the CA URL's host, or its last 16 characters when longer (md_acme_create).
// Not here: mod_md's other selection steps (accounts staged for an MD, md.json's ca.account).
#pragma once

#include <functional>
#include <string>

#include "acme/account.hpp"
#include "store/store.hpp"

namespace mda::mdctl {

/// The account used and where it lives.
struct account_choice {
  acme::account acct;
  std::string id;       ///< "ACME-<sname>-NNNN"
  bool reused = false; ///< found in the store rather than registered now
};

/// "ACME-<sname>-" for a CA directory URL; an unparsable URL -> acme_errc::bad_url.
expected<std::string> account_id_prefix(const std::string& ca_url);

/// Reuses or registers (see above). `log` gets one line per account skipped.
acme::acme_result<account_choice> select_or_register_account(
    acme::client& c, store& st, const acme::account_options& opts,
    const std::function<void(const std::string&)>& log);

} // namespace mda::mdctl
