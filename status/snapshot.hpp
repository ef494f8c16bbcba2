// The status snapshot: what the engine knows about every managed domain (MD), as plain data,
// and its JSON form.
//
// - The engine's status actor builds a status_snapshot, writes to_json(s) atomically to a file
//   (temp + rename) and answers live queries with it; Apache's workers read it back with
//   parse_snapshot / load_snapshot_file and render it with md_status.hpp / server_status.hpp.
// - Certificates are kept already inspected (cert_info), so readers never parse X.509.
// - The JSON round-trips exactly: parse(to_json(s)) == s whenever every time in s is a whole
//   second (times are RFC 822 strings, as in all of mod_md's files) and s holds no credential
//   (below), and to_json of what was read gives the same text again.
// - Secrets never reach the file: the MD is written as md_to_public_json writes it (EAB hmac
//   "***", MDChallengeDns01 without arguments, URLs without userinfo: core/redact.hpp), and
//   "ca-in-use" without userinfo. So what is read back is the shown form, not the configured
//   one: only for display.
// Not here: how the engine gathers the data (actors/), the atomic write (store/), rendering.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/job.hpp"
#include "core/md.hpp"
#include "core/timefmt.hpp"
#include "core/x509.hpp"

namespace mda {

/// The version md-status reports ("version"): mdactor answers as the mod_md it replaces.
inline constexpr char k_mod_md_version[] = "2.6.10";

/// A certificate as md-status shows it (md_status.c status_get_cert_json).
struct cert_info {
  std::string issuer_name;        ///< X509_NAME_oneline form, "/CN=Pebble Intermediate CA 411709"
  std::string issuer_uri;         ///< the first AIA caIssuers URL; "" = none
  sys_time valid_from{};
  sys_time valid_until{};
  std::string serial;             ///< uppercase hex, BN_bn2hex form
  std::string sha256_fingerprint; ///< lowercase hex of the DER
  /// RFC 9773 §4.1 id; "" when the certificate has no AKI. Made by certificate::ari_cert_id,
  /// which keeps a serial's DER sign byte where mod_md drops it (reference §10.8): the two
  /// differ for serials whose first byte is 0x80 or more.
  std::string ari_cert_id;
  bool operator==(const cert_info& o) const;
};

/// Inspects a certificate (the leaf of a chain) for the snapshot.
cert_info inspect_certificate(const certificate& leaf);

/// md-status's form, in mod_md's key order: "issuer-name", "issuer-uri", "valid" {"from",
/// "until"}, "serial", "sha256-fingerprint", "ari-cert-id"; empty strings are left out.
nlohmann::ordered_json to_json(const cert_info& c);

/// One certificate place of an MD: one per key spec, named by the spec ("rsa", "secp256r1"),
/// or, for static MDCertificateFile certificates, one per file named "0", "1", ... A place
/// without a certificate is kept: mod_md's validity intersection counts places (md_status.hpp).
struct cert_slot {
  std::string name;
  std::optional<cert_info> cert; ///< nullopt: no certificate there (yet)
  bool operator==(const cert_slot& o) const { return name == o.name && cert == o.cert; }
};

/// md_ocsp_cert_stat_t. "unknown" also means: no response yet.
enum class ocsp_cert_status { good, revoked, unknown };
const char* to_string(ocsp_cert_status s) noexcept;

/// One certificate whose OCSP response is kept for stapling (md_ocsp_status_t).
struct stapling_info {
  std::string domain;             ///< the MD name, or "other" (MDStapleOthers)
  std::string id;                 ///< hex SHA-1 of the certificate DER (ocsp-<id>.json)
  std::string sha256_fingerprint; ///< of the certificate: ties the entry to an MD's cert_slot
  std::string responder_url;
  ocsp_cert_status status = ocsp_cert_status::unknown;
  sys_time valid_from{};          ///< thisUpdate; the epoch = no response
  sys_time valid_until{};         ///< nextUpdate
  sys_time renew_at{};            ///< MDStaplingRenewWindow before valid_until; epoch = none
  /// The owner's OCSP job (ocsp/<domain>/job.json) as the responder actor keeps it, sent with
  /// every entry (md_ocsp_get_status_all's "renewal"); see ocsp_job_of.
  std::optional<job> renewal;
  bool operator==(const stapling_info& o) const;
};

/// Where the certificates an MD's virtual host serves come from (mdactor's md-status
/// "served"): none yet (a fallback), domains/<md> (loaded at the server's start), the MD's
/// MDCertificateFile files, or staging/<md> served live (store/live.hpp).
enum class served_source { none, domains, files, staging };
const char* to_string(served_source s) noexcept;

/// An MD in a cluster (MDStoreEtcd, docs/cluster.md): md-status's "cluster" of an MD.
struct md_cluster_view {
  std::string node;           ///< this server's node name ("" = not in a cluster)
  std::string owner;          ///< the node that renews the MD ("" = none yet / unknown)
  sys_time lease_expires{};   ///< when the owner's lease ends unless renewed; epoch = unknown
  std::string problem;        ///< "" or why etcd cannot be used right now
  bool operator==(const md_cluster_view& o) const {
    return node == o.node && owner == o.owner && lease_expires == o.lease_expires &&
           problem == o.problem;
  }
};
/// {"node": ..., "owner": ..., "lease-expires": <RFC 822>, "etcd": "reachable"|"unreachable: ..."}
/// ("owner" and "lease-expires" left out when unknown).
nlohmann::ordered_json cluster_json(const md_cluster_view& c);

/// Everything shown about one MD.
struct md_snapshot {
  managed_domain md;                   ///< as in domains/<md>/md.json (effective CA in ca.url)
  std::vector<cert_slot> certs;        ///< the certificates in use, in key spec / file order
  sys_time renew_at{};                 ///< when renewal is planned; the epoch = unknown
  bool watched = false;                ///< the engine drives this MD
  bool renew = false;                  ///< a renewal is due (md_reg_should_renew)
  bool renewing = false;               ///< a renewal run is in progress right now
  std::optional<job> renewal;          ///< staging/<md>/job.json, with its log
  std::vector<cert_slot> staged_certs; ///< staging/<md>/pubcert*.pem, one place per key spec
  std::optional<job> ocsp_renewal;     ///< ocsp/<md>/job.json, with its log
  std::string ca_in_use;               ///< the CA URL the current renewal talks to; "" = none
  sys_time next_run{};                 ///< when the engine looks at this MD next; epoch = unknown
  int error = 0;                       ///< APR status when gathering the MD failed; 0 = none
  served_source served_from = served_source::none; ///< where `certs` are served from
  sys_time served_since{};             ///< since when; the epoch = unknown
  md_cluster_view cluster;             ///< node "" = not in a cluster (nothing shown)
  bool operator==(const md_snapshot& o) const;
};

/// md-status's "served" of an MD: {"from": "staging", "since": <RFC 822>} ("since" left out
/// when unknown); md_snapshot::served_from none shows nothing.
nlohmann::ordered_json served_json(const md_snapshot& m);

/// What the engine publishes.
struct status_snapshot {
  std::string version = k_mod_md_version;
  sys_time published{};                ///< when the engine made it
  std::string cert_check_name;         ///< MDCertificateCheck; both empty = off
  std::string cert_check_url;
  std::vector<md_snapshot> mds;        ///< any order: the outputs sort by name
  std::vector<stapling_info> staplings;///< every certificate OCSP-stapled, any order
  std::optional<job> other_ocsp_renewal; ///< ocsp/other/job.json (certificates of no MD)
  bool operator==(const status_snapshot& o) const;
};

nlohmann::ordered_json to_json(const status_snapshot& s);

// --- the status file's text, piece by piece ----------------------------------------------
// The published file is render_json(to_json(s)) (status/md_status.hpp: 2-space indent, no
// trailing newline, invalid UTF-8 replaced). It can also be put together from one text per
// MD and per stapling entry, so that a publisher keeping those texts re-renders only what
// changed and never builds the whole JSON tree (actors/status.cpp).

/// One MD's entry as it stands inside the file's "mds" array (indented for its place),
/// without separator.
std::string snapshot_md_text(const md_snapshot& m);

/// One stapling entry as it stands inside the file's "staplings" array, without separator.
std::string snapshot_stapling_text(const stapling_info& s);

/// The file's text around the entries: `head` up to the first MD, `middle` from after the
/// last MD to the first stapling entry, `tail` after the last one; entries of one array are
/// separated by k_snapshot_separator. With no MD (no stapling) there is nothing between
/// head and middle (middle and tail): the array is written "[]".
/// Read from `s`: version, published, cert-check, other_ocsp_renewal (never mds/staplings).
struct snapshot_frame {
  std::string head;
  std::string middle;
  std::string tail;
};
inline constexpr std::string_view k_snapshot_separator = ",\n    ";
snapshot_frame snapshot_text_frame(const status_snapshot& s, bool any_md, bool any_stapling);

/// render_json's text of an element of an array two levels down ("mds", "staplings",
/// md-status's "managed-domains"): every line after the first indented by 4 more. JSON strings
/// escape their newlines, so every '\n' in the text is structural.
std::string indent_entry(const std::string& text);

/// The whole file from the entries' texts: byte for byte render_json(to_json(s)) when `mds`
/// are snapshot_md_text of s.mds and `staplings` snapshot_stapling_text of s.staplings, in
/// the same order. s.mds and s.staplings themselves are not read.
std::string snapshot_join(const status_snapshot& s, const std::vector<std::string_view>& mds,
                          const std::vector<std::string_view>& staplings);

/// render_json(to_json(s)) made as snapshot_join of the entries' texts: the same bytes,
/// without the tree of the whole snapshot (one small tree per entry at a time).
std::string render_snapshot_file(const status_snapshot& s);

/// The OCSP job of `owner` (an MD name or "other"): the MD's ocsp_renewal / the snapshot's
/// other_ocsp_renewal when set, else the newest (by last-run) `renewal` of that owner's
/// stapling entries; nullptr when there is none.
const job* ocsp_job_of(const status_snapshot& s, std::string_view owner);

/// Reads the JSON form. A member of the wrong type or with a value not understood is an error
/// naming `source` and the member (json_errc), e.g. "<file>: \"mds[0].certs[1].serial\" must be
/// a string, found number"; absent optional members keep their defaults.
expected<status_snapshot> snapshot_from_json(const nlohmann::ordered_json& j, const std::string& source);

/// parse_json + snapshot_from_json: a truncated text is "<source>: invalid JSON at byte N: ...".
expected<status_snapshot> parse_snapshot(std::string_view text, const std::string& source);

/// Reads the published file. An unreadable file is "cannot read '<path>': <strerror>".
expected<status_snapshot> load_snapshot_file(const std::string& path);

/// The published file parsed at most once per change, for readers that would otherwise parse
/// it per request (the httpd workers when the engine's socket does not answer). Each get()
/// opens the file and compares what fstat says of it (device, inode, size, mtime and ctime
/// to the nanosecond) with the parsed copy's; only a different file is read and parsed, and
/// callers that find the same file share the copy. A failed read or parse is not kept (the
/// next call tries again); the error is load_snapshot_file's. Thread-safe: callers wait
/// while one of them parses, so a change costs one parse, not one per waiting request.
class snapshot_file_cache {
 public:
  expected<std::shared_ptr<const status_snapshot>> get(const std::string& path);
  /// How often a file was parsed (for tests).
  std::size_t parses() const;

 private:
  struct file_id {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = -1;
    long long mtime_ns = 0;
    long long ctime_ns = 0;
    bool operator==(const file_id& o) const;
  };
  mutable std::mutex mu_;
  std::string path_;
  file_id id_;
  std::shared_ptr<const status_snapshot> snap_;
  std::size_t parses_ = 0;
};

} // namespace mda
