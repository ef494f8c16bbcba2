// Challenge answers as files in the store's challenges/ group — exactly what mod_md writes
// and what Apache's workers (mod_md's or ours) serve (reference §2.1, §2.5, §4.2, §4.3):
//
//   http-01      challenges/<dns>/acme-http-01.txt: the key authorization, no newline
//   tls-alpn-01  for each key spec of the MD: challenges/<dns>/acme-tls-alpn-01-privkey
//                [.<curve>].pem (plain PKCS#8, 0600) and acme-tls-alpn-01-pubcert[.<curve>].pem,
//                the certificate of certgen.hpp (RFC 8737 §3)
//   dns-01       handed to a delegate (a dns01_command); without one dns-01 is unsupported
//
// <dns> is the authorization's identifier (for an IP identifier its canonical text; the TLS
// glue maps the reverse-DNS SNI of RFC 8738 §6 back to it, see tls_alpn01_responder.hpp).
// Teardown of http-01 and tls-alpn-01 purges challenges/<dns> as mod_md does on order purge.
// The store's file modes apply (challenges: files 0644, directories 0755, plain keys 0600).
// Not here: serving the files (Apache glue / responders), choosing the challenge.
#pragma once

#include <memory>
#include <vector>

#include "acme/challenge.hpp"
#include "core/key_spec.hpp"
#include "core/timefmt.hpp"
#include "store/store.hpp"

namespace mda::acme {

struct store_challenges_options {
  /// The MD's key specs (MDPrivateKeys); one tls-alpn-01 key and certificate per spec.
  std::vector<key_spec> key_specs{key_spec::default_spec()};
  /// dns-01 delegate (e.g. a dns01_command); null = dns-01 not supported.
  std::shared_ptr<challenge_setup> dns01;
  /// Validity start of the tls-alpn-01 certificates; null = the system clock.
  std::shared_ptr<const time_source> clock;
};

/// Writes mod_md's challenge files. Make one per MD (the key specs are the MD's). Calls may
/// come from several threads as far as the store allows (distinct identifiers).
class store_challenges final : public challenge_setup {
 public:
  /// `st` must outlive this object.
  store_challenges(store& st, store_challenges_options opts);

  bool supports(challenge_type t) const override;
  status setup(const challenge_data& c) override;
  status teardown(const challenge_data& c) override;

 private:
  status setup_http01(const challenge_data& c);
  status setup_tls_alpn01(const challenge_data& c);

  store& store_;
  store_challenges_options opts_;
};

} // namespace mda::acme
