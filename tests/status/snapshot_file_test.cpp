// The status file's text put together from one text per MD and per stapling entry
// (snapshot_md_text, snapshot_stapling_text, snapshot_join): byte for byte the whole-document
// rendering (render_json(to_json(s))), read back equal by parse_snapshot; and the workers' cache of
// the parsed file (snapshot_file_cache).
#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

#include <cstdio>
#include <unistd.h>

#include "status/md_status.hpp"
#include "status/snapshot.hpp"
#include "tests/status/status_data.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using mda::test::golden;
using mda::test::snapshot;

namespace {

/// The file joined from the entries' texts, each rendered on its own.
std::string joined(const status_snapshot& s) {
  std::vector<std::string> md_texts, st_texts;
  for (const auto& m : s.mds) md_texts.push_back(snapshot_md_text(m));
  for (const auto& st : s.staplings) st_texts.push_back(snapshot_stapling_text(st));
  return snapshot_join(s, {md_texts.begin(), md_texts.end()}, {st_texts.begin(), st_texts.end()});
}

/// The checks every variant must pass: the same bytes both ways, read back equal.
void check_same(const status_snapshot& s) {
  const std::string whole = render_json(to_json(s));
  CHECK(joined(s) == whole);
  CHECK(render_snapshot_file(s) == whole);
  auto back = parse_snapshot(joined(s), "joined");
  REQUIRE(back.ok());
  CHECK(*back == s);
}

} // namespace

TEST_CASE("status file text from entries equals the whole rendering", "[status][snapshot]") {
  for (const char* name : mda::test::k_recorded_snapshots) {
    INFO(name);
    const status_snapshot full = snapshot(name);
    check_same(full);
    status_snapshot v = full;
    SECTION("no stapling entries") {
      v.staplings.clear();
      check_same(v);
    }
    SECTION("no MD") {
      v.mds.clear();
      check_same(v);
    }
    SECTION("nothing, not even a published time") {
      v.mds.clear();
      v.staplings.clear();
      v.published = sys_time{};
      v.cert_check_name.clear();
      v.cert_check_url.clear();
      check_same(v);
      CHECK(render_snapshot_file(v) ==
            "{\n  \"version\": \"2.6.10\",\n  \"mds\": [],\n  \"staplings\": []\n}");
    }
    SECTION("one MD, cert-check and other-ocsp-renewal set") {
      if (v.mds.size() > 1) v.mds.resize(1);
      v.cert_check_name = "crt.sh";
      v.cert_check_url = "https://crt.sh?q=";
      job j;
      j.name = "other";
      j.errors = 2;
      v.other_ocsp_renewal = j;
      check_same(v);
    }
  }
}

TEST_CASE("status file text: the lab files as published", "[status][snapshot]") {
  // The fixtures are the files as the engine wrote them.
  for (const char* name : {"lab1.snapshot.json", "lab2.snapshot.json"}) {
    INFO(name);
    CHECK(render_snapshot_file(snapshot(name)) == golden(name));
  }
}

TEST_CASE("status file text: strings that look like the frame", "[status][snapshot]") {
  status_snapshot s = snapshot("lab1.snapshot.json");
  s.cert_check_name = "\n  \"mds\": []\n  \"staplings\": []"; // escaped in the text
  s.cert_check_url = "bad \xff utf-8";                         // replaced, as render_json does
  s.mds.front().ca_in_use = "\"mds\": [],\n  ";
  const std::string whole = render_json(to_json(s));
  CHECK(joined(s) == whole);
  CHECK(render_snapshot_file(s) == whole);
}

TEST_CASE("status file text: the frame pieces", "[status][snapshot]") {
  status_snapshot s;
  s.published = from_unix(1767225600);
  auto f = snapshot_text_frame(s, true, false);
  CHECK(f.head == "{\n  \"version\": \"2.6.10\",\n  \"published\": \"Thu, 01 Jan 2026 00:00:00 GMT\",\n"
                  "  \"mds\": [\n    ");
  CHECK(f.middle == "\n  ],\n  \"staplings\": [");
  CHECK(f.tail == "]\n}");
  md_snapshot m;
  m.md.name = "a.test";
  CHECK(snapshot_md_text(m).find("{\n      \"md\": {\n        \"name\": \"a.test\",") != std::string::npos);
}

TEST_CASE("status file cache: parsed once per change of the file", "[status][snapshot]") {
  test::temp_dir dir;
  const std::string path = dir / "status.json";
  snapshot_file_cache cache;
  auto missing = cache.get(path);
  REQUIRE(!missing);
  CHECK(missing.error().message == "cannot read '" + path + "': No such file or directory");

  status_snapshot s;
  s.published = from_unix(1767225600);
  md_snapshot m;
  m.md.name = "a.example";
  s.mds.push_back(m);
  test::write_file(path, render_json(to_json(s)));
  auto first = cache.get(path);
  REQUIRE(first);
  CHECK(**first == s);
  auto again = cache.get(path);
  REQUIRE(again);
  CHECK(again->get() == first->get()); // the same parsed copy, shared
  CHECK(cache.parses() == 1);

  // replaced (a new file, as the engine's rename makes): parsed again
  s.mds[0].md.name = "b.example";
  test::write_file(path + ".new", render_json(to_json(s)));
  REQUIRE(::rename((path + ".new").c_str(), path.c_str()) == 0);
  auto replaced = cache.get(path);
  REQUIRE(replaced);
  CHECK((*replaced)->mds[0].md.name == "b.example");
  CHECK(cache.parses() == 2);

  // damaged: the error each time, nothing kept; removed: an error, not the old copy
  test::write_file(path, "{\"mds\": [");
  CHECK(!cache.get(path));
  CHECK(!cache.get(path));
  CHECK(cache.parses() == 4);
  ::unlink(path.c_str());
  CHECK(cache.get(path).error().message == "cannot read '" + path + "': No such file or directory");
}
