#include "ocsp/response.hpp"

#include <ctime>
#include <memory>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include "core/ossl_ptr.hpp"

namespace mda::ocsp {

const char* to_string(cert_status s) noexcept {
  switch (s) {
    case cert_status::good: return "good";
    case cert_status::revoked: return "revoked";
    case cert_status::unknown: break;
  }
  return "unknown";
}

cert_status cert_status_from_string(std::string_view text) noexcept {
  if (text == "good") return cert_status::good;
  if (text == "revoked") return cert_status::revoked;
  return cert_status::unknown;
}

namespace {

struct stack_free {
  void operator()(STACK_OF(X509)* s) const { sk_X509_free(s); } // certificates not owned
};
using basic_ptr = ossl_ptr<OCSP_BASICRESP, OCSP_BASICRESP_free>;

bool to_sys_time(const ASN1_GENERALIZEDTIME* t, sys_time& out) {
  std::tm tm{};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return false;
  // Clamped: a GeneralizedTime may lie beyond what a nanosecond sys_time holds (~2262).
  const std::int64_t secs = timegm(&tm);
  const auto lim = std::chrono::duration_cast<std::chrono::seconds>(sys_time::max().time_since_epoch());
  out = secs >= lim.count() ? sys_time::max() : secs <= -lim.count() ? sys_time::min() : from_unix(secs);
  return true;
}

/// Steps 1 and 2: one DER OCSPResponse, successful, with a basic response inside.
expected<basic_ptr> parse_basic(std::string_view der, const std::string& url) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  const auto* end = p + der.size();
  ossl_ptr<OCSP_RESPONSE, OCSP_RESPONSE_free> resp(
      d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
  if (!resp || p != end) {
    openssl_error_text(); // clear the queue
    return responder_error(ocsp_errc::bad_response,
                           "the answer is not a DER OCSP response (" +
                               std::to_string(der.size()) + " bytes)", url);
  }
  int st = OCSP_response_status(resp.get());
  if (st != OCSP_RESPONSE_STATUS_SUCCESSFUL)
    return responder_error(ocsp_errc::unsuccessful,
                           "the OCSP response status is '" +
                               std::string(OCSP_response_status_str(st)) + "' (" +
                               std::to_string(st) + ")", url);
  basic_ptr basic(OCSP_response_get1_basic(resp.get()));
  if (!basic) {
    openssl_error_text();
    return responder_error(ocsp_errc::bad_response, "the OCSP response is not a basic response",
                           url);
  }
  return basic;
}

/// "<call> failed: <reason>[: <detail>]" from the last OpenSSL error, the queue cleared;
/// e.g. "OCSP_basic_verify() failed: certificate verify error: certificate has expired".
std::string openssl_failure(const char* call) {
  std::string reason = "no reason given";
  const char* data = nullptr;
  int flags = 0;
  while (unsigned long code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) {
    const char* r = ERR_reason_error_string(code);
    reason = r ? r : "error " + std::to_string(ERR_GET_REASON(code));
    if (!data || !*data || !(flags & ERR_TXT_STRING)) continue;
    std::string detail = data;
    const std::string lead = "Verify error:"; // X509_verify_cert's reason, e.g. "expired"
    if (detail.compare(0, lead.size(), lead) == 0) detail = detail.substr(detail.find_first_not_of(' ', lead.size()));
    reason += ": " + detail;
  }
  return std::string(call) + " failed: " + reason;
}

/// Step 3: OCSP_basic_verify with the issuer as the only trust anchor (a partial chain, as
/// the issuer is usually an intermediate). OCSP_NOEXPLICIT leaves only the two RFC 6960
/// §4.2.2.2 cases OpenSSL checks in ocsp_check_issuer: signed by the CA of the CertID, or by
/// a certificate that CA issued with id-kp-OCSPSigning.
status verify_signature(OCSP_BASICRESP* bs, const check_options& o) {
  const std::string& url = o.responder_url;
  ossl_ptr<X509_STORE, X509_STORE_free> trust(X509_STORE_new());
  std::unique_ptr<STACK_OF(X509), stack_free> certs(sk_X509_new_null());
  if (!trust || !certs || !o.issuer.valid() || X509_STORE_add_cert(trust.get(), o.issuer.get()) != 1 ||
      !sk_X509_push(certs.get(), o.issuer.get()))
    return responder_error(ocsp_errc::bad_signature,
                           "cannot set up the OCSP signature check: " +
                               openssl_failure("X509_STORE_add_cert()"), url);
  X509_VERIFY_PARAM* vp = X509_STORE_get0_param(trust.get());
  X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_PARTIAL_CHAIN);
  X509_VERIFY_PARAM_set_time(vp, static_cast<time_t>(to_unix(o.now)));
  if (OCSP_basic_verify(bs, certs.get(), trust.get(), OCSP_NOEXPLICIT) != 1)
    return responder_error(ocsp_errc::bad_signature,
                           "the OCSP response signature is not acceptable: " +
                               openssl_failure("OCSP_basic_verify()"), url);
  return {};
}

/// The DER of the nonce extension's value as we sent it: OCTET STRING { nonce }.
std::string nonce_ext_value(const std::string& nonce) {
  std::string out;
  ASN1_OCTET_STRING* os = ASN1_OCTET_STRING_new();
  if (os && ASN1_OCTET_STRING_set(os, reinterpret_cast<const unsigned char*>(nonce.data()),
                                  static_cast<int>(nonce.size()))) {
    unsigned char* der = nullptr;
    int len = i2d_ASN1_OCTET_STRING(os, &der);
    if (len > 0) out.assign(reinterpret_cast<char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
  }
  ASN1_OCTET_STRING_free(os);
  return out;
}

/// Step 4: compares the echoed extension value byte for byte, as OCSP_check_nonce does.
expected<bool> check_nonce(OCSP_BASICRESP* bs, const check_options& o) {
  int idx = OCSP_BASICRESP_get_ext_by_NID(bs, NID_id_pkix_OCSP_Nonce, -1);
  if (idx < 0) return false;
  if (o.nonce.empty()) return true;
  const ASN1_OCTET_STRING* got = X509_EXTENSION_get_data(OCSP_BASICRESP_get_ext(bs, idx));
  const std::string want = nonce_ext_value(o.nonce);
  if (!got || want.empty() ||
      std::string_view(reinterpret_cast<const char*>(got->data), static_cast<size_t>(got->length)) !=
          want)
    return responder_error(ocsp_errc::nonce_mismatch,
                           "the nonce in the OCSP response does not match the request",
                           o.responder_url);
  return true;
}

/// Step 6.
status check_times(const response& r, const check_options& o) {
  const std::string& url = o.responder_url;
  if (r.this_update > o.now + o.max_skew)
    return responder_error(ocsp_errc::bad_time, "the OCSP response's thisUpdate " +
                                                    format_rfc822(r.this_update) +
                                                    " is in the future", url);
  if (r.next_update && *r.next_update < r.this_update)
    return responder_error(ocsp_errc::bad_time, "the OCSP response's nextUpdate " +
                                                    format_rfc822(*r.next_update) +
                                                    " precedes its thisUpdate", url);
  if (r.next_update && *r.next_update <= o.now)
    return responder_error(ocsp_errc::bad_time, "the OCSP response expired at " +
                                                    format_rfc822(*r.next_update), url);
  return {};
}

/// Step 5 and the fields of the SingleResponse.
expected<response> read_single(OCSP_BASICRESP* bs, const check_options& o) {
  int idx = OCSP_resp_find(bs, o.id.get(), -1);
  if (idx < 0)
    return responder_error(ocsp_errc::no_status,
                           "the OCSP response has no status for the certificate with serial " +
                               o.id.serial_hex(), o.responder_url);
  OCSP_SINGLERESP* single = OCSP_resp_get0(bs, idx);
  int reason = -1;
  ASN1_GENERALIZEDTIME *rev = nullptr, *this_upd = nullptr, *next_upd = nullptr;
  int st = OCSP_single_get0_status(single, &reason, &rev, &this_upd, &next_upd);
  response r;
  r.status = st == V_OCSP_CERTSTATUS_GOOD      ? cert_status::good
             : st == V_OCSP_CERTSTATUS_REVOKED ? cert_status::revoked
                                               : cert_status::unknown;
  if (r.status == cert_status::revoked) {
    to_sys_time(rev, r.revocation_time);
    r.revocation_reason = reason;
  }
  if (!to_sys_time(this_upd, r.this_update))
    return responder_error(ocsp_errc::bad_response, "the OCSP response has no readable thisUpdate",
                           o.responder_url);
  sys_time next{};
  if (next_upd) {
    if (!to_sys_time(next_upd, next))
      return responder_error(ocsp_errc::bad_response,
                             "the OCSP response has no readable nextUpdate", o.responder_url);
    r.next_update = next;
  }
  return r;
}

} // namespace

expected<response> check_response(std::string_view der, const check_options& opts) {
  if (!opts.id.valid() || !opts.issuer.valid())
    return responder_error(ocsp_errc::request, "no CertID or issuer to check the OCSP response against",
                           opts.responder_url);
  auto basic = parse_basic(der, opts.responder_url);
  if (!basic) return basic.error();
  if (auto st = verify_signature(basic->get(), opts); !st) return st.error();
  auto echoed = check_nonce(basic->get(), opts);
  if (!echoed) return echoed.error();
  auto r = read_single(basic->get(), opts);
  if (!r) return r.error();
  if (auto st = check_times(*r, opts); !st) return st.error();
  r->nonce_echoed = *echoed;
  r->der.assign(der.data(), der.size());
  return r;
}

} // namespace mda::ocsp
