#include "store/staging.hpp"

#include "store/accounts.hpp"
#include "store/cert_files.hpp"
#include "store/fs_io.hpp"

namespace mda {

namespace {

std::string staged_path(const std::string& md, const std::string& aspect) {
  return "staging/" + md + "/" + aspect;
}

error mismatch(const std::string& md, const key_spec& spec) {
  return error(store_errc::corrupt, staged_path(md, aspect::pubcert(spec)) +
                                        ": certificate does not match the private key in " +
                                        staged_path(md, aspect::privkey(spec)));
}

/// The chain of a cert to stage: `chain`, or `chain_pem` parsed.
expected<std::vector<certificate>> chain_to_stage(const std::string& md, const staged_cert& c) {
  if (!c.chain.empty()) return c.chain;
  return read_pem_chain(c.chain_pem, "certificate chain for key spec '" + c.spec.name() +
                                         "' of MD '" + md + "'");
}

/// One (spec, key, chain) per key spec of the MD, in spec order, each key matching its leaf.
expected<std::vector<staged_cert>> certs_to_stage(const managed_domain& md,
                                                  const std::vector<staged_cert>& certs) {
  std::vector<staged_cert> out;
  for (const auto& spec : effective_key_specs(md)) {
    const staged_cert* found = nullptr;
    for (const auto& c : certs)
      if (c.spec == spec) found = &c;
    if (!found)
      return error(store_errc::invalid, "no certificate for key spec '" + spec.name() +
                                            "' of MD '" + md.name + "' to stage");
    auto chain = chain_to_stage(md.name, *found);
    if (!chain) return chain.error();
    if (!found->key.valid() || !chain->front().matches_key(found->key))
      return error(store_errc::invalid, "the certificate for key spec '" + spec.name() +
                                            "' of MD '" + md.name +
                                            "' does not match its private key");
    out.push_back({spec, found->key, *chain, {}});
  }
  return out;
}

} // namespace

status write_staging(store& st, const managed_domain& md, const std::vector<staged_cert>& certs,
                     const job& jb, const std::optional<staged_account>& account) {
  if (md.ca.url.empty())
    return error(store_errc::invalid, "MD '" + md.name + "' to stage names no CA (ca.url)");
  auto set = certs_to_stage(md, certs);
  if (!set) return set.error();
  const std::string& name = md.name;
  if (auto s = st.remove(store_group::staging, name, aspect::md, true); !s) return s;
  for (const auto& c : *set) {
    auto pem = write_pem_chain(c.chain);
    if (!pem) return pem.error();
    if (auto s = st.save_key(store_group::staging, name, aspect::privkey(c.spec), c.key); !s)
      return s;
    if (auto s = st.save_text(store_group::staging, name, aspect::pubcert(c.spec), *pem); !s)
      return s;
  }
  if (account) {
    if (auto s = st.save_json(store_group::staging, name, aspect::account, to_json(account->file));
        !s)
      return s;
    if (auto s = st.save_key(store_group::staging, name, aspect::account_key, account->key); !s)
      return s;
  }
  if (auto s = st.save_json(store_group::staging, name, aspect::job, to_json(jb)); !s) return s;
  return st.save_json(store_group::staging, name, aspect::md, to_json(md));
}

namespace {

/// nullopt: absent (the set is incomplete); an error: present but unusable.
using maybe_cert = expected<std::optional<staged_cert>>;

maybe_cert load_staged_cert(const store& st, const std::string& name, const key_spec& spec) {
  auto key = st.load_key(store_group::staging, name, aspect::privkey(spec));
  if (!key) {
    if (is_not_found(key.error())) return std::optional<staged_cert>{};
    return key.error();
  }
  const std::string cert_aspect = aspect::pubcert(spec);
  auto pem = st.load_text(store_group::staging, name, cert_aspect);
  if (!pem) {
    if (is_not_found(pem.error())) return std::optional<staged_cert>{};
    return pem.error();
  }
  auto chain = read_pem_chain(*pem, staged_path(name, cert_aspect));
  if (!chain) return chain.error();
  if (!chain->front().matches_key(*key)) return mismatch(name, spec);
  return std::optional<staged_cert>{staged_cert{spec, *key, std::move(*chain), std::move(*pem)}};
}

/// The staged account; nullopt both when there is none and when its key is missing
/// (`incomplete` tells the latter).
expected<std::optional<staged_account>> load_staged_account(const store& st,
                                                            const std::string& name,
                                                            bool& incomplete) {
  auto j = st.load_json(store_group::staging, name, aspect::account);
  if (!j) {
    if (is_not_found(j.error())) return std::optional<staged_account>{};
    return j.error();
  }
  auto file = account_from_json(*j, staged_path(name, aspect::account));
  if (!file) return file.error();
  auto key = st.load_key(store_group::staging, name, aspect::account_key);
  if (!key) {
    if (!is_not_found(key.error())) return key.error();
    incomplete = true;
    return std::optional<staged_account>{};
  }
  return std::optional<staged_account>{staged_account{{}, std::move(*file), std::move(*key)}};
}

} // namespace

status save_order_account(store& st, const std::string& md_name, const order_account& a) {
  // the key first: a json without its key is never left behind
  if (auto s = st.save_key(store_group::staging, md_name, order_account_key_aspect, a.key); !s)
    return s;
  nlohmann::ordered_json j;
  j["id"] = a.id;
  j["url"] = a.url;
  j["ca-url"] = a.ca_url;
  return st.save_json(store_group::staging, md_name, order_account_aspect, j);
}

expected<std::optional<order_account>> load_order_account(const store& st,
                                                          const std::string& md_name) {
  auto j = st.load_json(store_group::staging, md_name, order_account_aspect);
  if (!j) {
    if (is_not_found(j.error())) return std::optional<order_account>{};
    return j.error();
  }
  const auto where = staged_path(md_name, order_account_aspect);
  order_account a;
  for (auto [field, into] : {std::pair<const char*, std::string*>{"id", &a.id}, {"url", &a.url},
                             {"ca-url", &a.ca_url}}) {
    auto f = j->find(field);
    if (f == j->end() || !f->is_string())
      return error(store_errc::corrupt, where + ": no string \"" + std::string(field) + "\"");
    *into = f->get<std::string>();
  }
  if (a.url.empty() || a.ca_url.empty())
    return error(store_errc::corrupt, where + ": empty \"url\" or \"ca-url\"");
  auto key = st.load_key(store_group::staging, md_name, order_account_key_aspect);
  if (!key) {
    if (is_not_found(key.error())) return std::optional<order_account>{};
    return key.error();
  }
  a.key = std::move(*key);
  return std::optional<order_account>{std::move(a)};
}

expected<std::optional<staged_set>> load_staging(const store& st, const std::string& name) {
  using result = std::optional<staged_set>;
  auto j = st.load_json(store_group::staging, name, aspect::md);
  if (!j) {
    if (is_not_found(j.error())) return result{};
    return j.error();
  }
  auto md = md_from_json(*j, staged_path(name, aspect::md));
  if (!md) return md.error();
  if (md->ca.url.empty()) return result{}; // a renewal that has not picked its CA yet
  staged_set set;
  set.md = std::move(*md);
  for (const auto& spec : effective_key_specs(set.md)) {
    auto c = load_staged_cert(st, name, spec);
    if (!c) return c.error();
    if (!*c) return result{};
    set.certs.push_back(std::move(**c));
  }
  bool incomplete = false;
  auto acct = load_staged_account(st, name, incomplete);
  if (!acct) return acct.error();
  if (incomplete) return result{};
  set.account = std::move(*acct);
  if (auto jj = st.load_json(store_group::staging, name, aspect::job); jj)
    if (auto parsed = job_from_json(*jj, staged_path(name, aspect::job)); parsed)
      set.renewal = std::move(*parsed);
  return result{std::move(set)};
}

namespace {

/// Step 2: challenge files of the staged order (http-01, tls-alpn-01), then order.json.
/// Best effort, as mod_md's order purge.
void teardown_staged_order(store& st, const std::string& name) {
  auto j = st.load_json(store_group::staging, name, aspect::order);
  if (!j) return;
  if (auto order = order_from_json(*j, staged_path(name, aspect::order)); order) {
    for (const auto& setup : order->challenge_setups) {
      const auto colon = setup.find(':');
      if (colon == std::string::npos) continue;
      const std::string type = setup.substr(0, colon);
      const std::string dns = setup.substr(colon + 1, setup.find(' ', colon) - colon - 1);
      if ((type == "http-01" || type == "tls-alpn-01") && !dns.empty())
        (void)st.purge(store_group::challenges, dns);
    }
  }
  (void)st.remove(store_group::staging, name, aspect::order, true);
}

/// Step 3: the staged account into accounts/, md.ca.account set (see the header).
status file_staged_account(store& st, staged_set& set) {
  managed_domain& md = set.md;
  if (!set.account) {
    if (md.ca.account.empty())
      md.ca.account = find_account_id(st, md.ca.url, md.eab).value_or(std::string());
    return {};
  }
  std::string id = md.ca.account;
  if (id.empty()) id = find_account_id(st, md.ca.url, md.eab).value_or(std::string());
  if (id.empty()) {
    auto prefix = account_id_prefix_for_url(md.ca.url);
    if (!prefix) return prefix.error();
    auto made = save_account_new_id(st, *prefix, set.account->file, set.account->key);
    if (!made) return made.error();
    id = *made;
  } else if (auto s = save_account(st, id, set.account->file, set.account->key); !s) {
    return s;
  }
  md.ca.account = id;
  set.account->id = id;
  return {};
}

/// Step 4: tmp/<md> with plain keys (the tmp group does not encrypt).
status write_tmp(store& st, const staged_set& set) {
  const std::string& name = set.md.name;
  if (auto s = st.save_json(store_group::tmp, name, aspect::md, to_json(set.md), true); !s)
    return s;
  for (const auto& c : set.certs) {
    auto pem = write_pem_chain(c.chain);
    if (!pem) return pem.error();
    if (auto s = st.save_key(store_group::tmp, name, aspect::privkey(c.spec), c.key, true); !s)
      return s;
    if (auto s = st.save_text(store_group::tmp, name, aspect::pubcert(c.spec), *pem, true); !s)
      return s;
  }
  if (set.renewal)
    return st.save_json(store_group::tmp, name, aspect::job, to_json(*set.renewal));
  return {};
}

} // namespace

expected<bool> activate_staging(store& st, const std::string& md_name) {
  // Any failure drops the staged set, as mod_md does (see the header).
  const auto abandon = [&](const std::string& step, const error& e) {
    (void)st.purge(store_group::tmp, md_name);
    (void)st.purge(store_group::staging, md_name);
    (void)st.purge(store_group::challenges, md_name);
    return error(e.code, "activating the staged set of '" + md_name + "': " + step + ": " +
                             e.message);
  };
  auto loaded = load_staging(st, md_name);
  if (!loaded) return abandon("loading the staged set", loaded.error());
  if (!*loaded) return false;
  staged_set set = std::move(**loaded);
  set.md.name = md_name; // filed under the directory it was staged in
  teardown_staged_order(st, md_name);
  if (auto s = st.purge(store_group::tmp, md_name); !s) return abandon("purging tmp", s.error());
  if (auto s = file_staged_account(st, set); !s)
    return abandon("saving the staged account", s.error());
  if (auto s = write_tmp(st, set); !s) return abandon("writing tmp/" + md_name, s.error());
  if (auto s = st.move(store_group::tmp, store_group::domains, md_name, true); !s)
    return abandon("moving tmp to domains", s.error());
  (void)st.purge(store_group::staging, md_name);
  (void)st.purge(store_group::challenges, md_name);
  return true;
}

namespace {

std::optional<certificate> leaf_of(const expected<std::string>& pem, const std::string& source) {
  if (!pem) return std::nullopt;
  auto chain = read_pem_chain(*pem, source);
  if (!chain) return std::nullopt;
  return chain->front();
}

} // namespace

bool staging_job_plausible(const store& st, const managed_domain& md, const job& j) {
  if (!j.finished || !j.notified_renewed) return true;
  if (!st.exists(store_group::staging, md.name, aspect::md)) return false;
  for (const auto& spec : effective_key_specs(md))
    if (!st.exists(store_group::staging, md.name, aspect::pubcert(spec))) return false;
  return true;
}

expected<std::optional<job>> load_staging_job(const store& st, const managed_domain& md) {
  auto j = st.load_json(store_group::staging, md.name, aspect::job);
  if (!j) {
    if (is_not_found(j.error())) return std::optional<job>{};
    return j.error();
  }
  auto parsed = job_from_json(*j, "staging/" + md.name + "/job.json");
  if (!parsed) return parsed.error();
  if (!staging_job_plausible(st, md, *parsed)) return std::optional<job>{};
  return std::optional<job>{std::move(*parsed)};
}

std::vector<std::optional<certificate>> load_staged_leaves(const store& st, const managed_domain& md) {
  std::vector<std::optional<certificate>> out;
  for (const auto& spec : effective_key_specs(md)) {
    const std::string a = aspect::pubcert(spec);
    out.push_back(leaf_of(st.load_text(store_group::staging, md.name, a), "staging/" + md.name + "/" + a));
  }
  return out;
}

std::vector<std::optional<certificate>> load_domain_leaves(const store& st,
                                                           const managed_domain& md) {
  std::vector<std::optional<certificate>> out;
  if (!md.cert_files.empty()) {
    for (const auto& file : md.cert_files) out.push_back(leaf_of(st.read_outside(file), file));
    return out;
  }
  for (const auto& spec : effective_key_specs(md)) {
    const std::string a = aspect::pubcert(spec);
    out.push_back(leaf_of(st.load_text(store_group::domains, md.name, a),
                          "domains/" + md.name + "/" + a));
  }
  return out;
}

} // namespace mda
