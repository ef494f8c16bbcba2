#include "ocsp/persist.hpp"

#include "core/base64.hpp"
#include "core/json_util.hpp"

namespace mda::ocsp {

bool stored_response::operator==(const stored_response& o) const {
  return status == o.status && der == o.der && valid.start == o.valid.start &&
         valid.end == o.valid.end;
}

expected<stored_response> stored_from(const response& r, const std::string& responder_url) {
  if (r.status == cert_status::unknown)
    return responder_error(ocsp_errc::cert_unknown,
                           "the OCSP responder does not know the certificate", responder_url);
  stored_response s;
  s.status = r.status;
  s.der = r.der;
  s.valid.start = r.this_update;
  s.valid.end = r.next_update ? *r.next_update : r.this_update + k_default_validity;
  return s;
}

nlohmann::ordered_json to_json(const stored_response& s) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  if (s.der.empty()) return j;
  j["response"] = base64url_encode(s.der);
  j["status"] = to_string(s.status);
  j["valid"] = json_period(s.valid.start, s.valid.end);
  return j;
}

expected<stored_response> stored_response_from_json(const nlohmann::ordered_json& j,
                                                    const std::string& source) {
  json_fields f(j, source);
  std::string b64, status_text;
  stored_response s;
  f.get("response", b64);
  f.get("status", status_text);
  json_fields valid = f.object("valid");
  valid.get_time("from", s.valid.start);
  valid.get_time("until", s.valid.end);
  if (f.ok() && b64.empty()) f.fail(json_errc::missing, "response", "is missing");
  if (f.ok()) {
    auto der = base64url_decode(b64);
    if (!der)
      f.fail(json_errc::bad_value, "response", "is not base64url");
    else
      s.der = std::move(*der);
  }
  if (auto st = f.result(); !st) return st.error();
  s.status = cert_status_from_string(status_text);
  return s;
}

expected<std::optional<stored_response>> load_stored(const store& st, const std::string& md_name,
                                                     const std::string& key) {
  const std::string file = aspect::ocsp(key);
  auto j = st.load_json(store_group::ocsp, md_name, file);
  if (!j) {
    if (is_not_found(j.error())) return std::optional<stored_response>{};
    return j.error();
  }
  auto s = stored_response_from_json(*j, "ocsp/" + md_name + "/" + file);
  if (!s) return s.error();
  return std::optional<stored_response>(std::move(*s));
}

status save_stored(store& st, const std::string& md_name, const std::string& key,
                   const stored_response& s) {
  return st.save_json(store_group::ocsp, md_name, aspect::ocsp(key), to_json(s));
}

expected<job> load_ocsp_job(const store& st, const std::string& md_name) {
  auto j = st.load_json(store_group::ocsp, md_name, aspect::job);
  if (!j) {
    if (!is_not_found(j.error())) return j.error();
    job empty;
    empty.name = md_name;
    return empty;
  }
  return job_from_json(*j, "ocsp/" + md_name + "/" + aspect::job);
}

status save_ocsp_job(store& st, const std::string& md_name, const job& j) {
  return st.save_json(store_group::ocsp, md_name, aspect::job, to_json(j));
}

sys_time refresh_at(const time_period& valid, const timeslice& renew_window) {
  return slice_before_end(renew_window, valid).start;
}

bool needs_refresh(const time_period& valid, const timeslice& renew_window, sys_time now) {
  return now >= refresh_at(valid, renew_window);
}

bool is_servable(const stored_response& s, sys_time now) {
  return !s.der.empty() && now < s.valid.end;
}

status remove_old_responses(store& st, const timeslice& keep, sys_time now) {
  return st.remove_not_modified_since(store_group::ocsp, now - keep.len, "*", "ocsp*.json");
}

refresh_outcome apply_fetch(store& st, const std::string& md_name, const std::string& key,
                            const expected<response>& fetched, const std::string& responder_url,
                            const std::optional<stored_response>& previous, sys_time now) {
  refresh_outcome out;
  auto keep_previous = [&](error e) {
    if (previous && is_servable(*previous, now)) out.current = previous;
    out.failure = std::move(e);
    return out;
  };
  if (!fetched) return keep_previous(fetched.error());
  auto s = stored_from(*fetched, responder_url);
  if (!s) return keep_previous(s.error());
  out.current = *s;
  if (auto saved = save_stored(st, md_name, key, *s); !saved)
    out.failure = saved.error();
  else
    out.saved = true;
  return out;
}

} // namespace mda::ocsp
