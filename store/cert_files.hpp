// The certificate files the parent hands to mod_ssl for one MD (reference §4.1; mod_md
// get_certificates, md_add_cert_files, md_add_fallback_cert_files):
//
// - md_cert_files: the static MDCertificateFile / MDCertificateKeyFile pairs when configured;
//   otherwise, per key spec in order, domains/<md>/pubcert*.pem + privkey*.pem when both
//   exist. Specs without both files are skipped (mod_md #260); none at all -> empty.
// - ensure_fallback_files: per key spec, domains/<md>/fallback-pubcert*.pem and
//   fallback-privkey*.pem, created unless both exist (an existing expired fallback is reused,
//   as mod_md does: only existence is checked). The certificate is the one of certgen.hpp.
// Beyond mod_md: the fallback KEY of a spec is made once per fallback_keys object and shared
//   by every MD that needs one (mod_md makes a key per MD: 100 MDs with RSA keys took it 18 s
//   to start). Nobody trusts a fallback certificate, so sharing its key costs nothing; each
//   MD still gets its own certificate with its own names, and its own key file.
// The MD comes as its md_spec (key specs resolved, static files).
// Not here: deciding whether an MD is complete (renewal.hpp), mod_ssl calls (httpd/).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/md_spec.hpp"
#include "core/pkey.hpp"
#include "core/timefmt.hpp"
#include "store/store.hpp"

namespace mda {

struct cert_file_pair {
  std::string cert_file; ///< PEM chain, leaf first
  std::string key_file;  ///< PEM private key (plain)
  bool operator==(const cert_file_pair& o) const {
    return cert_file == o.cert_file && key_file == o.key_file;
  }
};

/// The files serving the MD's real certificates (see above); empty when there are none.
/// Static files are returned as configured, even when they do not exist (mod_ssl reports
/// that with its own message).
std::vector<cert_file_pair> md_cert_files(const store& st, const md_spec& md);

/// One fallback key per key spec, made on first use.
class fallback_keys {
 public:
  expected<private_key> get(const key_spec& spec);
  /// How many keys were generated so far.
  std::size_t generated() const { return generated_; }

 private:
  std::map<std::string, private_key> keys_; ///< by md_pkey_spec_name
  std::size_t generated_ = 0;
};

/// The fallback pairs of every key spec, created where missing (see above). The error names
/// the MD and the file that could not be made.
expected<std::vector<cert_file_pair>> ensure_fallback_files(store& st, const md_spec& md,
                                                            fallback_keys& keys, sys_time now);

} // namespace mda
