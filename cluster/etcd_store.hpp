// The store on etcd: mod_md's groups, names and aspects (store.hpp) as keys of an etcd cluster
// shared by several servers, through the v3 JSON gateway (etcd_client.hpp).
//
// - Key layout: "<prefix>/store/<group>/<name>/<aspect>"; group none has the name "", so its
//   aspects are "<prefix>/store/none//<aspect>". The prefix is "" or starts with '/' and has no
//   trailing '/' ("/mdactor"). Names and aspects are checked as fs_store checks them
//   (paths.hpp: store_errc::bad_name).
// - Value: a header, then the bytes fs_store would write to the file:
//     "mda1 <unix milliseconds>\n<bytes>"
//   The milliseconds are the modification time (modified(), remove_not_modified_since). A
//   value without that header is store_errc::corrupt naming the key.
// - Private keys are encrypted with the store secret in EVERY group (fs_store leaves domains,
//   challenges and tmp plain): etcd is reached over the network and read by every node, so
//   nothing secret is put there in clear. load_key decrypts in every group.
// - The secret: the cluster shares one store secret (48 bytes, fs_store's md_store.json "key"),
//   which never goes to etcd. etcd holds "<prefix>/store/none//md_store.json":
//     {"store": {"version": 3.0}, "secret-sha256": "<lowercase hex SHA-256 of the secret>"}
//   open() creates it when absent (a transaction on its absence, so two nodes starting at once
//   agree on one) and otherwise compares the fingerprint: another secret is
//   store_errc::refused. md_store.json is not writable through the store interface.
// - Atomicity: every write is one put; create_only writes are one transaction on the key's
//   absence. move, rename (and the archiving of a move) are one transaction when they take at
//   most k_etcd_txn_max_ops operations (etcd's default --max-txn-ops is 128): a move or rename
//   of a name of up to 127 keys, a move that archives the target when both names together
//   hold up to ~60 keys each (names hold 5-20). The transaction checks that the keys read are
//   unchanged (their mod revisions) and is retried when another writer came in between; that
//   no new key appeared in the target meanwhile is not checked (moves and renames do not race
//   with writers of that name: store.hpp). Larger ones are split: copies first, deletions
//   last, so a failure midway leaves both copies, never none. purge is one delete of the
//   name's prefix.
// - Durable: as etcd is (a put is acknowledged once a majority of the members wrote it to
//   their log). flush() has nothing to do.
// - Errors: mda::error naming the key. A failure of etcd itself keeps the client's code
//   (etcd_errc::unreachable when no member answered, etc.), so a caller tells "etcd is down"
//   from "bad data" (store_errc::corrupt) by the code's category.
// - Thread-safety: nothing mutable after open(); one object may serve several threads.
// Not here: ownership of MDs (leases), watches, caching (the cluster's actors).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "cluster/etcd_client.hpp"
#include "store/paths.hpp"
#include "store/store.hpp"

namespace mda {

/// The most operations (and compares) one transaction is given: etcd's default --max-txn-ops.
inline constexpr size_t k_etcd_txn_max_ops = 128;

struct etcd_store_options {
  /// The modification time written with each value. The migration command sets the source
  /// file's time here while it copies; otherwise the wall clock.
  std::function<store::time_point()> clock;
  /// false: open() fails with store_errc::not_found when etcd holds no md_store.json under
  /// the prefix, instead of creating it (a migration reading from etcd).
  bool create = true;
};

class etcd_store final : public store {
 public:
  /// Opens the store under `prefix` with the cluster's secret (48 bytes), creating or checking
  /// etcd's md_store.json (see above).
  static expected<etcd_store> open(std::shared_ptr<etcd::client> client, std::string prefix,
                                   std::string secret, etcd_store_options opts = {});

  etcd_store(etcd_store&&) = default;
  etcd_store& operator=(etcd_store&&) = default;
  etcd_store(const etcd_store&) = delete;
  etcd_store& operator=(const etcd_store&) = delete;
  ~etcd_store() override; ///< wipes the secret from memory

  const std::string& prefix() const { return prefix_; }
  /// "<prefix>/store/<group>/<name>/<aspect>" (no checks).
  std::string key_of(store_group g, const std::string& name, const std::string& aspect) const;
  /// The lowercase hex SHA-256 of a secret, as md_store.json carries it.
  static std::string fingerprint(const std::string& secret);

  expected<std::string> load_text(store_group g, const std::string& name,
                                  const std::string& aspect) const override;
  status save_text(store_group g, const std::string& name, const std::string& aspect,
                   std::string_view text, bool create_only = false) override;
  expected<nlohmann::ordered_json> load_json(store_group g, const std::string& name,
                                             const std::string& aspect) const override;
  status save_json(store_group g, const std::string& name, const std::string& aspect,
                   const nlohmann::ordered_json& value, bool create_only = false) override;
  expected<private_key> load_key(store_group g, const std::string& name,
                                 const std::string& aspect) const override;
  status save_key(store_group g, const std::string& name, const std::string& aspect,
                  const private_key& key, bool create_only = false) override;
  bool exists(store_group g, const std::string& name, const std::string& aspect) const override;
  expected<time_point> modified(store_group g, const std::string& name,
                                const std::string& aspect) const override;
  status remove(store_group g, const std::string& name, const std::string& aspect,
                bool force = false) override;
  status purge(store_group g, const std::string& name) override;
  status remove_not_modified_since(store_group g, time_point since,
                                   const std::string& name_pattern,
                                   const std::string& aspect_pattern) override;
  expected<std::vector<std::string>> list_names(store_group g,
                                                const std::string& pattern = "*") const override;
  expected<std::vector<std::string>> list_aspects(store_group g, const std::string& name,
                                                  const std::string& pattern = "*") const override;
  status move(store_group from, store_group to, const std::string& name, bool archive) override;
  status rename(store_group g, const std::string& from, const std::string& to) override;
  /// One file as scan_group reads it: the bytes of the value (keys still encrypted).
  struct group_file {
    std::string aspect;
    std::string bytes;
    time_point modified;
  };
  /// Every file of a group, in pages of k_page keys (one range request per page, not one per
  /// file): `each` gets each name, in key order, with all its files; returning false stops.
  /// Errors: etcd's, or a value without its header, naming the key.
  status scan_group(store_group g,
                    const std::function<bool(const std::string& name, std::vector<group_file>& files)>& each) const;
  /// The private key in bytes scan_group read (decrypted with the secret); `where` names it.
  expected<private_key> key_from_bytes(const std::string& bytes, const std::string& where) const;

  /// Always store_errc::invalid: etcd_store has no files.
  expected<std::string> file_path(store_group g, const std::string& name,
                                  const std::string& aspect) const override;

 private:
  struct value {
    std::string bytes;
    time_point modified;
    std::int64_t mod_revision = 0;
  };
  etcd_store(std::shared_ptr<etcd::client> client, std::string prefix, std::string secret,
             etcd_store_options opts);
  /// The checked key of an aspect (bad_name / invalid as fs_store).
  expected<std::string> checked_key(store_group g, const std::string& name,
                                    const std::string& aspect) const;
  /// "<prefix>/store/<group>/<name>/", the name checked.
  expected<std::string> name_prefix(store_group g, const std::string& name) const;
  expected<value> read(const std::string& key) const;
  status write(store_group g, const std::string& name, const std::string& aspect,
               std::string_view bytes, bool create_only);
  /// Every key (and value unless keys_only) under a prefix, paged.
  expected<std::vector<etcd::key_value>> scan(const std::string& prefix, bool keys_only) const;
  /// The first free "<name>.<n>" in archive/ (store_errc::archive_full past 999).
  expected<std::string> archive_slot(const std::string& name) const;
  /// One attempt of a move: false when another writer changed the keys meanwhile.
  expected<bool> try_move(store_group from, store_group to, const std::string& name,
                          bool archive);
  expected<bool> try_rename(store_group g, const std::string& from, const std::string& to);
  /// Runs puts and deletes as one checked transaction when they fit, else in pieces.
  expected<bool> apply(const std::vector<etcd::compare>& checks,
                       const std::vector<etcd::txn_op>& puts,
                       const std::vector<etcd::txn_op>& deletes, const std::string& what);

  std::shared_ptr<etcd::client> client_;
  std::string prefix_;
  std::string secret_;
  etcd_store_options opts_;
  store_paths checker_; ///< only its checks are used
};

/// The header of a value written at `modified` ("mda1 <ms>\n").
std::string etcd_value_header(store::time_point modified);

} // namespace mda
