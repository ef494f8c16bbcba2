// `mdctl obtain`: gets a certificate from an ACME CA into a mod_md-layout store, answering the
// challenges itself (embedded http-01 or tls-alpn-01 responder, or an MDChallengeDns01-style
// dns-01 program).
//
// - Account: reused or registered as acme/account_store.hpp describes (accounts/).
// - One order per --key spec (as mod_md orders per key spec), all with the same names. Only
//   when every order succeeded are the files written: domains/<first name>/privkey*.pem
//   (plain, 0600) and pubcert*.pem (leaf first, no root), then md.json (core/md.hpp: names,
//   contacts, CA, account id, key specs, state complete).
// - Output: where the account, keys, chains and md.json are; failures go to stderr as
//   "mdctl obtain: <message>" with exit status 1 (2 for bad usage).
// Not here: staging/activation (mdctl writes domains/ directly: stop Apache or restart it
// gracefully afterwards), renewal, revocation.
#pragma once

#include <string>
#include <vector>

namespace mda::mdctl {

/// The usage text of the obtain command (part of `mdctl --help`).
extern const char* const k_obtain_usage;

/// Runs `mdctl obtain` with the arguments after "obtain"; returns the exit status.
int obtain_main(const std::vector<std::string>& args);

} // namespace mda::mdctl
