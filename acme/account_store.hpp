// Selecting or registering the ACME account in a mod_md store, for `mdctl obtain` and the
// engine's account actor (reference §2.1, §2.5, §6 "Account selection"):
//
// - Reuse: the first account in accounts/ACME-<sname>-* (sorted) whose account.json is valid,
//   names the same CA directory URL and the same EAB (kid and hmac; no EAB configured -> only
//   accounts without one), whose account.pem opens, and which the CA still knows (POST-as-GET,
//   as mod_md validates). An account the CA rejects (not found, unauthorized, invalid) is
//   skipped; any other failure (CA unreachable) ends the search with that error.
// - Otherwise register a new one (RSA 3072 key, acme/account.hpp) and store it as
//   accounts/ACME-<sname>-NNNN with the first free NNNN (0000..0999): account.json as mod_md's
//   accounts/ copy (no "registration") and the encrypted account.pem.
// - Crash safety: the new key (account.pem) is filed first, create-only, then the account is
//   registered (or found, when the CA already knows the key), then account.json is written.
//   A directory with account.pem but no account.json is a registration a killed process left
//   unfinished: the next selection completes it with that key instead of making a second
//   account. account.json is never written without its key.
// <sname> is the CA URL's host, or its last 16 characters when longer (md_acme_create).
// Not here: mod_md's other selection steps (accounts staged for an MD, md.json's ca.account).
#pragma once

#include <functional>
#include <string>

#include "acme/account.hpp"
#include "store/store.hpp"

namespace mda::acme {

/// The account used and where it lives.
struct account_choice {
  account acct;
  std::string id;       ///< "ACME-<sname>-NNNN"
  bool reused = false; ///< found in the store rather than registered now
};

/// "ACME-<sname>-" for a CA directory URL; an unparsable URL -> acme_errc::bad_url.
expected<std::string> account_id_prefix(const std::string& ca_url);

/// Files `key` as accounts/<prefix>NNNN/account.pem under the first NNNN (0000..0999) that
/// has neither account.json nor account.pem (create-only, so two callers never share one) and
/// returns the id. The key is on disk before the CA knows it: a process killed during the
/// registration leaves it for the next selection (see above); a caller whose registration
/// failed purges accounts/<id>.
expected<std::string> reserve_account_id(store& st, const std::string& prefix, const private_key& key);

/// Reuses or registers (see above). `log` gets one line per account skipped.
acme_result<account_choice> select_or_register_account(
    client& c, store& st, const account_options& opts,
    const std::function<void(const std::string&)>& log);

} // namespace mda::acme
