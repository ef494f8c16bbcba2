// ACME accounts (RFC 8555 §7.3): key, registration, lookup, contact update, deactivation,
// External Account Binding, and the account.json model (core/job.hpp account_file).
//
// - Keys as mod_md makes them: RSA 3072 (k_account_rsa_bits). A given key may also be EC
//   P-256 or P-384 (ES256/ES384, our extension; mod_md signs RS256 only).
// - Registration payload as mod_md: {"contact":[...], "termsOfServiceAgreed":true (only when an
//   agreement is configured), "externalAccountBinding":{...}}. Contacts get "mailto:" when they
//   have no scheme. When the CA has terms of service and no agreement is configured, we refuse
//   before asking, with mod_md's message (acme_errc::invalid):
//   "the CA requires you to accept the terms-of-service as specified in <URL>. Please read the
//   document that you find at that URL and, if you agree to the conditions, configure
//   \"MDCertificateAgreement accepted\" in your Apache. Then (graceful) restart the server to
//   activate."
// - Lookup (§7.3.1): {"onlyReturnExisting": true} signed with the JWK; 200 + Location.
//
// Not here: choosing among stored accounts (the engine), storing files (store/), key
// rollover (keyChange).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acme/client.hpp"
#include "core/job.hpp"
#include "core/key_spec.hpp"
#include "core/pkey.hpp"

namespace mda::acme {

/// An account at a CA: its key and what account.json stores.
struct account {
  private_key key;
  account_file file; ///< url, ca_url, status, contact, registration, agreement, orders, eab

  const std::string& url() const { return file.url; }
  /// The signer for requests of this account (kid = url).
  signer as_signer() const { return signer{key, file.url}; }
};

/// External Account Binding credentials (RFC 8555 §7.3.4): key id and base64url HMAC key.
struct eab_credentials {
  std::string kid;
  std::string hmac;
};

struct account_options {
  std::vector<std::string> contacts; ///< "a@b.example" or "mailto:a@b.example"
  /// MDCertificateAgreement: "accepted" or the ToS URL; "" = not agreed.
  std::string agreement;
  std::optional<eab_credentials> eab;
};

/// A new account key: RSA 3072 when `spec` is absent or Default/RSA without bits; otherwise
/// RSA of the given bits, EC P-256 or P-384. Other curves -> acme_errc::config.
expected<private_key> make_account_key(const std::optional<key_spec>& spec = std::nullopt);

/// "mailto:" + c unless c already has a URI scheme ("mailto:", "tel:"...); trims blanks.
std::string contact_uri(std::string_view c);

/// mod_md's refusal text when the CA has terms of service and no agreement is configured.
std::string tos_required_message(const std::string& tos_url);

/// newAccount. The result's file has status valid, url from Location, registration = the
/// server's account object, agreement (the CA's ToS URL when "accepted"), orders, eab.
/// No contacts -> acme_errc::invalid "no contact information is available".
acme_result<account> register_account(client& c, const private_key& key,
                                      const account_options& opts);

/// newAccount with onlyReturnExisting (§7.3.1): the existing account for `key`, or a failure
/// (accountDoesNotExist -> acme_errc::not_found).
acme_result<account> find_account(client& c, const private_key& key);

/// POST-as-GET of the account URL: refreshes status, contacts, registration (validation).
acme_result<account> fetch_account(client& c, const account& acct);

/// Replaces the contacts (§7.3.2).
acme_result<account> update_contacts(client& c, const account& acct,
                                     const std::vector<std::string>& contacts);

/// {"status":"deactivated"} (§7.3.6); the result has status deactivated.
acme_result<account> deactivate_account(client& c, const account& acct);

/// Fills an account from the server's account object (status, contact, orders, registration).
void apply_account_object(account_file& file, const nlohmann::json& obj);

} // namespace mda::acme
