#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "acme/nonce_pool.hpp"

using namespace mda::acme;

TEST_CASE("nonce_pool hands out the newest nonce once", "[acme][nonce]") {
  nonce_pool pool;
  CHECK_FALSE(pool.take().has_value());
  CHECK(pool.add("n1"));
  CHECK(pool.add("n2"));
  CHECK(pool.add("n3"));
  CHECK(pool.size() == 3);
  CHECK(pool.take() == std::optional<std::string>("n3"));
  CHECK(pool.take() == std::optional<std::string>("n2"));
  CHECK(pool.take() == std::optional<std::string>("n1"));
  CHECK_FALSE(pool.take().has_value());
  CHECK_FALSE(pool.add("n2")); // handed out already: never again
  CHECK(pool.size() == 0);
}

TEST_CASE("nonce_pool is bounded and drops the oldest", "[acme][nonce]") {
  nonce_pool pool(2);
  CHECK(pool.capacity() == 2);
  for (const char* n : {"a", "b", "c"}) CHECK(pool.add(n));
  CHECK(pool.size() == 2);
  CHECK(pool.take() == std::optional<std::string>("c"));
  CHECK(pool.take() == std::optional<std::string>("b"));
  CHECK_FALSE(pool.take().has_value());
  CHECK(nonce_pool(0).capacity() == 1);
}

TEST_CASE("nonce_pool refuses malformed and duplicate nonces", "[acme][nonce]") {
  nonce_pool pool;
  for (const char* bad : {"", "a b", "abc=", "ab+c", "ab/c", "\xc3\xa4"}) {
    INFO("'" << bad << "'");
    CHECK_FALSE(is_valid_nonce(bad));
    CHECK_FALSE(pool.add(bad));
  }
  CHECK(is_valid_nonce("3QMORs9TPiLcKIhq7SzwFA"));
  CHECK(is_valid_nonce("a-_Z9"));
  CHECK(pool.add("dup"));
  CHECK_FALSE(pool.add("dup"));
  CHECK(pool.size() == 1);
  pool.clear();
  CHECK(pool.size() == 0);
}

TEST_CASE("nonce_pool is fed by every Replay-Nonce header", "[acme][nonce]") {
  http_response r;
  r.headers.emplace("Replay-Nonce", " first ");
  r.headers.emplace("replay-nonce", "second");
  r.headers.emplace("REPLAY-NONCE", "not valid");
  r.headers.emplace("Link", "<https://x>;rel=\"index\"");
  nonce_pool pool;
  CHECK(pool.add_from(r) == 2);
  CHECK(pool.take() == std::optional<std::string>("second"));
  CHECK(pool.take() == std::optional<std::string>("first"));
  CHECK(pool.add_from(http_response{}) == 0);
}

TEST_CASE("nonce_pool serves several threads without handing out a nonce twice", "[acme][nonce]") {
  nonce_pool pool(10000);
  std::mutex mu;
  std::multiset<std::string> taken;
  std::atomic<bool> adding{true};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) pool.add("t" + std::to_string(t) + "n" + std::to_string(i));
    });
  std::vector<std::thread> takers;
  for (int t = 0; t < 3; ++t)
    takers.emplace_back([&] {
      while (adding || pool.size() > 0)
        if (auto n = pool.take()) {
          std::lock_guard<std::mutex> lock(mu);
          taken.insert(*n);
        }
    });
  for (auto& th : threads) th.join();
  adding = false;
  for (auto& th : takers) th.join();
  CHECK(taken.size() == 3000);
  CHECK(std::set<std::string>(taken.begin(), taken.end()).size() == 3000);
}
