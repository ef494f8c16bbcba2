#include "store/fs_store.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <sstream>

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "core/base64.hpp"
#include "core/digest.hpp"
#include "store/fs_io.hpp"

namespace mda {

namespace {

constexpr mode_t k_dir_private = 0700, k_file_private = 0600;
constexpr mode_t k_dir_shared = 0755, k_file_shared = 0644;
constexpr mode_t k_dir_worker = 0750; // check_group_dir
constexpr mode_t k_file_secret = 0640; // a shared group's JSON with an EAB hmac (not mod_md)
constexpr int k_archive_max = 1000;   // archive/<name>.1 .. .999

/// account.json and md.json carry the EAB key in clear text ("eab": {"hmac": ...}).
bool holds_eab_hmac(const nlohmann::ordered_json& j) {
  if (!j.is_object()) return false;
  auto eab = j.find("eab");
  if (eab == j.end() || !eab->is_object()) return false;
  auto hmac = eab->find("hmac");
  return hmac != eab->end() && hmac->is_string() && !hmac->get_ref<const std::string&>().empty();
}

bool worker_group(store_group g) {
  return g == store_group::challenges || g == store_group::staging || g == store_group::ocsp;
}

/// Progress records rewritten at every step of a run, and challenge answers that live for
/// seconds: atomic, but not worth two fsyncs each (a machine crash only repeats a step).
/// Keys, certificates, md.json and accounts are always synced.
bool durable(store_group g, const std::string& aspect) {
  if (g == store_group::challenges) return false;
  return aspect != "job.json" && aspect != "order.json";
}

fsio::atomic_write_options write_opts(const fs_store_options& o, bool create_only,
                                      bool durable = true) {
  fsio::atomic_write_options w;
  w.durable = durable;
  w.create_only = create_only;
  w.tmp_attempts = o.tmp_attempts;
  w.tmp_retry_delay = o.tmp_retry_delay;
  w.fail_midway = o.fail_write_midway;
  return w;
}

bool matches(const std::string& pattern, const std::string& name) {
  return ::fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

// Names of the entries of an open directory of the given type that pass `keep`, sorted.
template <class Keep>
expected<std::vector<std::string>> entries(const fsio::dir_handle& dir, mode_t type, Keep keep) {
  auto all = fsio::list_dir(dir);
  if (!all) return all.error();
  std::vector<std::string> out;
  for (auto& e : *all)
    if (e.type == type && keep(e.name)) out.push_back(std::move(e.name));
  std::sort(out.begin(), out.end());
  return out;
}

bool is_regular_at(const fsio::dir_handle& dir, const std::string& name) {
  auto st = fsio::stat_at(dir, name);
  return st && S_ISREG(st->st_mode);
}

/// The owner rule of a process running as root in a User-owned group: root or `user`.
fsio::owner_check owned_by_root_or(uid_t user) {
  return [user](const struct stat& st, const std::string& path) -> status {
    if (st.st_uid == 0 || st.st_uid == user) return {};
    return error{store_errc::refused, "'" + path + "' is owned by uid " +
                                          std::to_string(st.st_uid) +
                                          ", neither root nor the User (uid " +
                                          std::to_string(user) + "), refused"};
  };
}

error json_error(const std::string& what, const nlohmann::json::parse_error& e) {
  return {store_errc::corrupt,
          what + " is not valid JSON: parse error at byte " + std::to_string(e.byte)};
}

// --- md_store.json -------------------------------------------------------------------------

std::string version_text(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// Store format 1 -> 2, in the directories of one group.
status upgrade_group_1_to_2(const fsio::dir_handle& gdir, bool make_pubcert) {
  auto dirs = entries(gdir, S_IFDIR, [](const std::string& n) { return n.front() != '.'; });
  if (!dirs) return dirs.error();
  for (const auto& d : *dirs) {
    auto dir = fsio::open_dir_at(gdir, d);
    if (!dir) return dir.error();
    if (is_regular_at(*dir, aspect::legacy_pkey)) {
      if (auto st = fsio::rename_at(*dir, aspect::legacy_pkey, *dir, "privkey.pem", false); !st)
        return st;
    }
    if (!make_pubcert || is_regular_at(*dir, "pubcert.pem") ||
        !is_regular_at(*dir, aspect::legacy_cert))
      continue;
    std::string pem;
    for (const char* part : {aspect::legacy_cert, aspect::legacy_chain}) {
      auto text = fsio::read_file_at(*dir, part);
      if (!text && is_not_found(text.error())) continue;
      if (!text) return text.error();
      pem += *text;
      if (!pem.empty() && pem.back() != '\n') pem += '\n';
    }
    if (auto st = fsio::write_file_atomic_at(*dir, "pubcert.pem", pem, k_file_private); !st)
      return st;
  }
  return {};
}

status upgrade_store(const fsio::dir_handle& base, nlohmann::ordered_json& j, double version) {
  if (version <= 1.0) {
    for (store_group g : k_store_groups) {
      if (g == store_group::none) continue;
      auto gdir = fsio::open_dir_at(base, group_name(g));
      if (!gdir && is_not_found(gdir.error())) continue;
      if (!gdir) return gdir.error();
      const bool pubcert = g == store_group::domains || g == store_group::archive;
      if (auto st = upgrade_group_1_to_2(*gdir, pubcert); !st) return st;
    }
  }
  if (version <= 2.0) j.erase("version");
  if (!j.contains("store") || !j["store"].is_object()) j["store"] = nlohmann::ordered_json::object();
  j["store"]["version"] = static_cast<double>(k_store_version);
  return fsio::write_file_atomic_at(base, aspect::store_json, j.dump(2), k_file_private);
}

// The secret of an existing md_store.json, upgrading the store when it is older.
expected<std::string> read_store_file(const fsio::dir_handle& base) {
  const std::string what = "store file '" + base.child(aspect::store_json) + "'";
  auto text = fsio::read_file_at(base, aspect::store_json);
  if (!text) return text.error();
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(*text);
  } catch (const nlohmann::json::parse_error& e) {
    return json_error(what, e);
  } catch (const nlohmann::json::exception& e) {
    return error{store_errc::corrupt, what + " is not valid JSON: " + e.what()};
  }
  if (!j.is_object()) return error{store_errc::corrupt, what + " is not a JSON object"};
  double version = 1.0; // no "store"."version": a format 1 store
  if (j.contains("store") && j["store"].is_object() && j["store"].contains("version")) {
    if (!j["store"]["version"].is_number())
      return error{store_errc::corrupt, what + ": \"store\".\"version\" is not a number"};
    version = std::max(j["store"]["version"].get<double>(), 1.0);
  }
  if (version > k_store_version)
    return error{store_errc::too_new, what + ": version too new: " + version_text(version) +
                                          " (this software knows versions up to 3)"};
  if (!j.contains("key") || !j["key"].is_string())
    return error{store_errc::corrupt, what + ": missing key: key"};
  auto key = base64url_decode(j["key"].get<std::string>());
  if (!key) return error{store_errc::corrupt, what + ": key is not base64url"};
  if (key->size() != k_store_secret_len)
    return error{store_errc::corrupt, what + ": key length unexpected: " +
                                          std::to_string(key->size()) + " (expected 48)"};
  if (version < k_store_version) {
    if (auto st = upgrade_store(base, j, version); !st)
      return error{st.error().code, "upgrading the store at '" + base.path +
                                        "' from version " + version_text(version) +
                                        " failed: " + st.error().message};
  }
  return std::move(*key);
}

// A new md_store.json; store_errc::exists when another process made one meanwhile.
expected<std::string> init_store_file(const fsio::dir_handle& base) {
  auto key = random_bytes(k_store_secret_len);
  if (!key) return key.error();
  nlohmann::ordered_json j;
  j["store"]["version"] = static_cast<double>(k_store_version);
  j["key"] = base64url_encode(*key);
  fsio::atomic_write_options o;
  o.create_only = true;
  if (auto st = fsio::write_file_atomic_at(base, aspect::store_json, j.dump(2), k_file_private, o);
      !st)
    return st.error();
  return std::move(*key);
}

expected<std::string> setup_store_file(const fsio::dir_handle& base) {
  for (int attempt = 0;; ++attempt) {
    if (is_regular_at(base, aspect::store_json) || attempt > 0) return read_store_file(base);
    auto made = init_store_file(base);
    if (made || made.error().code != store_errc::exists) return made;
  }
}

} // namespace

// --- policy ------------------------------------------------------------------------------

store_perms group_perms(store_group g) noexcept {
  switch (g) {
    case store_group::accounts:
    case store_group::staging:
    case store_group::challenges:
    case store_group::ocsp: return {k_dir_shared, k_file_shared};
    default: return {k_dir_private, k_file_private};
  }
}

bool encrypts_keys(store_group g) noexcept {
  return g != store_group::domains && g != store_group::challenges && g != store_group::tmp;
}

std::string store_json_text(const nlohmann::ordered_json& value) {
  return value.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

// --- life cycle ----------------------------------------------------------------------------

fs_store::fs_store(store_paths paths, fs_store_options opts, std::string secret)
    : paths_(std::move(paths)), opts_(std::move(opts)), secret_(std::move(secret)) {}

fs_store::~fs_store() {
  if (!secret_.empty()) OPENSSL_cleanse(secret_.data(), secret_.size());
}

expected<fs_store> fs_store::open(const std::string& base_dir, fs_store_options opts) {
  if (base_dir.empty()) return error{store_errc::invalid, "empty store directory name"};
  store_paths paths(base_dir);
  bool created = false;
  if (auto st = fsio::make_dirs(paths.base(), k_dir_private, &created); !st) return st.error();
  auto base = fsio::open_dir(paths.base());
  if (!base) return base.error();
  if (created) {
    if (auto st = fsio::set_mode(*base, k_dir_shared); !st) return st.error();
  }
  auto secret = setup_store_file(*base);
  if (!secret) return secret.error();
  return fs_store(std::move(paths), std::move(opts), std::move(*secret));
}

fs_store fs_store::attach(const std::string& base_dir, std::string secret, fs_store_options opts) {
  return fs_store(store_paths(base_dir), std::move(opts), std::move(secret));
}

status fs_store::setup_worker_dirs(uid_t uid, gid_t gid) {
  worker_ = worker_ids{uid, gid};
  auto base = fsio::open_dir(paths_.base());
  if (!base) return base.error();
  // The engine's own directory: only the User (and root) may enter it.
  auto own = fsio::make_dir_at(*base, "mdactor", k_dir_private);
  if (!own) return own.error();
  if (::geteuid() == 0 && ::fchown(own->fd.get(), uid, gid) != 0) return fsio::sys_error("chown", own->path, errno);
  if (auto st = fsio::set_mode(*own, k_dir_private); !st) return st;
  for (store_group g : {store_group::challenges, store_group::staging, store_group::accounts,
                        store_group::ocsp}) {
    auto dir = fsio::make_dir_at(*base, group_name(g), k_dir_worker);
    if (!dir) return dir.error();
    if (auto st = hand_over(g, *dir); !st) return st;
  }
  return {};
}

status fs_store::hand_over(store_group g, const fsio::dir_handle& dir) const {
  if (!worker_ || !worker_group(g) || ::geteuid() != 0) return {};
  if (::fchown(dir.fd.get(), worker_->uid, worker_->gid) != 0)
    return fsio::sys_error("fchown", dir.path, errno);
  return {};
}

// --- opening directories -------------------------------------------------------------------

expected<fs_store::open_dir> fs_store::open_group(store_group g, bool create) const {
  auto base = fsio::open_dir(paths_.base());
  if (!base) return base.error();
  if (g == store_group::none) return open_dir{std::move(*base), {}};
  // Root in a User-owned group: the group directory itself is root's or the User's, and
  // what is inside it root's or that of the directory's owner (the User).
  const bool checked = worker_group(g) && ::geteuid() == 0;
  fsio::owner_check group_check;
  if (checked && worker_) group_check = owned_by_root_or(worker_->uid);
  const mode_t mode = group_perms(g).dir;
  bool created = false;
  auto dir = create ? fsio::make_dir_at(*base, group_name(g), mode, &created, group_check)
                    : fsio::open_dir_at(*base, group_name(g), group_check);
  if (!dir) return dir.error();
  if (create) {
    if (auto st = fsio::set_mode(*dir, mode); !st) return st.error();
    if (created) {
      if (auto st = hand_over(g, *dir); !st) return st.error();
    }
  }
  open_dir out{std::move(*dir), {}};
  if (checked && worker_) {
    out.check = std::move(group_check);
  } else if (checked) { // before setup_worker_dirs: the User is whom root gave the group
    struct stat st {};
    if (::fstat(out.dir.fd.get(), &st) != 0) return fsio::sys_error("fstat", out.dir.path, errno);
    out.check = owned_by_root_or(st.st_uid);
  }
  return out;
}

expected<fs_store::open_dir> fs_store::open_name(store_group g, const std::string& name,
                                                 bool create) const {
  if (auto p = paths_.name_dir(g, name); !p) return p.error();
  auto grp = open_group(g, create);
  if (!grp || g == store_group::none) return grp;
  const mode_t mode = group_perms(g).dir;
  bool created = false;
  auto dir = create ? fsio::make_dir_at(grp->dir, name, mode, &created, grp->check)
                    : fsio::open_dir_at(grp->dir, name, grp->check);
  if (!dir) return dir.error();
  if (create) {
    if (auto st = fsio::set_mode(*dir, mode); !st) return st.error();
    if (created) {
      if (auto st = hand_over(g, *dir); !st) return st.error();
    }
  }
  return open_dir{std::move(*dir), std::move(grp->check)};
}

// --- reading and writing -------------------------------------------------------------------

expected<std::string> fs_store::writable_path(store_group g, const std::string& name,
                                              const std::string& aspect) const {
  if (g == store_group::none && (aspect == aspect::store_json || aspect == "store.lock"))
    return error{store_errc::invalid, "'" + aspect + "' is managed by the store itself"};
  return paths_.file(g, name, aspect);
}

status fs_store::write(store_group g, const std::string& name, const std::string& aspect,
                       std::string_view data, mode_t mode, bool create_only, gid_t group) {
  auto path = writable_path(g, name, aspect);
  if (!path) return path.error();
  auto dir = open_name(g, name, true);
  if (!dir) return dir.error();
  const bool synced = opts_.sync_writes && durable(g, aspect);
  if (!opts_.sync_writes) unsynced_->store(true);
  auto wo = write_opts(opts_, create_only, synced);
  wo.group = group;
  return fsio::write_file_atomic_at(dir->dir, aspect, data, mode, wo);
}

expected<std::string> fs_store::load_text(store_group g, const std::string& name,
                                          const std::string& aspect) const {
  auto path = paths_.file(g, name, aspect);
  if (!path) return path.error();
  auto dir = open_name(g, name, false);
  if (!dir) {
    // an absent directory: the file is named, as when only the file is missing
    if (is_not_found(dir.error())) return fsio::sys_error("open", *path, ENOENT);
    return dir.error();
  }
  return fsio::read_file_at(dir->dir, aspect, dir->check);
}

status fs_store::save_text(store_group g, const std::string& name, const std::string& aspect,
                           std::string_view text, bool create_only) {
  return write(g, name, aspect, text, group_perms(g).file, create_only);
}

expected<nlohmann::ordered_json> fs_store::load_json(store_group g, const std::string& name,
                                                     const std::string& aspect) const {
  auto text = load_text(g, name, aspect);
  if (!text) return text.error();
  const std::string path = *paths_.file(g, name, aspect);
  try {
    return nlohmann::ordered_json::parse(*text);
  } catch (const nlohmann::json::parse_error& e) {
    return json_error("'" + path + "'", e);
  } catch (const nlohmann::json::exception& e) {
    return error{store_errc::corrupt, "'" + path + "' is not valid JSON: " + e.what()};
  }
}

status fs_store::save_json(store_group g, const std::string& name, const std::string& aspect,
                           const nlohmann::ordered_json& value, bool create_only) {
  auto text = store_json_text(value);
  if (group_perms(g).file != k_file_shared || !holds_eab_hmac(value))
    return save_text(g, name, aspect, text, create_only);
  const bool regroup = opts_.secret_group != static_cast<gid_t>(-1) && ::geteuid() == 0;
  return write(g, name, aspect, text, k_file_secret, create_only,
               regroup ? opts_.secret_group : static_cast<gid_t>(-1));
}

expected<private_key> fs_store::load_key(store_group g, const std::string& name,
                                         const std::string& aspect) const {
  auto pem = load_text(g, name, aspect);
  if (!pem) return pem.error();
  // The secret is offered in every group: a plain key ignores it.
  auto key = private_key::from_pem(*pem, &secret_, *paths_.file(g, name, aspect));
  OPENSSL_cleanse(pem->data(), pem->size());
  return key;
}

status fs_store::save_key(store_group g, const std::string& name, const std::string& aspect,
                          const private_key& key, bool create_only) {
  const bool encrypt = encrypts_keys(g);
  auto pem = encrypt ? key.to_pem_encrypted(secret_) : key.to_pem();
  if (!pem) return pem.error();
  const mode_t mode = encrypt ? group_perms(g).file : k_file_private;
  auto st = write(g, name, aspect, *pem, mode, create_only);
  OPENSSL_cleanse(pem->data(), pem->size());
  return st;
}

bool fs_store::exists(store_group g, const std::string& name, const std::string& aspect) const {
  if (!paths_.file(g, name, aspect)) return false;
  auto dir = open_name(g, name, false);
  return dir && is_regular_at(dir->dir, aspect);
}

expected<store::time_point> fs_store::modified(store_group g, const std::string& name,
                                               const std::string& aspect) const {
  auto path = paths_.file(g, name, aspect);
  if (!path) return path.error();
  auto dir = open_name(g, name, false);
  if (!dir) {
    if (is_not_found(dir.error())) return fsio::sys_error("stat", *path, ENOENT);
    return dir.error();
  }
  auto st = fsio::stat_at(dir->dir, aspect);
  if (!st) return st.error();
  if (S_ISLNK(st->st_mode)) return fsio::symlink_refused(*path);
  auto since_epoch = std::chrono::seconds(st->st_mtim.tv_sec) +
                     std::chrono::nanoseconds(st->st_mtim.tv_nsec);
  return time_point(std::chrono::duration_cast<time_point::duration>(since_epoch));
}

expected<std::string> fs_store::file_path(store_group g, const std::string& name,
                                          const std::string& aspect) const {
  return paths_.file(g, name, aspect);
}

// --- removing ------------------------------------------------------------------------------

status fs_store::sync_dir(const fsio::dir_handle& dir) const {
  if (opts_.sync_writes) return fsio::fsync_dir(dir);
  unsynced_->store(true);
  return {};
}

status fs_store::flush() const {
  if (!unsynced_->exchange(false)) return {};
  auto base = fsio::open_dir(paths_.base());
  if (!base) {
    unsynced_->store(true);
    return base.error();
  }
  if (::syncfs(base->fd.get()) != 0) {
    unsynced_->store(true);
    return fsio::sys_error("syncfs", base->path, errno);
  }
  return {};
}

status fs_store::remove(store_group g, const std::string& name, const std::string& aspect,
                        bool force) {
  auto path = writable_path(g, name, aspect);
  if (!path) return path.error();
  auto dir = open_name(g, name, false);
  if (!dir) {
    if (!is_not_found(dir.error())) return dir.error();
    if (force) return {};
    return fsio::sys_error("unlink", *path, ENOENT);
  }
  // unlinkat removes a symlink itself, never what it points to
  if (::unlinkat(dir->dir.fd.get(), aspect.c_str(), 0) != 0) {
    if (force && errno == ENOENT) return {};
    return fsio::sys_error("unlink", *path, errno);
  }
  return sync_dir(dir->dir);
}

status fs_store::purge(store_group g, const std::string& name) {
  if (g == store_group::none)
    return error{store_errc::invalid, "the top level of the store cannot be purged"};
  if (auto p = paths_.name_dir(g, name); !p) return p.error();
  auto grp = open_group(g, false);
  if (!grp) return is_not_found(grp.error()) ? status{} : status(grp.error());
  if (auto st = fsio::remove_tree_at(grp->dir, name); !st) return st;
  return sync_dir(grp->dir);
}

status fs_store::remove_not_modified_since(store_group g, time_point since,
                                           const std::string& name_pattern,
                                           const std::string& aspect_pattern) {
  auto names = list_names(g, name_pattern);
  if (!names) return names.error();
  for (const auto& name : *names) {
    auto aspects = list_aspects(g, name, aspect_pattern);
    if (!aspects) return aspects.error();
    for (const auto& a : *aspects) {
      auto when = modified(g, name, a);
      if (when && *when < since) {
        if (auto st = remove(g, name, a, true); !st) return st;
      }
    }
  }
  return {};
}

// --- listing -------------------------------------------------------------------------------

expected<std::vector<std::string>> fs_store::list_names(store_group g,
                                                        const std::string& pattern) const {
  if (g == store_group::none)
    return error{store_errc::invalid, "store group 'none' has no names"};
  auto grp = open_group(g, false);
  if (!grp) {
    if (is_not_found(grp.error())) return std::vector<std::string>{};
    return grp.error();
  }
  // symlinks are not names: only directories are listed
  return entries(grp->dir, S_IFDIR,
                 [&](const std::string& n) { return check_name(g, n) && matches(pattern, n); });
}

expected<std::vector<std::string>> fs_store::list_aspects(store_group g, const std::string& name,
                                                          const std::string& pattern) const {
  auto dir = open_name(g, name, false);
  if (!dir) {
    if (is_not_found(dir.error())) return std::vector<std::string>{};
    return dir.error();
  }
  return entries(dir->dir, S_IFREG,
                 [&](const std::string& n) { return check_aspect(n) && matches(pattern, n); });
}

// --- moving --------------------------------------------------------------------------------

expected<std::string> fs_store::archive_slot(const fsio::dir_handle& archive,
                                             const std::string& name,
                                             const std::string& what) const {
  for (int n = 1; n < k_archive_max; ++n) {
    const std::string slot = name + "." + std::to_string(n);
    bool created = false;
    auto dir = fsio::make_dir_at(archive, slot, k_dir_private, &created);
    if (!dir && dir.error().code != store_errc::refused &&
        dir.error().code != store_errc::io)
      return dir.error();
    if (created) return slot;
  }
  return error{store_errc::archive_full,
               "ran out of numbers less than 1000 while looking for a free '" + archive.path +
                   "/" + name + ".<n>' to archive '" + what +
                   "'; remove old archive directories"};
}

status fs_store::move(store_group from, store_group to, const std::string& name, bool archive) {
  if (from == to || from == store_group::none || to == store_group::none)
    return error{store_errc::invalid, std::string("cannot move from store group '") +
                                          group_name(from) + "' to '" + group_name(to) + "'"};
  auto from_path = paths_.name_dir(from, name);
  if (!from_path) return from_path.error();
  auto to_path = paths_.name_dir(to, name);
  if (!to_path) return to_path.error();
  auto fg = open_group(from, false);
  if (fg) { // the name must be a real directory, owned as it must be; it is renamed by name
    auto src = fsio::open_dir_at(fg->dir, name, fg->check);
    if (!src) fg = src.error();
  }
  if (!fg) {
    if (is_not_found(fg.error()))
      return error{store_errc::not_found, "'" + *from_path + "' does not exist"};
    return fg.error();
  }
  auto tg = open_group(to, true);
  if (!tg) return tg.error();
  std::optional<open_dir> ag;
  if (archive) {
    auto old = fsio::open_dir_at(tg->dir, name, tg->check);
    if (old) {
      auto a = open_group(store_group::archive, true);
      if (!a) return a.error();
      ag.emplace(std::move(*a));
    } else if (!is_not_found(old.error())) {
      return old.error();
    }
  }
  if (ag) {
    auto slot = archive_slot(ag->dir, name, *to_path);
    if (!slot) return slot.error();
    if (auto st = fsio::rename_at(tg->dir, name, ag->dir, *slot, false); !st) {
      ::unlinkat(ag->dir.fd.get(), slot->c_str(), AT_REMOVEDIR);
      return st;
    }
    if (auto st = fsio::rename_at(fg->dir, name, tg->dir, name, false); !st) {
      (void)fsio::rename_at(ag->dir, *slot, tg->dir, name, false); // put the old one back
      return st;
    }
    if (auto st = sync_dir(ag->dir); !st) return st;
  } else if (auto st = fsio::rename_at(fg->dir, name, tg->dir, name, false); !st) {
    return st;
  }
  if (worker_group(to)) {
    auto moved = fsio::open_dir_at(tg->dir, name);
    if (!moved) return moved.error();
    if (auto st = hand_over(to, *moved); !st) return st;
  }
  if (auto st = sync_dir(fg->dir); !st) return st;
  return sync_dir(tg->dir);
}

status fs_store::rename(store_group g, const std::string& from, const std::string& to) {
  if (g == store_group::none) return error{store_errc::invalid, "store group 'none' has no names"};
  if (auto p = paths_.name_dir(g, from); !p) return p.error();
  if (auto p = paths_.name_dir(g, to); !p) return p.error();
  auto grp = open_group(g, false);
  if (!grp) return is_not_found(grp.error()) ? status{} : status(grp.error());
  if (auto st = fsio::rename_at(grp->dir, from, grp->dir, to, true); !st) {
    if (is_not_found(st.error())) return {}; // nothing to rename (md_store_rename)
    return st;
  }
  return sync_dir(grp->dir);
}

} // namespace mda
