#include "acme/revoke.hpp"

#include <cstdlib>

#include "core/base64.hpp"
#include "core/jws.hpp"

namespace mda::acme {

const std::vector<revocation_reason>& revocation_reasons() {
  // RFC 5280 §5.3.1; 7 is not assigned there.
  static const std::vector<revocation_reason> reasons{
      {"unspecified", 0},        {"keyCompromise", 1},        {"cACompromise", 2},
      {"affiliationChanged", 3}, {"superseded", 4},           {"cessationOfOperation", 5},
      {"certificateHold", 6},    {"removeFromCRL", 8},        {"privilegeWithdrawn", 9},
      {"aACompromise", 10}};
  return reasons;
}

std::optional<int> parse_revocation_reason(std::string_view name) {
  for (const auto& r : revocation_reasons()) {
    if (name == r.name || name == std::to_string(r.code)) return r.code;
  }
  return std::nullopt;
}

std::string revocation_reason_name(int code) {
  for (const auto& r : revocation_reasons())
    if (r.code == code) return r.name;
  return "reason " + std::to_string(code);
}

expected<nlohmann::json> revoke_payload(const certificate& cert, std::optional<int> reason) {
  auto der = cert.to_der();
  if (!der) return der.error();
  nlohmann::json p = {{"certificate", base64url_encode(*der)}};
  if (reason) p["reason"] = *reason;
  return p;
}

namespace {

/// A directory URL of the CA's or a failure naming what is missing.
acme_result<std::string> directory_url_of(client& c, std::string directory::*member,
                                          const char* resource) {
  auto dir = c.get_directory();
  if (!dir) return dir.failure<std::string>();
  const std::string& url = (*dir).*member;
  if (url.empty())
    return error(acme_errc::invalid,
                 std::string("the CA at ") + c.directory_url() + " offers no " + resource);
  return url;
}

} // namespace

acme_status revoke_certificate(client& c, const certificate& cert, std::optional<int> reason,
                               const signer& who) {
  auto url = directory_url_of(c, &directory::revoke_cert, "revokeCert");
  if (!url) return url.failure<std::monostate>();
  auto payload = revoke_payload(cert, reason);
  if (!payload) return payload.error();
  auto res = c.post(*url, *payload, who);
  if (!res) return res.failure<std::monostate>();
  return std::monostate{};
}

expected<nlohmann::ordered_json> key_change_jws(const account& acct, const private_key& new_key,
                                                const std::string& key_change_url) {
  auto old_jwk = jwk_of(public_key(acct.key));
  if (!old_jwk) return old_jwk.error();
  nlohmann::ordered_json payload;
  payload["account"] = acct.url();
  payload["oldKey"] = *old_jwk;
  // RFC 8555 §7.3.5: jwk of the new key, the same url as the outer JWS, no nonce.
  return jws_sign(new_key, payload.dump(), jws_header{key_change_url, "", ""});
}

acme_result<account> change_account_key(client& c, const account& acct,
                                        const private_key& new_key) {
  auto url = directory_url_of(c, &directory::key_change, "keyChange");
  if (!url) return url.failure<account>();
  auto inner = key_change_jws(acct, new_key, *url);
  if (!inner) return inner.error();
  auto res = c.post(*url, nlohmann::json(*inner), acct.as_signer());
  if (!res) return res.failure<account>();
  account out = acct;
  out.key = new_key;
  return out;
}

} // namespace mda::acme
