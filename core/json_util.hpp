// Reading the store's JSON files safely: parsing text into an ordered_json with an error that
// names the file and the byte, and a small typed reader for the members of one object that
// md.json, job.json, order.json and account.json readers share.
//
// The reader's policy (the brief for all store files): a member that is absent or null leaves
// the target at its default; a member of the wrong type, or a value that cannot be understood,
// is an error naming the source and the member ("md.json: \"ca.urls[1]\" must be a string,
// found number"). The first error is remembered; later reads are still done but not reported.
// Not here: what any file means (core/md.hpp, core/job.hpp), writing files (store/).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/timefmt.hpp"

namespace mda {

/// What is wrong with a JSON document.
enum class json_errc {
  ok = 0,
  syntax = 1,     ///< the text is not JSON (truncated, garbage, bad UTF-8, nested too deep)
  wrong_type = 2, ///< a member has another JSON type than the format says
  bad_value = 3,  ///< a member has the right type but a value that is not understood
  missing = 4,    ///< a member the format requires is absent
};

const std::error_category& json_category() noexcept;
std::error_code make_error_code(json_errc e) noexcept;

/// Nesting deeper than this is refused while parsing (mod_md's files nest 4 levels; ACME
/// objects kept inside them a few more). Guards the recursive dump/compare code downstream.
inline constexpr int k_json_max_depth = 64;

/// Whether `text` nests arrays and objects at most `max_depth` deep, counted without parsing
/// (brackets inside strings, escapes included, do not count). For texts parsed by other means
/// than parse_json (a CA's answers): a 100,000-deep array is refused before a parser builds it,
/// and before anything re-serialises it recursively.
bool json_nesting_within(std::string_view text, int max_depth = k_json_max_depth);

/// Parses `text`. Errors (json_errc::syntax): "<source>: invalid JSON at byte N: <reason>",
/// N being the 0-based offset where the parser gave up; control and non-ASCII bytes in the
/// reason are shown as \xNN.
expected<nlohmann::ordered_json> parse_json(std::string_view text, const std::string& source);

/// Writing helpers shared by the writers of the store files.
/// A JSON array of the strings.
nlohmann::ordered_json json_string_array(const std::vector<std::string>& items);
/// Sets j[key] = value unless value is empty (mod_md omits empty strings).
void json_set_if(nlohmann::ordered_json& j, const char* key, const std::string& value);
/// Sets j[key] to the RFC 822 form of t unless t is zero (the epoch), as mod_md omits it.
void json_set_time_if(nlohmann::ordered_json& j, const char* key, sys_time t);
/// {"from": ..., "until": ...} with either member left out when zero (md-status "valid").
nlohmann::ordered_json json_period(sys_time from, sys_time until);

/// Typed reads of the members of one JSON object, remembering the first error.
class json_fields {
 public:
  /// `obj` must outlive the reader. A non-object `obj` is recorded as an error at once.
  json_fields(const nlohmann::ordered_json& obj, std::string source);

  /// The member, or nullptr when absent or null.
  const nlohmann::ordered_json* find(const char* key) const;

  void get(const char* key, std::string& out);
  void get(const char* key, bool& out);
  void get(const char* key, int& out);
  void get(const char* key, long long& out);
  /// An array of strings.
  void get(const char* key, std::vector<std::string>& out);
  /// An RFC 822 date string; "" leaves `out` untouched (mod_md writes no empty dates).
  void get_time(const char* key, sys_time& out);
  /// Any JSON value, kept as it is (registration objects, ACME subproblems).
  void get_json(const char* key, nlohmann::ordered_json& out);

  /// A reader for the member object `key`, sharing this reader's error state. Absent/null
  /// gives a reader over an empty object; another type records an error.
  json_fields object(const char* key);
  /// The length of the member array `key`: 0 when absent/null, an error for another type.
  std::size_t array_size(const char* key);
  /// A reader for element `index` of the member array `key` (an object, else an error).
  json_fields element(const char* key, std::size_t index);

  /// Records an error about member `key` ("<source>: \"<path.key>\" <what>").
  void fail(json_errc code, const char* key, const std::string& what);
  /// Records an error with a message of its own ("<source>: <message>").
  void fail_plain(json_errc code, const std::string& message);

  bool ok() const { return !state_->failed; }
  /// The first error, or success.
  status result() const;

 private:
  struct shared_state {
    std::string source;
    error first;
    bool failed = false;
  };
  json_fields(const nlohmann::ordered_json& obj, std::shared_ptr<shared_state> st,
              std::string path);
  std::string where(const char* key) const;
  bool check_type(const char* key, const nlohmann::ordered_json& v, bool ok, const char* want);

  const nlohmann::ordered_json* obj_;
  std::shared_ptr<shared_state> state_;
  std::string path_; ///< "ca." for the members of "ca", "" at the top
};

} // namespace mda

namespace std {
template <>
struct is_error_code_enum<mda::json_errc> : true_type {};
} // namespace std
