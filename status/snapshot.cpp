#include "status/snapshot.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <tuple>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/json_util.hpp"
#include "core/redact.hpp"
#include "status/md_status.hpp"

namespace mda {

namespace {

using ojson = nlohmann::ordered_json;

ojson slot_json(const cert_slot& s) {
  ojson j = ojson::object();
  j["name"] = s.name;
  if (!s.cert) {
    j["missing"] = true;
    return j;
  }
  const ojson c = to_json(*s.cert);
  for (auto it = c.begin(); it != c.end(); ++it) j[it.key()] = *it;
  return j;
}

ojson slots_json(const std::vector<cert_slot>& slots) {
  ojson a = ojson::array();
  for (const auto& s : slots) a.push_back(slot_json(s));
  return a;
}

ojson stapling_json(const stapling_info& s) {
  ojson j = ojson::object();
  j["domain"] = s.domain;
  j["id"] = s.id;
  json_set_if(j, "sha256-fingerprint", s.sha256_fingerprint);
  json_set_if(j, "url", s.responder_url);
  j["status"] = to_string(s.status);
  j["valid"] = json_period(s.valid_from, s.valid_until);
  json_set_time_if(j, "renew-at", s.renew_at);
  if (s.renewal) j["renewal"] = to_json(*s.renewal);
  return j;
}

ojson md_entry_json(const md_snapshot& m) {
  ojson j = ojson::object();
  j["md"] = to_public_json(m.md);
  j["certs"] = slots_json(m.certs);
  json_set_time_if(j, "renew-at", m.renew_at);
  j["watched"] = m.watched;
  j["renew"] = m.renew;
  j["renewing"] = m.renewing;
  if (m.renewal) j["renewal"] = to_json(*m.renewal);
  j["staged-certs"] = slots_json(m.staged_certs);
  if (m.ocsp_renewal) j["ocsp-renewal"] = to_json(*m.ocsp_renewal);
  json_set_if(j, "ca-in-use", redact_url(m.ca_in_use));
  json_set_time_if(j, "next-run", m.next_run);
  if (m.error != 0) j["error"] = m.error;
  if (m.served_from != served_source::none) j["served"] = served_json(m);
  if (!m.cluster.node.empty()) j["cluster"] = cluster_json(m.cluster);
  return j;
}

// --- reading -------------------------------------------------------------------------------

/// The member `key` of `f` as a raw JSON object, or nullptr (absent; another type is recorded).
const ojson* raw_object(json_fields& f, const char* key) {
  const ojson* v = f.find(key);
  if (v && !v->is_object()) {
    f.fail(json_errc::wrong_type, key, std::string("must be an object, found ") + v->type_name());
    return nullptr;
  }
  return v;
}

/// Records the error of a nested reader (md.json, job.json) whose message already names it.
void fail_nested(json_fields& f, const error& e) {
  const bool is_json = e.code.category() == json_category();
  f.fail_plain(is_json ? static_cast<json_errc>(e.code.value()) : json_errc::bad_value, e.message);
}

/// A job.json kept in the snapshot; `where` names it in errors ("mds[0].renewal").
void read_job(json_fields& f, const char* key, const std::string& where, std::optional<job>& out) {
  const ojson* v = raw_object(f, key);
  if (!v) return;
  auto jb = job_from_json(*v, "\"" + where + "\"");
  if (jb) out = std::move(*jb);
  else fail_nested(f, jb.error());
}

void read_period(json_fields f, sys_time& from, sys_time& until) {
  f.get_time("from", from);
  f.get_time("until", until);
}

cert_slot read_slot(json_fields f) {
  cert_slot s;
  f.get("name", s.name);
  bool missing = false;
  f.get("missing", missing);
  if (missing) return s;
  cert_info c;
  f.get("issuer-name", c.issuer_name);
  f.get("issuer-uri", c.issuer_uri);
  read_period(f.object("valid"), c.valid_from, c.valid_until);
  f.get("serial", c.serial);
  f.get("sha256-fingerprint", c.sha256_fingerprint);
  f.get("ari-cert-id", c.ari_cert_id);
  s.cert = std::move(c);
  return s;
}

std::vector<cert_slot> read_slots(json_fields& f, const char* key) {
  std::vector<cert_slot> out;
  const std::size_t n = f.array_size(key);
  for (std::size_t i = 0; i < n && f.ok(); ++i) out.push_back(read_slot(f.element(key, i)));
  return out;
}

stapling_info read_stapling(json_fields f, const std::string& where) {
  stapling_info s;
  f.get("domain", s.domain);
  f.get("id", s.id);
  f.get("sha256-fingerprint", s.sha256_fingerprint);
  f.get("url", s.responder_url);
  std::string status = "unknown";
  f.get("status", status);
  if (status == "good") s.status = ocsp_cert_status::good;
  else if (status == "revoked") s.status = ocsp_cert_status::revoked;
  else if (status == "unknown") s.status = ocsp_cert_status::unknown;
  else f.fail(json_errc::bad_value, "status", "is not an OCSP status: '" + status + "'");
  read_period(f.object("valid"), s.valid_from, s.valid_until);
  f.get_time("renew-at", s.renew_at);
  read_job(f, "renewal", where + ".renewal", s.renewal);
  return s;
}

md_snapshot read_md_entry(json_fields f, const std::string& where) {
  md_snapshot m;
  if (const ojson* v = raw_object(f, "md")) {
    auto md = md_from_json(*v, "\"" + where + ".md\"");
    if (md) m.md = std::move(*md);
    else fail_nested(f, md.error());
  }
  m.certs = read_slots(f, "certs");
  f.get_time("renew-at", m.renew_at);
  f.get("watched", m.watched);
  f.get("renew", m.renew);
  f.get("renewing", m.renewing);
  read_job(f, "renewal", where + ".renewal", m.renewal);
  m.staged_certs = read_slots(f, "staged-certs");
  read_job(f, "ocsp-renewal", where + ".ocsp-renewal", m.ocsp_renewal);
  f.get("ca-in-use", m.ca_in_use);
  f.get_time("next-run", m.next_run);
  f.get("error", m.error);
  if (const ojson* sv = raw_object(f, "served")) {
    json_fields sf(*sv, where + ".served");
    std::string from;
    sf.get("from", from);
    if (from == "domains") m.served_from = served_source::domains;
    else if (from == "files") m.served_from = served_source::files;
    else if (from == "staging") m.served_from = served_source::staging;
    sf.get_time("since", m.served_since);
    if (auto r = sf.result(); !r) fail_nested(f, r.error());
  }
  if (const ojson* cv = raw_object(f, "cluster")) {
    json_fields cf(*cv, where + ".cluster");
    cf.get("node", m.cluster.node);
    cf.get("owner", m.cluster.owner);
    cf.get_time("lease-expires", m.cluster.lease_expires);
    std::string etcd;
    cf.get("etcd", etcd);
    if (etcd.rfind("unreachable: ", 0) == 0) m.cluster.problem = etcd.substr(13);
    if (auto r = cf.result(); !r) fail_nested(f, r.error());
  }
  return m;
}

} // namespace

bool cert_info::operator==(const cert_info& o) const {
  return std::tie(issuer_name, issuer_uri, valid_from, valid_until, serial, sha256_fingerprint,
                  ari_cert_id) == std::tie(o.issuer_name, o.issuer_uri, o.valid_from, o.valid_until,
                                           o.serial, o.sha256_fingerprint, o.ari_cert_id);
}

bool stapling_info::operator==(const stapling_info& o) const {
  return std::tie(domain, id, sha256_fingerprint, responder_url, status, valid_from, valid_until,
                  renew_at, renewal) == std::tie(o.domain, o.id, o.sha256_fingerprint,
                                                 o.responder_url, o.status, o.valid_from,
                                                 o.valid_until, o.renew_at, o.renewal);
}

const job* ocsp_job_of(const status_snapshot& s, std::string_view owner) {
  for (const auto& m : s.mds)
    if (m.md.name == owner && m.ocsp_renewal) return &*m.ocsp_renewal;
  if (owner == "other" && s.other_ocsp_renewal) return &*s.other_ocsp_renewal;
  const job* newest = nullptr;
  for (const auto& st : s.staplings)
    if (st.domain == owner && st.renewal && (!newest || st.renewal->last_run > newest->last_run))
      newest = &*st.renewal;
  return newest;
}

ojson served_json(const md_snapshot& m) {
  ojson j = ojson::object();
  j["from"] = to_string(m.served_from);
  json_set_time_if(j, "since", m.served_since);
  return j;
}

ojson cluster_json(const md_cluster_view& c) {
  ojson j = ojson::object();
  j["node"] = c.node;
  json_set_if(j, "owner", c.owner);
  json_set_time_if(j, "lease-expires", c.lease_expires);
  j["etcd"] = c.problem.empty() ? std::string("reachable") : "unreachable: " + c.problem;
  return j;
}

const char* to_string(served_source s) noexcept {
  switch (s) {
    case served_source::none: return "none";
    case served_source::domains: return "domains";
    case served_source::files: return "files";
    case served_source::staging: return "staging";
  }
  return "none";
}

bool md_snapshot::operator==(const md_snapshot& o) const {
  return std::tie(md, certs, renew_at, watched, renew, renewing, renewal, staged_certs,
                  ocsp_renewal, ca_in_use, next_run, error, served_from, served_since, cluster) ==
         std::tie(o.md, o.certs, o.renew_at, o.watched, o.renew, o.renewing, o.renewal,
                  o.staged_certs, o.ocsp_renewal, o.ca_in_use, o.next_run, o.error, o.served_from,
                  o.served_since, o.cluster);
}

bool status_snapshot::operator==(const status_snapshot& o) const {
  return std::tie(version, published, cert_check_name, cert_check_url, mds, staplings,
                  other_ocsp_renewal) == std::tie(o.version, o.published, o.cert_check_name,
                                                  o.cert_check_url, o.mds, o.staplings,
                                                  o.other_ocsp_renewal);
}

const char* to_string(ocsp_cert_status s) noexcept {
  switch (s) {
    case ocsp_cert_status::good: return "good";
    case ocsp_cert_status::revoked: return "revoked";
    case ocsp_cert_status::unknown: return "unknown";
  }
  return "unknown";
}

cert_info inspect_certificate(const certificate& leaf) {
  cert_info c;
  c.issuer_name = leaf.issuer_name();
  auto issuers = leaf.ca_issuers_urls();
  if (!issuers.empty()) c.issuer_uri = issuers.front();
  c.valid_from = leaf.not_before();
  c.valid_until = leaf.not_after();
  c.serial = leaf.serial_hex();
  c.sha256_fingerprint = leaf.fingerprint_sha256();
  if (auto id = leaf.ari_cert_id()) c.ari_cert_id = *id;
  return c;
}

ojson to_json(const cert_info& c) {
  ojson j = ojson::object();
  json_set_if(j, "issuer-name", c.issuer_name);
  json_set_if(j, "issuer-uri", c.issuer_uri);
  j["valid"] = json_period(c.valid_from, c.valid_until);
  json_set_if(j, "serial", c.serial);
  json_set_if(j, "sha256-fingerprint", c.sha256_fingerprint);
  json_set_if(j, "ari-cert-id", c.ari_cert_id);
  return j;
}

ojson to_json(const status_snapshot& s) {
  ojson j = ojson::object();
  j["version"] = s.version;
  json_set_time_if(j, "published", s.published);
  if (!s.cert_check_name.empty() || !s.cert_check_url.empty()) {
    j["cert-check"] = ojson::object();
    j["cert-check"]["name"] = s.cert_check_name;
    j["cert-check"]["url"] = s.cert_check_url;
  }
  j["mds"] = ojson::array();
  for (const auto& m : s.mds) j["mds"].push_back(md_entry_json(m));
  j["staplings"] = ojson::array();
  for (const auto& st : s.staplings) j["staplings"].push_back(stapling_json(st));
  if (s.other_ocsp_renewal) j["other-ocsp-renewal"] = to_json(*s.other_ocsp_renewal);
  return j;
}

// --- the file's text, piece by piece ------------------------------------------------------

std::string indent_entry(const std::string& text) {
  static constexpr std::string_view k_indent = "    ";
  const auto lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
  std::string out;
  out.reserve(text.size() + lines * k_indent.size());
  for (char c : text) {
    out += c;
    if (c == '\n') out += k_indent;
  }
  return out;
}

namespace {

/// Cuts `text` after the opening bracket of the top-level array `key` (rendered empty, "[]"):
/// `before` gets the text up to and with "[", the rest stays in `text` from "]" on. A line
/// "\n  \"key\": []" can only be the top-level member (strings have no raw newline).
void cut_after_array(std::string& text, std::string_view key, std::string& before) {
  const std::string marker = "\n  \"" + std::string(key) + "\": [";
  const std::size_t at = text.find(marker + "]") + marker.size();
  before = text.substr(0, at);
  text.erase(0, at);
}

/// Appends the entries of one array, separated.
void append_entries(std::string& out, const std::vector<std::string_view>& entries) {
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) out += k_snapshot_separator;
    out += entries[i];
  }
}

} // namespace

std::string snapshot_md_text(const md_snapshot& m) {
  return indent_entry(render_json(md_entry_json(m)));
}

std::string snapshot_stapling_text(const stapling_info& s) {
  return indent_entry(render_json(stapling_json(s)));
}

snapshot_frame snapshot_text_frame(const status_snapshot& s, bool any_md, bool any_stapling) {
  status_snapshot outer; // the document without entries: both arrays render as "[]"
  outer.version = s.version;
  outer.published = s.published;
  outer.cert_check_name = s.cert_check_name;
  outer.cert_check_url = s.cert_check_url;
  outer.other_ocsp_renewal = s.other_ocsp_renewal;
  std::string rest = render_json(to_json(outer));
  snapshot_frame f;
  cut_after_array(rest, "mds", f.head);
  cut_after_array(rest, "staplings", f.middle);
  f.tail = std::move(rest);
  if (any_md) { // "[\n    " entries "\n  ]"
    f.head += "\n    ";
    f.middle.insert(0, "\n  ");
  }
  if (any_stapling) {
    f.middle += "\n    ";
    f.tail.insert(0, "\n  ");
  }
  return f;
}

std::string snapshot_join(const status_snapshot& s, const std::vector<std::string_view>& mds,
                          const std::vector<std::string_view>& staplings) {
  const snapshot_frame f = snapshot_text_frame(s, !mds.empty(), !staplings.empty());
  std::size_t size = f.head.size() + f.middle.size() + f.tail.size();
  for (const auto* list : {&mds, &staplings})
    for (const auto& e : *list) size += e.size() + k_snapshot_separator.size();
  std::string out;
  out.reserve(size);
  out += f.head;
  append_entries(out, mds);
  out += f.middle;
  append_entries(out, staplings);
  out += f.tail;
  return out;
}

std::string render_snapshot_file(const status_snapshot& s) {
  std::vector<std::string> texts;
  texts.reserve(s.mds.size() + s.staplings.size());
  for (const auto& m : s.mds) texts.push_back(snapshot_md_text(m));
  for (const auto& st : s.staplings) texts.push_back(snapshot_stapling_text(st));
  std::vector<std::string_view> mds(texts.begin(), texts.begin() + s.mds.size());
  std::vector<std::string_view> staplings(texts.begin() + s.mds.size(), texts.end());
  return snapshot_join(s, mds, staplings);
}

expected<status_snapshot> snapshot_from_json(const ojson& j, const std::string& source) {
  status_snapshot s;
  json_fields f(j, source);
  f.get("version", s.version);
  f.get_time("published", s.published);
  json_fields check = f.object("cert-check");
  check.get("name", s.cert_check_name);
  check.get("url", s.cert_check_url);
  const std::size_t n = f.array_size("mds");
  for (std::size_t i = 0; i < n && f.ok(); ++i)
    s.mds.push_back(read_md_entry(f.element("mds", i), "mds[" + std::to_string(i) + "]"));
  const std::size_t k = f.array_size("staplings");
  for (std::size_t i = 0; i < k && f.ok(); ++i)
    s.staplings.push_back(
      read_stapling(f.element("staplings", i), "staplings[" + std::to_string(i) + "]"));
  read_job(f, "other-ocsp-renewal", "other-ocsp-renewal", s.other_ocsp_renewal);
  if (auto st = f.result(); !st) return st.error();
  return s;
}

expected<status_snapshot> parse_snapshot(std::string_view text, const std::string& source) {
  auto j = parse_json(text, source);
  if (!j) return j.error();
  return snapshot_from_json(*j, source);
}

namespace {

error cannot_read(const std::string& path, int err) {
  return error(std::error_code(err, std::generic_category()),
               "cannot read '" + path + "': " + std::strerror(err));
}

/// The rest of an open file as text.
expected<std::string> read_rest(int fd, const std::string& path) {
  std::string text;
  char buf[65536];
  for (;;) {
    const auto n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return cannot_read(path, errno);
    if (n == 0) return text;
    text.append(buf, static_cast<std::size_t>(n));
  }
}

/// An open descriptor that closes itself.
struct open_file {
  int fd;
  ~open_file() {
    if (fd >= 0) ::close(fd);
  }
};

} // namespace

expected<status_snapshot> load_snapshot_file(const std::string& path) {
  open_file f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) return cannot_read(path, errno);
  auto text = read_rest(f.fd, path);
  if (!text) return text.error();
  return parse_snapshot(*text, path);
}

bool snapshot_file_cache::file_id::operator==(const file_id& o) const {
  return std::tie(dev, ino, size, mtime_ns, ctime_ns) ==
         std::tie(o.dev, o.ino, o.size, o.mtime_ns, o.ctime_ns);
}

expected<std::shared_ptr<const status_snapshot>> snapshot_file_cache::get(const std::string& path) {
  open_file f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) return cannot_read(path, errno);
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) return cannot_read(path, errno);
  const auto ns = [](const timespec& t) { return static_cast<long long>(t.tv_sec) * 1'000'000'000LL + t.tv_nsec; };
  const file_id id{st.st_dev, st.st_ino, st.st_size, ns(st.st_mtim), ns(st.st_ctim)};
  std::lock_guard<std::mutex> lock(mu_);
  if (snap_ && path_ == path && id_ == id) return snap_;
  auto text = read_rest(f.fd, path); // this file, whatever has replaced it at `path` since
  if (!text) return text.error();
  ++parses_;
  auto parsed = parse_snapshot(*text, path);
  if (!parsed) return parsed.error();
  snap_ = std::make_shared<const status_snapshot>(std::move(*parsed));
  path_ = path;
  id_ = id;
  return snap_;
}

std::size_t snapshot_file_cache::parses() const {
  std::lock_guard<std::mutex> lock(mu_);
  return parses_;
}

} // namespace mda
