// What a TLS server on 127.0.0.1 serves, seen through the `openssl` command line: one
// `openssl s_client` handshake with a chosen SNI name and extra client options (signature
// algorithms, ciphers, ALPN, -CAfile ...), then `openssl x509` on the leaf it received.
// For end-to-end tests that must tell which of several certificates a server picked.
// Not here: starting servers, trusting anything (the caller passes -CAfile when it wants the
// verification result).
#pragma once

#include <string>
#include <vector>

namespace mda::test {

struct served_leaf {
  std::string pem;           ///< the leaf, "" when the handshake gave none
  std::string subject;       ///< `openssl x509 -subject -nameopt RFC2253` form, e.g. "CN=a.test"
  std::string issuer;        ///< the same form, e.g. "CN=Pebble Intermediate CA 1a2b3c"
  std::string key_type;      ///< "RSA 2048", "EC prime256v1", "ED25519", ... ("" when unknown)
  std::string san;           ///< e.g. "DNS:a.test, DNS:*.a.test" ("" when none)
  std::string fingerprint;   ///< SHA-256, `openssl x509 -fingerprint` form "AB:CD:..."
  std::string verify_result; ///< s_client's "Verify return code: ..." line without the prefix
  std::string alpn;          ///< the negotiated ALPN protocol, "" when none
  std::string transcript;    ///< s_client's whole output (for failure messages)
};

/// One handshake with 127.0.0.1:`port`, SNI `servername`, `extra` s_client options.
served_leaf probe_tls(int port, const std::string& servername, const std::vector<std::string>& extra = {});

/// The facts of a PEM certificate file (pem, subject, issuer, key_type, san, fingerprint).
served_leaf describe_cert_file(const std::string& path);

/// The subject of a PEM certificate text in the RFC 2253 form used above.
std::string cert_subject(const std::string& pem);

} // namespace mda::test
