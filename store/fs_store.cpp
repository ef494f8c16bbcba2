#include "store/fs_store.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
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

namespace fs = std::filesystem;

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

// Entries of a directory that pass `keep`, sorted; a missing directory has none.
template <class Keep>
expected<std::vector<std::string>> entries(const std::string& dir, Keep keep) {
  std::vector<std::string> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return out;
    return error{store_errc::io, "listing '" + dir + "' failed: " + ec.message()};
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) { // increment(ec): no exceptions
    std::string name = it->path().filename().string();
    if (keep(*it, name)) out.push_back(std::move(name));
  }
  if (ec) return error{store_errc::io, "listing '" + dir + "' failed: " + ec.message()};
  std::sort(out.begin(), out.end());
  return out;
}

bool matches(const std::string& pattern, const std::string& name) {
  return ::fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

expected<std::vector<std::string>> subdirs(const std::string& dir) {
  return entries(dir, [](const fs::directory_entry& e, const std::string& name) {
    std::error_code ec;
    return name.front() != '.' && e.is_directory(ec);
  });
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
status upgrade_group_1_to_2(const std::string& gdir, bool make_pubcert) {
  auto dirs = subdirs(gdir);
  if (!dirs) return dirs.error();
  for (const auto& d : *dirs) {
    const std::string dir = gdir + "/" + d;
    if (fsio::is_file(dir + "/" + aspect::legacy_pkey) &&
        ::rename((dir + "/" + aspect::legacy_pkey).c_str(), (dir + "/privkey.pem").c_str()) != 0)
      return fsio::sys_error("rename", dir + "/" + aspect::legacy_pkey, errno);
    if (!make_pubcert || fsio::is_file(dir + "/pubcert.pem") ||
        !fsio::is_file(dir + "/" + aspect::legacy_cert))
      continue;
    std::string pem;
    for (const char* part : {aspect::legacy_cert, aspect::legacy_chain}) {
      auto text = fsio::read_file(dir + "/" + part);
      if (!text && is_not_found(text.error())) continue;
      if (!text) return text.error();
      pem += *text;
      if (!pem.empty() && pem.back() != '\n') pem += '\n';
    }
    if (auto st = fsio::write_file_atomic(dir + "/pubcert.pem", pem, k_file_private); !st) return st;
  }
  return {};
}

status upgrade_store(const store_paths& p, nlohmann::ordered_json& j, double version) {
  if (version <= 1.0) {
    for (store_group g : k_store_groups) {
      if (g == store_group::none) continue;
      const bool pubcert = g == store_group::domains || g == store_group::archive;
      if (auto st = upgrade_group_1_to_2(p.group_dir(g), pubcert); !st) return st;
    }
  }
  if (version <= 2.0) j.erase("version");
  if (!j.contains("store") || !j["store"].is_object()) j["store"] = nlohmann::ordered_json::object();
  j["store"]["version"] = static_cast<double>(k_store_version);
  return fsio::write_file_atomic(p.store_file(), j.dump(2), k_file_private);
}

// The secret of an existing md_store.json, upgrading the store when it is older.
expected<std::string> read_store_file(const store_paths& p) {
  const std::string what = "store file '" + p.store_file() + "'";
  auto text = fsio::read_file(p.store_file());
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
    if (auto st = upgrade_store(p, j, version); !st)
      return error{st.error().code, "upgrading the store at '" + p.base() +
                                        "' from version " + version_text(version) +
                                        " failed: " + st.error().message};
  }
  return std::move(*key);
}

// A new md_store.json; store_errc::exists when another process made one meanwhile.
expected<std::string> init_store_file(const store_paths& p) {
  auto key = random_bytes(k_store_secret_len);
  if (!key) return key.error();
  nlohmann::ordered_json j;
  j["store"]["version"] = static_cast<double>(k_store_version);
  j["key"] = base64url_encode(*key);
  fsio::atomic_write_options o;
  o.create_only = true;
  if (auto st = fsio::write_file_atomic(p.store_file(), j.dump(2), k_file_private, o); !st)
    return st.error();
  return std::move(*key);
}

expected<std::string> setup_store_file(const store_paths& p) {
  for (int attempt = 0;; ++attempt) {
    if (fsio::is_file(p.store_file()) || attempt > 0) return read_store_file(p);
    auto made = init_store_file(p);
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
  if (created && ::chmod(paths.base().c_str(), k_dir_shared) != 0)
    return fsio::sys_error("chmod", paths.base(), errno);
  auto secret = setup_store_file(paths);
  if (!secret) return secret.error();
  return fs_store(std::move(paths), std::move(opts), std::move(*secret));
}

status fs_store::setup_worker_dirs(uid_t uid, gid_t gid) {
  worker_ = worker_ids{uid, gid};
  for (store_group g : {store_group::challenges, store_group::staging, store_group::accounts,
                        store_group::ocsp}) {
    const std::string dir = paths_.group_dir(g);
    bool created = false;
    if (auto st = fsio::make_dirs(dir, k_dir_worker, &created); !st) return st;
    if (created && ::chmod(dir.c_str(), k_dir_worker) != 0)
      return fsio::sys_error("chmod", dir, errno);
    if (auto st = hand_over(g, dir); !st) return st;
  }
  return {};
}

status fs_store::hand_over(store_group g, const std::string& dir) const {
  if (!worker_ || !worker_group(g) || ::geteuid() != 0) return {};
  if (::chown(dir.c_str(), worker_->uid, worker_->gid) != 0)
    return fsio::sys_error("chown", dir, errno);
  return {};
}

// --- reading and writing -------------------------------------------------------------------

expected<std::string> fs_store::writable_path(store_group g, const std::string& name,
                                              const std::string& aspect) const {
  if (g == store_group::none && (aspect == aspect::store_json || aspect == "store.lock"))
    return error{store_errc::invalid, "'" + aspect + "' is managed by the store itself"};
  return paths_.file(g, name, aspect);
}

status fs_store::prepare_dirs(store_group g, const std::string& name) {
  if (g == store_group::none) return {};
  const mode_t mode = group_perms(g).dir;
  for (const std::string& dir : {paths_.group_dir(g), paths_.group_dir(g) + "/" + name}) {
    bool created = false;
    if (auto st = fsio::ensure_dir(dir, mode, &created); !st) return st;
    if (created) {
      if (auto st = hand_over(g, dir); !st) return st;
    }
  }
  return {};
}

status fs_store::write(store_group g, const std::string& name, const std::string& aspect,
                       std::string_view data, mode_t mode, bool create_only, gid_t group) {
  auto path = writable_path(g, name, aspect);
  if (!path) return path.error();
  if (auto st = prepare_dirs(g, name); !st) return st;
  const bool synced = opts_.sync_writes && durable(g, aspect);
  if (!opts_.sync_writes) unsynced_->store(true);
  auto wo = write_opts(opts_, create_only, synced);
  wo.group = group;
  return fsio::write_file_atomic(*path, data, mode, wo);
}

expected<std::string> fs_store::load_text(store_group g, const std::string& name,
                                          const std::string& aspect) const {
  auto path = paths_.file(g, name, aspect);
  if (!path) return path.error();
  return fsio::read_file(*path);
}

status fs_store::save_text(store_group g, const std::string& name, const std::string& aspect,
                           std::string_view text, bool create_only) {
  return write(g, name, aspect, text, group_perms(g).file, create_only);
}

expected<nlohmann::ordered_json> fs_store::load_json(store_group g, const std::string& name,
                                                     const std::string& aspect) const {
  auto path = paths_.file(g, name, aspect);
  if (!path) return path.error();
  auto text = fsio::read_file(*path);
  if (!text) return text.error();
  try {
    return nlohmann::ordered_json::parse(*text);
  } catch (const nlohmann::json::parse_error& e) {
    return json_error("'" + *path + "'", e);
  } catch (const nlohmann::json::exception& e) {
    return error{store_errc::corrupt, "'" + *path + "' is not valid JSON: " + e.what()};
  }
}

status fs_store::save_json(store_group g, const std::string& name, const std::string& aspect,
                           const nlohmann::ordered_json& value, bool create_only) {
  // Invalid UTF-8 in a string is replaced rather than thrown about.
  auto text = value.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  if (group_perms(g).file != k_file_shared || !holds_eab_hmac(value))
    return save_text(g, name, aspect, text, create_only);
  const bool regroup = opts_.secret_group != static_cast<gid_t>(-1) && ::geteuid() == 0;
  return write(g, name, aspect, text, k_file_secret, create_only,
               regroup ? opts_.secret_group : static_cast<gid_t>(-1));
}

expected<private_key> fs_store::load_key(store_group g, const std::string& name,
                                         const std::string& aspect) const {
  auto path = paths_.file(g, name, aspect);
  if (!path) return path.error();
  auto pem = fsio::read_file(*path);
  if (!pem) return pem.error();
  // The secret is offered in every group: a plain key ignores it.
  return private_key::from_pem(*pem, &secret_, *path);
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
  auto path = paths_.file(g, name, aspect);
  return path && fsio::is_file(*path);
}

expected<store::time_point> fs_store::modified(store_group g, const std::string& name,
                                               const std::string& aspect) const {
  auto path = paths_.file(g, name, aspect);
  if (!path) return path.error();
  struct stat st {};
  if (::stat(path->c_str(), &st) != 0) return fsio::sys_error("stat", *path, errno);
  auto since_epoch = std::chrono::seconds(st.st_mtim.tv_sec) +
                     std::chrono::nanoseconds(st.st_mtim.tv_nsec);
  return time_point(std::chrono::duration_cast<time_point::duration>(since_epoch));
}

expected<std::string> fs_store::file_path(store_group g, const std::string& name,
                                          const std::string& aspect) const {
  return paths_.file(g, name, aspect);
}

// --- removing ------------------------------------------------------------------------------

status fs_store::sync_dir(const std::string& dir) const {
  if (opts_.sync_writes) return fsio::fsync_dir(dir);
  unsynced_->store(true);
  return {};
}

status fs_store::flush() const {
  if (!unsynced_->exchange(false)) return {};
  const std::string base = paths_.base();
  int fd = ::open(base.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    unsynced_->store(true);
    return fsio::sys_error("open", base, errno);
  }
  const int rc = ::syncfs(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) {
    unsynced_->store(true);
    return fsio::sys_error("syncfs", base, err);
  }
  return {};
}

status fs_store::remove(store_group g, const std::string& name, const std::string& aspect,
                        bool force) {
  auto path = writable_path(g, name, aspect);
  if (!path) return path.error();
  if (::unlink(path->c_str()) != 0) {
    if (force && (errno == ENOENT || errno == ENOTDIR)) return {};
    return fsio::sys_error("unlink", *path, errno);
  }
  return sync_dir(fsio::parent_dir(*path));
}

status fs_store::purge(store_group g, const std::string& name) {
  if (g == store_group::none)
    return error{store_errc::invalid, "the top level of the store cannot be purged"};
  auto dir = paths_.name_dir(g, name);
  if (!dir) return dir.error();
  if (!fsio::is_dir(paths_.group_dir(g))) return {};
  if (auto st = fsio::remove_tree(*dir); !st) return st;
  return sync_dir(paths_.group_dir(g));
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
  return entries(paths_.group_dir(g), [&](const fs::directory_entry& e, const std::string& n) {
    std::error_code ec;
    return check_name(g, n) && e.is_directory(ec) && matches(pattern, n);
  });
}

expected<std::vector<std::string>> fs_store::list_aspects(store_group g, const std::string& name,
                                                          const std::string& pattern) const {
  auto dir = paths_.name_dir(g, name);
  if (!dir) return dir.error();
  return entries(*dir, [&](const fs::directory_entry& e, const std::string& n) {
    std::error_code ec;
    return check_aspect(n) && e.is_regular_file(ec) && matches(pattern, n);
  });
}

// --- moving --------------------------------------------------------------------------------

expected<std::string> fs_store::archive_slot(const std::string& name,
                                             const std::string& what) const {
  const std::string adir = paths_.group_dir(store_group::archive);
  if (auto st = fsio::make_dirs(adir, k_dir_private); !st) return st.error();
  for (int n = 1; n < k_archive_max; ++n) {
    std::string slot = paths_.archive_dir(name, n);
    if (::mkdir(slot.c_str(), k_dir_private) == 0) {
      if (::chmod(slot.c_str(), k_dir_private) != 0) return fsio::sys_error("chmod", slot, errno);
      return slot;
    }
    if (errno != EEXIST) return fsio::sys_error("mkdir", slot, errno);
  }
  return error{store_errc::archive_full,
               "ran out of numbers less than 1000 while looking for a free '" + adir + "/" +
                   name + ".<n>' to archive '" + what +
                   "'; remove old archive directories"};
}

status fs_store::move(store_group from, store_group to, const std::string& name, bool archive) {
  if (from == to || from == store_group::none || to == store_group::none)
    return error{store_errc::invalid, std::string("cannot move from store group '") +
                                          group_name(from) + "' to '" + group_name(to) + "'"};
  auto from_dir = paths_.name_dir(from, name);
  if (!from_dir) return from_dir.error();
  auto to_dir = paths_.name_dir(to, name);
  if (!to_dir) return to_dir.error();
  if (!fsio::is_dir(*from_dir))
    return error{store_errc::not_found, "'" + *from_dir + "' does not exist"};
  bool created = false;
  if (auto st = fsio::ensure_dir(paths_.group_dir(to), group_perms(to).dir, &created); !st)
    return st;
  if (created) {
    if (auto st = hand_over(to, paths_.group_dir(to)); !st) return st;
  }
  if (archive && fsio::is_dir(*to_dir)) {
    auto slot = archive_slot(name, *to_dir);
    if (!slot) return slot.error();
    if (::rename(to_dir->c_str(), slot->c_str()) != 0) {
      int err = errno;
      ::rmdir(slot->c_str());
      return fsio::sys_error("rename", *to_dir, err);
    }
    if (::rename(from_dir->c_str(), to_dir->c_str()) != 0) {
      int err = errno;
      ::rename(slot->c_str(), to_dir->c_str()); // put the old one back
      return fsio::sys_error("rename", *from_dir, err);
    }
    if (auto st = sync_dir(paths_.group_dir(store_group::archive)); !st) return st;
  } else if (::rename(from_dir->c_str(), to_dir->c_str()) != 0) {
    return fsio::sys_error("rename", *from_dir, errno);
  }
  if (auto st = hand_over(to, *to_dir); !st) return st;
  if (auto st = sync_dir(paths_.group_dir(from)); !st) return st;
  return sync_dir(paths_.group_dir(to));
}

status fs_store::rename(store_group g, const std::string& from, const std::string& to) {
  if (g == store_group::none) return error{store_errc::invalid, "store group 'none' has no names"};
  auto from_dir = paths_.name_dir(g, from);
  if (!from_dir) return from_dir.error();
  auto to_dir = paths_.name_dir(g, to);
  if (!to_dir) return to_dir.error();
  if (auto st = fsio::rename_noreplace(*from_dir, *to_dir); !st) {
    if (is_not_found(st.error())) return {}; // nothing to rename (md_store_rename)
    return st;
  }
  return sync_dir(paths_.group_dir(g));
}

} // namespace mda
