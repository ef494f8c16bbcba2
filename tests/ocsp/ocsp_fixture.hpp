// Test support for the OCSP tests: certificates and OCSP responses made in-process with
// OpenSSL, relative to a given "now" (never fixed-date files), and a background process
// handle for `openssl ocsp` responders.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "core/pkey.hpp"
#include "core/timefmt.hpp"
#include "core/x509.hpp"
#include "ocsp/request.hpp"

namespace mda::test::ocsp {

/// A certificate with its key.
struct issued {
  private_key key;
  certificate cert;
};

struct cert_options {
  std::string cn;
  bool ca = false;             ///< basicConstraints CA:TRUE, keyUsage keyCertSign
  std::string ocsp_url;        ///< AIA OCSP URL, "" = none
  bool ocsp_signing = false;   ///< extendedKeyUsage id-kp-OCSPSigning
  sys_time not_before{};
  sys_time not_after{};
};

/// An EC P-256 certificate signed by `issuer`, or self-signed when issuer is nullptr.
/// Throws std::runtime_error on OpenSSL failures (a failing test).
issued make_cert(const cert_options& opts, const issued* issuer);

/// root -> intermediate -> leaf (AIA OCSP URL `ocsp_url`), valid from now - 1 h for 30 days.
struct test_pki {
  issued root, inter, leaf;
};
test_pki make_pki(sys_time now, const std::string& ocsp_url = "http://127.0.0.1:1/ocsp");

struct response_options {
  int response_status = 0;             ///< OCSP_RESPONSE_STATUS_*; not 0: no body
  int cert_status = 0;                 ///< V_OCSP_CERTSTATUS_*
  int reason = -1;                     ///< revoked: CRLReason, -1 = none
  sys_time revoked_at{};
  sys_time this_update{};
  std::optional<sys_time> next_update;
  std::optional<std::string> nonce;    ///< raw nonce octets to echo
  bool include_signer = true;          ///< carry the signer's certificate
  std::vector<certificate> extra_certs;
};

/// A DER OCSPResponse for `id` signed by `signer` (SHA-256).
std::string make_response(const mda::ocsp::cert_id& id, const issued& signer,
                          const response_options& opts);

/// A program run in the background with output to `log_file`; stopped by PID (SIGTERM,
/// then SIGKILL) by stop() or the destructor.
class background_process {
 public:
  background_process(const std::vector<std::string>& argv, const std::string& log_file);
  ~background_process();
  background_process(const background_process&) = delete;
  background_process& operator=(const background_process&) = delete;
  void stop();
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

/// Waits until the file contains `text`; false after `limit`. (A TCP probe is no readiness
/// check for `openssl ocsp` 3.0: a connection closed without a request stalls it.)
bool wait_for_text(const std::string& file, const std::string& text, std::chrono::milliseconds limit);

} // namespace mda::test::ocsp
