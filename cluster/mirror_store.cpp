#include "cluster/mirror_store.hpp"

#include <utility>

namespace mda {

mirror_store::mirror_store(std::shared_ptr<store> local, std::shared_ptr<store> shared,
                           publish_fn publishes, failure_fn on_shared_failure,
                           std::function<void()> on_shared_success)
    : local_(std::move(local)), shared_(std::move(shared)), publishes_(std::move(publishes)),
      on_failure_(std::move(on_shared_failure)), on_success_(std::move(on_shared_success)) {}

status mirror_store::shared_result(status s, store_group g, const std::string& name,
                                   const std::string& what) {
  if (s) {
    if (on_success_) on_success_();
    return {};
  }
  if (on_failure_) on_failure_("publishing " + what + ": " + s.error().message);
  // the CA asks any server of the cluster for a challenge: unpublished, it would fail there
  if (g == store_group::challenges)
    return s.error().prefixed("challenge " + name + " not published to the cluster");
  return {};
}

namespace {
std::string key_text(store_group g, const std::string& name, const std::string& aspect) {
  return std::string(group_name(g)) + "/" + name + (aspect.empty() ? "" : "/" + aspect);
}
} // namespace

expected<std::string> mirror_store::load_text(store_group g, const std::string& name,
                                              const std::string& aspect) const {
  return local_->load_text(g, name, aspect);
}

status mirror_store::save_text(store_group g, const std::string& name, const std::string& aspect,
                               std::string_view text, bool create_only) {
  auto s = local_->save_text(g, name, aspect, text, create_only);
  if (!s || !publishes_(g, name)) return s;
  return shared_result(shared_->save_text(g, name, aspect, text), g, name, key_text(g, name, aspect));
}

expected<nlohmann::ordered_json> mirror_store::load_json(store_group g, const std::string& name,
                                                         const std::string& aspect) const {
  return local_->load_json(g, name, aspect);
}

status mirror_store::save_json(store_group g, const std::string& name, const std::string& aspect,
                               const nlohmann::ordered_json& value, bool create_only) {
  auto s = local_->save_json(g, name, aspect, value, create_only);
  if (!s || !publishes_(g, name)) return s;
  return shared_result(shared_->save_json(g, name, aspect, value), g, name, key_text(g, name, aspect));
}

expected<private_key> mirror_store::load_key(store_group g, const std::string& name,
                                             const std::string& aspect) const {
  return local_->load_key(g, name, aspect);
}

status mirror_store::save_key(store_group g, const std::string& name, const std::string& aspect,
                              const private_key& key, bool create_only) {
  auto s = local_->save_key(g, name, aspect, key, create_only);
  if (!s || !publishes_(g, name)) return s;
  return shared_result(shared_->save_key(g, name, aspect, key), g, name, key_text(g, name, aspect));
}

bool mirror_store::exists(store_group g, const std::string& name, const std::string& aspect) const {
  return local_->exists(g, name, aspect);
}

expected<store::time_point> mirror_store::modified(store_group g, const std::string& name,
                                                   const std::string& aspect) const {
  return local_->modified(g, name, aspect);
}

status mirror_store::remove(store_group g, const std::string& name, const std::string& aspect,
                            bool force) {
  auto s = local_->remove(g, name, aspect, force);
  if (!s || !publishes_(g, name)) return s;
  return shared_result(shared_->remove(g, name, aspect, true), g, name, key_text(g, name, aspect));
}

status mirror_store::purge(store_group g, const std::string& name) {
  auto s = local_->purge(g, name);
  if (!s || !publishes_(g, name)) return s;
  return shared_result(shared_->purge(g, name), g, name, key_text(g, name, ""));
}

status mirror_store::remove_not_modified_since(store_group g, time_point since,
                                               const std::string& name_pattern,
                                               const std::string& aspect_pattern) {
  // housekeeping of old challenges and responses: each server does its own
  return local_->remove_not_modified_since(g, since, name_pattern, aspect_pattern);
}

expected<std::vector<std::string>> mirror_store::list_names(store_group g,
                                                            const std::string& pattern) const {
  return local_->list_names(g, pattern);
}

expected<std::vector<std::string>> mirror_store::list_aspects(store_group g, const std::string& name,
                                                              const std::string& pattern) const {
  return local_->list_aspects(g, name, pattern);
}

status mirror_store::move(store_group from, store_group to, const std::string& name, bool archive) {
  return local_->move(from, to, name, archive);
}

status mirror_store::rename(store_group g, const std::string& from, const std::string& to) {
  return local_->rename(g, from, to);
}

expected<std::string> mirror_store::file_path(store_group g, const std::string& name,
                                              const std::string& aspect) const {
  return local_->file_path(g, name, aspect);
}

expected<std::string> mirror_store::read_outside(const std::string& path) const {
  return local_->read_outside(path);
}

} // namespace mda
