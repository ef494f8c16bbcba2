// ACME orders (RFC 8555 §7.4): identifiers, newOrder, authorizations, finalize, polling and
// the certificate chain download; `obtain` runs the whole sequence and can resume an order
// a restarted engine kept in order.json.
//
// - Identifiers: "dns" and "ip" (RFC 8738). IPv4 and IPv6 in canonical text (inet_ntop); DNS
//   names lowercased; names covered by a wildcard of the list are dropped, the wildcard's apex
//   stays (mod_md's md_dns_make_minimal).
// - newOrder payload {"identifiers":[...], "profile"?, "replaces"?}: profile only when the CA
//   lists it (case-insensitive, the CA's spelling sent); a mandatory profile the CA does not
//   list fails (acme_errc::invalid). replaces (RFC 9773 §5) only when the directory has
//   renewalInfo and a predecessor certificate with an ARI id is given.
// - Finalize with a CSR (core/csr.hpp) for the key; poll until valid (Retry-After honoured,
//   bounded). Download: PEM chain leaf first (application/pem-certificate-chain, text/plain,
//   application/pkix-cert DER); Link rel="up" followed while only a leaf came, up to 10
//   certificates; an answer with more than 10 is an error. rel="alternate" chains downloaded
//   too, the first 10 (more are ignored with a progress line). The leaf must match the key and
//   cover the identifiers. (The figures and why: order_obtain.cpp.)
// - Progress texts as mod_md's job log: "Creating new order, key-spec=..., profile=...,
//   replacing-cert=...", "Starting challenges for domains", "Setting up challenge 'http-01' for
//   domain D", "Waiting for order to become ready", "Creating <spec> CSR", "Submitting <spec>
//   CSR to CA", "Waiting for finalized order to become valid", "Retrieving <spec> certificate
//   chain for X".
//
// Not here: choosing the account, storing files (the caller saves order.json via on_update and
// the key/chain from the result), activation, ARI fetching (ari.hpp).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "acme/authz.hpp"
#include "acme/challenge.hpp"
#include "acme/client.hpp"
#include "acme/directory.hpp"
#include "acme/problem.hpp"
#include "core/job.hpp"
#include "core/key_spec.hpp"
#include "core/pkey.hpp"
#include "core/x509.hpp"

namespace mda::acme {

// --- pure parts ---------------------------------------------------------------------------

/// Canonical text of an IP literal ("::ffff:1.2.3.4" style per inet_ntop, "2001:db8::1",
/// "[2001:db8::1]" brackets removed); nullopt when `s` is not an IP literal.
std::optional<std::string> normalize_ip(const std::string& s);

/// The identifiers of an order for `names`: IP literals as "ip" (canonical), others as "dns"
/// (lowercased, trailing dot removed); duplicates and names covered by a wildcard in the
/// list dropped (md_dns_make_minimal), first-seen order kept.
std::vector<identifier> order_identifiers(const std::vector<std::string>& names);

/// The payload of newOrder. `profile` is the name to send ("" = none), `replaces` the ARI cert
/// id ("" = none).
nlohmann::json new_order_payload(const std::vector<identifier>& ids, const std::string& profile,
                                 const std::string& replaces);

/// The profile to send: "" when none configured; the CA's spelling when listed; "" when not
/// listed and preferred; acme_errc::invalid when not listed and mandatory.
expected<std::string> choose_profile(const directory& dir, const std::string& profile,
                                     bool mandatory);

/// An order object (§7.1.3) as order.json keeps it (status, authorizations, finalize,
/// certificate), with `url`. Unknown status -> acme_errc::bad_response.
expected<acme_order_file> parse_order(const std::string& url, const nlohmann::json& j,
                                      acme_order_file base = {});

/// The teardown data of an order.json "challenge-setups" entry (type, identifier, token for
/// dns-01; no key authorization); a malformed entry -> acme_errc::bad_response.
expected<challenge_data> challenge_data_from_entry(const std::string& entry,
                                                   const std::string& md_name);

// --- running an order ---------------------------------------------------------------------

struct order_options {
  std::string md_name;
  std::vector<std::string> domains;   ///< the MD's names; the first one is the CSR CN
  key_spec spec;                      ///< the key spec (progress texts, key generation)
  std::optional<private_key> cert_key;///< use this key instead of generating one
  /// Without cert_key: the key kept for this MD and spec by an earlier run (mod_md keeps it in
  /// staging before it sends the CSR), or nullopt. A resumed order past finalization needs it;
  /// without it a new order is made. Empty = none kept.
  std::function<std::optional<private_key>()> load_key;
  /// Keeps a key made here before the CSR goes out, so that a run (or another server) taking
  /// the order up after a crash downloads the certificate instead of ordering again. An error
  /// fails the run before the CA saw the key. Empty = not kept.
  std::function<status(const private_key&)> keep_key;
  bool must_staple = false;
  std::string profile;                ///< MDProfile; "" = none
  bool profile_mandatory = false;     ///< MDProfileMandatory
  std::optional<certificate> predecessor; ///< the current certificate of this spec (replaces)
  challenge_choice challenges;        ///< MDCAChallenges; nullopt = automatic
  challenge_setup* setup = nullptr;   ///< required
  poll_policy poll;                   ///< each wait (authz, ready, valid) bounded by poll.total
  sleep_fn sleep;                     ///< empty = real_sleep()
  progress_fn progress;               ///< optional
  /// Called whenever the order state changes (persist as staging order.json).
  std::function<void(const acme_order_file&)> on_update;
  /// Resume this order instead of creating one (order.json of a previous run).
  std::optional<acme_order_file> resume;
};

/// The outcome of a successful order.
struct obtained_cert {
  acme_order_file order;                 ///< final state (status valid, certificate URL)
  private_key key;                       ///< the certificate's key
  std::vector<certificate> chain;        ///< leaf first
  std::string chain_pem;                 ///< the chain as PEM, leaf first
  std::vector<std::vector<certificate>> alternates; ///< rel="alternate" chains, leaf first
};

/// POSTs newOrder (the progress text "Creating new order, ..." is emitted by obtain).
acme_result<acme_order_file> create_order(client& c, const signer& who, const order_options& o);

/// POST-as-GET of an order URL (resume, poll).
acme_result<acme_order_file> fetch_order(client& c, const signer& who, const std::string& url,
                                         acme_order_file base = {});

/// Downloads the chain at `cert_url` (POST-as-GET), following rel="up" when only the leaf came.
/// Also returns the rel="alternate" URLs of the answer.
struct downloaded_chain {
  std::vector<certificate> chain;
  std::vector<std::string> alternate_urls;
};
acme_result<downloaded_chain> download_chain(client& c, const signer& who,
                                             const std::string& cert_url);

/// The whole sequence: new (or resumed) order, authorizations, finalize, download.
/// On failure the last known order state went to on_update; challenges set up were torn down.
acme_result<obtained_cert> obtain(client& c, const signer& who, const order_options& o);

} // namespace mda::acme
