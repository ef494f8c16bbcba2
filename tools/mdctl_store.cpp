// `mdctl store migrate`: copies a whole store between the file store (fs_store.hpp) and etcd
// (cluster/etcd_store.hpp), in either direction, through the store interface.
//
// - Every group, name and aspect is copied; md_store.json and store.lock are the stores' own
//   (not copied), and so is the engine's <DIR>/mdactor/ (its live copies, its socket).
// - Text is copied byte for byte; JSON too (written with save_json when the bytes are what
//   save_json writes, so fs_store gives an EAB hmac its restricted mode, else as text); private
//   keys (content with "PRIVATE KEY-----") are loaded and saved again, so each store encrypts
//   them its own way with the one secret (etcd: every group; files: by group).
// - The secret is the file store's md_store.json "key". file -> etcd: DIR's; etcd checks it
//   against its fingerprint (etcd_store::open). etcd -> file: DIR must hold md_store.json
//   with the cluster's secret, or --secret-from names another md_store.json, which is then
//   copied into DIR (0600). Otherwise refused, saying why.
// - Modification times are kept: in etcd's value header, and on the files with utimensat.
// - The target must be empty (files: no file in DIR but md_store.json and store.lock; etcd:
//   no key under <prefix>/store/ but md_store.json) unless --force, which copies over what is
//   there (same keys replaced, others left).
// - Files are written with fs_store's modes; the User's groups are handed to the User by the
//   server's next start (setup_worker_dirs), not here. Run as root or as DIR's owner.
// Exit 0 when everything was copied; 1 with every failure named (the copy goes on past a
// failed key); 2 on bad usage.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>

#include "cluster/etcd_store.hpp"
#include "core/base64.hpp"
#include "store/fs_store.hpp"
#include "tools/mdctl_admin.hpp"

namespace mda::mdctl {

const char* const k_store_usage =
    "  store migrate --from DIR --to etcd ENDPOINTS [--prefix P] [--ca F --cert F --key F]\n"
    "                [--force]\n"
    "  store migrate --from etcd ENDPOINTS --to DIR [--secret-from FILE] [--prefix P] ...\n"
    "      Copy every group, name and file of one store into the other (the file store DIR,\n"
    "      etcd under the prefix P, default /mdactor), keeping contents and modification\n"
    "      times; keys re-encrypted with the same secret (DIR's md_store.json; into a DIR\n"
    "      without one, --secret-from names a copy of the cluster's). The target must be\n"
    "      empty unless --force. ENDPOINTS: http(s)://host:port[,...].\n";

namespace {

const char* const k_cmd = "store migrate";
namespace fs = std::filesystem;

struct side {
  bool etcd = false;
  std::string where; ///< the directory, or the endpoints
};

struct migrate_args {
  side from, to;
  std::string prefix = "/mdactor";
  etcd::client_options tls; ///< ca_file, cert_file, key_file
  std::string secret_from;
  bool force = false;
};

std::vector<std::string> split_endpoints(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    const auto comma = std::min(list.find(',', start), list.size());
    if (comma > start) out.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

expected<migrate_args> parse(const std::vector<std::string>& args) {
  auto bad = [](const std::string& m) {
    return error(std::make_error_code(std::errc::invalid_argument), m);
  };
  migrate_args a;
  bool have_from = false, have_to = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& o = args[i];
    if (o == "--force") {
      a.force = true;
      continue;
    }
    if (i + 1 >= args.size()) return bad(o.rfind("--", 0) == 0 ? o + " needs a value"
                                                                : "unexpected argument '" + o + "'");
    if (o == "--from" || o == "--to") {
      side s;
      s.where = args[++i];
      if (s.where == "etcd") {
        if (i + 1 >= args.size()) return bad(o + " etcd needs the endpoints");
        s.etcd = true;
        s.where = args[++i];
      }
      (o == "--from" ? a.from : a.to) = s;
      (o == "--from" ? have_from : have_to) = true;
    } else if (o == "--prefix") a.prefix = args[++i];
    else if (o == "--ca") a.tls.ca_file = args[++i];
    else if (o == "--cert") a.tls.cert_file = args[++i];
    else if (o == "--key") a.tls.key_file = args[++i];
    else if (o == "--secret-from") a.secret_from = args[++i];
    else return bad("unknown argument '" + o + "'");
  }
  if (!have_from || !have_to) return bad("--from and --to are both needed");
  if (a.from.etcd == a.to.etcd) return bad("one side must be a directory, the other etcd");
  return a;
}

/// Running as root or as the owner of `dir` (when it exists).
status check_owner(const std::string& dir) {
  struct stat st {};
  if (::geteuid() == 0 || ::stat(dir.c_str(), &st) != 0 || st.st_uid == ::geteuid()) return {};
  return error(store_errc::refused, "run as root or as the owner of '" + dir + "' (uid " +
                                        std::to_string(st.st_uid) + ")");
}

/// No file in DIR but md_store.json and store.lock.
bool dir_empty(const std::string& dir) {
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory()) continue;
    const auto rel = fs::relative(it->path(), dir).string();
    if (rel != aspect::store_json && rel != "store.lock") return false;
  }
  return true;
}

/// The 48-byte secret of an md_store.json file and its bytes.
expected<std::pair<std::string, std::string>> read_store_json(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return error(store_errc::not_found, "cannot read '" + file + "'");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("key") || !j["key"].is_string())
    return error(store_errc::corrupt, "'" + file + "' is not an md_store.json (no \"key\")");
  auto key = base64url_decode(j["key"].get<std::string>());
  if (!key || key->size() != k_store_secret_len)
    return error(store_errc::corrupt, "'" + file + "': \"key\" is not 48 bytes of base64url");
  return std::make_pair(std::move(*key), std::move(text));
}

/// Writes DIR/md_store.json (0600, never over an existing one), DIR made 0755 when missing.
status install_store_json(const std::string& dir, const std::string& text) {
  std::error_code ec;
  if (fs::create_directories(dir, ec)) ::chmod(dir.c_str(), 0755);
  const std::string path = dir + "/" + aspect::store_json;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return error(store_errc::io, "creating '" + path + "': " + std::strerror(errno));
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return error(store_errc::io, "writing '" + path + "' failed");
  return {};
}

/// Keys under the etcd store's prefix other than md_store.json.
expected<bool> etcd_empty(const etcd::client& c, const etcd_store& es) {
  auto r = c.get_prefix(es.prefix() + "/store/", 2, true);
  if (!r) return r.error();
  const std::string own = es.key_of(store_group::none, "", aspect::store_json);
  for (const auto& kv : r->kvs)
    if (kv.key != own) return false;
  return true;
}

bool is_key_pem(const std::string& text) { return text.find("PRIVATE KEY-----") != std::string::npos; }

/// Where the copy is: the modification time of the file being copied, for the target.
struct stamp {
  store::time_point when;
};

/// One aspect from `from` to `to`.
status copy_aspect(const store& from, store& to, store_group g, const std::string& name,
                   const std::string& a) {
  auto text = from.load_text(g, name, a);
  if (!text) return text.error();
  if (is_key_pem(*text)) {
    auto key = from.load_key(g, name, a);
    if (!key) return key.error();
    return to.save_key(g, name, a, *key);
  }
  if (a.size() > 5 && a.compare(a.size() - 5, 5, ".json") == 0) {
    auto j = nlohmann::ordered_json::parse(*text, nullptr, false);
    if (!j.is_discarded() && store_json_text(j) == *text) return to.save_json(g, name, a, j);
  }
  return to.save_text(g, name, a, *text);
}

/// Sets a copied file's times (files only).
void keep_time(const store& to, store_group g, const std::string& name, const std::string& a,
               store::time_point when) {
  auto path = to.file_path(g, name, a);
  if (!path) return; // etcd: the time went into the value
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(when.time_since_epoch());
  struct timespec t[2];
  t[0].tv_sec = t[1].tv_sec = static_cast<time_t>(ns.count() / 1000000000);
  t[0].tv_nsec = t[1].tv_nsec = static_cast<long>(ns.count() % 1000000000);
  ::utimensat(AT_FDCWD, path->c_str(), t, AT_SYMLINK_NOFOLLOW);
}

/// Copies everything; prints per group; the number of failures.
int copy_all(const store& from, store& to, stamp& now) {
  int failures = 0;
  auto complain = [&](const error& e) {
    std::cerr << "mdctl " << k_cmd << ": " << e.message << "\n";
    ++failures;
  };
  for (store_group g : k_store_groups) {
    std::vector<std::string> names{""};
    if (g != store_group::none) {
      auto listed = from.list_names(g);
      if (!listed) {
        complain(listed.error());
        continue;
      }
      names = std::move(*listed);
    }
    size_t files = 0;
    for (const auto& name : names) {
      auto aspects = from.list_aspects(g, name);
      if (!aspects) {
        complain(aspects.error());
        continue;
      }
      for (const auto& a : *aspects) {
        if (g == store_group::none && (a == aspect::store_json || a == "store.lock")) continue;
        auto when = from.modified(g, name, a);
        if (!when) {
          complain(when.error());
          continue;
        }
        now.when = *when;
        if (auto st = copy_aspect(from, to, g, name, a); !st) {
          complain(st.error());
          continue;
        }
        keep_time(to, g, name, a, *when);
        ++files;
      }
    }
    std::cout << "  " << group_name(g) << ": ";
    if (g != store_group::none) std::cout << names.size() << (names.size() == 1 ? " name, " : " names, ");
    std::cout << files << (files == 1 ? " file\n" : " files\n");
  }
  return failures;
}

struct opened {
  std::shared_ptr<etcd::client> client;
  std::optional<fs_store> files;
  std::optional<etcd_store> etcd;
};

/// Opens both stores as the direction needs; refusals explain themselves.
expected<opened> open_stores(const migrate_args& a, const std::string& dir,
                             std::shared_ptr<stamp> now) {
  opened o;
  auto opts = a.tls;
  opts.endpoints = split_endpoints(a.from.etcd ? a.from.where : a.to.where);
  auto c = etcd::client::make(opts);
  if (!c) return c.error();
  o.client = *c;
  etcd_store_options eo;
  eo.clock = [now] { return now->when; };
  eo.create = a.to.etcd;
  const std::string store_json = dir + "/" + aspect::store_json;
  const bool has_secret = fs::exists(store_json);
  if (a.from.etcd) { // etcd -> DIR
    if (!a.force && !dir_empty(dir))
      return error(store_errc::exists, "'" + dir + "' holds files already; --force copies over them");
    std::string secret, text;
    if (has_secret) {
      auto f = fs_store::open(dir);
      if (!f) return f.error();
      secret = f->secret();
      o.files.emplace(std::move(*f));
    } else if (!a.secret_from.empty()) {
      auto sj = read_store_json(a.secret_from);
      if (!sj) return sj.error();
      secret = std::move(sj->first);
      text = std::move(sj->second);
    } else {
      return error(store_errc::refused,
                   "'" + store_json + "' does not exist: the keys need the cluster's store secret; "
                   "copy md_store.json from a node of the cluster into '" + dir +
                   "' (as root, mode 0600) or name it with --secret-from FILE");
    }
    auto e = etcd_store::open(o.client, a.prefix, secret, eo);
    if (!e) return e.error();
    o.etcd.emplace(std::move(*e));
    if (!o.files) {
      if (auto st = install_store_json(dir, text); !st) return st.error();
      auto f = fs_store::open(dir);
      if (!f) return f.error();
      o.files.emplace(std::move(*f));
    }
    return o;
  }
  if (!has_secret) // DIR -> etcd
    return error(store_errc::not_found, "'" + store_json + "' does not exist: '" + dir +
                                            "' is not a store directory");
  auto f = fs_store::open(dir);
  if (!f) return f.error();
  auto e = etcd_store::open(o.client, a.prefix, f->secret(), eo);
  if (!e) return e.error();
  o.files.emplace(std::move(*f));
  o.etcd.emplace(std::move(*e));
  auto empty = etcd_empty(*o.client, *o.etcd);
  if (!empty) return empty.error();
  if (!*empty && !a.force)
    return error(store_errc::exists, "etcd already holds keys under '" + a.prefix +
                                         "/store/'; --force copies over them");
  return o;
}

int migrate(const std::vector<std::string>& args) {
  auto a = parse(args);
  if (!a) return usage_fail(k_cmd, a.error().message, k_store_usage);
  const std::string dir = a->from.etcd ? a->to.where : a->from.where;
  if (auto st = check_owner(dir); !st) return fail(k_cmd, st.error().message);
  auto now = std::make_shared<stamp>(stamp{std::chrono::system_clock::now()}); // md_store.json's
  auto o = open_stores(*a, dir, now);
  if (!o) return fail(k_cmd, o.error().message);
  const std::string etcd_name = "etcd " + (a->from.etcd ? a->from.where : a->to.where) +
                                " prefix '" + a->prefix + "'";
  std::cout << "copying " << (a->from.etcd ? etcd_name : "'" + dir + "'") << " to "
            << (a->from.etcd ? "'" + dir + "'" : etcd_name) << "\n";
  const store& from = a->from.etcd ? static_cast<const store&>(*o->etcd) : *o->files;
  store& to = a->from.etcd ? static_cast<store&>(*o->files) : *o->etcd;
  const int failures = copy_all(from, to, *now);
  if (failures > 0) return fail(k_cmd, std::to_string(failures) + " failed, see above");
  std::cout << "done\n";
  return 0;
}

} // namespace

int store_main(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << "usage:\n" << k_store_usage;
    return args.empty() ? 2 : 0;
  }
  if (args[0] != "migrate") return usage_fail("store", "unknown subcommand '" + args[0] + "'", k_store_usage);
  return migrate(std::vector<std::string>(args.begin() + 1, args.end()));
}

} // namespace mda::mdctl
