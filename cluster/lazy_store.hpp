// A store opened on first use, and again after every failed attempt: the shared store of a
// cluster (etcd_store.hpp) when etcd cannot be reached while the engine starts. Until it opens,
// every call fails with the opening's error (etcd unreachable, named); the engine runs meanwhile
// and serves what it has.
// Not here: retry pacing (callers are the cluster service's threads and the engine's jobs).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "store/store.hpp"

namespace mda {

class lazy_store final : public store {
 public:
  using opener = std::function<expected<std::shared_ptr<store>>()>;
  explicit lazy_store(opener open) : open_(std::move(open)) {}

  /// The opened store, or why it cannot be opened now.
  expected<std::shared_ptr<store>> get() const;

  expected<std::string> load_text(store_group g, const std::string& name,
                                  const std::string& aspect) const override;
  status save_text(store_group g, const std::string& name, const std::string& aspect,
                   std::string_view text, bool create_only = false) override;
  expected<nlohmann::ordered_json> load_json(store_group g, const std::string& name,
                                             const std::string& aspect) const override;
  status save_json(store_group g, const std::string& name, const std::string& aspect,
                   const nlohmann::ordered_json& value, bool create_only = false) override;
  expected<private_key> load_key(store_group g, const std::string& name,
                                 const std::string& aspect) const override;
  status save_key(store_group g, const std::string& name, const std::string& aspect,
                  const private_key& key, bool create_only = false) override;
  bool exists(store_group g, const std::string& name, const std::string& aspect) const override;
  expected<time_point> modified(store_group g, const std::string& name,
                                const std::string& aspect) const override;
  status remove(store_group g, const std::string& name, const std::string& aspect,
                bool force = false) override;
  status purge(store_group g, const std::string& name) override;
  status remove_not_modified_since(store_group g, time_point since, const std::string& name_pattern,
                                   const std::string& aspect_pattern) override;
  expected<std::vector<std::string>> list_names(store_group g,
                                                const std::string& pattern = "*") const override;
  expected<std::vector<std::string>> list_aspects(store_group g, const std::string& name,
                                                  const std::string& pattern = "*") const override;
  status move(store_group from, store_group to, const std::string& name, bool archive) override;
  status rename(store_group g, const std::string& from, const std::string& to) override;
  expected<std::string> file_path(store_group g, const std::string& name,
                                  const std::string& aspect) const override;

 private:
  opener open_;
  mutable std::mutex mu_;
  mutable std::shared_ptr<store> st_;
};

} // namespace mda
