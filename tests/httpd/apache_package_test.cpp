// End to end (issue 19 item 1): the Debian package libapache2-mod-mdactor, built from this
// tree with dpkg-buildpackage in a temporary copy (tests/support/deb_package.hpp), once for
// the whole test case (it compiles the module and the tools: 16.5 CPU minutes, docs/package.md).
// - contents: the package's name and version (the project's, -1), its files, conffiles, no
//   enabling postinst, tools answering --help, man pages;
// - the unpacked module, loaded through the shipped mdactor.load (its module path moved into
//   the unpacked root) and mdactor.conf by a private Apache, gets pebble's certificate for an
//   MD and serves it;
// - Debian's real /usr/sbin/a2enmod on a temporary copy of /etc/apache2 (APACHE_CONFDIR, and
//   APACHE_STATE_DIRECTORY for its markers): `a2enmod mdactor` refuses while md is enabled,
//   `a2dismod md && a2enmod mdactor` switches, `a2dismod mdactor && a2enmod md` switches back;
// - lintian reports no error.
// Tag [package].
#include <catch2/catch.hpp>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "tests/support/deb_package.hpp"
#include "tests/support/md_site.hpp"
#include "tests/test_util.hpp"

using namespace mda::test;
namespace fs = std::filesystem;

namespace {

const std::string k_source_dir = std::string(MDACTOR_TESTS_DIR) + "/..";
const std::string k_mods = "/etc/apache2/mods-available/";

const std::string k_shipped_load =
    "# Depends: ssl\n"
    "# Conflicts: md\n"
    "# mdactor replaces mod_md (it registers as mod_md.c): enable one of the two, never both.\n"
    "LoadModule md_module /usr/lib/apache2/modules/mod_mdactor.so\n";

const deb_package& package() {
  const deb_package& p = package_of_tree(k_source_dir);
  INFO(p.build_log());
  REQUIRE(p.build_exit == 0);
  REQUIRE(!p.deb.empty());
  REQUIRE(!p.root.empty());
  return p;
}

/// The regular files and links of the package, as `dpkg-deb -c` lists them ("./usr/bin/mdctl").
std::set<std::string> files_of(const std::string& deb) {
  std::set<std::string> out;
  const std::string listing = run({"dpkg-deb", "-c", deb}).output;
  size_t at = 0;
  while (at < listing.size()) {
    const size_t end = listing.find('\n', at);
    const std::string line = listing.substr(at, end == std::string::npos ? std::string::npos : end - at);
    at = end == std::string::npos ? listing.size() : end + 1;
    if (line.empty() || line[0] == 'd') continue;
    const size_t path = line.find(" ./");
    out.insert(line.substr(path + 1, line.find(" -> ") == std::string::npos ? std::string::npos
                                                                             : line.find(" -> ") - path - 1));
  }
  return out;
}

std::string field(const std::string& deb, const std::string& name) {
  std::string v = run({"dpkg-deb", "-f", deb, name}).output;
  while (!v.empty() && v.back() == '\n') v.pop_back();
  return v;
}

/// The shipped mdactor.load with the module's installed path replaced by the unpacked one.
std::string unpacked_load(const deb_package& p) {
  std::string load = read_file(p.root + k_mods + "mdactor.load");
  REQUIRE(load == k_shipped_load);
  const std::string installed = "/usr/lib/apache2/modules/";
  load.replace(load.find(installed), installed.size(), p.root + installed);
  return load;
}

/// `r` ended with `code` and printed `text`.
void check_ran(const run_result& r, int code, const std::string& text) {
  INFO(r.output);
  CHECK(r.exit_code == code);
  CHECK(r.output.find(text) != std::string::npos);
}

std::string gunzipped(const std::string& path) { return run({"gzip", "-dc", path}).output; }

/// A copy of the machine's /etc/apache2 with the package's mods-available files in it, md and
/// mdactor disabled, and a2enmod / a2dismod pointed at it.
struct apache_conf_copy {
  temp_dir dir;
  std::string conf = dir / "etc/apache2";
  std::string state = dir / "var/lib/apache2";

  explicit apache_conf_copy(const std::string& package_root) {
    fs::create_directories(dir / "etc");
    fs::create_directories(state);
    fs::copy("/etc/apache2", conf, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
    for (const char* name : {"md.load", "md.conf", "mdactor.load", "mdactor.conf"})
      fs::remove(conf + "/mods-enabled/" + name);
    for (const char* name : {"mdactor.load", "mdactor.conf"})
      fs::copy_file(package_root + k_mods + name, conf + "/mods-available/" + name,
                    fs::copy_options::overwrite_existing);
  }

  /// `/usr/sbin/<tool> <args>` (a2enmod or a2dismod) on the copy.
  run_result a2(const std::string& tool, const std::vector<std::string>& args) const {
    std::vector<std::string> argv{"env", "APACHE_CONFDIR=" + conf, "APACHE_ENVVARS=" + conf + "/envvars",
                                  "APACHE_STATE_DIRECTORY=" + state, "/usr/sbin/" + tool};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
  }

  bool enabled(const std::string& file) const { return fs::is_symlink(conf + "/mods-enabled/" + file); }
  std::string link(const std::string& file) const { return fs::read_symlink(conf + "/mods-enabled/" + file); }
};

} // namespace

TEST_CASE("the Debian package libapache2-mod-mdactor built from the tree", "[package]") {
  const deb_package& p = package();
  WARN("dpkg-buildpackage took " << static_cast<int>(p.build_seconds) << " s");

  SECTION("name, version, files, maintainer scripts, tools and man pages") {
    CHECK(fs::path(p.deb).filename() == deb_file_name(std::string(MDACTOR_VERSION) + "-1"));
    CHECK(field(p.deb, "Package") == "libapache2-mod-mdactor");
    CHECK(field(p.deb, "Source") == "mdactor");
    CHECK(field(p.deb, "Version") == std::string(MDACTOR_VERSION) + "-1");
    CHECK(field(p.deb, "Section") == "httpd");
    const std::string depends = field(p.deb, "Depends");
    INFO(depends);
    CHECK(depends.find("apache2-api-20120211") != std::string::npos);
    CHECK(depends.find("apache2-bin (>= 2.4.16)") != std::string::npos);

    const std::set<std::string> files = files_of(p.deb);
    INFO(run({"dpkg-deb", "-c", p.deb}).output);
    for (const char* f : {"./etc/apache2/mods-available/mdactor.load", "./etc/apache2/mods-available/mdactor.conf",
                          "./usr/lib/apache2/modules/mod_mdactor.so", "./usr/bin/mdctl", "./usr/bin/a2md",
                          "./usr/bin/md-replay", "./usr/share/man/man1/mdctl.1.gz", "./usr/share/man/man1/a2md.1.gz",
                          "./usr/share/man/man1/md-replay.1.gz", "./usr/share/doc/libapache2-mod-mdactor/copyright",
                          "./usr/share/doc/libapache2-mod-mdactor/changelog.Debian.gz"})
      CHECK(files.count(f) == 1);
    CHECK(read_file(p.root + k_mods + "mdactor.load") == k_shipped_load);

    const std::string control = p.dir / "control";
    REQUIRE(run({"dpkg-deb", "-e", p.deb, control}).exit_code == 0);
    CHECK(read_file(control + "/conffiles") ==
          "/etc/apache2/mods-available/mdactor.conf\n/etc/apache2/mods-available/mdactor.load\n");
    // Not enabled on install (a2enmod would refuse while mod_md is enabled); disabled on removal.
    CHECK_FALSE(path_exists(control + "/postinst"));
    CHECK(read_file(control + "/prerm").find("apache2_invoke dismod $conf") != std::string::npos);
    CHECK(read_file(control + "/prerm").find("for conf in mdactor  ; do") != std::string::npos);

    check_ran(run({p.root + "/usr/bin/mdctl", "--help"}), 0, "usage: mdctl <command> [options]\n");
    check_ran(run({p.root + "/usr/bin/md-replay", "--help"}), 0, "usage: md-replay FILE|STOREDIR");
    // Exit status 2 after the usage, as mod_md's a2md.
    check_ran(run({p.root + "/usr/bin/a2md", "--help"}), 2, "Show and manipulate Apache Managed Domains");
    CHECK(run({p.root + "/usr/bin/mdctl", "selfcheck"}).exit_code == 0);

    const std::string man = p.root + "/usr/share/man/man1/";
    CHECK(gunzipped(man + "mdctl.1.gz").find("mdctl \\- manage the certificates of mdactor") != std::string::npos);
    CHECK(gunzipped(man + "a2md.1.gz").find("a2md \\- show and change Apache managed domains") != std::string::npos);
    CHECK(gunzipped(man + "md-replay.1.gz").find("md-replay \\- show the renewal and OCSP jobs") != std::string::npos);
  }

  SECTION("a private Apache loads the unpacked module through the shipped .load and .conf") {
    md_site site(free_port(), free_port());
    pebble_fixture pebble(pebble_answering(site.http, site.https));
    // The shipped .load names the module's installed path; the copy names the unpacked one.
    write_file(site.dir / "mdactor.load", unpacked_load(p));
    site.load_lines = "Include " + site.dir / "mdactor.load" + "\nInclude " + p.root + k_mods + "mdactor.conf\n";
    site.configure(pebble, "");
    const bool started = site.start();
    INFO(site.log());
    REQUIRE(started);
    const bool staged = site.wait_staged(90);
    INFO(site.md_status());
    REQUIRE(staged);
    CHECK(pebble_issued(pebble) == 1);
    REQUIRE(site.graceful());
    CHECK(site.status_of(site.md) == "200");
    CHECK(site.served(site.md, "-issuer").find("Pebble Intermediate CA") != std::string::npos);
  }

  SECTION("md.load and mdactor.load both included: Apache loads the first, skips the second") {
    private_apache a;
    write_file(a.dir / "mdactor.load", unpacked_load(p));
    write_file(a.conf, a.base_conf() + "Listen 127.0.0.1:" + std::to_string(free_port()) + "\n" +
                           "LoadModule md_module " + k_debian_mod_md + "\nInclude " + a.dir / "mdactor.load\n");
    const run_result t = run({"apache2", "-d", a.dir.path(), "-f", a.conf, "-t"});
    INFO(t.output);
    CHECK(t.exit_code == 0);
    CHECK(t.output.find("AH01574: module md_module is already loaded, skipping") != std::string::npos);
  }

  SECTION("a2enmod: mdactor conflicts with md; switching there and back") {
    apache_conf_copy c(p.root);
    REQUIRE(c.a2("a2enmod", {"ssl", "md"}).exit_code == 0);
    REQUIRE(c.enabled("md.load"));

    check_ran(c.a2("a2enmod", {"mdactor"}), 1,
              "ERROR: Module md is enabled - cannot proceed due to conflicts. It needs to be disabled first!\n");
    CHECK_FALSE(c.enabled("mdactor.load"));
    CHECK_FALSE(c.enabled("mdactor.conf"));

    CHECK(c.a2("a2dismod", {"md"}).exit_code == 0);
    check_ran(c.a2("a2enmod", {"mdactor"}), 0, "Enabling module mdactor.\n");
    CHECK_FALSE(c.enabled("md.load"));
    REQUIRE(c.enabled("mdactor.load"));
    CHECK(c.link("mdactor.load") == "../mods-available/mdactor.load");
    CHECK(c.link("mdactor.conf") == "../mods-available/mdactor.conf");
    CHECK(c.enabled("ssl.load"));
    CHECK(path_exists(c.state + "/module/enabled_by_admin/mdactor")); // markers in the copy

    check_ran(c.a2("a2dismod", {"mdactor"}), 0, "Module mdactor disabled.\n");
    CHECK_FALSE(c.enabled("mdactor.load"));
    CHECK_FALSE(c.enabled("mdactor.conf"));
    CHECK(c.a2("a2enmod", {"md"}).exit_code == 0);
    CHECK(c.link("md.load") == "../mods-available/md.load");
  }

  SECTION("lintian reports no error") {
    const run_result lint = run({"lintian", "--fail-on", "error", "--tag-display-limit", "0", p.deb});
    INFO(lint.output);
    CHECK(lint.exit_code == 0);
    CHECK(lint.output.find("E: ") == std::string::npos);
  }
}
