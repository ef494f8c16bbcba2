// The request side of the module (reference §3, §4.2 - §4.4): what Apache's workers do for
// the MDs, reading only what the parent's post_config left in module_state (inherited by the
// forked children) and what the engine publishes (the store's challenges/, the status file and
// socket). Nothing here waits on the engine longer than a short socket timeout.
//
// request_hooks.cpp:
// - http-01 (post_read_request, first, before mod_ssl's 503 and any redirect or access check):
//   /.well-known/acme-challenge/<token> answered from challenges/<host>/acme-http-01.txt.
// - tls-alpn-01: protocol_propose / protocol_switch / protocol_get for "acme-tls/1" (httpd
//   only selects it where the vhost's Protocols allow it), ssl_answer_challenge with the
//   challenge certificate and key from challenges/<sni>/.
// - MDRequireHttps (post_read_request after mod_ssl): redirects and HSTS.
// status_handlers.cpp:
// - the md-status handler, /.httpd/certificate-status (post_read_request before mod_ssl),
//   the server-status section (mod_status's optional status_hook).
// Not here: configuration and certificate hooks (mod_mdactor.cpp, ssl_hooks.cpp), the engine.
#pragma once

namespace mda::httpd {

/// Registers every hook of request_hooks.cpp and status_handlers.cpp.
void register_request_hooks();

/// Registers the hooks of status_handlers.cpp (called by register_request_hooks).
void register_status_hooks();

} // namespace mda::httpd
