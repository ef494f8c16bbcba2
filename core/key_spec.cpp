#include "core/key_spec.hpp"

#include <algorithm>
#include <cctype>
#include <strings.h>

namespace mda {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

} // namespace

std::string key_spec::name() const { return type == kind::ec ? curve : "rsa"; }

std::string key_spec::file_suffix() const { return type == kind::ec ? "." + lower(curve) : ""; }

std::string key_spec::describe() const {
  if (type == kind::ec) return lower(curve);
  return "rsa-" + std::to_string(rsa_bits());
}

bool key_spec::operator==(const key_spec& o) const {
  if (type != o.type) return false;
  switch (type) {
    case kind::default_rsa: return true;
    case kind::rsa: return bits == o.bits;
    case kind::ec: return curve == o.curve;
  }
  return false;
}

nlohmann::ordered_json to_json(const key_spec& spec) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  switch (spec.type) {
    case key_spec::kind::default_rsa:
      j["type"] = "Default";
      break;
    case key_spec::kind::rsa:
      j["type"] = "RSA";
      if (spec.bits >= k_rsa_bits_min) j["bits"] = spec.bits;
      break;
    case key_spec::kind::ec:
      j["type"] = "EC";
      if (!spec.curve.empty()) j["curve"] = spec.curve;
      break;
  }
  return j;
}

key_spec key_spec_from_json(const nlohmann::ordered_json& j) {
  std::string type;
  if (j.is_object() && j.contains("type") && j["type"].is_string()) type = j["type"].get<std::string>();
  if (strcasecmp(type.c_str(), "RSA") == 0) {
    unsigned bits = k_rsa_bits_default;
    if (j.contains("bits") && j["bits"].is_number_integer() && j["bits"].get<long>() >= k_rsa_bits_min)
      bits = static_cast<unsigned>(j["bits"].get<long>());
    return key_spec::rsa(bits);
  }
  if (strcasecmp(type.c_str(), "EC") == 0) {
    std::string curve;
    if (j.contains("curve") && j["curve"].is_string()) curve = j["curve"].get<std::string>();
    return key_spec::ec(curve);
  }
  return key_spec::default_spec();
}

nlohmann::ordered_json to_json(const std::vector<key_spec>& specs) {
  if (specs.empty()) return nullptr;
  if (specs.size() == 1) return to_json(specs.front());
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (const auto& s : specs) a.push_back(to_json(s));
  return a;
}

std::vector<key_spec> key_specs_from_json(const nlohmann::ordered_json& j) {
  std::vector<key_spec> out;
  if (j.is_array()) {
    for (const auto& e : j) out.push_back(key_spec_from_json(e));
  } else if (j.is_object()) {
    out.push_back(key_spec_from_json(j));
  }
  return out;
}

} // namespace mda
