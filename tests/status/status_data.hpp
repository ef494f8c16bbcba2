// The recorded status data the status tests compare against (tests/data/status/): snapshots
// taken in the lab and reference stores, and the texts mod_md answered for them.
// Not here: the checks themselves.
#pragma once

#include <array>
#include <string>

#include <catch2/catch.hpp>

#include "status/snapshot.hpp"
#include "tests/test_util.hpp"

namespace mda::test {

/// Every recorded snapshot: two lab servers, a store with a staged and one with an activated set.
inline constexpr std::array<const char*, 4> k_recorded_snapshots = {
  "lab1.snapshot.json", "lab2.snapshot.json", "ref-staged.snapshot.json", "ref-activated.snapshot.json"};

inline std::string status_data_path(const std::string& name) {
  return std::string(MDACTOR_TESTS_DIR) + "/data/status/" + name;
}

/// A recorded file's text.
inline std::string golden(const std::string& name) { return read_file(status_data_path(name)); }

/// A recorded snapshot, read as the status file is (the test fails when it cannot be).
inline status_snapshot snapshot(const std::string& name) {
  auto s = load_snapshot_file(status_data_path(name));
  if (!s) FAIL(s.error().message);
  return *s;
}

} // namespace mda::test
