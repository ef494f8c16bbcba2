#include "acme/nonce_pool.hpp"

#include <algorithm>
#include <cctype>

namespace mda::acme {

bool is_valid_nonce(const std::string& nonce) {
  return !nonce.empty() && std::all_of(nonce.begin(), nonce.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_';
  });
}

nonce_pool::nonce_pool(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

bool nonce_pool::add(const std::string& nonce) {
  if (!is_valid_nonce(nonce)) return false;
  std::lock_guard<std::mutex> lock(mu_);
  auto known = [&](const std::deque<std::string>& d) {
    return std::find(d.begin(), d.end(), nonce) != d.end();
  };
  if (known(fresh_) || known(used_)) return false;
  fresh_.push_back(nonce);
  while (fresh_.size() > capacity_) fresh_.pop_front();
  return true;
}

std::size_t nonce_pool::add_from(const http_response& res) {
  std::size_t n = 0;
  for (const auto& v : res.header_values("Replay-Nonce")) {
    std::string s = v;
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
    s.erase(0, std::min(s.find_first_not_of(" \t"), s.size()));
    if (add(s)) ++n;
  }
  return n;
}

std::optional<std::string> nonce_pool::take() {
  std::lock_guard<std::mutex> lock(mu_);
  if (fresh_.empty()) return std::nullopt;
  std::string n = std::move(fresh_.back());
  fresh_.pop_back();
  used_.push_back(n);
  while (used_.size() > k_used_memory) used_.pop_front();
  return n;
}

std::size_t nonce_pool::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fresh_.size();
}

void nonce_pool::clear() {
  std::lock_guard<std::mutex> lock(mu_);
  fresh_.clear();
}

} // namespace mda::acme
