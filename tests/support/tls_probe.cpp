#include "tests/support/tls_probe.hpp"

#include <sstream>

#include "tests/test_util.hpp"

namespace mda::test {

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

/// The rest of the first line of `text` that starts (after blanks) with `prefix`, trimmed.
std::string after(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const std::string t = trim(line);
    if (t.compare(0, prefix.size(), prefix) == 0) return trim(t.substr(prefix.size()));
  }
  return "";
}

/// The first PEM certificate block in `text`, "" when there is none.
std::string first_pem(const std::string& text) {
  const std::string begin = "-----BEGIN CERTIFICATE-----", end = "-----END CERTIFICATE-----";
  const auto b = text.find(begin);
  if (b == std::string::npos) return "";
  const auto e = text.find(end, b);
  if (e == std::string::npos) return "";
  return text.substr(b, e + end.size() - b) + "\n";
}

/// "RSA 2048" / "EC prime256v1" / the algorithm name, from `openssl x509 -text`.
std::string key_type_of(const std::string& text) {
  const auto spki = text.find("Subject Public Key Info:");
  if (spki == std::string::npos) return "";
  const std::string rest = text.substr(spki);
  const std::string alg = after(rest, "Public Key Algorithm:");
  if (alg == "rsaEncryption") {
    std::string bits = after(rest, "Public-Key: (");
    return "RSA " + bits.substr(0, bits.find(' '));
  }
  if (alg == "id-ecPublicKey") return "EC " + after(rest, "ASN1 OID:");
  return alg;
}

void fill_from_pem(served_leaf& out) {
  const auto x509 = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"openssl", "x509", "-noout"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, out.pem).output;
  };
  out.subject = after(x509({"-subject", "-nameopt", "RFC2253"}), "subject=");
  out.issuer = after(x509({"-issuer", "-nameopt", "RFC2253"}), "issuer=");
  out.fingerprint = after(x509({"-fingerprint", "-sha256"}), "sha256 Fingerprint=");
  out.san = after(x509({"-ext", "subjectAltName"}), "DNS:");
  if (!out.san.empty()) out.san = "DNS:" + out.san;
  out.key_type = key_type_of(x509({"-text"}));
}

} // namespace

served_leaf probe_tls(int port, const std::string& servername, const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(port),
                                   "-servername", servername};
  argv.insert(argv.end(), extra.begin(), extra.end());
  served_leaf out;
  out.transcript = run(argv, "").output;
  out.verify_result = after(out.transcript, "Verify return code:");
  out.alpn = after(out.transcript, "ALPN protocol:");
  out.pem = first_pem(out.transcript);
  if (!out.pem.empty()) fill_from_pem(out);
  return out;
}

served_leaf describe_cert_file(const std::string& path) {
  served_leaf out;
  out.pem = first_pem(read_file(path));
  if (!out.pem.empty()) fill_from_pem(out);
  return out;
}

std::string cert_subject(const std::string& pem) {
  return after(run({"openssl", "x509", "-noout", "-subject", "-nameopt", "RFC2253"}, pem).output, "subject=");
}

} // namespace mda::test
