#include "store/cert_files.hpp"

#include "core/certgen.hpp"

namespace mda {

namespace {

std::string path_or_empty(const store& st, const std::string& name, const std::string& aspect) {
  auto p = st.file_path(store_group::domains, name, aspect);
  return p ? *p : std::string();
}

} // namespace

std::vector<cert_file_pair> md_cert_files(const store& st, const md_spec& md) {
  std::vector<cert_file_pair> out;
  if (!md.cert_files.empty()) {
    for (std::size_t i = 0; i < md.cert_files.size(); ++i) {
      out.push_back({md.cert_files[i], i < md.pkey_files.size() ? md.pkey_files[i] : std::string()});
    }
    return out;
  }
  for (const auto& spec : md.key_specs) {
    const std::string cert = aspect::pubcert(spec);
    const std::string key = aspect::privkey(spec);
    if (!st.exists(store_group::domains, md.name, cert) ||
        !st.exists(store_group::domains, md.name, key)) {
      continue;
    }
    out.push_back({path_or_empty(st, md.name, cert), path_or_empty(st, md.name, key)});
  }
  return out;
}

expected<private_key> fallback_keys::get(const key_spec& spec) {
  const std::string id = spec.name();
  auto it = keys_.find(id);
  if (it != keys_.end()) return it->second;
  auto key = private_key::generate(spec);
  if (!key) return key.error();
  ++generated_;
  keys_.emplace(id, *key);
  return *key;
}

expected<std::vector<cert_file_pair>> ensure_fallback_files(store& st, const md_spec& md,
                                                            fallback_keys& keys, sys_time now) {
  std::vector<cert_file_pair> out;
  for (const auto& spec : md.key_specs) {
    const std::string cert_aspect = aspect::fallback_pubcert(spec);
    const std::string key_aspect = aspect::fallback_privkey(spec);
    const bool have = st.exists(store_group::domains, md.name, cert_aspect) &&
                      st.exists(store_group::domains, md.name, key_aspect);
    if (!have) {
      auto key = keys.get(spec);
      if (!key) {
        return error(key.error().code, "fallback certificate for MD '" + md.name + "': " +
                                           key.error().message);
      }
      auto cert = make_fallback_certificate(*key, md.domains, now);
      if (!cert) {
        return error(cert.error().code, "fallback certificate for MD '" + md.name + "': " +
                                            cert.error().message);
      }
      auto pem = cert->to_pem();
      if (!pem) return pem.error();
      // The key first: a certificate without its key is never left behind as "present".
      if (auto s = st.save_key(store_group::domains, md.name, key_aspect, *key); !s) return s.error();
      if (auto s = st.save_text(store_group::domains, md.name, cert_aspect, *pem); !s) return s.error();
    }
    out.push_back({path_or_empty(st, md.name, cert_aspect), path_or_empty(st, md.name, key_aspect)});
  }
  return out;
}

} // namespace mda
