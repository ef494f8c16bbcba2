// The store: where managed-domain data lives, addressed by a key of group + name + aspect,
// with mod_md's group and file names (reference §2.1), e.g.
//   domains + "example.org" + "pubcert.pem",   ocsp + "example.org" + "ocsp-<sha1hex>.json",
//   none + "" + "httpd.json" (top level of the store; group none takes no name).
// An existing mod_md store directory is read and written as mod_md does (fs_store.hpp).
//
// Contract of every implementation:
// - Not found: loading a key that does not exist fails with store_errc::not_found; exists()
//   says false; listing a group or name that has no directory yields an empty list (group
//   none has no names: listing them is store_errc::invalid).
// - Names and aspects are validated (paths.hpp, check_name/check_aspect): a bad one is
//   store_errc::bad_name, never a path outside the store.
// - Writes are atomic: the data goes to "<file>.tmp" and is renamed over the target. A reader
//   sees the old or the new file, never a half-written one; a write that fails midway leaves
//   the old file as it was.
// - Durable (surviving a power loss) is what an implementation says. fs_store fsyncs the file
//   before the rename and its directory after it, and the directories of a remove, purge,
//   move or rename, with two exceptions (fs_store.hpp / fs_store.cpp `durable`):
//   - job.json and order.json in any group and everything in challenges/ are atomic but not
//     fsynced: progress records rewritten at every step of a run and answers that live for
//     seconds, where a crash only repeats a step;
//   - a store opened with sync_writes = false (the Apache parent's startup pass, which writes
//     many small files per MD) fsyncs nothing one by one: its flush() (one syncfs) makes all
//     of it durable at once, and the parent calls it at the end of the pass, before the
//     engine starts.
// - Concurrency: safe are any number of readers alongside ONE writer per (group, name).
//   Two writers of the same key at once are not coordinated (the second waits for the first
//   one's "<file>.tmp" for a while and then takes it over as stale, see fs_store_options).
//   Moves, purges and renames of a name must not race with writers of that name; mod_md
//   runs them in the parent at startup, under store_lock (store_lock.hpp).
// - Private keys are encrypted with the store secret in groups accounts, staging, ocsp,
//   none and archive, and stored plain in domains, challenges and tmp (reference §2.2).
// - No exceptions: every failure is an mda::error naming the file or key.
// Not here: what md.json / job.json mean (core/md.hpp, core/job.hpp), certificate parsing.
#pragma once

#include <array>
#include <chrono>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/key_spec.hpp"
#include "core/pkey.hpp"

namespace mda {

/// The storage groups, in mod_md's order (md_store_group_t).
enum class store_group { none, accounts, challenges, domains, staging, archive, tmp, ocsp };

inline constexpr std::array<store_group, 8> k_store_groups{
    store_group::none,    store_group::accounts, store_group::challenges, store_group::domains,
    store_group::staging, store_group::archive,  store_group::tmp,        store_group::ocsp};

/// The directory name of a group: "none", "accounts", "challenges", "domains", "staging",
/// "archive", "tmp", "ocsp" (md_store_group_name).
const char* group_name(store_group g) noexcept;

/// What went wrong in the store.
enum class store_errc {
  ok = 0,
  not_found = 1,    ///< the key (file or name directory) does not exist
  exists = 2,       ///< a create-only write, rename or move found the target already there
  bad_name = 3,     ///< a name or aspect that is empty, has '/', '..', a leading '.', ...
  corrupt = 4,      ///< a file that does not parse (JSON, md_store.json content, a key)
  too_new = 5,      ///< md_store.json of a newer store version than we know (> 3)
  io = 6,           ///< a system call failed; the message names it and the file
  lock_timeout = 7, ///< store.lock held by another process for longer than the wait
  archive_full = 8, ///< archive/<name>.1 .. .999 all taken
  invalid = 9,      ///< a request that makes no sense (move within one group, none + name)
  refused = 10,     ///< a symbolic link, or an entry of an owner the store does not trust,
                    ///< where the store expects its own file or directory (fs_store.hpp)
};

const std::error_category& store_category() noexcept;
std::error_code make_error_code(store_errc e) noexcept;

/// True when the error is store_errc::not_found (the usual "absent is fine" check).
bool is_not_found(const error& e) noexcept;

/// mod_md's file names (aspects). Key and certificate names depend on the key spec:
/// "rsa" (Default/RSA) -> privkey.pem, EC -> privkey.<curve lowercased>.pem (pk_filename).
namespace aspect {
inline constexpr const char* md = "md.json";
inline constexpr const char* job = "job.json";
inline constexpr const char* order = "order.json";
inline constexpr const char* account = "account.json";
inline constexpr const char* account_key = "account.pem"; ///< RSA 3072, encrypted
inline constexpr const char* http01 = "acme-http-01.txt";   ///< key authorization, no newline
inline constexpr const char* httpd_json = "httpd.json";     ///< group none
inline constexpr const char* store_json = "md_store.json";  ///< group none, managed by fs_store
/// Store format 1 names, only met by the 1 -> 2 upgrade.
inline constexpr const char* legacy_pkey = "pkey.pem";
inline constexpr const char* legacy_cert = "cert.pem";
inline constexpr const char* legacy_chain = "chain.pem";

std::string privkey(const key_spec& spec);            ///< privkey[.<curve>].pem
std::string pubcert(const key_spec& spec);            ///< pubcert[.<curve>].pem
std::string fallback_privkey(const key_spec& spec);   ///< fallback-privkey[.<curve>].pem
std::string fallback_pubcert(const key_spec& spec);   ///< fallback-pubcert[.<curve>].pem
std::string tls_alpn01_privkey(const key_spec& spec); ///< acme-tls-alpn-01-privkey[.<curve>].pem
std::string tls_alpn01_pubcert(const key_spec& spec); ///< acme-tls-alpn-01-pubcert[.<curve>].pem
/// "ocsp-<id>.json" where id is the lowercase hex SHA-1 of the certificate's DER.
std::string ocsp(std::string_view sha1_hex);
std::string ocsp_for_cert_der(std::string_view cert_der);
} // namespace aspect

/// The store interface. Group none takes the name "" and addresses the top level.
class store {
 public:
  using time_point = std::chrono::system_clock::time_point;
  virtual ~store() = default;

  /// Raw file content (PEM chains, acme-http-01.txt, ...).
  virtual expected<std::string> load_text(store_group g, const std::string& name,
                                          const std::string& aspect) const = 0;
  /// Writes atomically with the group's permissions. create_only: fail with
  /// store_errc::exists when the key already exists (the check and the write are one step).
  virtual status save_text(store_group g, const std::string& name, const std::string& aspect,
                           std::string_view text, bool create_only = false) = 0;

  /// JSON with key order kept. Content that does not parse is store_errc::corrupt with the
  /// file named. Saved as mod_md does: indented by 2, no trailing newline.
  virtual expected<nlohmann::ordered_json> load_json(store_group g, const std::string& name,
                                                     const std::string& aspect) const = 0;
  virtual status save_json(store_group g, const std::string& name, const std::string& aspect,
                           const nlohmann::ordered_json& value, bool create_only = false) = 0;

  /// Private keys, encrypted or plain by group (see above). Plain keys are always 0600.
  virtual expected<private_key> load_key(store_group g, const std::string& name,
                                         const std::string& aspect) const = 0;
  virtual status save_key(store_group g, const std::string& name, const std::string& aspect,
                          const private_key& key, bool create_only = false) = 0;

  virtual bool exists(store_group g, const std::string& name, const std::string& aspect) const = 0;
  /// Last modification time; not_found when absent.
  virtual expected<time_point> modified(store_group g, const std::string& name,
                                        const std::string& aspect) const = 0;
  /// Removes one aspect. force: an absent file is not an error.
  virtual status remove(store_group g, const std::string& name, const std::string& aspect,
                        bool force = false) = 0;
  /// Removes the name with everything under it; absent is fine.
  virtual status purge(store_group g, const std::string& name) = 0;
  /// Removes, in names matching name_pattern, the aspects matching aspect_pattern that were
  /// last modified before `since` (md_store_remove_not_modified_since).
  virtual status remove_not_modified_since(store_group g, time_point since,
                                           const std::string& name_pattern,
                                           const std::string& aspect_pattern) = 0;

  /// Names in a group matching an fnmatch(3) pattern ("*" = all), sorted.
  virtual expected<std::vector<std::string>> list_names(store_group g,
                                                        const std::string& pattern = "*") const = 0;
  /// Aspects of a name matching a pattern, sorted; "<file>.tmp" leftovers are not listed.
  virtual expected<std::vector<std::string>> list_aspects(
      store_group g, const std::string& name, const std::string& pattern = "*") const = 0;

  /// Moves a name from one group to another. archive: an existing to/<name> is first moved
  /// to archive/<name>.<n> (first free n in 1..999), as activation does (tmp -> domains,
  /// reference §2.6). Without archive, an existing non-empty target is store_errc::exists.
  virtual status move(store_group from, store_group to, const std::string& name,
                      bool archive) = 0;
  /// Renames a name inside a group; an absent `from` is fine (mod_md), an existing `to` is
  /// store_errc::exists.
  virtual status rename(store_group g, const std::string& from, const std::string& to) = 0;

  /// The file behind a key (it need not exist), for handing certificate files to mod_ssl.
  virtual expected<std::string> file_path(store_group g, const std::string& name,
                                          const std::string& aspect) const = 0;

  /// A file outside the store that a reader of the store needs (MDCertificateFile chains,
  /// other virtual hosts' certificates for stapling): the parent's copy when the process has
  /// one (core/config_files.hpp), else read from disk.
  virtual expected<std::string> read_outside(const std::string& path) const;
};

} // namespace mda

namespace std {
template <>
struct is_error_code_enum<mda::store_errc> : true_type {};
} // namespace std
