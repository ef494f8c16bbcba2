#include "acme/client.hpp"

#include <thread>

#include "core/jws.hpp"
#include "core/json_util.hpp"

namespace mda::acme {

sleep_fn real_sleep() {
  return [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
}

client::client(std::shared_ptr<http_transport> transport, client_options opts,
               std::shared_ptr<const time_source> clock)
    : transport_(std::move(transport)),
      opts_(std::move(opts)),
      clock_(clock ? std::move(clock) : std::make_shared<system_time_source>()),
      nonces_(opts_.nonce_capacity) {}

acme_result<directory> client::get_directory() {
  constexpr auto kind = request_kind::directory;
  std::lock_guard<std::mutex> lock(dir_mu_);
  if (dir_) return *dir_;
  auto res = transport_->get(opts_.directory_url);
  if (!res) return report(kind, problem_from_error(res.error(), opts_.directory_url));
  nonces_.add_from(*res);
  if (res->status < 200 || res->status > 299) {
    // mod_md: any non-2xx directory answer means "try again later" (503 = maintenance).
    problem p = report(kind, problem_from_response(*res, clock_->now()));
    p.code = acme_errc::again;
    auto d = directory_from_response(*res);
    if (!d) return acme_result<directory>(d.error(), p);
    return p;
  }
  auto d = directory_from_response(*res);
  if (!d) {
    report(kind, k_request_bad_response);
    return d.error();
  }
  report(kind, k_request_ok);
  dir_ = *d;
  return *dir_;
}

void client::reset_directory() {
  std::lock_guard<std::mutex> lock(dir_mu_);
  dir_.reset();
}

acme_result<std::string> client::next_nonce() {
  constexpr auto kind = request_kind::new_nonce;
  if (auto n = nonces_.take()) return *n;
  auto dir = get_directory();
  if (!dir) return dir.failure<std::string>();
  auto res = transport_->head(dir->new_nonce);
  if (!res) return report(kind, problem_from_error(res.error(), dir->new_nonce));
  if (res->status < 200 || res->status > 299) return report(kind, problem_from_response(*res, clock_->now()));
  nonces_.add_from(*res);
  if (auto n = nonces_.take()) {
    report(kind, k_request_ok);
    return *n;
  }
  report(kind, k_request_bad_response);
  return error(acme_errc::bad_response,
               "no Replay-Nonce in the answer to HEAD " + dir->new_nonce);
}

void client::report(request_kind kind, std::string_view result) const {
  if (opts_.observe) opts_.observe(request_event{opts_.directory_url, kind, result});
}

problem client::report(request_kind kind, problem p) const {
  report(kind, request_result_of(p));
  return p;
}

namespace {

bool is_json_type(const std::string& media) {
  return media == "application/json" || media == "application/problem+json" ||
         (media.size() > 5 && media.compare(media.size() - 5, 5, "+json") == 0);
}

expected<nlohmann::json> parse_text(const http_response& res, const std::string& step) {
  if (!json_nesting_within(res.body))
    return error(acme_errc::bad_response, step + ": the answer from " + res.url + " nests deeper than " +
                                              std::to_string(k_json_max_depth) + " levels");
  auto j = nlohmann::json::parse(res.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    return error(acme_errc::bad_response, step + ": the answer from " + res.url + " is not JSON");
  return j;
}

} // namespace

acme_result<acme_response> client::signed_request(request_kind kind, const std::string& url,
                                                  const std::string& payload, const signer& who) {
  const std::string step = "POST " + url;
  for (int attempt = 0;; ++attempt) {
    auto nonce = next_nonce();
    if (!nonce) return nonce.failure<acme_response>();
    auto jws = jws_sign(who.key, payload, jws_header{url, *nonce, who.kid});
    if (!jws) return jws.error().prefixed(step);
    auto res = transport_->post(url, jws->dump(), "application/jose+json");
    if (!res) return report(kind, problem_from_error(res.error(), url));
    nonces_.add_from(*res);
    if (res->status >= 200 && res->status <= 299) {
      acme_response out{std::move(*res), nullptr};
      const std::string media = out.http.media_type();
      if (!out.http.body.empty() &&
          (is_json_type(media) || (media.empty() && out.http.body.front() == '{'))) {
        auto j = parse_text(out.http, step);
        if (!j) {
          report(kind, k_request_bad_response);
          return j.error();
        }
        out.body = std::move(*j);
      }
      report(kind, k_request_ok);
      return out;
    }
    problem p = report(kind, problem_from_response(*res, clock_->now()));
    // RFC 8555 §6.5: a badNonce answer carries a fresh nonce; retry with it, bounded.
    if (p.short_type() == "badNonce" && attempt < opts_.max_bad_nonce_retries) continue;
    return p;
  }
}

acme_result<acme_response> client::post(const std::string& url, const nlohmann::json& payload,
                                        const signer& who) {
  std::string text;
  try {
    text = payload.dump();
  } catch (const nlohmann::json::exception& e) { // invalid UTF-8 in a configured value
    return error(acme_errc::invalid, "POST " + url + ": cannot serialize the payload: " + e.what());
  }
  return signed_request(request_kind::post, url, text, who);
}

acme_result<acme_response> client::post_as_get(const std::string& url, const signer& who) {
  return signed_request(request_kind::post_as_get, url, "", who);
}

acme_result<http_response> client::get(const std::string& url) {
  constexpr auto kind = request_kind::get;
  auto res = transport_->get(url);
  if (!res) return report(kind, problem_from_error(res.error(), url));
  nonces_.add_from(*res);
  if (res->status < 200 || res->status > 299) return report(kind, problem_from_response(*res, clock_->now()));
  report(kind, k_request_ok);
  return std::move(*res);
}

expected<nlohmann::json> json_body(const http_response& res, const std::string& step) {
  if (res.body.empty()) return nlohmann::json(nullptr);
  std::string media = res.media_type();
  if (!media.empty() && !is_json_type(media))
    return error(acme_errc::bad_response, step + ": the answer from " + res.url +
                                              " has content type '" + media +
                                              "', expected JSON");
  return parse_text(res, step);
}

std::optional<sys_time> retry_after_of(const http_response& res, sys_time now) {
  auto v = res.header("Retry-After");
  if (!v) return std::nullopt;
  return parse_retry_after(*v, now);
}

} // namespace mda::acme
