#include "acme/account.hpp"

#include <cctype>

#include <openssl/obj_mac.h>

#include "core/jws.hpp"

namespace mda::acme {

expected<private_key> make_account_key(const std::optional<key_spec>& spec) {
  if (!spec || spec->type == key_spec::kind::default_rsa)
    return private_key::generate_rsa(k_account_rsa_bits);
  if (spec->type == key_spec::kind::rsa)
    return private_key::generate_rsa(spec->bits >= k_rsa_bits_min ? spec->bits
                                                                   : k_account_rsa_bits);
  // JWS for EC accounts: ES256 and ES384 only (core/jws.hpp).
  int nid = curve_nid(spec->curve);
  if (nid != NID_X9_62_prime256v1 && nid != NID_secp384r1)
    return error(acme_errc::config, "unsupported account key curve '" + spec->curve +
                                        "' (RSA, P-256 or P-384 are possible)");
  return private_key::generate(*spec);
}

std::string contact_uri(std::string_view c) {
  while (!c.empty() && std::isspace(static_cast<unsigned char>(c.front()))) c.remove_prefix(1);
  while (!c.empty() && std::isspace(static_cast<unsigned char>(c.back()))) c.remove_suffix(1);
  // RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"
  auto colon = c.find(':');
  bool has_scheme = colon != std::string_view::npos && colon > 0 &&
                    std::isalpha(static_cast<unsigned char>(c[0]));
  for (std::size_t i = 0; has_scheme && i < colon; ++i) {
    unsigned char ch = static_cast<unsigned char>(c[i]);
    has_scheme = std::isalnum(ch) || ch == '+' || ch == '-' || ch == '.';
  }
  return has_scheme ? std::string(c) : "mailto:" + std::string(c);
}

std::string tos_required_message(const std::string& tos_url) {
  return "the CA requires you to accept the terms-of-service as specified in <" + tos_url +
         ">. Please read the document that you find at that URL and, if you agree to the "
         "conditions, configure \"MDCertificateAgreement accepted\" in your Apache. Then "
         "(graceful) restart the server to activate.";
}

void apply_account_object(account_file& file, const nlohmann::json& obj) {
  if (!obj.is_object()) return;
  auto status = obj.find("status");
  if (status != obj.end() && status->is_string()) {
    const auto& s = status->get_ref<const std::string&>();
    file.status = s == "valid"         ? account_status::valid
                  : s == "deactivated" ? account_status::deactivated
                  : s == "revoked"     ? account_status::revoked
                                       : account_status::unknown;
  }
  auto contact = obj.find("contact");
  if (contact != obj.end() && contact->is_array()) {
    file.contact.clear();
    for (const auto& v : *contact)
      if (v.is_string()) file.contact.push_back(v.get<std::string>());
  }
  auto orders = obj.find("orders");
  if (orders != obj.end() && orders->is_string()) file.orders = orders->get<std::string>();
  file.registration = nlohmann::ordered_json(obj);
}

namespace {

/// The account of a newAccount answer: Location is the account URL (RFC 8555 §7.3).
acme_result<account> account_from(const acme_response& res, const private_key& key,
                                   const client& c, const std::string& step) {
  auto loc = res.http.location();
  if (!loc || loc->empty())
    return error(acme_errc::bad_response,
                 step + ": no Location header in the answer from " + res.http.url);
  account a;
  a.key = key;
  a.file.url = *loc;
  a.file.ca_url = c.directory_url();
  a.file.status = account_status::valid;
  apply_account_object(a.file, res.body);
  return a;
}

nlohmann::json contact_array(const std::vector<std::string>& contacts) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& c : contacts) arr.push_back(contact_uri(c));
  return arr;
}

} // namespace

acme_result<account> register_account(client& c, const private_key& key,
                                      const account_options& opts) {
  auto dir = c.get_directory();
  if (!dir) return dir.failure<account>();
  if (opts.contacts.empty())
    return error(acme_errc::invalid,
                 "no contact information is available for a new account at " +
                     c.directory_url() +
                     ": configure one using the MDContactEmail or ServerAdmin directive");
  if (!dir->terms_of_service.empty() && opts.agreement.empty())
    return error(acme_errc::invalid, tos_required_message(dir->terms_of_service));

  nlohmann::json payload = nlohmann::json::object();
  payload["contact"] = contact_array(opts.contacts);
  if (!dir->terms_of_service.empty()) payload["termsOfServiceAgreed"] = true;
  if (opts.eab) {
    auto eab = eab_jws(opts.eab->kid, opts.eab->hmac, public_key(key), dir->new_account);
    if (!eab) {
      // mod_md's problems for these (md_acme_acct.c), shown in job.json "last"
      problem p;
      const bool bad_value = eab.error().code == crypto_errc::bad_encoding || opts.eab->hmac.empty();
      p.type = bad_value ? "apache:eab-hmac-invalid" : "apache:eab-hmac-fail";
      p.detail = bad_value ? "external account binding HMAC value is not valid base64"
                           : "external account binding MAC could not be computed";
      p.code = acme_errc::config;
      return acme_result<account>(eab.error().prefixed("external account binding for " + c.directory_url()), p);
    }
    payload["externalAccountBinding"] = nlohmann::json(*eab);
  }
  auto res = c.post(dir->new_account, payload, signer{key, ""});
  if (!res) return res.failure<account>();
  auto a = account_from(*res, key, c, "new account");
  if (!a) return a;
  if (!dir->terms_of_service.empty())
    a->file.agreement = opts.agreement == "accepted" ? dir->terms_of_service : opts.agreement;
  if (opts.eab) {
    a->file.eab_kid = opts.eab->kid;
    a->file.eab_hmac = opts.eab->hmac;
  }
  return a;
}

acme_result<account> find_account(client& c, const private_key& key) {
  auto dir = c.get_directory();
  if (!dir) return dir.failure<account>();
  nlohmann::json payload = {{"onlyReturnExisting", true}};
  auto res = c.post(dir->new_account, payload, signer{key, ""});
  if (!res) return res.failure<account>();
  return account_from(*res, key, c, "account lookup");
}

namespace {

acme_result<account> account_update(const account& acct, const acme_response& res) {
  account a = acct;
  apply_account_object(a.file, res.body);
  return a;
}

} // namespace

acme_result<account> fetch_account(client& c, const account& acct) {
  auto res = c.post_as_get(acct.url(), acct.as_signer());
  if (!res) return res.failure<account>();
  return account_update(acct, *res);
}

acme_result<account> update_contacts(client& c, const account& acct,
                                     const std::vector<std::string>& contacts) {
  nlohmann::json payload = {{"contact", contact_array(contacts)}};
  auto res = c.post(acct.url(), payload, acct.as_signer());
  if (!res) return res.failure<account>();
  return account_update(acct, *res);
}

acme_result<account> deactivate_account(client& c, const account& acct) {
  nlohmann::json payload = {{"status", "deactivated"}};
  auto res = c.post(acct.url(), payload, acct.as_signer());
  if (!res) return res.failure<account>();
  auto a = account_update(acct, *res);
  if (a) a->file.status = account_status::deactivated;
  return a;
}

} // namespace mda::acme
