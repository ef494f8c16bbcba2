// `mdctl run --config FILE`: the engine without Apache (for tests, benchmarks and users of
// other servers), from the same engine_config the Apache module fills.
//
// - Loads the configuration (core/engine_config.hpp), opens the store, writes
//   domains/<md>/md.json for every MD that has none yet (as mod_md's sync does; an existing
//   one is left as it is), then runs the engine (actors/engine.hpp) until SIGTERM / SIGINT.
// - Challenges: the store's challenges/ group is written as for Apache, and the embedded
//   responders answer them when settings.http01_port / tlsalpn01_port are set (on
//   settings.responder_address); only the types a responder (or an MDChallengeDns01 program)
//   answers are offered to the CA.
// - Staged certificates are activated in-process when ready (no Apache to do it at restart).
// - --once: exit when every MD is complete or failed (0 = none failed, 1 = one failed).
// Not here: forking, privileges, OCSP.
#pragma once

#include <string>
#include <vector>

namespace mda::mdctl {

/// The usage text of the run command (part of `mdctl --help`).
extern const char* const k_run_usage;

/// Runs `mdctl run` with the arguments after "run"; returns the exit status.
int run_main(const std::vector<std::string>& args);

} // namespace mda::mdctl
