// Reading the jobs md-replay shows: job.json files, md-status documents, status snapshots and
// store directories (timeline.hpp). Read only: the store is not opened through fs_store, which
// would create md_store.json in a directory that has none.
#include "tools/replay/input.hpp"

#include <algorithm>
#include <filesystem>
#include <set>
#include <system_error>

#include "core/json_util.hpp"
#include "store/fs_io.hpp"
#include "store/paths.hpp"

namespace mda::replay {

namespace {

using ojson = nlohmann::ordered_json;
namespace fs = std::filesystem;

/// Rewrites an RFC 3339 time text to RFC 822 so core/job.hpp reads it; returns the text as
/// it was ("" when absent or not a string; the job reader reports wrong types).
std::string normalize_time(ojson& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return {};
  std::string text = it->get<std::string>();
  if (!text.empty() && !parse_rfc822(text)) {
    if (auto t = parse_rfc3339(text)) *it = format_rfc822(*t);
  }
  return text;
}

bool is_object_member(const ojson& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_object();
}

/// The MD name of an md-status entry ("name") or a snapshot entry ("md"."name").
std::string md_name_of(const ojson& e) {
  if (e.contains("name") && e["name"].is_string()) return e["name"].get<std::string>();
  if (is_object_member(e, "md") && e["md"].contains("name") && e["md"]["name"].is_string())
    return e["md"]["name"].get<std::string>();
  return {};
}

/// The first OCSP job shown under the certificates of an md-status entry
/// ("cert"."<spec>"."ocsp"."renewal"; mod_md shows the one OCSP job of the MD per spec).
const ojson* md_status_ocsp_job(const ojson& e, std::string& member) {
  if (!is_object_member(e, "cert")) return nullptr;
  for (const auto& [spec, c] : e["cert"].items()) {
    if (is_object_member(c, "ocsp") && is_object_member(c["ocsp"], "renewal")) {
      member = "cert." + spec + ".ocsp.renewal";
      return &c["ocsp"]["renewal"];
    }
  }
  return nullptr;
}

/// The jobs of one md-status or snapshot entry.
status read_md_entry(const ojson& e, const std::string& origin, std::vector<job_source>& out) {
  const std::string md = md_name_of(e);
  auto add = [&](const ojson& j, const std::string& member, const char* kind) -> status {
    auto src = read_job(j, origin + "#" + member, md, kind);
    if (!src) return src.error();
    out.push_back(std::move(*src));
    return {};
  };
  if (is_object_member(e, "renewal"))
    if (auto s = add(e["renewal"], "renewal", "renewal"); !s) return s;
  if (is_object_member(e, "ocsp-renewal"))
    if (auto s = add(e["ocsp-renewal"], "ocsp-renewal", "ocsp"); !s) return s;
  std::string member;
  if (const ojson* o = md_status_ocsp_job(e, member))
    if (auto s = add(*o, member, "ocsp"); !s) return s;
  return {};
}

bool looks_like_md_entry(const ojson& doc) {
  return is_object_member(doc, "renewal") || is_object_member(doc, "ocsp-renewal") ||
         is_object_member(doc, "cert");
}


} // namespace

expected<job_source> read_job(const ojson& j, const std::string& origin, const std::string& md,
                              const std::string& kind) {
  if (!j.is_object()) return error{json_errc::wrong_type, origin + ": a job must be a JSON object"};
  ojson copy = j;
  job_source src;
  src.kind = kind;
  src.origin = origin;
  src.next_run_text = normalize_time(copy, "next-run");
  src.last_run_text = normalize_time(copy, "last-run");
  normalize_time(copy, "valid-from");
  if (copy.contains("last")) normalize_time(copy["last"], "valid-from");
  if (is_object_member(copy, "log") && copy["log"].contains("entries") &&
      copy["log"]["entries"].is_array()) {
    for (auto& e : copy["log"]["entries"]) src.when_text.push_back(normalize_time(e, "when"));
  }
  auto parsed = job_from_json(copy, origin);
  if (!parsed) return parsed.error();
  src.job = std::move(*parsed);
  src.md = md.empty() ? src.job.name : md;
  src.when_text.resize(src.job.log.size());
  for (std::size_t i = 0; i < src.job.log.size(); ++i) {
    if (src.when_text[i].empty()) src.when_text[i] = format_rfc822(src.job.log[i].when);
  }
  return src;
}

expected<std::vector<job_source>> read_document(const ojson& doc, const std::string& origin) {
  std::vector<job_source> out;
  if (!doc.is_object()) return error{json_errc::wrong_type, origin + ": not a JSON object"};
  const char* list_key = doc.contains("managed-domains") ? "managed-domains"
                         : doc.contains("mds")           ? "mds"
                                                         : nullptr;
  if (list_key) {
    if (!doc[list_key].is_array())
      return error{json_errc::wrong_type, origin + ": \"" + list_key + "\" must be an array"};
    std::size_t i = 0;
    for (const auto& e : doc[list_key]) {
      const std::string where = origin + "#" + list_key + "[" + std::to_string(i++) + "]";
      if (auto s = read_md_entry(e, where, out); !s) return s.error();
    }
  } else if (looks_like_md_entry(doc)) {
    if (auto s = read_md_entry(doc, origin, out); !s) return s.error();
  } else {
    auto src = read_job(doc, origin, "", "renewal");
    if (!src) return src.error();
    out.push_back(std::move(*src));
  }
  if (out.empty()) return error{json_errc::missing, origin + ": no job found"};
  return out;
}

expected<std::vector<job_source>> read_store(const std::string& dir) {
  const store_paths paths(dir);
  struct place {
    store_group group;
    const char* kind;
  };
  const place places[] = {{store_group::domains, "renewal"},
                          {store_group::staging, "renewal"},
                          {store_group::ocsp, "ocsp"}};
  std::set<std::string> mds;
  for (const auto& p : places)
    for (auto& n : group_names(paths.group_dir(p.group))) mds.insert(n);
  std::vector<job_source> out;
  for (const auto& md : mds) {
    for (const auto& p : places) {
      auto file = paths.file(p.group, md, "job.json");
      if (!file) continue; // a directory name the store would refuse
      auto text = fsio::read_file(*file);
      if (!text) {
        if (is_not_found(text.error())) continue;
        return text.error();
      }
      auto j = parse_json(*text, *file);
      if (!j) return j.error();
      auto src = read_job(*j, *file, md, p.kind);
      if (!src) return src.error();
      out.push_back(std::move(*src));
    }
  }
  if (out.empty()) return error{store_errc::not_found, "'" + dir + "': no job.json in the store"};
  return out;
}

expected<std::vector<job_source>> load_input(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return read_store(path);
  auto text = fsio::read_file(path);
  if (!text) return text.error();
  auto j = parse_json(*text, path);
  if (!j) return j.error();
  return read_document(*j, path);
}

std::vector<std::string> group_names(const std::string& group_dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(group_dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code dec;
    if (it->is_directory(dec)) names.push_back(it->path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

} // namespace mda::replay
