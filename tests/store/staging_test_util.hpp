// Staged sets for the staging tests: an MD with a CA, self-made certificates (certgen.hpp)
// valid from now, each with a second certificate standing in for an intermediate.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/certgen.hpp"
#include "core/job.hpp"
#include "core/md.hpp"
#include "store/cert_files.hpp"
#include "store/staging.hpp"

namespace mda::test {

inline managed_domain staging_md(std::vector<key_spec> specs,
                                 const std::string& name = "example.org",
                                 const std::string& ca_url = "https://127.0.0.1:14000/dir") {
  managed_domain md;
  md.name = name;
  md.domains = {name, "www." + name};
  md.contacts = {"mailto:admin@" + name};
  md.ca.proto = "ACME";
  md.ca.url = ca_url;
  md.ca.urls = {ca_url};
  md.ca.agreement = "accepted";
  md.key_specs = std::move(specs);
  md.state = md_state::complete;
  return md;
}

inline std::vector<staged_cert> make_staged_certs(const managed_domain& md) {
  const sys_time now = std::chrono::time_point_cast<std::chrono::seconds>(sys_clock::now());
  std::vector<staged_cert> out;
  for (const auto& spec : effective_key_specs(md)) {
    auto key = private_key::generate(spec);
    auto ca_key = private_key::generate(key_spec::ec("P-256"));
    auto leaf = make_fallback_certificate(*key, md.domains, now);
    auto ca = make_fallback_certificate(*ca_key, {"intermediate.test"}, now);
    out.push_back({spec, *key, {*leaf, *ca}, {}});
  }
  return out;
}

inline job staged_job(const std::string& name) {
  job j;
  j.name = name;
  j.finished = true;
  j.last_run = from_unix(1795000000);
  j.valid_from = from_unix(1795000002);
  result r;
  r.activity = "renewing";
  r.detail = "The certificate for the managed domain has been renewed successfully.";
  j.last = r;
  j.log_starting(from_unix(1795000000));
  j.log_finished(from_unix(1795000002));
  return j;
}

/// A new account as a renewal stages it (RSA 2048 to keep the tests quick).
inline staged_account staged_acct(const std::string& ca_url = "https://127.0.0.1:14000/dir") {
  static const private_key key = *private_key::generate_rsa(2048);
  staged_account a;
  a.file.status = account_status::valid;
  a.file.url = "https://127.0.0.1:14000/my-account/1";
  a.file.ca_url = ca_url;
  a.file.contact = {"mailto:admin@example.org"};
  a.file.registration = {{"status", "valid"}, {"contact", {"mailto:admin@example.org"}}};
  a.file.orders = "https://127.0.0.1:14000/list-orderz/1";
  a.key = key;
  return a;
}

} // namespace mda::test
