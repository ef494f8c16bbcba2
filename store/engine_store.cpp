// The engine's view of the store (see engine_store.hpp).
#include "store/engine_store.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>

#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "store/accounts.hpp"
#include "store/fs_io.hpp"

namespace mda {

namespace {

bool user_group(store_group g) {
  return g == store_group::staging || g == store_group::challenges || g == store_group::ocsp;
}

/// Groups the preload answers for.
bool preloaded_group(store_group g) {
  return g == store_group::domains || g == store_group::accounts;
}

std::string key_of(store_group g, const std::string& name, const std::string& aspect) {
  return std::string(group_name(g)) + "/" + name + "/" + aspect;
}

bool matches(const std::string& pattern, const std::string& text) {
  return ::fnmatch(pattern.c_str(), text.c_str(), 0) == 0;
}

/// Adds one file of the store to the preload when it reads; absent or unreadable is left out.
void take(const fs_store& st, store_preload& p, store_group g, const std::string& name,
          const std::string& aspect) {
  auto text = st.load_text(g, name, aspect);
  if (!text) return;
  auto when = st.modified(g, name, aspect);
  p.files[key_of(g, name, aspect)] = {std::move(*text), when ? *when : store::time_point{}};
}

error not_found_error(store_group g, const std::string& name, const std::string& aspect) {
  return error{store_errc::not_found, key_of(g, name, aspect) + " does not exist"};
}

/// Sorted union of two sorted lists.
std::vector<std::string> merged(std::vector<std::string> a, const std::vector<std::string>& b) {
  for (const auto& x : b) a.push_back(x);
  std::sort(a.begin(), a.end());
  a.erase(std::unique(a.begin(), a.end()), a.end());
  return a;
}

} // namespace

std::string engine_dir_of(const std::string& store_dir) { return store_dir + "/mdactor"; }

store_preload::~store_preload() {
  if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
}

expected<store_preload> preload_for_engine(const fs_store& st, const std::vector<managed_domain>& mds,
                                           const std::vector<std::string>& outside_files) {
  store_preload p;
  p.store_dir = st.paths().base();
  p.secret = st.secret();
  for (const auto& md : mds) {
    auto aspects = st.list_aspects(store_group::domains, md.name);
    if (!aspects) continue; // no domains/<md> yet
    for (const auto& a : *aspects) {
      if (a == aspect::md || matches("pubcert*.pem", a)) take(st, p, store_group::domains, md.name, a);
    }
  }
  auto ids = st.list_names(store_group::accounts);
  if (!ids && !is_not_found(ids.error())) return ids.error().prefixed("listing accounts/ for the engine");
  for (const auto& id : ids ? *ids : std::vector<std::string>{}) {
    take(st, p, store_group::accounts, id, aspect::account);
    take(st, p, store_group::accounts, id, aspect::account_key);
  }
  for (const auto& path : outside_files) {
    if (p.outside.count(path)) continue;
    if (auto text = fsio::read_file(path)) p.outside[path] = std::move(*text);
  }
  return p;
}

// --- engine_store --------------------------------------------------------------------------

engine_store::engine_store(std::shared_ptr<const store_preload> preload, fs_store_options opts)
    : preload_(std::move(preload)),
      user_(fs_store::attach(preload_->store_dir, preload_->secret, opts)),
      own_(fs_store::attach(engine_dir_of(preload_->store_dir), preload_->secret, opts)) {}

store* engine_store::disk(store_group g) {
  if (user_group(g)) return &user_;
  if (g == store_group::accounts) return &own_;
  return nullptr;
}

const store* engine_store::disk(store_group g) const {
  return const_cast<engine_store*>(this)->disk(g);
}

const store_preload::file* engine_store::preloaded(store_group g, const std::string& name,
                                                   const std::string& aspect) const {
  if (!preloaded_group(g)) return nullptr;
  auto i = preload_->files.find(key_of(g, name, aspect));
  return i == preload_->files.end() ? nullptr : &i->second;
}

status engine_store::refuse(store_group g, const std::string& name, const std::string& aspect) const {
  return error{store_errc::invalid, "the engine does not write " + key_of(g, name, aspect) +
                                        ": that part of the store belongs to root (the Apache "
                                        "parent writes it at its start)"};
}

expected<std::string> engine_store::load_text(store_group g, const std::string& name,
                                              const std::string& aspect) const {
  if (const store* d = disk(g)) {
    auto text = d->load_text(g, name, aspect);
    if (text || !is_not_found(text.error()) || user_group(g)) return text;
  }
  if (const auto* f = preloaded(g, name, aspect)) return f->data;
  return not_found_error(g, name, aspect);
}

expected<nlohmann::ordered_json> engine_store::load_json(store_group g, const std::string& name,
                                                         const std::string& aspect) const {
  if (const store* d = disk(g)) {
    auto j = d->load_json(g, name, aspect);
    if (j || !is_not_found(j.error()) || user_group(g)) return j;
  }
  const auto* f = preloaded(g, name, aspect);
  if (!f) return not_found_error(g, name, aspect);
  auto j = nlohmann::ordered_json::parse(f->data, nullptr, false);
  if (j.is_discarded())
    return error{store_errc::corrupt, preload_->store_dir + "/" + key_of(g, name, aspect) + ": not JSON"};
  return j;
}

expected<private_key> engine_store::load_key(store_group g, const std::string& name,
                                             const std::string& aspect) const {
  if (const store* d = disk(g)) {
    auto k = d->load_key(g, name, aspect);
    if (k || !is_not_found(k.error()) || user_group(g)) return k;
  }
  const auto* f = preloaded(g, name, aspect);
  if (!f) return not_found_error(g, name, aspect);
  return private_key::from_pem(f->data, &preload_->secret,
                               preload_->store_dir + "/" + key_of(g, name, aspect));
}

status engine_store::save_text(store_group g, const std::string& name, const std::string& aspect,
                               std::string_view text, bool create_only) {
  store* d = disk(g);
  if (!d) return refuse(g, name, aspect);
  if (create_only && preloaded(g, name, aspect))
    return error{store_errc::exists, key_of(g, name, aspect) + " already exists"};
  return d->save_text(g, name, aspect, text, create_only);
}

status engine_store::save_json(store_group g, const std::string& name, const std::string& aspect,
                               const nlohmann::ordered_json& value, bool create_only) {
  store* d = disk(g);
  if (!d) return refuse(g, name, aspect);
  if (create_only && preloaded(g, name, aspect))
    return error{store_errc::exists, key_of(g, name, aspect) + " already exists"};
  return d->save_json(g, name, aspect, value, create_only);
}

status engine_store::save_key(store_group g, const std::string& name, const std::string& aspect,
                              const private_key& key, bool create_only) {
  store* d = disk(g);
  if (!d) return refuse(g, name, aspect);
  if (create_only && preloaded(g, name, aspect))
    return error{store_errc::exists, key_of(g, name, aspect) + " already exists"};
  return d->save_key(g, name, aspect, key, create_only);
}

bool engine_store::exists(store_group g, const std::string& name, const std::string& aspect) const {
  if (const store* d = disk(g); d && d->exists(g, name, aspect)) return true;
  return preloaded(g, name, aspect) != nullptr;
}

expected<store::time_point> engine_store::modified(store_group g, const std::string& name,
                                                   const std::string& aspect) const {
  if (const store* d = disk(g)) {
    auto t = d->modified(g, name, aspect);
    if (t || !is_not_found(t.error()) || user_group(g)) return t;
  }
  if (const auto* f = preloaded(g, name, aspect)) return f->modified;
  return not_found_error(g, name, aspect);
}

status engine_store::remove(store_group g, const std::string& name, const std::string& aspect,
                            bool force) {
  store* d = disk(g);
  if (!d || (preloaded(g, name, aspect) && !d->exists(g, name, aspect))) return refuse(g, name, aspect);
  return d->remove(g, name, aspect, force);
}

status engine_store::purge(store_group g, const std::string& name) {
  store* d = disk(g);
  if (!d) return refuse(g, name, "");
  return d->purge(g, name);
}

status engine_store::remove_not_modified_since(store_group g, time_point since,
                                               const std::string& name_pattern,
                                               const std::string& aspect_pattern) {
  store* d = disk(g);
  if (!d) return refuse(g, name_pattern, aspect_pattern);
  return d->remove_not_modified_since(g, since, name_pattern, aspect_pattern);
}

expected<std::vector<std::string>> engine_store::list_names(store_group g,
                                                            const std::string& pattern) const {
  std::vector<std::string> on_disk;
  if (const store* d = disk(g)) {
    auto names = d->list_names(g, pattern);
    if (names) {
      on_disk = std::move(*names);
    } else if (!is_not_found(names.error())) {
      return names.error();
    }
    if (user_group(g)) return on_disk;
  }
  std::vector<std::string> kept;
  const std::string prefix = std::string(group_name(g)) + "/";
  for (const auto& [key, f] : preload_->files) {
    if (key.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string rest = key.substr(prefix.size());
    const std::string name = rest.substr(0, rest.find('/'));
    if (matches(pattern, name)) kept.push_back(name);
  }
  return merged(std::move(on_disk), kept);
}

expected<std::vector<std::string>> engine_store::list_aspects(store_group g, const std::string& name,
                                                              const std::string& pattern) const {
  std::vector<std::string> on_disk;
  if (const store* d = disk(g)) {
    auto aspects = d->list_aspects(g, name, pattern);
    if (aspects) {
      on_disk = std::move(*aspects);
    } else if (!is_not_found(aspects.error())) {
      return aspects.error();
    }
    if (user_group(g)) return on_disk;
  }
  std::vector<std::string> kept;
  const std::string prefix = std::string(group_name(g)) + "/" + name + "/";
  for (const auto& [key, f] : preload_->files) {
    if (key.compare(0, prefix.size(), prefix) == 0 && matches(pattern, key.substr(prefix.size())))
      kept.push_back(key.substr(prefix.size()));
  }
  if (on_disk.empty() && kept.empty()) return error{store_errc::not_found, prefix + " does not exist"};
  return merged(std::move(on_disk), kept);
}

status engine_store::move(store_group from, store_group to, const std::string& name, bool archive) {
  if (!user_group(from) || !user_group(to)) return refuse(to, name, "");
  return user_.move(from, to, name, archive);
}

status engine_store::rename(store_group g, const std::string& from, const std::string& to) {
  if (!user_group(g)) return refuse(g, to, "");
  return user_.rename(g, from, to);
}

expected<std::string> engine_store::file_path(store_group g, const std::string& name,
                                              const std::string& aspect) const {
  if (g == store_group::accounts && own_.exists(g, name, aspect)) return own_.file_path(g, name, aspect);
  return user_.file_path(g, name, aspect);
}

// --- the parent files the engine's accounts --------------------------------------------------

namespace {

/// The entry is a real directory or file, owned by the User or root; else why not.
std::string unsafe_entry(const std::string& path, uid_t worker_uid) {
  struct stat sb {};
  if (::lstat(path.c_str(), &sb) != 0) return "'" + path + "': cannot be examined (errno " + std::to_string(errno) + ")";
  if (S_ISLNK(sb.st_mode)) return "'" + path + "' is a symbolic link, refused";
  // Apache started by a user other than root runs everything as that user.
  if (sb.st_uid != worker_uid && sb.st_uid != 0 && sb.st_uid != ::geteuid())
    return "'" + path + "' is owned by uid " + std::to_string(sb.st_uid) + ", neither the User nor root, refused";
  return {};
}

/// Files one complete engine account; the filing says where it went or why it stayed.
engine_account_filing file_one(fs_store& st, fs_store& own, const std::string& id, uid_t worker_uid) {
  engine_account_filing f;
  f.from = own.paths().base() + "/accounts/" + id;
  for (const std::string& p : {f.from, f.from + "/" + aspect::account, f.from + "/" + aspect::account_key}) {
    if (auto why = unsafe_entry(p, worker_uid); !why.empty()) {
      f.problem = why;
      return f;
    }
  }
  auto j = own.load_json(store_group::accounts, id, aspect::account);
  auto key = own.load_key(store_group::accounts, id, aspect::account_key);
  if (!j || !key) {
    f.problem = (!j ? j.error() : key.error()).message;
    return f;
  }
  auto file = account_from_json(*j, f.from + "/" + aspect::account);
  if (!file) {
    f.problem = file.error().message;
    return f;
  }
  auto known = st.load_json(store_group::accounts, id, aspect::account);
  if (known) {
    auto other = account_from_json(*known, "accounts/" + id + "/" + aspect::account);
    if (other && other->url == file->url) {
      f.id = id; // filed before (a start that ended before the purge): nothing to do
    } else {
      auto prefix = account_id_prefix_for_url(file->ca_url);
      auto nid = prefix ? save_account_new_id(st, *prefix, *file, *key) : expected<std::string>(prefix.error());
      if (!nid) {
        f.problem = nid.error().message;
        return f;
      }
      f.id = *nid;
    }
  } else if (auto s = save_account(st, id, *file, *key); !s) {
    f.problem = s.error().message;
    return f;
  } else {
    f.id = id;
  }
  if (auto s = own.purge(store_group::accounts, id); !s) f.problem = "filed, but not removed: " + s.error().message;
  return f;
}

} // namespace

std::vector<engine_account_filing> file_engine_accounts(fs_store& st, uid_t worker_uid) {
  std::vector<engine_account_filing> out;
  fs_store own = fs_store::attach(engine_dir_of(st.paths().base()), st.secret());
  auto ids = own.list_names(store_group::accounts);
  if (!ids) {
    if (!is_not_found(ids.error())) out.push_back({own.paths().base() + "/accounts", "", ids.error().message});
    return out;
  }
  for (const auto& id : *ids) {
    // A key without account.json: a registration the engine has not finished; it completes
    // it itself (acme/account_store.hpp).
    if (!own.exists(store_group::accounts, id, aspect::account)) continue;
    out.push_back(file_one(st, own, id, worker_uid));
  }
  return out;
}

} // namespace mda
