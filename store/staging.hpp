// A renewed set of certificates on its way into service, in mod_md's layout (reference §2.1,
// §2.6; mod_md md_acme_drive.c acme_renew / acme_preload, md_reg.c run_load_staging), so a
// set staged by mdactor is activated by mod_md and the other way round.
//
// staging/<md>/ as a finished renewal leaves it:
//   md.json                the MD with "ca"."url" = the CA that issued the set
//   privkey[.<curve>].pem  per key spec, encrypted with the store secret
//   pubcert[.<curve>].pem  per key spec, the chain leaf first (PEM blocks as OpenSSL writes)
//   account.json, account.pem   only when the run registered a new account (with
//                          "registration"; the key encrypted)
//   job.json               the renewal job
// The set is complete when md.json names a CA and every key spec of the staged MD has key
// and certificate. An incomplete set (a renewal still running) is "nothing staged", as mod_md
// treats it (its loaders answer ENOENT and the restart passes silently): never activated,
// never purged.
//
// Activation (parent at startup, under the store lock; mod_md's steps):
//   1. load and check the set: each key matches its leaf (X509_check_private_key);
//   2. tear down challenge files the staged order.json lists (http-01 and tls-alpn-01 ->
//      challenges/<dns>; dns-01 needs the MD's command, the caller's business) and purge
//      tmp/<md>;
//   3. file a staged account in accounts/: under md.json's ca.account, else under the id of
//      a matching valid account (same CA and EAB), else a new ACME-<sname>-NNNN; md.json's
//      ca.account becomes that id. Without a staged account an empty ca.account is filled
//      from a matching stored account when there is one;
//   4. tmp/<md>: md.json, plain keys, pubcerts (all create-only) and a copy of job.json
//      when it reads;
//   5. move tmp -> domains, the old domains/<md> going to archive/<md>.<n>;
//   6. purge staging/<md> and challenges/<md>.
// Errors name the MD and the step. staging/ is written by the Apache User: the store refuses
// a symlink there, and, in a process running as root, anything owned by neither root nor the
// User (fs_store.hpp); such a refusal is an error of step 1 (or 3 for the account) naming the
// path, never "nothing staged". On any error staging/<md>, challenges/<md> and tmp/<md>
// are purged and domains/<md> stays as it was, so the next renewal starts clean: what mod_md
// 2.6.10 does ("AH10069: <md>: error loading staged set, purging it", seen with a key that
// does not match). mod_md takes "not found" errors of any step for "nothing staged" and
// keeps everything (its move fails so on a store without domains/; ours creates it).
// md.json goes to domains as staged: mod_md recomputes "state" afterwards (state_init), the
// caller does the same (core/renewal.hpp). The "installed" event is the caller's.
// Not here: ACME (acme/), events, deciding when to activate (core/renewal.hpp).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/job.hpp"
#include "core/key_spec.hpp"
#include "core/md.hpp"
#include "core/pkey.hpp"
#include "core/x509.hpp"
#include "store/store.hpp"

namespace mda {

/// One certificate of a set: the key spec it is for, its key and chain (leaf first).
struct staged_cert {
  key_spec spec;
  private_key key;
  std::vector<certificate> chain;
  std::string chain_pem; ///< the chain as PEM; written only when `chain` is empty
};

/// A newly registered account carried in staging. `id` is not stored there; load_staging
/// leaves it empty.
struct staged_account {
  std::string id;
  account_file file;
  private_key key;
};

/// Writes staging/<md>/ (see above). staging/<md>/md.json is removed first and written
/// last, so a set interrupted midway is incomplete rather than mixed. `certs` must hold one
/// entry per key spec of md (effective_key_specs) in any order; a missing spec or a key that
/// does not match its leaf is store_errc::invalid and nothing is written. Other files in
/// staging/<md> (order.json) stay.
status write_staging(store& st, const managed_domain& md, const std::vector<staged_cert>& certs,
                     const job& jb, const std::optional<staged_account>& account);

/// A staged set as read back. certs are in key spec order, chain_pem the file's text.
struct staged_set {
  managed_domain md;
  std::vector<staged_cert> certs;
  std::optional<staged_account> account;
  std::optional<job> renewal; ///< job.json when present and readable
};

/// Reads staging/<md_name>/. nullopt: nothing (complete) staged. Errors name the file:
/// a corrupt md.json, key, certificate or account; "staging/<md>/pubcert.pem: certificate
/// does not match the private key in staging/<md>/privkey.pem".
expected<std::optional<staged_set>> load_staging(const store& st, const std::string& md_name);

/// Activates staging/<md_name> (see above). true: activated; false: nothing staged.
/// Errors: "activating the staged set of '<md>': <step>: <reason>".
expected<bool> activate_staging(store& st, const std::string& md_name);

/// In a cluster (docs/cluster.md): the account an MD's pending order belongs to, kept beside
/// order.json as staging/<md>/order-account.json ({"id", "url", "ca-url"}) and
/// order-account.pem (its key, encrypted as staged keys are), so that the server taking the
/// order over signs with that account, whichever account it uses itself. Not mod_md's: only
/// a server with MDStoreEtcd writes them; mod_md ignores them and purges them with staging/<md>.
struct order_account {
  std::string id;     ///< the filing server's accounts/ id, for the log
  std::string url;    ///< the account URL at the CA (the kid)
  std::string ca_url; ///< the directory URL
  private_key key;
};
inline constexpr const char* order_account_aspect = "order-account.json";
inline constexpr const char* order_account_key_aspect = "order-account.pem";

status save_order_account(store& st, const std::string& md_name, const order_account& a);
/// nullopt when there is none (or only half of it); a corrupt file is an error naming it.
expected<std::optional<order_account>> load_order_account(const store& st,
                                                          const std::string& md_name);

/// The current leaf of each certificate slot of the MD (certificate_slots in
/// core/renewal.hpp): domains/<md>/pubcert[.<curve>].pem per key spec, or the configured
/// MDCertificateFile files. nullopt for a slot whose file is missing or unreadable.
std::vector<std::optional<certificate>> load_domain_leaves(const store& st,
                                                           const managed_domain& md);

/// Whether a staging job is believable (mod_md #420, md_job_json_seems_valid): one that claims
/// a finished and announced renewal needs staging/<md>/md.json and a staged certificate for
/// every key spec; otherwise it is a leftover (or a lie) that would keep the MD from ever being
/// renewed, and is to be treated as absent.
bool staging_job_plausible(const store& st, const managed_domain& md, const job& j);

/// The staging job of an MD as a reader of the store takes it: nullopt when there is none or
/// it is not plausible (staging_job_plausible); an error when job.json cannot be read or parsed
/// (the engine reports and replaces such a file; readers keep what they knew).
expected<std::optional<job>> load_staging_job(const store& st, const managed_domain& md);

/// The staged leaf of each key spec of the MD (the default spec when none is configured):
/// staging/<md>/pubcert[.<curve>].pem. nullopt for a missing or unreadable file.
std::vector<std::optional<certificate>> load_staged_leaves(const store& st, const managed_domain& md);

} // namespace mda
