#include <catch2/catch.hpp>

#include <chrono>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store.hpp"
#include "store/store_lock.hpp"
#include "tests/test_util.hpp"

using namespace mda;
using namespace std::chrono_literals;
using mda::test::temp_dir;

namespace {

// A child process that takes the lock, reports 'L' and holds it until told to go
// (or, with `die`, exits at once without releasing anything by hand).
struct holder {
  pid_t pid = -1;
  int to_child = -1, from_child = -1;

  holder(const std::string& base, bool die) {
    int down[2], up[2];
    REQUIRE(::pipe(down) == 0);
    REQUIRE(::pipe(up) == 0);
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(down[1]);
      ::close(up[0]);
      auto lock = store_lock::acquire(base, 0ms);
      char c = lock ? 'L' : 'E';
      if (::write(up[1], &c, 1) != 1 || !lock || die) ::_exit(2);
      if (::read(down[0], &c, 1) < 0) ::_exit(3); // until the parent says so
      lock->release();
      ::_exit(0);
    }
    ::close(down[0]);
    ::close(up[1]);
    to_child = down[1];
    from_child = up[0];
  }
  char report() {
    char c = 0;
    return ::read(from_child, &c, 1) == 1 ? c : '?';
  }
  int finish() {
    char go = 'g';
    auto old = ::signal(SIGPIPE, SIG_IGN); // the child may be gone already
    if (::write(to_child, &go, 1) != 1) {}
    ::signal(SIGPIPE, old);
    ::close(to_child);
    ::close(from_child);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
};

} // namespace

TEST_CASE("the store lock is exclusive within a process", "[store][lock]") {
  temp_dir t;
  auto lock = store_lock::acquire(t.path());
  REQUIRE(lock);
  CHECK(lock->held());
  CHECK(lock->path() == t / "store.lock");
  struct stat st {};
  REQUIRE(::stat((t / "store.lock").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);

  auto second = store_lock::acquire(t.path(), 0ms);
  REQUIRE_FALSE(second);
  CHECK(second.error().code == store_errc::lock_timeout);
  CHECK(second.error().message ==
        "store lock '" + (t / "store.lock") + "' is held by another process; gave up after 0 ms");

  store_lock moved = std::move(*lock);
  CHECK_FALSE(lock->held());
  CHECK(moved.held());
  moved.release();
  CHECK_FALSE(moved.held());
  CHECK(store_lock::acquire(t.path(), 0ms));
}

TEST_CASE("the store lock excludes other processes until released", "[store][lock]") {
  temp_dir t;
  holder child(t.path(), false);
  REQUIRE(child.report() == 'L');

  auto start = std::chrono::steady_clock::now();
  auto busy = store_lock::acquire(t.path(), 300ms);
  auto waited = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(busy);
  CHECK(busy.error().code == store_errc::lock_timeout);
  CHECK(busy.error().message ==
        "store lock '" + (t / "store.lock") + "' is held by another process; gave up after 300 ms");
  CHECK(waited >= 200ms);
  CHECK(waited < 2s);

  CHECK(child.finish() == 0);
  auto mine = store_lock::acquire(t.path(), 5s);
  REQUIRE(mine);
  CHECK(mine->held());
}

TEST_CASE("the store lock dies with its holder", "[store][lock]") {
  temp_dir t;
  holder child(t.path(), true);
  REQUIRE(child.report() == 'L');
  CHECK(child.finish() == 2);
  CHECK(store_lock::acquire(t.path(), 0ms));
}

TEST_CASE("a store lock waits for a holder that lets go in time", "[store][lock]") {
  temp_dir t;
  holder child(t.path(), false);
  REQUIRE(child.report() == 'L');
  pid_t releaser = ::fork();
  REQUIRE(releaser >= 0);
  if (releaser == 0) { // tells the holder to go after 250 ms
    ::usleep(250000);
    char go = 'g';
    ::_exit(::write(child.to_child, &go, 1) == 1 ? 0 : 1);
  }
  auto start = std::chrono::steady_clock::now();
  auto lock = store_lock::acquire(t.path(), 5s);
  auto waited = std::chrono::steady_clock::now() - start;
  REQUIRE(lock);
  CHECK(waited >= 200ms);
  CHECK(waited < 3s);
  int status = 0;
  ::waitpid(releaser, &status, 0);
  CHECK(child.finish() == 0);
}
