// The engine's ACME request counts (see acme_requests.hpp).
#include "status/acme_requests.hpp"

namespace mda {

void acme_request_counts::add(std::string_view ca, std::string_view result) {
  std::pair<std::string, std::string> key{std::string(ca), std::string(result)};
  std::lock_guard<std::mutex> lock(mu_);
  ++counts_[std::move(key)];
}

std::vector<acme_request_count> acme_request_counts::read() const {
  std::vector<acme_request_count> out;
  std::lock_guard<std::mutex> lock(mu_);
  out.reserve(counts_.size());
  for (const auto& [key, n] : counts_) out.push_back({key.first, key.second, n});
  return out;
}

} // namespace mda
