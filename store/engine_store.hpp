// The store as the unprivileged engine process sees it (docs/process-model.md). The engine
// runs as the Apache User with no capability, so it cannot read what root owns in a mod_md
// store (md_store.json, domains/, accounts/ files in 0700 directories) nor write there.
//
// - store_preload: what the Apache parent (root) reads for the engine before the fork, held
//   in memory and inherited across it: the store secret, domains/<md>/md.json and
//   pubcert*.pem of every configured MD, every accounts/<id>/account.json and account.pem
//   (the key stays encrypted, as on disk), and the files outside the store the engine reads
//   (MDCACertificateFile, MDCertificateFile chains, other SSL virtual hosts' certificates for
//   stapling; the engine installs them with core/config_files.hpp use_file_copies). Private
//   keys of domains/ are never read: the engine does not need them.
// - engine_store: the store interface over that preload and the User's directories:
//     domains/, accounts/   read from the preload (a snapshot of the parent's start; only the
//                           parent changes them, at its next start);
//     staging/, challenges/, ocsp/   on disk, read and written as the User (its own groups);
//     accounts the engine registers   written to <store>/mdactor/accounts/<id>/ (the User's
//                           own directory), and seen there before the preloaded ones; the
//                           parent files them into accounts/ at its next start
//                           (file_engine_accounts);
//     domains/, archive/, tmp/, the top level   writing is refused with an error naming the
//                           file (store_errc::invalid): the parent alone writes there.
// - file_engine_accounts (parent, root, at startup before staged sets are activated): each
//   complete <store>/mdactor/accounts/<id> (account.json that parses, account.pem that
//   decrypts with the store secret) goes to accounts/<id>, or is dropped when accounts/<id>
//   already holds that account; a symbolic link or an entry not owned by the User or root is
//   refused with an error naming it and left alone. An id taken by another account is filed
//   under the next free id of its CA.
// Not here: mod_md's store layout and permissions (fs_store.hpp), staged sets (staging.hpp).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <sys/types.h>

#include "core/md.hpp"
#include "store/fs_store.hpp"

namespace mda {

/// The User's own directory in the store: the engine's registered accounts, status file and
/// status socket (0700, owned by the User).
std::string engine_dir_of(const std::string& store_dir);

struct store_preload {
  struct file {
    std::string data;
    store::time_point modified;
  };
  std::string store_dir;
  std::string secret;                       ///< md_store.json's 48 raw bytes
  std::map<std::string, file> files;        ///< by "<group>/<name>/<aspect>"
  std::map<std::string, std::string> outside; ///< by path, for the files outside the store

  store_preload() = default;
  store_preload(const store_preload&) = default;
  store_preload& operator=(const store_preload&) = default;
  ~store_preload(); ///< wipes the secret
};

/// What the engine will read of the root-owned parts (see above). Unreadable files are left
/// out (the engine then reports them as missing, naming them); an error only when a group
/// directory cannot be listed.
expected<store_preload> preload_for_engine(const fs_store& st, const std::vector<managed_domain>& mds,
                                           const std::vector<std::string>& outside_files);

class engine_store final : public store {
 public:
  explicit engine_store(std::shared_ptr<const store_preload> preload, fs_store_options opts = {});
  /// The store secret the parent read (for the live copies, store/live.hpp).
  const std::string& secret() const { return preload_->secret; }

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
  expected<std::string> file_path(store_group g, const std::string& name,
                                  const std::string& aspect) const override;

 private:
  /// The on-disk store serving group g: the User's groups, or the engine's own accounts.
  store* disk(store_group g);
  const store* disk(store_group g) const;
  const store_preload::file* preloaded(store_group g, const std::string& name,
                                       const std::string& aspect) const;
  status refuse(store_group g, const std::string& name, const std::string& aspect) const;

  std::shared_ptr<const store_preload> preload_;
  fs_store user_; ///< the store directory: staging/, challenges/, ocsp/
  fs_store own_;  ///< <store>/mdactor: accounts/ registered by the engine
};

/// One account filed (or refused) by file_engine_accounts.
struct engine_account_filing {
  std::string from; ///< <store>/mdactor/accounts/<id>
  std::string id;   ///< the id in accounts/ ("" when refused)
  std::string problem; ///< why it was refused or left ("" = filed or dropped as known)
};

/// Parent side (see above). `worker_uid`: the User owning <store>/mdactor.
std::vector<engine_account_filing> file_engine_accounts(fs_store& st, uid_t worker_uid);

} // namespace mda
