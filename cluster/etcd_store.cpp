#include "cluster/etcd_store.hpp"

#include <algorithm>
#include <cstdint>
#include <set>

#include <fnmatch.h>

#include <openssl/crypto.h>

#include "core/base64.hpp"
#include "core/digest.hpp"
#include "store/fs_store.hpp"

namespace mda {

namespace {

using namespace std::chrono;

constexpr const char* k_header_tag = "mda1 ";
constexpr int k_archive_max = 1000;   // archive/<name>.1 .. .999, as fs_store
constexpr int k_txn_attempts = 5;     // a move or rename retried when another writer came in
constexpr std::int64_t k_page = 1000; // keys per range request when listing

bool matches(const std::string& pattern, const std::string& name) {
  return ::fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

/// An etcd failure about a key: its code kept (unreachable stays unreachable).
error etcd_failed(const std::string& what, const error& e) {
  return {e.code, what + ": " + e.message};
}

std::string key_text(const std::string& key) { return "etcd key '" + key + "'"; }

expected<nlohmann::ordered_json> parse_json(const std::string& key, const std::string& text) {
  try {
    return nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return error{store_errc::corrupt, key_text(key) + " is not valid JSON: parse error at byte " +
                                          std::to_string(e.byte)};
  } catch (const nlohmann::json::exception& e) {
    return error{store_errc::corrupt, key_text(key) + " is not valid JSON: " + e.what()};
  }
}

/// Splits "mda1 <ms>\n<bytes>".
bool split_value(const std::string& raw, std::string& bytes, store::time_point& when) {
  const size_t tag = std::char_traits<char>::length(k_header_tag);
  if (raw.compare(0, tag, k_header_tag) != 0) return false;
  const auto nl = raw.find('\n', tag);
  if (nl == std::string::npos || nl == tag) return false;
  std::int64_t ms = 0;
  for (size_t i = tag; i < nl; ++i) {
    if (raw[i] < '0' || raw[i] > '9' || ms > (INT64_MAX - 9) / 10) return false;
    ms = ms * 10 + (raw[i] - '0');
  }
  when = store::time_point(duration_cast<store::time_point::duration>(milliseconds(ms)));
  bytes = raw.substr(nl + 1);
  return true;
}

nlohmann::ordered_json store_file_json(const std::string& secret) {
  nlohmann::ordered_json j;
  j["store"]["version"] = static_cast<double>(k_store_version);
  j["secret-sha256"] = etcd_store::fingerprint(secret);
  return j;
}

} // namespace

std::string etcd_value_header(store::time_point modified) {
  const auto ms = duration_cast<milliseconds>(modified.time_since_epoch()).count();
  return k_header_tag + std::to_string(std::max<std::int64_t>(ms, 0)) + "\n";
}

// --- life cycle ----------------------------------------------------------------------------

etcd_store::etcd_store(std::shared_ptr<etcd::client> client, std::string prefix,
                       std::string secret, etcd_store_options opts)
    : client_(std::move(client)), prefix_(std::move(prefix)), secret_(std::move(secret)),
      opts_(std::move(opts)), checker_(prefix_ + "/store") {
  if (!opts_.clock) opts_.clock = [] { return system_clock::now(); };
}

etcd_store::~etcd_store() {
  if (!secret_.empty()) OPENSSL_cleanse(secret_.data(), secret_.size());
}

std::string etcd_store::fingerprint(const std::string& secret) {
  return hex_lower(sha256(secret));
}

expected<etcd_store> etcd_store::open(std::shared_ptr<etcd::client> client, std::string prefix,
                                      std::string secret, etcd_store_options opts) {
  if (!client) return error{store_errc::invalid, "etcd_store without an etcd client"};
  if (!prefix.empty() && (prefix.front() != '/' || prefix.back() == '/'))
    return error{store_errc::invalid, "etcd store prefix '" + prefix +
                                          "': must start with '/' and not end with one"};
  if (secret.size() != k_store_secret_len)
    return error{store_errc::invalid, "store secret of " + std::to_string(secret.size()) +
                                          " bytes (expected 48)"};
  const bool create = opts.create;
  etcd_store s(std::move(client), std::move(prefix), std::move(secret), std::move(opts));
  const std::string key = s.key_of(store_group::none, "", aspect::store_json);
  const std::string mine = store_json_text(store_file_json(s.secret_));
  std::string raw;
  if (create) {
    auto made = s.client_->txn({etcd::compare::absent(key)},
                               {etcd::txn_op::put(key, etcd_value_header(s.opts_.clock()) + mine)},
                               {etcd::txn_op::get(key)});
    if (!made) return etcd_failed("creating " + key_text(key), made.error());
    if (made->succeeded) return s;
    if (made->ranges.empty() || made->ranges.front().kvs.empty())
      return error{store_errc::corrupt, key_text(key) + " vanished while it was being created"};
    raw = made->ranges.front().kvs.front().value;
  } else {
    auto got = s.client_->get(key);
    if (!got) return etcd_failed("reading " + key_text(key), got.error());
    if (got->kvs.empty())
      return error{store_errc::not_found, key_text(key) + " does not exist: no store under prefix '" +
                                              s.prefix_ + "'"};
    raw = got->kvs.front().value;
  }
  std::string text;
  store::time_point when;
  if (!split_value(raw, text, when))
    return error{store_errc::corrupt, key_text(key) + " has no 'mda1' header"};
  auto j = parse_json(key, text);
  if (!j) return j.error();
  const auto& v = *j;
  if (!v.is_object() || !v.contains("secret-sha256") || !v["secret-sha256"].is_string())
    return error{store_errc::corrupt, key_text(key) + ": missing key: secret-sha256"};
  if (v.contains("store") && v["store"].is_object() && v["store"].contains("version") &&
      v["store"]["version"].is_number() && v["store"]["version"].get<double>() > k_store_version)
    return error{store_errc::too_new, key_text(key) + ": version too new (this software knows "
                                                    "versions up to 3)"};
  if (v["secret-sha256"].get<std::string>() != fingerprint(s.secret_))
    return error{store_errc::refused,
                 "the store secret of this node differs from the cluster's (" + key_text(key) +
                     " holds the SHA-256 of another one): copy md_store.json from a node of the "
                     "cluster into this node's store directory"};
  return s;
}

// --- keys ----------------------------------------------------------------------------------

std::string etcd_store::key_of(store_group g, const std::string& name,
                               const std::string& aspect) const {
  return prefix_ + "/store/" + group_name(g) + "/" + name + "/" + aspect;
}

expected<std::string> etcd_store::checked_key(store_group g, const std::string& name,
                                              const std::string& aspect) const {
  if (auto p = checker_.file(g, name, aspect); !p) return p.error();
  return key_of(g, name, aspect);
}

expected<std::string> etcd_store::name_prefix(store_group g, const std::string& name) const {
  if (auto p = checker_.name_dir(g, name); !p) return p.error();
  return key_of(g, name, "");
}

expected<std::vector<etcd::key_value>> etcd_store::scan(const std::string& prefix,
                                                        bool keys_only) const {
  std::vector<etcd::key_value> out;
  const std::string end = etcd::prefix_end(prefix);
  std::string from = prefix;
  for (;;) {
    auto r = client_->get_range(from, end, k_page, keys_only);
    if (!r) return etcd_failed("listing etcd keys '" + prefix + "*'", r.error());
    for (auto& kv : r->kvs) out.push_back(std::move(kv));
    if (!r->more || r->kvs.empty()) return out;
    from = out.back().key + std::string(1, '\0');
  }
}

status etcd_store::scan_group(
    store_group g,
    const std::function<bool(const std::string& name, std::vector<group_file>& files)>& each) const {
  const std::string prefix = prefix_ + "/store/" + group_name(g) + "/";
  const std::string end = etcd::prefix_end(prefix);
  std::string from = prefix, current;
  std::vector<group_file> files;
  for (;;) {
    auto r = client_->get_range(from, end, k_page, false);
    if (!r) return etcd_failed("listing etcd keys '" + prefix + "*'", r.error());
    for (auto& kv : r->kvs) {
      const std::string rest = kv.key.substr(prefix.size());
      const auto slash = rest.find('/');
      if (slash == std::string::npos) continue; // not a file of a name
      std::string name = rest.substr(0, slash);
      if (name != current) {
        if (!current.empty() && !files.empty() && !each(current, files)) return {};
        current = std::move(name);
        files.clear();
      }
      group_file f;
      f.aspect = rest.substr(slash + 1);
      if (!split_value(kv.value, f.bytes, f.modified))
        return error{store_errc::corrupt, key_text(kv.key) + " has no 'mda1' header"};
      OPENSSL_cleanse(kv.value.data(), kv.value.size());
      files.push_back(std::move(f));
    }
    if (!r->more || r->kvs.empty()) break;
    from = r->kvs.back().key + std::string(1, '\0');
  }
  if (!current.empty() && !files.empty()) (void)each(current, files);
  return {};
}

expected<private_key> etcd_store::key_from_bytes(const std::string& bytes, const std::string& where) const {
  return private_key::from_pem(bytes, &secret_, where);
}

// --- reading and writing -------------------------------------------------------------------

expected<etcd_store::value> etcd_store::read(const std::string& key) const {
  auto r = client_->get(key);
  if (!r) return etcd_failed("reading " + key_text(key), r.error());
  if (r->kvs.empty()) return error{store_errc::not_found, key_text(key) + " does not exist"};
  value v;
  v.mod_revision = r->kvs.front().mod_revision;
  if (!split_value(r->kvs.front().value, v.bytes, v.modified))
    return error{store_errc::corrupt, key_text(key) + " has no 'mda1' header"};
  return v;
}

status etcd_store::write(store_group g, const std::string& name, const std::string& aspect,
                         std::string_view bytes, bool create_only) {
  auto key = checked_key(g, name, aspect);
  if (!key) return key.error();
  if (g == store_group::none && (aspect == aspect::store_json || aspect == "store.lock"))
    return error{store_errc::invalid, "'" + aspect + "' is managed by the store itself"};
  std::string raw = etcd_value_header(opts_.clock());
  raw.append(bytes.data(), bytes.size());
  if (!create_only) {
    auto r = client_->put(*key, raw);
    OPENSSL_cleanse(raw.data(), raw.size());
    if (!r) return etcd_failed("writing " + key_text(*key), r.error());
    return {};
  }
  auto r = client_->txn({etcd::compare::absent(*key)}, {etcd::txn_op::put(*key, raw)});
  OPENSSL_cleanse(raw.data(), raw.size());
  if (!r) return etcd_failed("creating " + key_text(*key), r.error());
  if (!r->succeeded) return error{store_errc::exists, key_text(*key) + " already exists"};
  return {};
}

expected<std::string> etcd_store::load_text(store_group g, const std::string& name,
                                            const std::string& aspect) const {
  auto key = checked_key(g, name, aspect);
  if (!key) return key.error();
  auto v = read(*key);
  if (!v) return v.error();
  return std::move(v->bytes);
}

status etcd_store::save_text(store_group g, const std::string& name, const std::string& aspect,
                             std::string_view text, bool create_only) {
  return write(g, name, aspect, text, create_only);
}

expected<nlohmann::ordered_json> etcd_store::load_json(store_group g, const std::string& name,
                                                       const std::string& aspect) const {
  auto text = load_text(g, name, aspect);
  if (!text) return text.error();
  return parse_json(key_of(g, name, aspect), *text);
}

status etcd_store::save_json(store_group g, const std::string& name, const std::string& aspect,
                             const nlohmann::ordered_json& value, bool create_only) {
  return write(g, name, aspect, store_json_text(value), create_only);
}

expected<private_key> etcd_store::load_key(store_group g, const std::string& name,
                                           const std::string& aspect) const {
  auto pem = load_text(g, name, aspect);
  if (!pem) return pem.error();
  auto key = private_key::from_pem(*pem, &secret_, key_text(key_of(g, name, aspect)));
  OPENSSL_cleanse(pem->data(), pem->size());
  return key;
}

status etcd_store::save_key(store_group g, const std::string& name, const std::string& aspect,
                            const private_key& key, bool create_only) {
  auto pem = key.to_pem_encrypted(secret_); // in every group: see the header
  if (!pem) return pem.error();
  auto st = write(g, name, aspect, *pem, create_only);
  OPENSSL_cleanse(pem->data(), pem->size());
  return st;
}

bool etcd_store::exists(store_group g, const std::string& name, const std::string& aspect) const {
  auto key = checked_key(g, name, aspect);
  if (!key) return false;
  auto r = client_->get(*key);
  return r && !r->kvs.empty();
}

expected<store::time_point> etcd_store::modified(store_group g, const std::string& name,
                                                 const std::string& aspect) const {
  auto key = checked_key(g, name, aspect);
  if (!key) return key.error();
  auto v = read(*key);
  if (!v) return v.error();
  return v->modified;
}

expected<std::string> etcd_store::file_path(store_group g, const std::string& name,
                                            const std::string& aspect) const {
  return error{store_errc::invalid,
               "etcd_store has no files: " + key_text(key_of(g, name, aspect))};
}

// --- removing ------------------------------------------------------------------------------

status etcd_store::remove(store_group g, const std::string& name, const std::string& aspect,
                          bool force) {
  auto key = checked_key(g, name, aspect);
  if (!key) return key.error();
  if (g == store_group::none && (aspect == aspect::store_json || aspect == "store.lock"))
    return error{store_errc::invalid, "'" + aspect + "' is managed by the store itself"};
  auto n = client_->del(*key);
  if (!n) return etcd_failed("removing " + key_text(*key), n.error());
  if (*n == 0 && !force) return error{store_errc::not_found, key_text(*key) + " does not exist"};
  return {};
}

status etcd_store::purge(store_group g, const std::string& name) {
  if (g == store_group::none)
    return error{store_errc::invalid, "the top level of the store cannot be purged"};
  auto prefix = name_prefix(g, name);
  if (!prefix) return prefix.error();
  if (auto n = client_->del_prefix(*prefix); !n)
    return etcd_failed("removing etcd keys '" + *prefix + "*'", n.error());
  return {};
}

status etcd_store::remove_not_modified_since(store_group g, time_point since,
                                             const std::string& name_pattern,
                                             const std::string& aspect_pattern) {
  auto names = list_names(g, name_pattern);
  if (!names) return names.error();
  for (const auto& name : *names) {
    auto kvs = scan(key_of(g, name, ""), false);
    if (!kvs) return kvs.error();
    const size_t skip = key_of(g, name, "").size();
    for (const auto& kv : *kvs) {
      const std::string a = kv.key.substr(skip);
      if (!check_aspect(a) || !matches(aspect_pattern, a)) continue;
      std::string bytes;
      time_point when;
      if (!split_value(kv.value, bytes, when) || when >= since) continue;
      // only the value that was read: one rewritten meanwhile is new and stays
      auto r = client_->txn({etcd::compare::mod_revision_is(kv.key, kv.mod_revision)},
                            {etcd::txn_op::del(kv.key)});
      if (!r) return etcd_failed("removing " + key_text(kv.key), r.error());
    }
  }
  return {};
}

// --- listing -------------------------------------------------------------------------------

expected<std::vector<std::string>> etcd_store::list_names(store_group g,
                                                          const std::string& pattern) const {
  if (g == store_group::none)
    return error{store_errc::invalid, "store group 'none' has no names"};
  const std::string prefix = prefix_ + "/store/" + group_name(g) + "/";
  auto kvs = scan(prefix, true);
  if (!kvs) return kvs.error();
  std::vector<std::string> out;
  for (const auto& kv : *kvs) {
    const auto slash = kv.key.find('/', prefix.size());
    if (slash == std::string::npos) continue;
    std::string name = kv.key.substr(prefix.size(), slash - prefix.size());
    if (!out.empty() && out.back() == name) continue; // keys come sorted
    if (check_name(g, name) && matches(pattern, name)) out.push_back(std::move(name));
  }
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

expected<std::vector<std::string>> etcd_store::list_aspects(store_group g, const std::string& name,
                                                            const std::string& pattern) const {
  auto prefix = name_prefix(g, name);
  if (!prefix) return prefix.error();
  auto kvs = scan(*prefix, true);
  if (!kvs) return kvs.error();
  std::vector<std::string> out;
  for (const auto& kv : *kvs) {
    std::string a = kv.key.substr(prefix->size());
    if (check_aspect(a) && matches(pattern, a)) out.push_back(std::move(a));
  }
  return out;
}

// --- moving --------------------------------------------------------------------------------

expected<std::string> etcd_store::archive_slot(const std::string& name) const {
  const std::string prefix = key_of(store_group::archive, name + ".", "");
  auto kvs = scan(prefix.substr(0, prefix.size() - 1), true); // ".../archive/<name>."
  if (!kvs) return kvs.error();
  std::set<int> taken;
  const size_t from = prefix.size() - 1;
  for (const auto& kv : *kvs) {
    const auto slash = kv.key.find('/', from);
    if (slash == std::string::npos || slash == from || slash - from > 3) continue;
    const std::string n = kv.key.substr(from, slash - from);
    if (n.find_first_not_of("0123456789") == std::string::npos) taken.insert(std::stoi(n));
  }
  for (int n = 1; n < k_archive_max; ++n)
    if (!taken.count(n)) return name + "." + std::to_string(n);
  return error{store_errc::archive_full,
               "ran out of numbers less than 1000 while looking for a free '" +
                   key_of(store_group::archive, name, "") + "<n>' to archive; remove old "
                   "archive entries"};
}

expected<bool> etcd_store::apply(const std::vector<etcd::compare>& checks,
                                 const std::vector<etcd::txn_op>& puts,
                                 const std::vector<etcd::txn_op>& deletes,
                                 const std::string& what) {
  if (checks.size() <= k_etcd_txn_max_ops && puts.size() + deletes.size() <= k_etcd_txn_max_ops) {
    std::vector<etcd::txn_op> ops = puts;
    ops.insert(ops.end(), deletes.begin(), deletes.end());
    auto r = client_->txn(checks, ops);
    if (!r) return etcd_failed(what, r.error());
    return r->succeeded;
  }
  // Too large for one transaction: copies first, deletions last (see the header).
  for (const auto* ops : {&puts, &deletes}) {
    for (size_t i = 0; i < ops->size(); i += k_etcd_txn_max_ops) {
      const auto end = ops->begin() + std::min(ops->size(), i + k_etcd_txn_max_ops);
      auto r = client_->txn({}, std::vector<etcd::txn_op>(ops->begin() + i, end));
      if (!r) return etcd_failed(what, r.error());
    }
  }
  return true;
}

expected<bool> etcd_store::try_move(store_group from, store_group to, const std::string& name,
                                    bool archive) {
  const std::string src = key_of(from, name, ""), dst = key_of(to, name, "");
  auto have = scan(src, false);
  if (!have) return have.error();
  if (have->empty()) return error{store_errc::not_found, "etcd keys '" + src + "*' do not exist"};
  auto there = scan(dst, false);
  if (!there) return there.error();
  if (!there->empty() && !archive)
    return error{store_errc::exists, "etcd keys '" + dst + "*' already exist"};
  std::vector<etcd::compare> checks;
  std::vector<etcd::txn_op> puts, deletes;
  std::set<std::string> written;
  for (const auto& kv : *have) {
    checks.push_back(etcd::compare::mod_revision_is(kv.key, kv.mod_revision));
    puts.push_back(etcd::txn_op::put(dst + kv.key.substr(src.size()), kv.value));
    written.insert(puts.back().key);
  }
  if (!there->empty()) {
    auto slot = archive_slot(name);
    if (!slot) return slot.error();
    const std::string arc = key_of(store_group::archive, *slot, "");
    for (const auto& kv : *there) {
      checks.push_back(etcd::compare::mod_revision_is(kv.key, kv.mod_revision));
      puts.push_back(etcd::txn_op::put(arc + kv.key.substr(dst.size()), kv.value));
      // etcd refuses a put and a delete of the same key in one transaction
      if (!written.count(kv.key)) deletes.push_back(etcd::txn_op::del(kv.key));
    }
  }
  deletes.push_back(etcd::txn_op::del_prefix(src));
  return apply(checks, puts, deletes, "moving etcd keys '" + src + "*' to '" + dst + "*'");
}

status etcd_store::move(store_group from, store_group to, const std::string& name, bool archive) {
  if (from == to || from == store_group::none || to == store_group::none)
    return error{store_errc::invalid, std::string("cannot move from store group '") +
                                          group_name(from) + "' to '" + group_name(to) + "'"};
  if (auto p = name_prefix(from, name); !p) return p.error();
  for (int attempt = 0; attempt < k_txn_attempts; ++attempt) {
    auto done = try_move(from, to, name, archive);
    if (!done) return done.error();
    if (*done) return {};
  }
  return error{store_errc::io, "moving etcd keys '" + key_of(from, name, "") +
                                   "*': changed by another writer at each of 5 attempts"};
}

expected<bool> etcd_store::try_rename(store_group g, const std::string& from,
                                      const std::string& to) {
  const std::string src = key_of(g, from, ""), dst = key_of(g, to, "");
  auto have = scan(src, false);
  if (!have) return have.error();
  if (have->empty()) return true; // nothing to rename (md_store_rename)
  auto there = scan(dst, true);
  if (!there) return there.error();
  if (!there->empty()) return error{store_errc::exists, "etcd keys '" + dst + "*' already exist"};
  std::vector<etcd::compare> checks;
  std::vector<etcd::txn_op> puts;
  for (const auto& kv : *have) {
    const std::string target = dst + kv.key.substr(src.size());
    checks.push_back(etcd::compare::mod_revision_is(kv.key, kv.mod_revision));
    puts.push_back(etcd::txn_op::put(target, kv.value));
  }
  return apply(checks, puts, {etcd::txn_op::del_prefix(src)},
               "renaming etcd keys '" + src + "*' to '" + dst + "*'");
}

status etcd_store::rename(store_group g, const std::string& from, const std::string& to) {
  if (g == store_group::none) return error{store_errc::invalid, "store group 'none' has no names"};
  if (auto p = name_prefix(g, from); !p) return p.error();
  if (auto p = name_prefix(g, to); !p) return p.error();
  for (int attempt = 0; attempt < k_txn_attempts; ++attempt) {
    auto done = try_rename(g, from, to);
    if (!done) return done.error();
    if (*done) return {};
  }
  return error{store_errc::io, "renaming etcd keys '" + key_of(g, from, "") +
                                   "*': changed by another writer at each of 5 attempts"};
}

} // namespace mda
