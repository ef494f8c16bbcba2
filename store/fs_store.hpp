// The file-system store: mod_md's directory layout, permissions, key encryption and
// md_store.json, so an existing mod_md store keeps working (reference §2.1, §2.2, §2.6).
//
// - open() creates the base directory when missing (0700, then chmod 0755) and reads
//   md_store.json, creating it on first use (0600):
//     {"store": {"version": 3.0}, "key": "<base64url of 48 random bytes>"}
//   The 48 raw bytes are the passphrase of the encrypted keys. A corrupt file (not JSON, no
//   "key", a key that is not base64url or not 48 bytes) is store_errc::corrupt, a version
//   above 3 store_errc::too_new, both naming the file. Versions 1 and 2 are upgraded:
//   1 -> 2 renames pkey.pem to privkey.pem and builds pubcert.pem from cert.pem + chain.pem
//   (domains and archive); 2 -> 3 drops the top-level "version".
// - Permissions (md_store_fs_init): files 0600 and directories 0700, except groups accounts,
//   staging, challenges and ocsp with files 0644 and directories 0755; plain private keys
//   always 0600. Group and name directories get their mode set on every save (mk_group_dir).
//   File modes are set exactly (fchmod), whatever the umask. setup_worker_dirs also makes the
//   User's own directory <store>/mdactor (0700; engine_store.hpp). Beyond mod_md: a JSON
//   file of those shared groups that carries an EAB hmac ("eab": {"hmac": "..."}:
//   account.json, staging's md.json) is written 0640, with the group fs_store_options::secret_group when
//   running as root, so that only its owner, root and the User's group read the key.
// - Writes are atomic (fs_io.hpp); concurrency rules are those of store.hpp. An fs_store
//   holds no mutable state after setup_worker_dirs(), so one object may serve several
//   threads; several objects or processes on one directory are fine under the same rules.
// - md_store.json and store.lock are not writable through the store interface.
// - Safety below the base (docs/process-model.md, "Store I/O in the User-owned groups"):
//   challenges/, staging/ and ocsp/ belong to the Apache User, so code running as the User
//   can put anything there. Every operation works relative to directory descriptors: the
//   base is opened by its path (the administrator's, symlinks followed), then the group,
//   the name and the file with O_NOFOLLOW through openat (fs_io.hpp's *_at calls). A
//   symbolic link where a directory or file is expected is store_errc::refused with the
//   path named ("'<path>' is a symbolic link, refused"); removing (remove, purge) removes a
//   link itself and never follows one. Modes and owners are set with fchmod/fchown on the
//   opened descriptors. A process running as root (the Apache parent) also checks with fstat
//   that each directory and file it uses in those three groups is owned by root or by the
//   User: the uid given to setup_worker_dirs, or, before that call, the owner of the group
//   directory (only root can have made it so); anything else is refused, naming it. A
//   process that is not root (the engine as the User) only refuses symlinks.
// Not here: the inter-process lock (store_lock.hpp), the meaning of the files.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <sys/types.h>

#include "store/fs_io.hpp"
#include "store/paths.hpp"
#include "store/store.hpp"

namespace mda {

/// The store format this code writes (md_store.json "store"."version").
inline constexpr int k_store_version = 3;
/// Length of the store secret in bytes (FS_STORE_KLEN).
inline constexpr size_t k_store_secret_len = 48;

struct store_perms {
  mode_t dir;
  mode_t file;
};

/// mod_md's permissions of a group (see above).
store_perms group_perms(store_group g) noexcept;
/// True when private keys of the group are written encrypted (all but domains,
/// challenges, tmp).
bool encrypts_keys(store_group g) noexcept;
/// A JSON value as the store writes it (mod_md): indented by 2, no trailing newline, invalid
/// UTF-8 in a string replaced rather than thrown about.
std::string store_json_text(const nlohmann::ordered_json& value);

struct fs_store_options {
  /// Waiting for another writer's "<file>.tmp" (fsio::atomic_write_options).
  int tmp_attempts = 20;
  std::chrono::milliseconds tmp_retry_delay{50};
  /// Test hook: a write to a path for which this returns true fails after half the data.
  std::function<bool(const std::string& path)> fail_write_midway;
  /// false: writes and moves stay atomic but are not fsynced one by one; flush() makes
  /// them durable at once (the parent's startup writes many small files per MD).
  bool sync_writes = true;
  /// The group that may read a JSON file with an EAB hmac in a shared group (see above):
  /// the User's group, as mod_md's child reads accounts/ as the User. Set on such a file
  /// only when running as root; (gid_t)-1 = the writer's group.
  gid_t secret_group = static_cast<gid_t>(-1);
};

class fs_store final : public store {
 public:
  /// Opens the store at base_dir (see above). Errors are prefixed by nothing: they name
  /// md_store.json or the directory themselves.
  static expected<fs_store> open(const std::string& base_dir, fs_store_options opts = {});

  /// The store at base_dir with the secret a caller already holds (the unprivileged engine,
  /// which cannot read md_store.json): nothing is read or created here.
  static fs_store attach(const std::string& base_dir, std::string secret, fs_store_options opts = {});

  fs_store(fs_store&&) = default;
  fs_store& operator=(fs_store&&) = default;
  fs_store(const fs_store&) = delete;
  fs_store& operator=(const fs_store&) = delete;
  ~fs_store() override; ///< wipes the secret from memory

  const store_paths& paths() const { return paths_; }
  /// The 48 raw bytes of md_store.json's "key".
  const std::string& secret() const { return secret_; }

  /// Startup step of the parent (root) before workers run (mod_md's check_group_dir):
  /// creates challenges, staging, accounts and ocsp with 0750 when missing and, when
  /// running as root, chowns challenges, staging and ocsp to the worker's uid and gid
  /// (gid (gid_t)-1 keeps the group). From then on, directories this store creates in
  /// those three groups are handed over the same way (md_make_worker_accessible).
  status setup_worker_dirs(uid_t uid, gid_t gid = static_cast<gid_t>(-1));

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

  /// Everything written so far reaches the disk (syncfs of the store's file system): the
  /// one sync of a store opened with sync_writes = false. Nothing written, moved or removed
  /// without a sync since the last flush (a restart that changed nothing): no syncfs.
  status flush() const;

 private:
  struct worker_ids {
    uid_t uid;
    gid_t gid;
  };
  /// An open directory of the store and the owner check of what is inside it (empty when
  /// nothing is checked: not root, or a group only root writes).
  struct open_dir {
    fsio::dir_handle dir;
    fsio::owner_check check;
  };

  fs_store(store_paths paths, fs_store_options opts, std::string secret);
  /// The file path of a key that may be written (not md_store.json / store.lock).
  expected<std::string> writable_path(store_group g, const std::string& name,
                                      const std::string& aspect) const;
  status write(store_group g, const std::string& name, const std::string& aspect,
               std::string_view data, mode_t mode, bool create_only,
               gid_t group = static_cast<gid_t>(-1));
  /// The base directory (the base for group none) or <base>/<group>, each level below the
  /// base opened without following symlinks and checked (see above). create: made when
  /// missing, its mode set to the group's on every call (mk_group_dir), a new one handed
  /// to the worker.
  expected<open_dir> open_group(store_group g, bool create) const;
  /// The directory holding the aspects of (g, name): <base>/<group>/<name>, or the base
  /// for group none; create as with open_group.
  expected<open_dir> open_name(store_group g, const std::string& name, bool create) const;
  status hand_over(store_group g, const fsio::dir_handle& dir) const;
  /// fsync of a directory, unless writes are not synced one by one (then the store is marked
  /// unsynced).
  status sync_dir(const fsio::dir_handle& dir) const;
  /// A new, empty archive/<name>.<n> (first free n); its name.
  expected<std::string> archive_slot(const fsio::dir_handle& archive, const std::string& name,
                                     const std::string& what) const;

  store_paths paths_;
  fs_store_options opts_;
  std::string secret_;
  std::optional<worker_ids> worker_;
  /// Changed since the last flush without a sync (shared by moved-from copies; atomic: the
  /// engine writes from several threads).
  std::shared_ptr<std::atomic<bool>> unsynced_ = std::make_shared<std::atomic<bool>>(false);
};

} // namespace mda
