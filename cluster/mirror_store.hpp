// The store of a server in a cluster: its own store (the engine's, on disk) with the writes the
// cluster shares also made in the shared one (etcd_store.hpp), so that the other servers see
// them (cluster_service.hpp applies them there).
//
// - Reads: from the local store only (the cluster service keeps it up to date).
// - Writes, removes, purges: made locally first (their result is the result); then, when
//   `publishes(group, name)` says so (staging/<md> of the MDs this server renews, ocsp/<md>
//   of those whose responses it fetches, challenges), made in the shared store too. A
//   failure there does not fail the call: it is reported to `on_shared_failure` (md-status
//   shows etcd unreachable) and the local write stands; the next write of the same file publishes it again. A challenge that
//   cannot be published fails, though: the CA would ask another server for it.
// - move/rename stay local (the parent's activation; not called by the engine in a cluster).
// Not here: deciding what is published (cluster_service::publishes).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "store/store.hpp"

namespace mda {

class mirror_store final : public store {
 public:
  using publish_fn = std::function<bool(store_group, const std::string& name)>;
  using failure_fn = std::function<void(const std::string& what)>;
  mirror_store(std::shared_ptr<store> local, std::shared_ptr<store> shared, publish_fn publishes,
               failure_fn on_shared_failure, std::function<void()> on_shared_success = {});

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
  expected<std::string> read_outside(const std::string& path) const override;

  /// This server's own store (the one reads go to).
  const store& local() const { return *local_; }

 private:
  /// Publishes one change; `what` names it for the failure report.
  status shared_result(status s, store_group g, const std::string& name, const std::string& what);

  std::shared_ptr<store> local_, shared_;
  publish_fn publishes_;
  failure_fn on_failure_;
  std::function<void()> on_success_;
};

} // namespace mda
