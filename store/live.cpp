#include "store/live.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/json_util.hpp"

namespace mda {

namespace {

using ojson = nlohmann::ordered_json;

error bad(const std::string& source, const std::string& member, const std::string& what,
          json_errc code = json_errc::wrong_type) {
  return {code, source + ": \"" + member + "\" " + what};
}

} // namespace

std::string render_live_file(const live_table& t) {
  ojson j = ojson::object();
  j["version"] = 1;
  j["generation"] = t.generation;
  ojson mds = ojson::array();
  for (const auto& m : t.mds) {
    ojson e = ojson::object();
    e["name"] = m.name;
    e["since"] = format_rfc822(m.since);
    e["certs"] = json_string_array(m.fingerprints);
    mds.push_back(std::move(e));
  }
  j["mds"] = std::move(mds);
  return j.dump(2);
}

expected<live_table> parse_live_file(std::string_view text, const std::string& source) {
  auto parsed = parse_json(text, source);
  if (!parsed) return parsed.error();
  const ojson& j = *parsed;
  if (!j.is_object()) return error(json_errc::wrong_type, source + ": must be a JSON object");
  live_table t;
  if (auto v = j.find("version"); v != j.end()) {
    if (!v->is_number_integer()) return bad(source, "version", "must be an integer");
    if (v->get<long long>() > 1)
      return bad(source, "version", "is " + v->dump() + ", newer than this module reads (1)",
                 json_errc::bad_value);
  }
  if (auto g = j.find("generation"); g != j.end()) {
    if (!g->is_number_unsigned() && !(g->is_number_integer() && g->get<long long>() >= 0))
      return bad(source, "generation", "must be a number of 0 or more");
    t.generation = g->get<std::uint64_t>();
  }
  auto mds = j.find("mds");
  if (mds == j.end() || mds->is_null()) return t;
  if (!mds->is_array()) return bad(source, "mds", "must be an array");
  for (std::size_t i = 0; i < mds->size(); ++i) {
    const ojson& e = (*mds)[i];
    const std::string at = "mds[" + std::to_string(i) + "]";
    if (!e.is_object()) return bad(source, at, "must be an object");
    live_md m;
    auto n = e.find("name");
    if (n == e.end() || !n->is_string() || n->get<std::string>().empty())
      return bad(source, at + ".name", "must be a non-empty string", json_errc::missing);
    m.name = n->get<std::string>();
    if (auto s = e.find("since"); s != e.end() && !s->is_null()) {
      if (!s->is_string()) return bad(source, at + ".since", "must be a string");
      auto when = parse_rfc822(s->get<std::string>());
      if (!when) return bad(source, at + ".since", "is not an RFC 822 time", json_errc::bad_value);
      m.since = *when;
    }
    auto c = e.find("certs");
    if (c == e.end() || !c->is_array() || c->empty())
      return bad(source, at + ".certs", "must be a non-empty array of strings");
    for (const auto& fp : *c) {
      if (!fp.is_string()) return bad(source, at + ".certs", "must be a non-empty array of strings");
      m.fingerprints.push_back(fp.get<std::string>());
    }
    t.mds.push_back(std::move(m));
  }
  std::sort(t.mds.begin(), t.mds.end(), [](const live_md& a, const live_md& b) { return a.name < b.name; });
  return t;
}

std::string live_store_dir(const std::string& store_dir) { return store_dir + "/mdactor/live"; }

status save_live_copy(store& live, const staged_set& set) {
  job j = set.renewal ? *set.renewal : job{};
  if (auto s = write_staging(live, set.md, set.certs, j, std::nullopt); !s)
    return s.error().prefixed("copying the set of '" + set.md.name + "' to " + live_store_dir("<store>"));
  return {};
}

std::vector<std::string> live_fingerprints(const staged_set& set) {
  std::vector<std::string> out;
  for (const auto& c : set.certs) out.push_back(c.chain.empty() ? std::string() : c.chain.front().fingerprint_sha256());
  return out;
}

status check_live_set(const staged_set& set, const live_expectation& want,
                      const std::vector<std::string>& announced, sys_time now) {
  auto fail = [&](const key_spec& spec, const std::string& problem) {
    return error(store_errc::invalid, want.md + ": the staged certificate for " + spec.name() + " " + problem);
  };
  std::vector<std::string> seen;
  for (const auto& spec : want.specs) {
    auto it = std::find_if(set.certs.begin(), set.certs.end(),
                           [&](const staged_cert& c) { return c.spec == spec; });
    if (it == set.certs.end() || it->chain.empty()) return fail(spec, "is missing");
    const certificate& leaf = it->chain.front();
    if (!leaf.matches_key(it->key)) return fail(spec, "does not match its private key");
    for (const auto& name : want.names) {
      if (!leaf.covers({name})) return fail(spec, "does not cover " + name);
    }
    if (leaf.not_before() > now) return fail(spec, "is not valid before " + format_rfc822(leaf.not_before()));
    if (leaf.not_after() <= now) return fail(spec, "expired at " + format_rfc822(leaf.not_after()));
    seen.push_back(leaf.fingerprint_sha256());
  }
  if (!announced.empty()) {
    for (std::size_t i = 0; i < seen.size(); ++i) {
      if (std::find(announced.begin(), announced.end(), seen[i]) == announced.end())
        return fail(want.specs[i], "is not the announced one (sha256 " + seen[i] + ")");
    }
  }
  return {};
}

bool staged_set_live(const store& st, const managed_domain& md) {
  auto j = load_staging_job(st, md);
  if (!j || !*j) return false;
  const job& jb = **j;
  return jb.finished && jb.notified_renewed && jb.live_since != sys_time{};
}

expected<staged_set> load_live_set(const store& st, const live_expectation& want,
                                   const std::vector<std::string>& announced, sys_time now) {
  auto loaded = load_staging(st, want.md);
  if (!loaded) return loaded.error().prefixed(want.md);
  if (!*loaded) return error(store_errc::not_found, want.md + ": nothing complete is staged");
  if (auto ok = check_live_set(**loaded, want, announced, now); !ok) return ok.error();
  return std::move(**loaded);
}

} // namespace mda
