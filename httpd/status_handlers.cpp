// The status outputs of the module (see request_hooks.hpp; reference §3.1 - §3.3), glue around
// the pure renderers of status/:
//
// - Where the data comes from: the engine's status socket (engine_settings::status_socket,
//   200 ms at most), else the published status file (engine_settings::status_file, by default
//   <store>/mdactor/status.json), parsed once per change of the file per process
//   (snapshot_file_cache), never per request. Neither there: 503 and a log line; the request
//   never waits longer. A fallback to the file is logged at debug level (MDA0168 md-status,
//   MDA0170 certificate-status and server-status).
// - md-status (SetHandler md-status): GET only (else 501); the last segment of path_info names
//   one MD (by name, then by domain) shown with its log, otherwise all MDs; application/json,
//   or the HTML page (status/status_page.hpp) when the Accept header asks for text/html
//   (from the engine's snapshot of the MD named, else of all, else the file). "Vary: Accept"
//   on both.
// - /.httpd/certificate-status (post_read_request before mod_ssl, so it also answers where
//   mod_ssl would send its fallback 503): MDCertificateStatus on and the host a domain of an
//   MD, else declined; GET only (else 501). Public and unauthenticated, so it asks the engine
//   for that one MD ("GET snapshot <md>"), never for the whole snapshot.
// - md-metrics (SetHandler md-metrics): GET only (else 501); Prometheus' text format 0.0.4,
//   or OpenMetrics when the Accept header asks for application/openmetrics-text; the engine's
//   joined per-MD fragments ("GET metrics"), else rendered from the status file with
//   mdactor_engine_up 0 (fallback logged at debug level, MDA0190).
// - server-status (mod_status's optional status_hook, MDServerStatus on): the "Managed
//   Certificates" and "Managed Staplings" sections, HTML or `?auto`; the MDCertificateCheck
//   links come from this configuration, not from whatever the snapshot carried.
// Not here: the rendering (status/), the engine that publishes (httpd/engine_process.*).
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <mod_status.h>
#include <apr_optional_hooks.h>

#include "httpd/module.hpp"
#include "httpd/request_hooks.hpp"
#include "httpd/request_rules.hpp"
#include "ipc/status_client.hpp"
#include "status/md_status.hpp"
#include "status/metrics.hpp"
#include "status/server_status.hpp"
#include "status/status_page.hpp"
#include "status/snapshot.hpp"
#include "store/registry.hpp"

APLOG_USE_MODULE(md);

namespace mda::httpd {

namespace {

/// How long a worker waits for the engine's answer before it reads the file.
constexpr std::chrono::milliseconds k_socket_timeout{200};

std::string status_file_of(const module_state& st) { return status_file_path(st.linked.config.settings); }

using shared_snapshot = std::shared_ptr<const status_snapshot>;

/// The status file of this process, parsed once per change of the file (not per request).
snapshot_file_cache& file_cache() {
  static snapshot_file_cache cache;
  return cache;
}

/// `request` ("GET snapshot" or "GET snapshot <md>") answered live, else the status file
/// (through the cache); `what` names the handler in the debug line of a fallback.
expected<shared_snapshot> fetch_snapshot(request_rec* r, const module_state& st, const std::string& request,
                                         const char* what) {
  const std::string& socket = st.linked.config.settings.status_socket;
  if (!socket.empty()) {
    auto text = query_status_socket(socket, request, k_socket_timeout);
    auto snap = text ? parse_snapshot(*text, socket) : expected<status_snapshot>(text.error());
    if (snap) return std::make_shared<const status_snapshot>(std::move(*snap));
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "MDA0170: %s: no answer from the engine (%s), "
                  "reading the status file", what, snap.error().message.c_str());
  }
  return file_cache().get(status_file_of(st));
}

int unavailable(request_rec* r, const error& e);

/// The whole answer, of `type`, with its length.
void send_body(request_rec* r, const char* type, const std::string& body) {
  ap_set_content_type(r, type);
  ap_set_content_length(r, static_cast<apr_off_t>(body.size()));
  if (!r->header_only) ap_rwrite(body.data(), static_cast<int>(body.size()), r);
}

void send_json(request_rec* r, const std::string& body) { send_body(r, "application/json", body); }

/// Passes the engine's answer on while it arrives: each block becomes a heap bucket that takes
/// it over (no copy; the bucket frees it) and goes down the filters at once, so the worker
/// never holds the whole text (15 MB at 10,000 MDs) and the client reads while the engine
/// still sends. Content-Length is the length the engine announced. -1: nothing came, the
/// caller falls back to the file; a failure after the first block (the engine gone mid-answer)
/// ends the response as broken (mod_proxy's way: an error bucket for HTTP_BAD_GATEWAY and the
/// connection closed, so the client gets fewer bytes than announced and knows).
int stream_md_status(request_rec* r, const std::string& socket, const std::string& request) {
  constexpr std::size_t k_block = 256 * 1024;
  apr_bucket_brigade* bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
  bool started = false;
  apr_status_t passed = APR_SUCCESS;
  auto st = query_status_socket_stream(socket, request, k_socket_timeout, k_block, [&](status_piece p) {
    if (!started) {
      started = true;
      ap_set_content_type(r, "application/json");
      ap_set_content_length(r, static_cast<apr_off_t>(p.total));
    }
    if (r->header_only) {
      std::free(p.data);
      return true;
    }
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_heap_create(p.data, p.size, std::free, bb->bucket_alloc));
    passed = ap_pass_brigade(r->output_filters, bb);
    apr_brigade_cleanup(bb);
    return passed == APR_SUCCESS;
  });
  if (!started) {
    if (!st) {
      ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "MDA0168: md-status: no answer from the engine (%s), "
                    "reading the status file", st.error().message.c_str());
      return -1;
    }
    ap_set_content_type(r, "application/json"); // an empty answer
    ap_set_content_length(r, 0);
  }
  if (!st && passed == APR_SUCCESS) {
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "MDA0167: md-status from the engine broke off: %s",
                  st.error().message.c_str());
    r->connection->keepalive = AP_CONN_CLOSE;
    APR_BRIGADE_INSERT_TAIL(bb, ap_bucket_error_create(HTTP_BAD_GATEWAY, nullptr, r->pool, bb->bucket_alloc));
  }
  APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
  passed = ap_pass_brigade(r->output_filters, bb);
  return passed == APR_SUCCESS || r->connection->aborted ? OK : AP_FILTER_ERROR;
}

/// md-status for `path_info`: the engine's answer streamed, else rendered from the file.
int send_md_status(request_rec* r, const module_state& st, const std::string& path_info) {
  const std::string name = last_path_segment(path_info);
  const std::string& socket = st.linked.config.settings.status_socket;
  if (!socket.empty()) {
    const std::string request = name.empty() ? "GET md-status" : "GET md-status " + name;
    if (int rc = stream_md_status(r, socket, request); rc >= 0) return rc;
  }
  auto snap = file_cache().get(status_file_of(st));
  if (!snap) return unavailable(r, snap.error());
  const status_snapshot& s = **snap;
  if (const md_snapshot* m = find_md_for_path(s, path_info); m && st.store) {
    // one MD from the file: its staging/ read now, as mod_md answers (the file may be up to
    // half a second older than a job.json the engine just wrote)
    md_snapshot fresh = *m;
    refresh_from_staging(*st.store, fresh);
    send_json(r, render_json(md_status_json(s, fresh, true)));
    return OK;
  }
  send_json(r, md_status_text(s, path_info));
  return OK;
}

/// The HTML page: the one MD path_info names (only that MD asked of the engine), else every MD.
int send_md_status_page(request_rec* r, const module_state& st, const std::string& path_info) {
  const std::string name = last_path_segment(path_info);
  auto snap = fetch_snapshot(r, st, name.empty() ? "GET snapshot" : "GET snapshot " + name, "md-status");
  if (snap && !name.empty() && (**snap).mds.empty()) snap = fetch_snapshot(r, st, "GET snapshot", "md-status");
  if (!snap) return unavailable(r, snap.error());
  const status_snapshot& s = **snap;
  std::string page;
  if (const md_snapshot* m = find_md_for_path(s, path_info)) {
    status_snapshot one;
    one.mds.push_back(*m);
    for (const auto& e : s.staplings)
      if (e.domain == m->md.name) one.staplings.push_back(e);
    page = md_status_html(one, std::chrono::system_clock::now());
  } else {
    page = md_status_html(s, std::chrono::system_clock::now());
  }
  send_body(r, "text/html; charset=utf-8", page);
  return OK;
}

int unavailable(request_rec* r, const error& e) {
  ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "MDA0165: no status from the engine: %s", e.message.c_str());
  return HTTP_SERVICE_UNAVAILABLE;
}

int md_status_handler(request_rec* r) {
  if (!r->handler || std::strcmp(r->handler, "md-status") != 0) return DECLINED;
  return guarded(r->server, "MDA0169", "md-status", HTTP_INTERNAL_SERVER_ERROR, [&]() -> int {
    if (r->method_number != M_GET) return HTTP_NOT_IMPLEMENTED;
    const module_state* st = current_state();
    if (!st) return HTTP_SERVICE_UNAVAILABLE;
    apr_table_mergen(r->headers_out, "Vary", "Accept");
    const char* accept = apr_table_get(r->headers_in, "Accept");
    if (accept && wants_html(accept)) return send_md_status_page(r, *st, r->path_info ? r->path_info : "");
    return send_md_status(r, *st, r->path_info ? r->path_info : "");
  });
}

/// md-metrics: the engine's answer, else the status file's MDs with the engine down.
int send_metrics(request_rec* r, const module_state& st) {
  const char* accept = apr_table_get(r->headers_in, "Accept");
  const metrics_format f = metrics_format_for(accept ? accept : "");
  const std::string& socket = st.linked.config.settings.status_socket;
  std::optional<std::string> body;
  if (!socket.empty()) {
    auto text = query_status_socket(socket, f == metrics_format::openmetrics ? "GET metrics openmetrics" : "GET metrics",
                                    k_socket_timeout);
    if (text) body = std::move(*text);
    else ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "MDA0190: md-metrics: no answer from the engine (%s), "
                       "reading the status file", text.error().message.c_str());
  }
  if (!body) {
    auto snap = file_cache().get(status_file_of(st));
    if (!snap) return unavailable(r, snap.error());
    body = metrics_text(**snap, engine_figures{}, f); // up 0: the engine did not answer
  }
  send_body(r, metrics_content_type(f), *body);
  return OK;
}

int md_metrics_handler(request_rec* r) {
  if (!r->handler || std::strcmp(r->handler, "md-metrics") != 0) return DECLINED;
  return guarded(r->server, "MDA0169", "md-metrics", HTTP_INTERNAL_SERVER_ERROR, [&]() -> int {
    if (r->method_number != M_GET) return HTTP_NOT_IMPLEMENTED;
    const module_state* st = current_state();
    if (!st) return HTTP_SERVICE_UNAVAILABLE;
    return send_metrics(r, *st);
  });
}

int certificate_status(request_rec* r) {
  if (!r->parsed_uri.path || k_certificate_status_path != r->parsed_uri.path) return DECLINED;
  return guarded(r->server, "MDA0169", "certificate-status", HTTP_INTERNAL_SERVER_ERROR, [&]() -> int {
    const module_state* st = current_state();
    if (!st || !st->input.mc.certificate_status || !r->hostname) return DECLINED;
    const managed_domain* md = md_for_host(st->linked.config, r->hostname);
    if (!md) return DECLINED;
    if (r->method_number != M_GET) return HTTP_NOT_IMPLEMENTED;
    auto snap = fetch_snapshot(r, *st, "GET snapshot " + md->name, "certificate-status");
    if (!snap) return unavailable(r, snap.error());
    const md_snapshot* m = find_md_by_name(**snap, md->name);
    if (!m) {
      ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "MDA0166: %s: not in the engine's status yet", md->name.c_str());
      return HTTP_SERVICE_UNAVAILABLE;
    }
    // staging/ as the store holds it now (mod_md reads it per request; what the engine last
    // published may be older than a file put there meanwhile)
    md_snapshot fresh = *m;
    if (st->store) refresh_from_staging(*st->store, fresh);
    send_json(r, render_json(certificate_status_json(**snap, fresh)));
    return DONE;
  });
}

int server_status_section(request_rec* r, int flags) {
  return guarded(r->server, "MDA0169", "server-status", DECLINED, [&]() -> int {
    const module_state* st = current_state();
    if (!st || !st->input.mc.server_status) return DECLINED;
    auto snap = fetch_snapshot(r, *st, "GET snapshot", "server-status");
    if (!snap) {
      ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, "MDA0165: no status from the engine: %s",
                    snap.error().message.c_str());
      return DECLINED;
    }
    const engine_settings& es = st->linked.config.settings;
    shared_snapshot shown = *snap;
    if (shown->cert_check_name != es.cert_check_name || shown->cert_check_url != es.cert_check_url) {
      auto copy = std::make_shared<status_snapshot>(*shown); // the cached one stays as read
      copy->cert_check_name = es.cert_check_name;
      copy->cert_check_url = es.cert_check_url;
      shown = std::move(copy);
    }
    const status_form form = (flags & AP_STATUS_SHORT) ? status_form::short_text : status_form::html;
    ap_rputs(server_status(*shown, std::chrono::system_clock::now(), form).c_str(), r);
    return OK;
  });
}

} // namespace

void register_status_hooks() {
  static const char* const mod_ssl[] = {"mod_ssl.c", nullptr};
  ap_hook_post_read_request(certificate_status, nullptr, mod_ssl, APR_HOOK_FIRST);
  ap_hook_handler(md_status_handler, nullptr, nullptr, APR_HOOK_MIDDLE);
  ap_hook_handler(md_metrics_handler, nullptr, nullptr, APR_HOOK_MIDDLE);
  APR_OPTIONAL_HOOK(ap, status_hook, server_status_section, nullptr, nullptr, APR_HOOK_MIDDLE);
}

} // namespace mda::httpd
