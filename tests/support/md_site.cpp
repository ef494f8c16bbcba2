#include "tests/support/md_site.hpp"

#include <fstream>

#include <sys/stat.h>
#include <unistd.h>

namespace mda::test {

namespace {


std::string text_of(const std::string& path) {
  try {
    return path_exists(path) ? read_file(path) : std::string();
  } catch (...) {
    return "";
  }
}

} // namespace

void md_site::configure(const pebble_fixture& p, const std::string& module, const std::string& extra,
                        const std::string& ca_lines) {
  const std::string h = std::to_string(http), s = std::to_string(https);
  // mod_md reads the CA file in a child, as the User: pebble's temp dir (0700) is out of reach.
  const std::string ca_file = dir / "pebble-ca.pem";
  write_file(ca_file, read_file(p.ca_file()));
  ::chmod(ca_file.c_str(), 0644);
  const std::string ca = !ca_lines.empty() ? ca_lines
                                           : "MDCertificateAuthority " + p.directory_url() + "\n";
  write_file(conf, base_conf(mpm) +
                       "Listen 127.0.0.1:" + h + "\n"
                       "Listen 127.0.0.1:" + s + " https\n" +
                       (load_lines.empty() ? "LoadModule md_module " + module + "\n" : load_lines) + ca +
                       "MDCACertificateFile " + ca_file + "\n"
                       "MDCertificateAgreement accepted\n"
                       "MDContactEmail admin@example.test\n"
                       "MDPortMap http:" + h + " https:" + s + "\n"
                       "MDStoreDir " + dir.path() + "/md\n"
                       "MDRetryDelay 1s\n" +
                       (challenges.empty() ? "" : "MDCAChallenges " + challenges + "\n") + extra +
                       "<Location /md-status>\n  SetHandler md-status\n</Location>\n"
                       "MDomain " + md + "\n"
                       "<VirtualHost 127.0.0.1:" + s + ">\n"
                       "  ServerName " + md + "\n"
                       "  SSLEngine on\n"
                       "</VirtualHost>\n");
}

bool md_site::wait_staged(int seconds) const {
  return wait_for_text(store("staging/" + md + "/job.json"), "\"finished\": true", seconds);
}

bool md_site::wait_for_text(const std::string& path, const std::string& text, int seconds) {
  for (int i = 0; i < seconds * 10; ++i) {
    if (text_of(path).find(text) != std::string::npos) return true;
    ::usleep(100'000);
  }
  return false;
}

std::string md_site::http_get(const std::string& path) const {
  return run({"curl", "-s", "--max-time", "10", "-H", "Host: localhost",
              "http://127.0.0.1:" + std::to_string(http) + path})
      .output;
}

std::string md_site::served(const std::string& host, const std::string& what) const {
  const std::string cmd = "openssl s_client -connect 127.0.0.1:" + std::to_string(https) + " -servername " +
                          host + " </dev/null 2>/dev/null | openssl x509 -noout " + what + " 2>/dev/null";
  return run({"sh", "-c", cmd}).output;
}

int pebble_issued(const pebble_fixture& p) {
  const std::string log = p.pebble_log(), mark = "Issued certificate serial";
  int n = 0;
  for (auto at = log.find(mark); at != std::string::npos; at = log.find(mark, at + 1)) ++n;
  return n;
}

void write_recording_script(const std::string& path, const std::string& out) {
  const std::string dir = out.substr(0, out.rfind('/'));
  ::mkdir(dir.c_str(), 0777);
  ::chmod(dir.c_str(), 0777);
  write_file(path, "#!/bin/sh\necho \"$@\" >> " + out + "\n");
  ::chmod(path.c_str(), 0755);
}

std::vector<std::string> lines_of(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

} // namespace mda::test
