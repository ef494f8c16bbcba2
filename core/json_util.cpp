#include "core/json_util.hpp"

#include <climits>
#include <cstdio>

namespace mda {

namespace {

using ojson = nlohmann::ordered_json;

class json_category_impl : public std::error_category {
 public:
  const char* name() const noexcept override { return "mdactor.json"; }
  std::string message(int ev) const override {
    switch (static_cast<json_errc>(ev)) {
      case json_errc::ok: return "ok";
      case json_errc::syntax: return "invalid JSON";
      case json_errc::wrong_type: return "JSON member of the wrong type";
      case json_errc::bad_value: return "JSON member with a bad value";
      case json_errc::missing: return "required JSON member missing";
    }
    return "unknown JSON error";
  }
};

/// Thrown by the parse callback to stop at the depth limit; never leaves this file.
struct too_deep {};

/// nlohmann's what() is "[json.exception.parse_error.101] parse error at line L, column C:
/// <reason>"; keep the reason, with unprintable bytes escaped.
std::string parse_reason(const std::string& what) {
  std::string reason = what;
  auto at = what.find("parse error");
  if (at != std::string::npos) {
    auto colon = what.find(": ", at);
    if (colon != std::string::npos) reason = what.substr(colon + 2);
  }
  std::string out;
  for (unsigned char c : reason) {
    if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

const ojson& empty_object() {
  static const ojson instance = ojson::object();
  return instance;
}

} // namespace

const std::error_category& json_category() noexcept {
  static const json_category_impl instance;
  return instance;
}

std::error_code make_error_code(json_errc e) noexcept { return {static_cast<int>(e), json_category()}; }

bool json_nesting_within(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

expected<ojson> parse_json(std::string_view text, const std::string& source) {
  ojson::parser_callback_t limit = [](int depth, ojson::parse_event_t, ojson&) {
    if (depth >= k_json_max_depth) throw too_deep{}; // depth counts from 0
    return true;
  };
  try {
    return ojson::parse(text.begin(), text.end(), limit);
  } catch (const ojson::parse_error& e) {
    auto offset = e.byte > 0 ? e.byte - 1 : 0;
    return error(json_errc::syntax, source + ": invalid JSON at byte " + std::to_string(offset) +
                                        ": " + parse_reason(e.what()));
  } catch (const too_deep&) {
    return error(json_errc::syntax, source + ": invalid JSON: nested deeper than " +
                                        std::to_string(k_json_max_depth) + " levels");
  } catch (const std::exception& e) {
    return error(json_errc::syntax, source + ": invalid JSON: " + parse_reason(e.what()));
  }
}

// --- json_fields -------------------------------------------------------------------------

json_fields::json_fields(const ojson& obj, std::string source)
    : json_fields(obj, std::make_shared<shared_state>(), "") {
  state_->source = std::move(source);
  if (!obj.is_object()) {
    obj_ = &empty_object();
    fail_plain(json_errc::wrong_type,
               std::string("expected a JSON object, found ") + obj.type_name());
  }
}

json_fields::json_fields(const ojson& obj, std::shared_ptr<shared_state> st, std::string path)
    : obj_(&obj), state_(std::move(st)), path_(std::move(path)) {}

const ojson* json_fields::find(const char* key) const {
  auto it = obj_->find(key);
  if (it == obj_->end() || it->is_null()) return nullptr;
  return &*it;
}

std::string json_fields::where(const char* key) const { return "\"" + path_ + key + "\""; }

void json_fields::fail(json_errc code, const char* key, const std::string& what) {
  fail_plain(code, where(key) + " " + what);
}

void json_fields::fail_plain(json_errc code, const std::string& message) {
  if (state_->failed) return;
  state_->failed = true;
  state_->first = error(code, state_->source + ": " + message);
}

status json_fields::result() const {
  if (state_->failed) return state_->first;
  return {};
}

bool json_fields::check_type(const char* key, const ojson& v, bool ok, const char* want) {
  if (!ok) {
    std::string found = v.is_number_float() ? "a fractional number" : v.type_name();
    fail(json_errc::wrong_type, key, std::string("must be ") + want + ", found " + found);
  }
  return ok;
}

void json_fields::get(const char* key, std::string& out) {
  const ojson* v = find(key);
  if (v && check_type(key, *v, v->is_string(), "a string")) out = v->get<std::string>();
}

void json_fields::get(const char* key, bool& out) {
  const ojson* v = find(key);
  if (v && check_type(key, *v, v->is_boolean(), "a boolean")) out = v->get<bool>();
}

void json_fields::get(const char* key, long long& out) {
  const ojson* v = find(key);
  if (!v || !check_type(key, *v, v->is_number_integer(), "an integer")) return;
  if (v->is_number_unsigned() && v->get<unsigned long long>() > static_cast<unsigned long long>(LLONG_MAX)) {
    fail(json_errc::bad_value, key, "is out of range: " + v->dump());
    return;
  }
  out = v->get<long long>();
}

void json_fields::get(const char* key, int& out) {
  long long wide = out;
  get(key, wide);
  if (wide < INT_MIN || wide > INT_MAX) {
    fail(json_errc::bad_value, key, "is out of range: " + std::to_string(wide));
    return;
  }
  out = static_cast<int>(wide);
}

void json_fields::get(const char* key, std::vector<std::string>& out) {
  const ojson* v = find(key);
  if (!v || !check_type(key, *v, v->is_array(), "an array of strings")) return;
  std::vector<std::string> items;
  for (std::size_t i = 0; i < v->size(); ++i) {
    const ojson& e = (*v)[i];
    if (!e.is_string()) {
      std::string at = std::string(key) + "[" + std::to_string(i) + "]";
      check_type(at.c_str(), e, false, "a string");
      return;
    }
    items.push_back(e.get<std::string>());
  }
  out = std::move(items);
}

void json_fields::get_time(const char* key, sys_time& out) {
  std::string text;
  get(key, text);
  if (text.empty()) return;
  auto t = parse_rfc822(text);
  if (!t) {
    fail(json_errc::bad_value, key, "is not an RFC 822 date: '" + text + "'");
    return;
  }
  out = *t;
}

void json_fields::get_json(const char* key, ojson& out) {
  if (const ojson* v = find(key)) out = *v;
}

json_fields json_fields::object(const char* key) {
  const ojson* v = find(key);
  if (!v) return json_fields(empty_object(), state_, path_ + key + ".");
  if (!check_type(key, *v, v->is_object(), "an object"))
    return json_fields(empty_object(), state_, path_ + key + ".");
  return json_fields(*v, state_, path_ + key + ".");
}

std::size_t json_fields::array_size(const char* key) {
  const ojson* v = find(key);
  if (!v || !check_type(key, *v, v->is_array(), "an array")) return 0;
  return v->size();
}

json_fields json_fields::element(const char* key, std::size_t index) {
  std::string at = std::string(key) + "[" + std::to_string(index) + "]";
  const ojson* v = find(key);
  if (!v || !v->is_array() || index >= v->size()) {
    fail(json_errc::missing, at.c_str(), "does not exist");
    return json_fields(empty_object(), state_, path_ + at + ".");
  }
  const ojson& e = (*v)[index];
  if (!check_type(at.c_str(), e, e.is_object(), "an object"))
    return json_fields(empty_object(), state_, path_ + at + ".");
  return json_fields(e, state_, path_ + at + ".");
}

nlohmann::ordered_json json_string_array(const std::vector<std::string>& items) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (const auto& s : items) a.push_back(s);
  return a;
}

void json_set_if(nlohmann::ordered_json& j, const char* key, const std::string& value) {
  if (!value.empty()) j[key] = value;
}

void json_set_time_if(nlohmann::ordered_json& j, const char* key, sys_time t) {
  if (t > sys_time{}) j[key] = format_rfc822(t);
}

nlohmann::ordered_json json_period(sys_time from, sys_time until) {
  nlohmann::ordered_json v = nlohmann::ordered_json::object();
  json_set_time_if(v, "from", from);
  json_set_time_if(v, "until", until);
  return v;
}

} // namespace mda
