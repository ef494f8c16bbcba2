// Messages of the domain and account actors: the account a domain actor gets to sign its
// orders with, the rate budget it reports back, and the outcome of an MD that the engine's
// `--once` mode (and tests) watch.
//
// account_grant holds a shared acme::client and a private key: announced as a local-only
// message, it never crosses a process.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

#include "acme/client.hpp"
#include "core/job.hpp"
#include "core/renewal_run.hpp"
#include "core/timefmt.hpp"

namespace mda {

/// Look at the MD now (domain: external trigger and the actor's own timer).
using check_atom = caf::atom_constant<caf::atom("check")>;
/// A progress text of a running order (domain, sent from the worker running it).
using progress_atom = caf::atom_constant<caf::atom("progress")>;
/// A timer ran out (domain, account; self-sent with a generation number).
using wake_atom = caf::atom_constant<caf::atom("wake")>;
/// The account to sign with (account).
using account_atom = caf::atom_constant<caf::atom("account")>;
/// The CA asked to slow down until a time (account).
using limit_atom = caf::atom_constant<caf::atom("limit")>;

/// OCSP said a certificate of the MD is revoked (domain, from the OCSP responder actors).
using revoked_atom = caf::atom_constant<caf::atom("revoked")>;

/// Renew now, whatever the renew window says (domain, status: mdctl renew over the socket).
using renew_atom = caf::atom_constant<caf::atom("renew")>;

constexpr check_atom check_atom_v{};
constexpr renew_atom renew_atom_v{};
constexpr revoked_atom revoked_atom_v{};
constexpr progress_atom progress_atom_v{};
constexpr wake_atom wake_atom_v{};
constexpr account_atom account_atom_v{};
constexpr limit_atom limit_atom_v{};

/// What an account actor hands out: the session with its CA (shared: one nonce pool per
/// account, acme::client is thread-safe) and who signs.
struct account_grant {
  std::shared_ptr<acme::client> client;
  acme::signer who;     ///< account key + account URL (kid)
  std::string id;       ///< "ACME-<sname>-NNNN" in the store's accounts/
  std::string ca_url;   ///< the CA directory URL
};

/// md_outcome (core/renewal_run.hpp) as text.
const char* to_string(md_outcome o) noexcept;

/// One observation: the MD and what it reached (with the error text for `failed`). Passed to
/// an observer callback, not sent as a message.
struct md_report {
  std::string md;
  md_outcome outcome = md_outcome::complete;
  std::string detail;
};

} // namespace mda

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mda::account_grant)

namespace mda {

/// The answer of an account actor: the grant, or why there is none (acme::failure_of the
/// selection's error and the CA's problem, made where it failed; the domain actor's run
/// carries it on unchanged).
struct account_answer {
  std::optional<account_grant> grant;
  std::optional<run_failure> failure; ///< set when there is no grant
};

} // namespace mda

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mda::account_answer)
