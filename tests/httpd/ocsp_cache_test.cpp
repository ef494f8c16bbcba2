// The worker-side staple cache (httpd/ocsp_cache.hpp): what is stapled, the paced file
// checks, reloads on change, files that vanish or are damaged, many threads at once.
// Tag [httpd][ocsp-cache].
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include "httpd/ocsp_cache.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace mda::httpd;
using namespace std::chrono;

namespace {

const std::string k_id = "0123456789abcdef0123456789abcdef01234567";

sys_time t0() { return from_unix(1800000000); } // Fri, 15 Jan 2027 08:00:00 GMT

ocsp::stored_response sample(ocsp::cert_status st, const std::string& der = "DER-1") {
  ocsp::stored_response s;
  s.status = st;
  s.der = der;
  s.valid = {t0(), t0() + hours(10)};
  return s;
}

void save(const std::string& path, const ocsp::stored_response& s) {
  // Written aside and renamed over, as the engine's store does.
  test::write_file(path + ".new", ocsp::to_json(s).dump(2));
  REQUIRE(::rename((path + ".new").c_str(), path.c_str()) == 0);
}

} // namespace

TEST_CASE("ocsp cache: which stored responses are stapled", "[httpd][ocsp-cache]") {
  CHECK(servable(sample(ocsp::cert_status::good), t0() + hours(1)));
  CHECK(servable(sample(ocsp::cert_status::revoked), t0() + hours(1)));
  CHECK_FALSE(servable(sample(ocsp::cert_status::unknown), t0() + hours(1)));
  CHECK(servable(sample(ocsp::cert_status::good), t0() + hours(10) - seconds(1)));
  CHECK_FALSE(servable(sample(ocsp::cert_status::good), t0() + hours(10)));
  CHECK_FALSE(servable(sample(ocsp::cert_status::good, ""), t0() + hours(1)));
}

TEST_CASE("ocsp cache: registration, pacing, reload on change", "[httpd][ocsp-cache]") {
  test::temp_dir dir;
  const std::string file = dir / "ocsp-" + k_id + ".json";
  staple_cache cache(seconds(2));
  const auto m0 = steady_clock::now();
  const sys_time now = t0() + hours(1);

  CHECK_FALSE(cache.lookup(k_id, m0, now).known);
  cache.add(k_id, "a.example.test", file);
  CHECK(cache.knows(k_id));
  CHECK(cache.size() == 1);
  CHECK(cache.owner_of(k_id) == "a.example.test");
  CHECK(cache.owner_of("ff") == "");

  // No file yet: known, nothing to staple, no problem either.
  auto r = cache.lookup(k_id, m0, now);
  CHECK(r.known);
  CHECK_FALSE(r.staple);
  CHECK(r.response == nullptr);
  CHECK(cache.last_problem(k_id) == "");

  save(file, sample(ocsp::cert_status::good));
  CHECK(cache.lookup(k_id, m0 + milliseconds(1999), now).response == nullptr); // paced
  r = cache.lookup(k_id, m0 + seconds(2), now);
  REQUIRE(r.response != nullptr);
  CHECK(r.staple);
  CHECK(r.response->der == "DER-1");

  // Unchanged file: not read again (the same object).
  auto same = cache.lookup(k_id, m0 + seconds(5), now);
  CHECK(same.response.get() == r.response.get());

  // Replaced: the new response after the next check.
  save(file, sample(ocsp::cert_status::revoked, "DER-2"));
  CHECK(cache.lookup(k_id, m0 + seconds(6), now).response->der == "DER-1");
  r = cache.lookup(k_id, m0 + seconds(7), now);
  CHECK(r.response->der == "DER-2");
  CHECK(r.response->status == ocsp::cert_status::revoked);
  CHECK(r.staple);

  // Expired: kept, not stapled.
  r = cache.lookup(k_id, m0 + seconds(7), t0() + hours(11));
  CHECK(r.response != nullptr);
  CHECK_FALSE(r.staple);

  // Damaged: dropped, the reason kept.
  test::write_file(file, "{\"response\": ");
  r = cache.lookup(k_id, m0 + seconds(9), now);
  CHECK(r.response == nullptr);
  CHECK_FALSE(r.staple);
  CHECK(cache.last_problem(k_id).rfind(file + ": invalid JSON at byte 13", 0) == 0);

  // Removed: nothing.
  save(file, sample(ocsp::cert_status::good, "DER-3"));
  CHECK(cache.lookup(k_id, m0 + seconds(11), now).response->der == "DER-3");
  CHECK(cache.last_problem(k_id) == "");
  REQUIRE(::unlink(file.c_str()) == 0);
  r = cache.lookup(k_id, m0 + seconds(13), now);
  CHECK(r.known);
  CHECK(r.response == nullptr);

  // Registered again: the response is forgotten, the file looked at anew.
  save(file, sample(ocsp::cert_status::good, "DER-4"));
  cache.add(k_id, "other", file);
  CHECK(cache.owner_of(k_id) == "other");
  CHECK(cache.lookup(k_id, m0 + seconds(13), now).response->der == "DER-4");
  cache.clear();
  CHECK_FALSE(cache.knows(k_id));
  CHECK(cache.size() == 0);
}

TEST_CASE("ocsp cache: a response with status unknown is not stapled", "[httpd][ocsp-cache]") {
  test::temp_dir dir;
  const std::string file = dir / "ocsp.json";
  auto j = ocsp::to_json(sample(ocsp::cert_status::good));
  j["status"] = "unknown";
  test::write_file(file, j.dump());
  staple_cache cache;
  cache.add(k_id, "other", file);
  auto r = cache.lookup(k_id, steady_clock::now(), t0() + hours(1));
  REQUIRE(r.response != nullptr);
  CHECK(r.response->status == ocsp::cert_status::unknown);
  CHECK_FALSE(r.staple);
}

TEST_CASE("ocsp cache: many threads look up while the file changes", "[httpd][ocsp-cache]") {
  test::temp_dir dir;
  const std::string file = dir / "ocsp.json";
  save(file, sample(ocsp::cert_status::good, "DER-A"));
  staple_cache cache(milliseconds(1));
  cache.add(k_id, "a", file);
  cache.add("ff", "a", dir / "none.json");
  // Read once first, as the prime hook does: before the first look completes, other threads
  // find nothing (they do not wait for it).
  REQUIRE(cache.lookup(k_id, steady_clock::now(), t0() + hours(1)).staple);
  std::atomic<int> stapled{0}, wrong{0};
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; i < 50; ++i) {
      save(file, sample(ocsp::cert_status::good, i % 2 ? "DER-A" : "DER-B"));
      std::this_thread::sleep_for(milliseconds(2));
    }
    stop = true;
  });
  std::vector<std::thread> readers;
  for (int t = 0; t < 6; ++t) {
    readers.emplace_back([&] {
      while (!stop) {
        auto r = cache.lookup(k_id, steady_clock::now(), t0() + hours(1));
        if (r.staple) ++stapled;
        if (!r.response || (r.response->der != "DER-A" && r.response->der != "DER-B")) ++wrong;
        if (cache.lookup("ff", steady_clock::now(), t0()).staple) ++wrong;
      }
    });
  }
  writer.join();
  for (auto& th : readers) th.join();
  CHECK(wrong == 0);
  CHECK(stapled > 0);
}

TEST_CASE("ocsp cache: below the store no symlink is followed", "[httpd][ocsp-cache]") {
  test::temp_dir dir;
  const std::string base = dir / "md";
  const std::string real = dir / "elsewhere.json";
  save(real, sample(ocsp::cert_status::good, "DER-A"));
  REQUIRE(::mkdir(base.c_str(), 0755) == 0);
  REQUIRE(::mkdir((base + "/ocsp").c_str(), 0755) == 0);
  REQUIRE(::mkdir((base + "/ocsp/a").c_str(), 0755) == 0);
  const std::string file = base + "/ocsp/a/ocsp-" + k_id + ".json";
  REQUIRE(::symlink(real.c_str(), file.c_str()) == 0);
  staple_cache cache(milliseconds(0));
  cache.add(k_id, "a", file, base);
  auto r = cache.lookup(k_id, steady_clock::now(), t0() + hours(1));
  CHECK(r.known);
  CHECK(r.response == nullptr);
  CHECK(cache.last_problem(k_id) == "'" + file + "' is a symbolic link, refused");
  // a symlinked directory on the way is refused too
  REQUIRE(::unlink(file.c_str()) == 0);
  REQUIRE(::rename((base + "/ocsp/a").c_str(), (dir / "a-dir").c_str()) == 0);
  save(dir / "a-dir/ocsp-" + k_id + ".json", sample(ocsp::cert_status::good, "DER-B"));
  REQUIRE(::symlink((dir / "a-dir").c_str(), (base + "/ocsp/a").c_str()) == 0);
  r = cache.lookup(k_id, steady_clock::now(), t0() + hours(1));
  CHECK(r.response == nullptr);
  CHECK(cache.last_problem(k_id) == "'" + base + "/ocsp/a' is a symbolic link, refused");
  // the real file in its place is read
  REQUIRE(::unlink((base + "/ocsp/a").c_str()) == 0);
  REQUIRE(::rename((dir / "a-dir").c_str(), (base + "/ocsp/a").c_str()) == 0);
  r = cache.lookup(k_id, steady_clock::now(), t0() + hours(1));
  REQUIRE(r.response != nullptr);
  CHECK(r.response->der == "DER-B");
  CHECK(r.staple);
  CHECK(cache.last_problem(k_id) == "");
}

TEST_CASE("ocsp cache: ids are added while other threads look up", "[httpd][ocsp-cache]") {
  // A set going live registers its leaves' ids in a running worker (live_certs.cpp).
  test::temp_dir dir;
  const std::string file = dir / "ocsp-" + k_id + ".json";
  save(file, sample(ocsp::cert_status::good, "DER-OLD"));
  staple_cache cache(hours(1)); // each file read once: the lookups below only touch the table
  const sys_time now = t0() + hours(1);
  REQUIRE(cache.lookup(k_id, steady_clock::now(), now).known == false);
  cache.add(k_id, "a.example.test", file);
  REQUIRE(cache.lookup(k_id, steady_clock::now(), now).staple);

  constexpr int k_added = 200;
  std::atomic<bool> done{false};
  std::atomic<int> wrong{0};
  std::atomic<long> lookups{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      while (!done) {
        const auto r = cache.lookup(k_id, steady_clock::now(), now);
        if (!r.staple || r.response->der != "DER-OLD") ++wrong;
        ++lookups;
      }
    });
  }
  for (int i = 0; i < k_added; ++i) {
    const std::string id = std::string(38, 'f') + (i < 16 ? "0" : "") + [](int v) {
      char b[8];
      std::snprintf(b, sizeof b, "%x", v);
      return std::string(b);
    }(i);
    save(dir / "ocsp-" + id + ".json", sample(ocsp::cert_status::good, "DER-" + std::to_string(i)));
    cache.add(id, "a.example.test", dir / "ocsp-" + id + ".json");
    const auto r = cache.lookup(id, steady_clock::now(), now);
    if (!r.staple || r.response->der != "DER-" + std::to_string(i)) ++wrong;
  }
  done = true;
  for (auto& th : readers) th.join();
  CHECK(wrong == 0);
  CHECK(cache.size() == k_added + 1);
  CHECK(cache.owner_of(std::string(38, 'f') + "c7") == "a.example.test");
  CHECK(lookups > 0);

  // A lookup stays cheap with the shared lock: well under 10 µs on one thread.
  const auto start = steady_clock::now();
  constexpr int k_rounds = 100000;
  for (int i = 0; i < k_rounds; ++i) (void)cache.lookup(k_id, start, now);
  const auto per = duration_cast<nanoseconds>(steady_clock::now() - start).count() / k_rounds;
  INFO("ns per lookup: " << per);
  CHECK(per < 10000);
}
