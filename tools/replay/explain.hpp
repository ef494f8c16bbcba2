// md-replay --explain: what the engine would decide for each MD of a store at a given time,
// and why, by running the same pure decision functions (core/renewal.hpp) on the store's
// files as the domain actor does (actors/domain.cpp decide, domain_backend.cpp load):
//
// - The MD: from --config (engine_config) when that lists MDs (what the engine runs with),
//   else domains/<md>/md.json of the store. "used" from the config, else true.
// - Certificates: the leaf of domains/<md>/pubcert*.pem per key spec (aspect::pubcert);
//   MDs with MDCertificateFile get none, as in the engine. An unreadable file counts as
//   missing, with the reason shown.
// - The job: staging/<md>/job.json; absent -> a fresh job; unreadable -> a fresh job too
//   (the engine starts over), with the reason shown.
// - Settings: MDRenewWindow / MDWarnWindow / MDCheckInterval from engine_settings (defaults,
//   or --config), resolved per MD (make_md_spec). No ARI answer is known (as in the engine).
// - The regular check is shown without jitter (random byte 128); the engine adds -50..+49.6 %.
// Not here: timelines (timeline.hpp), changing anything in the store.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/engine_config.hpp"
#include "core/error.hpp"
#include "core/job.hpp"
#include "core/md.hpp"
#include "core/renewal.hpp"
#include "core/x509.hpp"

namespace mda::replay {

/// What one MD's decision is made from.
struct explain_input {
  managed_domain md;
  std::string md_origin;    ///< "config" or the md.json path
  bool used = true;
  std::vector<std::optional<certificate>> leaves; ///< per certificate slot
  std::vector<std::string> leaf_notes;            ///< per slot: "" or why it is missing
  mda::job job;
  std::string job_note;     ///< "staging/<md>/job.json", "no job.json" or why it was dropped
};

/// The inputs of every MD (or only `only_md` when not empty) from a store directory.
/// `cfg` may be null (defaults). Errors: a store without MDs, an md.json that does not
/// parse, an MD `only_md` that is not there; all name the file or MD.
expected<std::vector<explain_input>> load_explain_inputs(const std::string& store_dir,
                                                         const engine_config* cfg,
                                                         const std::string& only_md);

struct explanation {
  std::string md;
  std::string md_origin;
  sys_time now{};
  std::string error;          ///< make_md_spec failed (a bad window): nothing was decided
  renewal_settings settings;
  std::vector<cert_facts> certs;
  std::vector<std::string> cert_notes;
  md_assessment assessment;
  std::string job_note;
  int job_errors = 0;
  bool job_finished = false;
  sys_time job_next_run{};
  renewal_decision decision;
  sys_time regular{};         ///< now + MDCheckInterval (no jitter)
  sys_time next_look{};       ///< next_look(decision, regular)
};

explanation explain(const explain_input& in, const engine_settings& settings, sys_time now);

/// The explanation as text (times RFC 3339; the reason as the core words it).
std::string format_explanation(const explanation& e);
nlohmann::ordered_json to_json(const explanation& e);

} // namespace mda::replay
