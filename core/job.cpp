#include "core/job.hpp"

#include "core/events.hpp"
#include "core/json_util.hpp"
#include "core/renewal.hpp"

#include <cstring>
#include <iterator>
#include <tuple>

namespace mda {

namespace {

using ojson = nlohmann::ordered_json;

// GNU strerror_r returns the text, XSI strerror_r an int; take whichever this libc has.
[[maybe_unused]] const char* strerror_text(int rc, const char* buf) { return rc == 0 ? buf : nullptr; }
[[maybe_unused]] const char* strerror_text(const char* text, const char*) { return text; }

/// APR's texts for its own codes that mod_md's results carry (apr_errno.h, APR 1.7).
const char* apr_text(int status) {
  switch (status) {
    case 20004: return "An invalid date has been provided";                      // APR_EBADDATE
    case 20014: return "Internal error (specific information not available)";    // APR_EGENERAL
    case 70007: return "The timeout specified has expired";                      // APR_TIMEUP
    case 70008: return "Partial results are valid but processing is incomplete"; // APR_INCOMPLETE
    case 70012: return "Bad character specified on command line";                // APR_BADCH
    case 70013: return "Missing parameter for the specified command line option"; // APR_BADARG
    case 70014: return "End of file found";                                      // APR_EOF
    case 70015: return "Could not find specified socket in poll list.";          // APR_NOTFOUND
    case 70023: return "This function has not been implemented on this platform"; // APR_ENOTIMPL
    case 70025: return "The given lock was busy.";                               // APR_EBUSY
    default: return nullptr;
  }
}

void read_result(json_fields f, result& r) {
  f.get("status", r.status);
  f.get("problem", r.problem);
  f.get("detail", r.detail);
  f.get("activity", r.activity);
  f.get_time("valid-from", r.valid_from);
  f.get_json("subproblems", r.subproblems);
}

ojson to_json(const log_entry& e) {
  ojson j = ojson::object();
  j["when"] = format_rfc822(e.when);
  j["type"] = e.type;
  json_set_if(j, "status", e.status);
  json_set_if(j, "detail", e.detail);
  return j;
}

void read_log(json_fields log, std::vector<log_entry>& out) {
  std::size_t n = log.array_size("entries");
  for (std::size_t i = 0; i < n && log.ok(); ++i) {
    json_fields f = log.element("entries", i);
    log_entry e;
    f.get_time("when", e.when);
    f.get("type", e.type);
    f.get("status", e.status);
    f.get("detail", e.detail);
    out.push_back(std::move(e));
  }
}

/// The RFC state names, indexed by the enum values.
const char* const k_order_states[] = {"pending", "ready", "processing", "valid", "invalid"};
const char* const k_account_states[] = {nullptr, "valid", "deactivated", "revoked"};

template <class Enum, std::size_t N>
bool enum_from_text(const std::string& text, const char* const (&names)[N], Enum& out) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] && text == names[i]) {
      out = static_cast<Enum>(i);
      return true;
    }
  }
  return false;
}

} // namespace

// --- result -------------------------------------------------------------------------------

bool result::operator==(const result& o) const {
  return std::tie(status, problem, detail, activity, valid_from, subproblems) ==
         std::tie(o.status, o.problem, o.detail, o.activity, o.valid_from, o.subproblems);
}

std::string status_description(int status) {
  if (status >= 0 && status < 20000) {
    char buf[256] = {0};
    const char* text = strerror_text(strerror_r(status, buf, sizeof buf), buf);
    return text ? text : "Unknown error " + std::to_string(status);
  }
  if (const char* text = apr_text(status)) return text;
  if (status >= 20000 && status < 120000) return "Error string not specified yet";
  return "APR does not understand this error code";
}

ojson to_json(const result& r) {
  ojson j = ojson::object();
  j["status"] = r.status;
  if (r.status > 0) j["status-description"] = status_description(r.status);
  json_set_if(j, "problem", r.problem);
  json_set_if(j, "detail", r.detail);
  json_set_if(j, "activity", r.activity);
  json_set_time_if(j, "valid-from", r.valid_from);
  if (!r.subproblems.is_null()) j["subproblems"] = r.subproblems;
  return j;
}

expected<result> result_from_json(const ojson& j, const std::string& source) {
  result r;
  json_fields f(j, source);
  read_result(f, r);
  if (auto st = f.result(); !st) return st.error();
  return r;
}

std::string progress_text(const result& r) {
  std::string msg, sep;
  if (!r.activity.empty()) {
    msg = r.activity;
    sep = ": ";
  }
  if (!r.detail.empty()) {
    msg += sep + r.detail;
    sep = ", ";
  }
  if (!r.problem.empty()) msg += sep + "problem: " + r.problem;
  return msg;
}

bool run_failure::operator==(const run_failure& o) const {
  return std::tie(detail, last, input_related, rate_limited, retry_after) ==
         std::tie(o.detail, o.last, o.input_related, o.rate_limited, o.retry_after);
}

run_failure plain_failure(std::string detail) {
  run_failure f;
  f.last.status = k_apr_egeneral;
  f.last.detail = detail;
  f.detail = std::move(detail);
  return f;
}

// --- job ----------------------------------------------------------------------------------

bool log_entry::operator==(const log_entry& o) const {
  return std::tie(when, type, status, detail) == std::tie(o.when, o.type, o.status, o.detail);
}

bool job::operator==(const job& o) const {
  return std::tie(name, finished, notified, notified_renewed, next_run, last_run, valid_from,
                  live_since, errors, last, log) ==
         std::tie(o.name, o.finished, o.notified, o.notified_renewed, o.next_run, o.last_run,
                  o.valid_from, o.live_since, o.errors, o.last, o.log);
}

void job::log_append(sys_time now, std::string type, std::string status, std::string detail) {
  log_entry e;
  e.when = std::chrono::time_point_cast<std::chrono::seconds>(now);
  e.type = std::move(type);
  e.status = std::move(status);
  e.detail = std::move(detail);
  log.insert(log.begin(), std::move(e));
  if (log.size() > k_job_max_log) log.resize(k_job_max_log);
}

void job::log_progress(sys_time now, const result& r) {
  auto text = progress_text(r);
  if (!text.empty()) log_append(now, "progress", {}, std::move(text));
}

void job::log_renewal_error(sys_time now, const result& r) {
  log_append(now, "renewal-error", r.problem, r.detail);
}

void job::log_notify_error(sys_time now, const result& r) { log_append(now, "notify-error", r.problem, r.detail); }

void job::log_ocsp_error(sys_time now, const result& r) { log_append(now, "ocsp-error", r.problem, r.detail); }

void job::log_message(sys_time now, const std::string& reason) { log_append(now, "message-" + reason); }

void job::log_message_error(sys_time now, const std::string& reason, const result& r) {
  log_append(now, "message-error", reason, r.detail);
}

bool job::start_run(sys_time now) {
  const bool was_finished = finished;
  if (finished) {
    finished = false;
    live_since = sys_time{};
    notified = false;
    notified_renewed = false;
    valid_from = sys_time{};
  }
  last_run = now;
  log_starting(now);
  return was_finished;
}

void job::finish_run(sys_time ready_at, sys_time now) {
  finished = true;
  live_since = sys_time{};
  notified = false;
  notified_renewed = false;
  valid_from = ready_at;
  errors = 0;
  next_run = sys_time{};
  result r;
  r.detail = renewed_detail(ready_at, now);
  r.valid_from = ready_at;
  last = r;
  log_finished(now);
}

void job::fail_run(const result& r, sys_time now, bool keep_last) {
  if (!keep_last || !last) last = r;
  log_renewal_error(now, r);
}

void job::plan_retry(int errors_now, sys_time at) {
  errors = errors_now;
  next_run = at;
}

void job::went_live(sys_time now) {
  live_since = now;
  errors = 0;
  next_run = sys_time{};
}

void job::discard_staged() {
  finished = false;
  notified = false;
  notified_renewed = false;
  valid_from = sys_time{};
  live_since = sys_time{};
}

void job::reset_after_activation() {
  auto keep = std::move(name);
  *this = job{};
  name = std::move(keep);
}

const log_entry* job::last_entry_of(std::string_view type) const {
  for (const auto& e : log) {
    if (e.type == type) return &e;
  }
  return nullptr;
}

std::optional<sys_time> job::last_time_of(std::string_view type) const {
  if (const log_entry* e = last_entry_of(type)) return e->when;
  return std::nullopt;
}

ojson to_json(const job& jb) {
  ojson j = ojson::object();
  json_set_if(j, "name", jb.name);
  j["finished"] = jb.finished;
  j["notified"] = jb.notified;
  j["notified-renewed"] = jb.notified_renewed;
  json_set_time_if(j, "next-run", jb.next_run);
  json_set_time_if(j, "last-run", jb.last_run);
  json_set_time_if(j, "valid-from", jb.valid_from);
  json_set_time_if(j, "mdactor-live-since", jb.live_since);
  j["errors"] = jb.errors;
  if (jb.last) j["last"] = to_json(*jb.last);
  if (!jb.log.empty()) {
    ojson entries = ojson::array();
    for (const auto& e : jb.log) entries.push_back(to_json(e));
    j["log"] = ojson::object();
    j["log"]["entries"] = std::move(entries);
  }
  return j;
}

expected<job> job_from_json(const ojson& j, const std::string& source) {
  job jb;
  json_fields f(j, source);
  f.get("name", jb.name);
  f.get("finished", jb.finished);
  f.get("notified", jb.notified);
  f.get("notified-renewed", jb.notified_renewed);
  f.get_time("next-run", jb.next_run);
  f.get_time("last-run", jb.last_run);
  f.get_time("valid-from", jb.valid_from);
  f.get_time("mdactor-live-since", jb.live_since);
  f.get("errors", jb.errors);
  if (f.find("last")) {
    jb.last.emplace();
    read_result(f.object("last"), *jb.last);
  }
  read_log(f.object("log"), jb.log);
  if (auto st = f.result(); !st) return st.error();
  return jb;
}

// --- order.json ---------------------------------------------------------------------------

const char* to_string(order_status s) noexcept {
  auto i = static_cast<std::size_t>(s);
  return i < std::size(k_order_states) ? k_order_states[i] : "invalid";
}

bool acme_order_file::operator==(const acme_order_file& o) const {
  return std::tie(url, status, authorizations, challenge_setups, finalize, certificate) ==
         std::tie(o.url, o.status, o.authorizations, o.challenge_setups, o.finalize, o.certificate);
}

ojson to_json(const acme_order_file& o) {
  ojson j = ojson::object();
  json_set_if(j, "url", o.url);
  j["status"] = to_string(o.status);
  j["authorizations"] = json_string_array(o.authorizations);
  j["challenge-setups"] = json_string_array(o.challenge_setups);
  json_set_if(j, "finalize", o.finalize);
  json_set_if(j, "certificate", o.certificate);
  return j;
}

expected<acme_order_file> order_from_json(const ojson& j, const std::string& source) {
  acme_order_file o;
  json_fields f(j, source);
  f.get("url", o.url);
  std::string status;
  f.get("status", status);
  if (!status.empty() && !enum_from_text(status, k_order_states, o.status))
    f.fail(json_errc::bad_value, "status", "is not an order status: '" + status + "'");
  f.get("authorizations", o.authorizations);
  f.get("challenge-setups", o.challenge_setups);
  f.get("finalize", o.finalize);
  f.get("certificate", o.certificate);
  if (auto st = f.result(); !st) return st.error();
  return o;
}

// --- account.json -------------------------------------------------------------------------

bool account_file::operator==(const account_file& o) const {
  return std::tie(status, url, ca_url, contact, registration, agreement, orders, eab_kid, eab_hmac) ==
         std::tie(o.status, o.url, o.ca_url, o.contact, o.registration, o.agreement, o.orders,
                  o.eab_kid, o.eab_hmac);
}

ojson to_json(const account_file& a) {
  ojson j = ojson::object();
  auto si = static_cast<std::size_t>(a.status);
  if (si < std::size(k_account_states) && k_account_states[si]) j["status"] = k_account_states[si];
  json_set_if(j, "url", a.url);
  json_set_if(j, "ca-url", a.ca_url);
  j["contact"] = json_string_array(a.contact);
  if (!a.registration.is_null()) j["registration"] = a.registration;
  json_set_if(j, "agreement", a.agreement);
  json_set_if(j, "orders", a.orders);
  if (!a.eab_kid.empty()) j["eab"]["kid"] = a.eab_kid;
  if (!a.eab_hmac.empty()) j["eab"]["hmac"] = a.eab_hmac;
  return j;
}

expected<account_file> account_from_json(const ojson& j, const std::string& source) {
  account_file a;
  json_fields f(j, source);
  std::string status;
  f.get("status", status);
  if (!status.empty() && !enum_from_text(status, k_account_states, a.status))
    f.fail(json_errc::bad_value, "status", "is not an account status: '" + status + "'");
  f.get("url", a.url);
  f.get("ca-url", a.ca_url);
  if (f.ok() && a.url.empty()) f.fail_plain(json_errc::missing, "account has no url");
  if (f.ok() && a.ca_url.empty())
    f.fail_plain(json_errc::missing, "account has no CA url: '" + a.url + "'");
  if (f.find("contact")) {
    f.get("contact", a.contact);
  } else {
    f.object("registration").get("contact", a.contact); // before mod_md 2.0
  }
  f.get_json("registration", a.registration);
  f.get("agreement", a.agreement);
  if (a.agreement.empty()) f.get("terms-of-service", a.agreement); // before mod_md 2.0
  f.get("orders", a.orders);
  json_fields eab = f.object("eab");
  if (eab.find("kid") && eab.find("hmac")) {
    eab.get("kid", a.eab_kid);
    eab.get("hmac", a.eab_hmac);
  }
  if (auto st = f.result(); !st) return st.error();
  return a;
}

} // namespace mda
