#include "ocsp/fetch.hpp"

namespace mda::ocsp {

namespace {

/// The transport's messages are worded for ACME servers; keep what follows that lead-in.
std::string transport_reason(const std::string& message, const std::string& url) {
  const std::string lead = "Unsuccessful in contacting ACME server at " + url + ": ";
  if (message.compare(0, lead.size(), lead) == 0) return message.substr(lead.size());
  return message;
}

status check_http(const acme::http_response& res, const std::string& url) {
  if (res.status != 200)
    return responder_error(ocsp_errc::bad_response,
                           "the responder answered HTTP " + std::to_string(res.status), url);
  const std::string type = res.media_type();
  if (type != k_response_type)
    return responder_error(ocsp_errc::bad_response,
                           "the responder answered with content type '" + type + "', not " +
                               k_response_type, url);
  return {};
}

} // namespace

expected<response> fetch(acme::http_transport& http, const fetch_params& params) {
  const std::string& url = params.responder_url;
  auto req = make_request(params.id, params.nonce);
  if (!req) return error(req.error().code, req.error().message + responder_suffix(url));

  acme::http_request hreq;
  hreq.method = "POST";
  hreq.url = url;
  hreq.body = req->der;
  hreq.content_type = k_request_type;
  hreq.headers.emplace("Accept", k_response_type);
  auto res = http.request(hreq);
  if (!res)
    return error(res.error().code, "OCSP request failed: " +
                                       transport_reason(res.error().message, url) +
                                       responder_suffix(url));
  if (auto st = check_http(*res, url); !st) return st.error();

  check_options opts;
  opts.responder_url = url;
  opts.id = params.id;
  opts.issuer = params.issuer;
  opts.nonce = req->nonce;
  opts.now = params.now;
  return check_response(res->body, opts);
}

} // namespace mda::ocsp
