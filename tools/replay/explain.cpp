// md-replay --explain (explain.hpp): the store read without writing, the decision functions
// of core/renewal.hpp run on it, the result laid out for people and for machines.
#include "tools/replay/explain.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "core/json_util.hpp"
#include "core/md_spec.hpp"
#include "store/fs_io.hpp"
#include "store/paths.hpp"
#include "tools/replay/input.hpp"

namespace mda::replay {

namespace {

using ojson = nlohmann::ordered_json;
namespace fs = std::filesystem;


/// A JSON file of the store; not_found passes through for the caller to judge.
expected<ojson> load_json_file(const store_paths& paths, store_group g, const std::string& name,
                               const std::string& aspect) {
  auto file = paths.file(g, name, aspect);
  if (!file) return file.error();
  auto text = fsio::read_file(*file);
  if (!text) return text.error();
  return parse_json(*text, *file);
}

void load_leaves(const store_paths& paths, explain_input& in) {
  if (!in.md.cert_files.empty()) {
    for (std::size_t i = 0; i < certificate_slots(in.md).size(); ++i) {
      in.leaves.emplace_back();
      in.leaf_notes.push_back("MDCertificateFile: not loaded by the engine");
    }
    return;
  }
  for (const auto& spec : effective_key_specs(in.md)) {
    auto file = paths.file(store_group::domains, in.md.name, aspect::pubcert(spec));
    expected<std::string> text = file ? fsio::read_file(*file) : expected<std::string>(file.error());
    if (!text) {
      in.leaves.emplace_back();
      in.leaf_notes.push_back(is_not_found(text.error()) ? "no " + *file : text.error().message);
      continue;
    }
    auto chain = read_pem_chain(*text, *file);
    if (!chain || chain->empty()) {
      in.leaves.emplace_back();
      in.leaf_notes.push_back(chain ? *file + ": no certificate" : chain.error().message);
      continue;
    }
    in.leaves.emplace_back(chain->front());
    in.leaf_notes.emplace_back();
  }
}

void load_job(const store_paths& paths, explain_input& in) {
  in.job = job{};
  in.job.name = in.md.name;
  auto j = load_json_file(paths, store_group::staging, in.md.name, aspect::job);
  const std::string file = paths.group_dir(store_group::staging) + "/" + in.md.name + "/job.json";
  if (!j) {
    in.job_note = is_not_found(j.error()) ? "no " + file + " (a fresh job)"
                                          : j.error().message + " (the engine starts the job over)";
    return;
  }
  auto src = read_job(*j, file, in.md.name, "renewal");
  if (!src) {
    in.job_note = src.error().message + " (the engine starts the job over)";
    return;
  }
  in.job = std::move(src->job);
  in.job.name = in.md.name;
  in.job_note = file;
}

std::string rfc3339_or_dash(sys_time t) { return t == sys_time{} ? "-" : format_rfc3339(t); }

std::string yes_no(bool b) { return b ? "yes" : "no"; }

} // namespace

expected<std::vector<explain_input>> load_explain_inputs(const std::string& store_dir,
                                                         const engine_config* cfg,
                                                         const std::string& only_md) {
  std::error_code ec;
  if (!fs::is_directory(store_dir, ec))
    return error{store_errc::not_found, "'" + store_dir + "' is not a store directory"};
  const store_paths paths(store_dir);
  std::vector<explain_input> out;
  if (cfg && !cfg->mds.empty()) {
    for (const auto& m : cfg->mds) {
      if (!only_md.empty() && m.md.name != only_md) continue;
      explain_input in;
      in.md = m.md;
      in.md_origin = "config";
      in.used = m.used;
      out.push_back(std::move(in));
    }
  } else {
    for (const auto& name : group_names(paths.group_dir(store_group::domains))) {
      if (!only_md.empty() && name != only_md) continue;
      auto j = load_json_file(paths, store_group::domains, name, aspect::md);
      if (!j) {
        if (is_not_found(j.error())) continue;
        return j.error();
      }
      auto file = paths.file(store_group::domains, name, aspect::md);
      auto md = md_from_json(*j, *file);
      if (!md) return md.error();
      explain_input in;
      in.md = std::move(*md);
      in.md_origin = *file;
      out.push_back(std::move(in));
    }
  }
  if (out.empty()) {
    return error{store_errc::not_found, only_md.empty() ? "'" + store_dir + "': no managed domain found"
                                                        : "'" + only_md + "': no such managed domain"};
  }
  for (auto& in : out) {
    load_leaves(paths, in);
    load_job(paths, in);
  }
  return out;
}

explanation explain(const explain_input& in, const engine_settings& settings, sys_time now) {
  explanation e;
  e.md = in.md.name;
  e.md_origin = in.md_origin;
  e.now = now;
  e.certs = certificate_facts(in.md, in.leaves);
  e.cert_notes = in.leaf_notes;
  e.cert_notes.resize(e.certs.size());
  e.assessment = assess_certificates(in.md, e.certs);
  e.job_note = in.job_note;
  e.job_errors = in.job.errors;
  e.job_finished = in.job.finished;
  e.job_next_run = in.job.next_run;
  e.regular = next_check_time(now, settings.check_interval, 128);
  auto spec = make_md_spec(in.md, settings, in.used);
  if (!spec) {
    e.settings = renewal_settings{settings.renew_window, settings.warn_window, in.used};
    e.error = spec.error().message;
    e.next_look = e.regular;
    return e;
  }
  e.settings = spec->renewal;
  const renewal_input ri{in.md, e.certs, in.job, spec->renewal, std::nullopt};
  e.decision = decide_renewal(ri, now);
  e.next_look = next_look(e.decision, e.regular);
  return e;
}

std::string format_explanation(const explanation& e) {
  std::string out = "== " + e.md + " (md from " + e.md_origin + ")\n";
  auto line = [&out](const std::string& key, const std::string& value) {
    out += "  " + key + ":";
    out.append(key.size() < 12 ? 12 - key.size() : 1, ' ');
    out += value + "\n";
  };
  line("now", format_rfc3339(e.now));
  line("state", e.assessment.state == md_state::complete ? "complete" : "incomplete: " + e.assessment.descr);
  for (std::size_t i = 0; i < e.certs.size(); ++i) {
    const cert_facts& c = e.certs[i];
    std::string v = c.present ? format_rfc3339(c.not_before) + " .. " + format_rfc3339(c.not_after) +
                                    ", covers the domains: " + yes_no(c.covers_domains) +
                                    ", must-staple: " + yes_no(c.must_staple)
                              : "missing";
    if (!e.cert_notes[i].empty()) v += " (" + e.cert_notes[i] + ")";
    line("cert " + c.spec, v);
  }
  line("windows", "renew " + format_timeslice(e.settings.renew_window) + ", warn " +
                      format_timeslice(e.settings.warn_window) + ", used: " + yes_no(e.settings.used));
  line("job", e.job_note + ": errors " + std::to_string(e.job_errors) + ", finished: " +
                  yes_no(e.job_finished) + ", next-run: " + rfc3339_or_dash(e.job_next_run));
  if (!e.error.empty()) {
    line("error", e.error);
  } else {
    const renewal_decision& d = e.decision;
    line("action", to_string(d.action));
    std::string at = rfc3339_or_dash(d.at);
    if (d.at != sys_time{})
      at += " (in " + format_gap(std::chrono::duration_cast<std::chrono::seconds>(d.at - e.now)) + ")";
    line("at", at);
    line("reason", d.reason);
    line("expiring", yes_no(d.expiring));
    line("ari check", d.ari_check ? format_rfc3339(*d.ari_check) : "-");
  }
  line("next look", format_rfc3339(e.next_look) + " (regular check " + format_rfc3339(e.regular) +
                        " without its -50..+49.6 % jitter)");
  return out;
}

nlohmann::ordered_json to_json(const explanation& e) {
  ojson j;
  j["md"] = e.md;
  j["md-from"] = e.md_origin;
  j["now"] = format_rfc3339(e.now);
  j["state"] = e.assessment.state == md_state::complete ? "complete" : "incomplete";
  if (!e.assessment.descr.empty()) j["state-descr"] = e.assessment.descr;
  ojson certs = ojson::array();
  for (std::size_t i = 0; i < e.certs.size(); ++i) {
    const cert_facts& c = e.certs[i];
    ojson o;
    o["spec"] = c.spec;
    o["present"] = c.present;
    if (c.present) {
      o["not-before"] = format_rfc3339(c.not_before);
      o["not-after"] = format_rfc3339(c.not_after);
      o["covers-domains"] = c.covers_domains;
      o["must-staple"] = c.must_staple;
    }
    if (!e.cert_notes[i].empty()) o["note"] = e.cert_notes[i];
    certs.push_back(std::move(o));
  }
  j["certificates"] = std::move(certs);
  j["renew-window"] = format_timeslice(e.settings.renew_window);
  j["warn-window"] = format_timeslice(e.settings.warn_window);
  j["used"] = e.settings.used;
  const ojson next_run =
      e.job_next_run == sys_time{} ? ojson(nullptr) : ojson(format_rfc3339(e.job_next_run));
  j["job"] = {{"source", e.job_note}, {"errors", e.job_errors}, {"finished", e.job_finished},
              {"next-run", next_run}};
  if (!e.error.empty()) {
    j["error"] = e.error;
  } else {
    j["action"] = to_string(e.decision.action);
    j["at"] = e.decision.at == sys_time{} ? ojson(nullptr) : ojson(format_rfc3339(e.decision.at));
    j["reason"] = e.decision.reason;
    j["expiring"] = e.decision.expiring;
    j["ari-check"] = e.decision.ari_check ? ojson(format_rfc3339(*e.decision.ari_check)) : ojson(nullptr);
  }
  j["regular-check"] = format_rfc3339(e.regular);
  j["next-look"] = format_rfc3339(e.next_look);
  return j;
}

} // namespace mda::replay
