#include "cluster/lazy_store.hpp"

namespace mda {

expected<std::shared_ptr<store>> lazy_store::get() const {
  std::lock_guard<std::mutex> lk(mu_);
  if (st_) return st_;
  auto s = open_();
  if (!s) return s.error();
  st_ = *s;
  return st_;
}

expected<std::string> lazy_store::load_text(store_group g, const std::string& name, const std::string& aspect) const {
  auto s = get();
  if (!s) return s.error();
  return (*s)->load_text(g, name, aspect);
}

status lazy_store::save_text(store_group g, const std::string& name, const std::string& aspect, std::string_view text, bool create_only) {
  auto s = get();
  if (!s) return s.error();
  return (*s)->save_text(g, name, aspect, text, create_only);
}

expected<nlohmann::ordered_json> lazy_store::load_json(store_group g, const std::string& name, const std::string& aspect) const {
  auto s = get();
  if (!s) return s.error();
  return (*s)->load_json(g, name, aspect);
}

status lazy_store::save_json(store_group g, const std::string& name, const std::string& aspect, const nlohmann::ordered_json& value, bool create_only) {
  auto s = get();
  if (!s) return s.error();
  return (*s)->save_json(g, name, aspect, value, create_only);
}

expected<private_key> lazy_store::load_key(store_group g, const std::string& name, const std::string& aspect) const {
  auto s = get();
  if (!s) return s.error();
  return (*s)->load_key(g, name, aspect);
}

status lazy_store::save_key(store_group g, const std::string& name, const std::string& aspect, const private_key& key, bool create_only) {
  auto s = get();
  if (!s) return s.error();
  return (*s)->save_key(g, name, aspect, key, create_only);
}

expected<store::time_point> lazy_store::modified(store_group g, const std::string& name, const std::string& aspect) const {
  auto s = get();
  if (!s) return s.error();
  return (*s)->modified(g, name, aspect);
}

status lazy_store::remove(store_group g, const std::string& name, const std::string& aspect, bool force) {
  auto s = get();
  if (!s) return s.error();
  return (*s)->remove(g, name, aspect, force);
}

status lazy_store::purge(store_group g, const std::string& name) {
  auto s = get();
  if (!s) return s.error();
  return (*s)->purge(g, name);
}

status lazy_store::remove_not_modified_since(store_group g, time_point since, const std::string& name_pattern, const std::string& aspect_pattern) {
  auto s = get();
  if (!s) return s.error();
  return (*s)->remove_not_modified_since(g, since, name_pattern, aspect_pattern);
}

expected<std::vector<std::string>> lazy_store::list_names(store_group g, const std::string& pattern) const {
  auto s = get();
  if (!s) return s.error();
  return (*s)->list_names(g, pattern);
}

expected<std::vector<std::string>> lazy_store::list_aspects(store_group g, const std::string& name, const std::string& pattern) const {
  auto s = get();
  if (!s) return s.error();
  return (*s)->list_aspects(g, name, pattern);
}

status lazy_store::move(store_group from, store_group to, const std::string& name, bool archive) {
  auto s = get();
  if (!s) return s.error();
  return (*s)->move(from, to, name, archive);
}

status lazy_store::rename(store_group g, const std::string& from, const std::string& to) {
  auto s = get();
  if (!s) return s.error();
  return (*s)->rename(g, from, to);
}

expected<std::string> lazy_store::file_path(store_group g, const std::string& name, const std::string& aspect) const {
  auto s = get();
  if (!s) return s.error();
  return (*s)->file_path(g, name, aspect);
}

bool lazy_store::exists(store_group g, const std::string& name, const std::string& aspect) const {
  auto s = get();
  return s && (*s)->exists(g, name, aspect);
}

} // namespace mda
