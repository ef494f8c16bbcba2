// Hiding credentials in what status outputs show (see redact.hpp).
#include "core/redact.hpp"

#include <algorithm>

namespace mda {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/// Where the authority starts: after "<scheme>://" when the URL has one, else at 0.
std::size_t authority_start(std::string_view url) {
  const std::size_t sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0) return 0;
  if (url.substr(0, sep).find_first_of("/?#@") != std::string_view::npos) return 0;
  return sep + 3;
}

} // namespace

std::string redact_url(std::string_view url) {
  const std::size_t start = authority_start(url);
  const std::size_t end = std::min(url.size(), url.find_first_of("/?#", start));
  const std::size_t at = url.substr(0, end).rfind('@');
  if (at == std::string_view::npos || at < start) return std::string(url);
  return std::string(url.substr(0, start)) + std::string(k_redacted) + std::string(url.substr(at));
}

std::string redact_command(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && is_blank(line[i])) ++i;
  const std::size_t first = i;
  char quote = 0;
  for (; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '\\' && i + 1 < line.size()) {
      ++i; // the escaped character belongs to the word
    } else if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (is_blank(c)) {
      break;
    }
  }
  std::string out(line.substr(first, i - first));
  while (i < line.size() && is_blank(line[i])) ++i;
  if (i < line.size()) out += " " + std::string(k_redacted);
  return out;
}

} // namespace mda
