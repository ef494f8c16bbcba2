// Store I/O in the User-owned groups (challenges/, staging/, ocsp/) against what code running as
// the User can put there: a symlink to a root-owned place instead of a name directory or a
// file, a file of a foreign owner. A temp store whose worker directories belong to www-data
// (uid 33) and a root-owned directory outside it; after each operation the outside is
// exactly as it was (mode, owner, content) and the error names the path. The tests run as
// root (the Apache parent's view); one forks a child that runs as the User.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/fs_io.hpp"
#include "store/fs_store.hpp"
#include "store/staging.hpp"
#include "tests/store/staging_test_util.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace mda::test;

namespace {

constexpr uid_t k_user = 33;       // www-data: the Apache User the worker dirs go to
constexpr uid_t k_stranger = 4321; // neither root nor the User

/// What a path is: type, mode, owner, and content for files (lstat: a link is itself).
struct entry_state {
  char type;
  unsigned mode;
  uid_t uid;
  gid_t gid;
  std::string content;
  bool operator==(const entry_state& o) const {
    return type == o.type && mode == o.mode && uid == o.uid && gid == o.gid && content == o.content;
  }
};

std::ostream& operator<<(std::ostream& os, const entry_state& e) {
  return os << e.type << " " << std::oct << e.mode << std::dec << " " << e.uid << ":" << e.gid
            << " '" << e.content << "'";
}

/// Every entry below `dir` (and `dir` itself as ""), by relative path.
std::map<std::string, entry_state> snapshot(const std::string& dir) {
  std::map<std::string, entry_state> out;
  auto add = [&](const std::string& rel, const std::string& path) {
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    const char type = S_ISDIR(st.st_mode) ? 'd' : S_ISLNK(st.st_mode) ? 'l' : 'f';
    out[rel] = {type, static_cast<unsigned>(st.st_mode & 07777), st.st_uid, st.st_gid,
                type == 'f' ? read_file(path) : std::string()};
  };
  add("", dir);
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    add(e.path().string().substr(dir.size()), e.path().string());
  return out;
}

bool is_link(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

bool absent(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) != 0 && errno == ENOENT;
}

void own(const std::string& path, uid_t uid) { REQUIRE(::lchown(path.c_str(), uid, uid) == 0); }

void link_to(const std::string& target, const std::string& link) {
  REQUIRE(::symlink(target.c_str(), link.c_str()) == 0);
}

/// A store handed to the User, and root's directory outside it with a root-only file.
struct user_store {
  temp_dir tmp;
  std::string base = tmp / "md";
  std::string outside = tmp / "root-only";
  fs_store st = fs_store::open(base).value();

  user_store() {
    REQUIRE(st.setup_worker_dirs(k_user, k_user));
    std::filesystem::create_directories(outside);
    REQUIRE(::chmod(outside.c_str(), 0700) == 0);
    write_file(outside + "/secret", "root's own\n");
    REQUIRE(::chmod((outside + "/secret").c_str(), 0600) == 0);
    before = snapshot(outside);
  }

  std::string at(const std::string& rel) const { return base + "/" + rel; }
  /// <base>/<rel> made by the User (a directory owned by it, as the engine leaves them).
  void user_dir(const std::string& rel) {
    std::filesystem::create_directories(at(rel));
    own(at(rel), k_user);
  }
  /// <base>/<rel> written with `content` and given to `uid`, its directory made as needed.
  void file_of(const std::string& rel, const std::string& content, uid_t uid) {
    std::filesystem::create_directories(fsio::parent_dir(at(rel)));
    write_file(at(rel), content);
    own(at(rel), uid);
  }
  void outside_unchanged() const { CHECK(snapshot(outside) == before); }

  std::map<std::string, entry_state> before;
};

std::string refused_link(const std::string& path) { return "'" + path + "' is a symbolic link, refused"; }

std::string refused_owner(const std::string& path) {
  return "'" + path + "' is owned by uid 4321, neither root nor the User (uid 33), refused";
}

} // namespace

TEST_CASE("store safety: the expected layout: 2 entries outside, root's, exact", "[store][safety]") {
  user_store u;
  REQUIRE(::geteuid() == 0); // the tests take the Apache parent's view
  CHECK(u.before.size() == 2);
  CHECK(u.before.at("") == entry_state{'d', 0700, 0, 0, ""});
  CHECK(u.before.at("/secret") == entry_state{'f', 0600, 0, 0, "root's own\n"});
}

TEST_CASE("store safety: staging/<md> as a symlink to root's directory", "[store][safety]") {
  user_store u;
  const std::string dir = u.at("staging/a.org");
  link_to(u.outside, dir);

  SECTION("save refuses, naming the link") {
    auto s = u.st.save_text(store_group::staging, "a.org", aspect::job, "{}");
    REQUIRE_FALSE(s);
    CHECK(s.error().code == store_errc::refused);
    CHECK(s.error().message == refused_link(dir));
    CHECK(is_link(dir));
  }
  SECTION("reading refuses, listing skips it, exists says no") {
    auto t = u.st.load_text(store_group::staging, "a.org", "secret");
    REQUIRE_FALSE(t);
    CHECK(t.error().message == refused_link(dir));
    CHECK_FALSE(u.st.exists(store_group::staging, "a.org", "secret"));
    CHECK(u.st.list_names(store_group::staging)->empty());
    auto l = u.st.list_aspects(store_group::staging, "a.org");
    REQUIRE_FALSE(l);
    CHECK(l.error().message == refused_link(dir));
    auto m = u.st.modified(store_group::staging, "a.org", "secret");
    REQUIRE_FALSE(m);
    CHECK(m.error().message == refused_link(dir));
  }
  SECTION("remove refuses: the link is the directory, not the file") {
    auto s = u.st.remove(store_group::staging, "a.org", "secret", true);
    REQUIRE_FALSE(s);
    CHECK(s.error().message == refused_link(dir));
  }
  SECTION("ensure_dir refuses to chmod through it") {
    auto s = fsio::ensure_dir(dir, 0755);
    REQUIRE_FALSE(s);
    CHECK(s.error().message == refused_link(dir));
  }
  SECTION("purge removes the link only") {
    REQUIRE(u.st.purge(store_group::staging, "a.org"));
    CHECK(absent(dir));
  }
  SECTION("moving it away refuses") {
    auto s = u.st.move(store_group::staging, store_group::domains, "a.org", true);
    REQUIRE_FALSE(s);
    CHECK(s.error().message == refused_link(dir));
    CHECK(absent(u.at("domains/a.org")));
  }
  u.outside_unchanged();
}

TEST_CASE("store safety: a symlinked file inside staging/<md>", "[store][safety]") {
  user_store u;
  u.user_dir("staging/a.org");
  const std::string file = u.at("staging/a.org/pubcert.pem");
  link_to(u.outside + "/secret", file);

  SECTION("reading refuses, naming the file") {
    auto t = u.st.load_text(store_group::staging, "a.org", "pubcert.pem");
    REQUIRE_FALSE(t);
    CHECK(t.error().code == store_errc::refused);
    CHECK(t.error().message == refused_link(file));
    CHECK_FALSE(u.st.exists(store_group::staging, "a.org", "pubcert.pem"));
    CHECK(*u.st.list_aspects(store_group::staging, "a.org") == std::vector<std::string>{});
    auto m = u.st.modified(store_group::staging, "a.org", "pubcert.pem");
    REQUIRE_FALSE(m);
    CHECK(m.error().message == refused_link(file));
  }
  SECTION("a save replaces the link, never writes through it") {
    REQUIRE(u.st.save_text(store_group::staging, "a.org", "pubcert.pem", "new"));
    CHECK_FALSE(is_link(file));
    CHECK(read_file(file) == "new");
  }
  SECTION("a create-only save finds it taken") {
    auto s = u.st.save_text(store_group::staging, "a.org", "pubcert.pem", "new", true);
    REQUIRE_FALSE(s);
    CHECK(s.error().code == store_errc::exists);
    CHECK(s.error().message == "'" + file + "' already exists");
    CHECK(is_link(file));
    CHECK(absent(file + ".tmp"));
  }
  SECTION("a temp file name that is a link is taken over as stale, not written through") {
    link_to(u.outside + "/secret", file + ".tmp");
    fs_store_options o;
    o.tmp_attempts = 1;
    o.tmp_retry_delay = std::chrono::milliseconds(1);
    auto st = fs_store::open(u.base, o).value();
    REQUIRE(st.save_text(store_group::staging, "a.org", "pubcert.pem", "new"));
    CHECK(read_file(file) == "new");
    CHECK(absent(file + ".tmp"));
  }
  SECTION("remove unlinks the link itself") {
    REQUIRE(u.st.remove(store_group::staging, "a.org", "pubcert.pem"));
    CHECK(absent(file));
  }
  SECTION("purge walks the directory without following the link") {
    REQUIRE(u.st.purge(store_group::staging, "a.org"));
    CHECK(absent(u.at("staging/a.org")));
  }
  u.outside_unchanged();
}

TEST_CASE("store safety: a symlinked directory deeper in a purged tree", "[store][safety]") {
  user_store u;
  u.user_dir("staging/a.org/sub");
  write_file(u.at("staging/a.org/sub/f"), "x");
  link_to(u.outside, u.at("staging/a.org/sub/into-root"));
  link_to(u.outside, u.at("staging/a.org/also"));
  REQUIRE(u.st.purge(store_group::staging, "a.org"));
  CHECK(absent(u.at("staging/a.org")));
  u.outside_unchanged();
}

TEST_CASE("store safety: challenges/<name> and ocsp/<md> as symlinks", "[store][safety]") {
  user_store u;
  const std::string chal = u.at("challenges/a.org");
  const std::string ocsp = u.at("ocsp/a.org");
  link_to(u.outside, chal);
  link_to(u.outside, ocsp);

  auto s = u.st.save_text(store_group::challenges, "a.org", aspect::http01, "token.key");
  REQUIRE_FALSE(s);
  CHECK(s.error().message == refused_link(chal));
  s = u.st.save_json(store_group::ocsp, "a.org", "ocsp-00.json", nlohmann::ordered_json::object());
  REQUIRE_FALSE(s);
  CHECK(s.error().message == refused_link(ocsp));
  auto t = u.st.load_text(store_group::ocsp, "a.org", "secret");
  REQUIRE_FALSE(t);
  CHECK(t.error().message == refused_link(ocsp));
  // the cleanup of old responses does not see it as a name
  CHECK(u.st.remove_not_modified_since(store_group::ocsp, store::time_point::max(), "*", "*"));
  CHECK(u.st.list_names(store_group::challenges)->empty());
  CHECK(is_link(ocsp));

  REQUIRE(u.st.purge(store_group::challenges, "a.org"));
  REQUIRE(u.st.purge(store_group::ocsp, "a.org"));
  CHECK(absent(chal));
  CHECK(absent(ocsp));
  u.outside_unchanged();
}

TEST_CASE("store safety: root refuses entries of a foreign owner in the User's groups",
          "[store][safety]") {
  user_store u;
  u.user_dir("staging/a.org");
  u.file_of("staging/a.org/md.json", "{}", k_stranger);
  u.user_dir("challenges/b.org");
  own(u.at("challenges/b.org"), k_stranger);

  auto j = u.st.load_json(store_group::staging, "a.org", aspect::md);
  REQUIRE_FALSE(j);
  CHECK(j.error().code == store_errc::refused);
  CHECK(j.error().message == refused_owner(u.at("staging/a.org/md.json")));
  auto s = u.st.save_text(store_group::challenges, "b.org", aspect::http01, "x");
  REQUIRE_FALSE(s);
  CHECK(s.error().message == refused_owner(u.at("challenges/b.org")));
  CHECK(absent(u.at("challenges/b.org/acme-http-01.txt")));
  // files of the User and of root are fine
  u.file_of("staging/a.org/job.json", "{\"a\": 1}", k_user);
  CHECK(*u.st.load_text(store_group::staging, "a.org", aspect::job) == "{\"a\": 1}");
  REQUIRE(u.st.save_text(store_group::staging, "a.org", aspect::order, "{}"));
  CHECK(*u.st.load_text(store_group::staging, "a.org", aspect::order) == "{}");
  // the groups root alone writes are not the User's: no owner rule there
  u.file_of("domains/c.org/md.json", "{}", k_stranger);
  CHECK(*u.st.load_text(store_group::domains, "c.org", aspect::md) == "{}");
  // removing is not refused
  REQUIRE(u.st.purge(store_group::challenges, "b.org"));
  REQUIRE(u.st.remove(store_group::staging, "a.org", aspect::md));
  CHECK(absent(u.at("challenges/b.org")));
  CHECK(absent(u.at("staging/a.org/md.json")));
}

TEST_CASE("store safety: before setup_worker_dirs root trusts the owner of the group directory",
          "[store][safety]") {
  user_store u;
  u.user_dir("staging/a.org");
  u.file_of("staging/a.org/job.json", "{}", k_user);
  u.file_of("staging/a.org/md.json", "{}", k_stranger);
  auto fresh = fs_store::open(u.base).value(); // as the parent's first pass opens it
  CHECK(*fresh.load_text(store_group::staging, "a.org", aspect::job) == "{}");
  auto j = fresh.load_text(store_group::staging, "a.org", aspect::md);
  REQUIRE_FALSE(j);
  CHECK(j.error().message == refused_owner(u.at("staging/a.org/md.json")));
}

TEST_CASE("store safety: a process running as the User refuses symlinks only", "[store][safety]") {
  user_store u;
  u.user_dir("staging/a.org");
  u.file_of("staging/a.org/md.json", "{}", k_stranger);
  link_to(u.outside + "/secret", u.at("staging/a.org/pubcert.pem"));
  REQUIRE(::chmod(u.tmp.path().c_str(), 0755) == 0);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    if (::setgid(k_user) != 0 || ::setuid(k_user) != 0) ::_exit(10);
    auto j = u.st.load_text(store_group::staging, "a.org", aspect::md);
    if (!j || *j != "{}") ::_exit(11);
    auto p = u.st.load_text(store_group::staging, "a.org", "pubcert.pem");
    if (p || p.error().message != refused_link(u.at("staging/a.org/pubcert.pem"))) ::_exit(12);
    if (!u.st.save_text(store_group::staging, "a.org", aspect::job, "{}")) ::_exit(13);
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  struct stat st {};
  REQUIRE(::stat(u.at("staging/a.org/job.json").c_str(), &st) == 0);
  CHECK(st.st_uid == k_user);
  u.outside_unchanged();
}

TEST_CASE("store safety: a tree nested too deep is not walked", "[store][safety]") {
  temp_dir t;
  std::string p = t / "deep";
  for (int i = 0; i < 40; ++i) p += "/d";
  std::filesystem::create_directories(p);
  auto s = fsio::remove_tree(t / "deep");
  REQUIRE_FALSE(s);
  std::string at32 = t / "deep";
  for (int i = 0; i < 32; ++i) at32 += "/d";
  CHECK(s.error().message == "'" + at32 + "' is nested more than 32 levels deep, not removed");
}

namespace {

/// A live set in domains/, the next one staged; the outside holds a complete staged set of
/// its own (as an attacker would copy it there), root's.
struct staged_attack : user_store {
  managed_domain md = staging_md({});
  std::string live;
  std::string staged_dir = at("staging/" + md.name);

  staged_attack() {
    REQUIRE(write_staging(st, md, make_staged_certs(md), staged_job(md.name), std::nullopt));
    REQUIRE(*activate_staging(st, md.name));
    live = read_file(at("domains/" + md.name + "/pubcert.pem"));
    REQUIRE(write_staging(st, md, make_staged_certs(md), staged_job(md.name), std::nullopt));
    const auto staged_files = st.list_aspects(store_group::staging, md.name).value();
    for (const auto& f : staged_files) std::filesystem::copy_file(staged_dir + "/" + f, outside + "/" + f);
    before = snapshot(outside);
  }

  /// Activation fails with `message`; domains/ keeps the live set, nothing archived, the
  /// staged entry is gone (a link removed as a link), the outside untouched.
  void refused(const std::string& message) {
    auto r = activate_staging(st, md.name);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == store_errc::refused);
    CHECK(r.error().message == message);
    CHECK(read_file(at("domains/" + md.name + "/pubcert.pem")) == live);
    CHECK(absent(at("archive/" + md.name + ".1")));
    CHECK(absent(staged_dir));
    outside_unchanged();
  }
};

} // namespace

std::string activation_error(const std::string& reason) {
  return "activating the staged set of 'example.org': loading the staged set: " + reason;
}

TEST_CASE_METHOD(staged_attack, "store safety: activation refuses staging/<md> as a symlink",
                 "[store][safety][staging]") {
  std::filesystem::remove_all(staged_dir);
  link_to(outside, staged_dir);
  refused(activation_error(refused_link(staged_dir)));
}

TEST_CASE_METHOD(staged_attack, "store safety: activation refuses a symlinked staged certificate",
                 "[store][safety][staging]") {
  std::filesystem::remove(staged_dir + "/pubcert.pem");
  link_to(outside + "/pubcert.pem", staged_dir + "/pubcert.pem");
  refused(activation_error(refused_link(staged_dir + "/pubcert.pem")));
}

TEST_CASE_METHOD(staged_attack, "store safety: activation refuses a staged file of a foreign owner",
                 "[store][safety][staging]") {
  own(staged_dir + "/md.json", k_stranger);
  refused(activation_error(refused_owner(staged_dir + "/md.json")));
}

TEST_CASE_METHOD(staged_attack, "store safety: filing a staged account refuses a symlinked account",
                 "[store][safety][staging]") {
  write_file(outside + "/account.json", to_json(staged_acct().file).dump(2));
  before = snapshot(outside);
  link_to(outside + "/account.json", staged_dir + "/account.json");
  refused(activation_error(refused_link(staged_dir + "/account.json")));
  CHECK(st.list_names(store_group::accounts)->empty());
}

TEST_CASE_METHOD(staged_attack, "store safety: a staged set of the User's own is activated",
                 "[store][safety][staging]") {
  const auto staged_files = st.list_aspects(store_group::staging, md.name).value();
  for (const auto& f : staged_files) own(staged_dir + "/" + f, k_user);
  own(staged_dir, k_user);
  auto r = activate_staging(st, md.name);
  REQUIRE(r);
  CHECK(*r);
  CHECK(read_file(at("domains/" + md.name + "/pubcert.pem")) == read_file(outside + "/pubcert.pem"));
  CHECK(read_file(at("archive/" + md.name + ".1/pubcert.pem")) == live);
  outside_unchanged();
}
