// The engine's counts of ACME requests, by CA (its directory URL) and result (a label of the
// fixed set in acme/request_result.hpp): what mdactor_acme_requests_total shows
// (status/metrics.hpp, docs/metrics.md).
//
// - One set per engine, made by the supervisor and shared by every ACME client it makes (the
//   clients' observer adds to it) and by the status actor's metrics cache (which reads it per
//   scrape): a handful of entries, so a read copies them all under the lock.
// - Thread-safe: clients on several worker threads add at once while a scrape reads.
// - Bounded by what is added: CA URLs come from the configuration, results from a fixed set.
// - Counts only grow, from 0 when the engine process starts (Prometheus' counter reset).
// Not here: what a result means (acme/request_result.hpp), rendering (status/metrics.hpp).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mda {

/// One series: requests to `ca` that came to `result`.
struct acme_request_count {
  std::string ca;
  std::string result;
  std::uint64_t count = 0;
  bool operator==(const acme_request_count& o) const {
    return ca == o.ca && result == o.result && count == o.count;
  }
};

class acme_request_counts {
 public:
  /// One more request to `ca` with `result`.
  void add(std::string_view ca, std::string_view result);
  /// Every series, by CA, then result.
  std::vector<acme_request_count> read() const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> counts_;
};

} // namespace mda
