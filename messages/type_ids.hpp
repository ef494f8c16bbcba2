// The vocabulary of the engine's messages: atoms, the engine's error category, and the one
// function that announces every custom message type to CAF 0.17.6.
//
// Atoms are `caf::atom_constant<caf::atom("...")>` (at most 10 characters); CAF's own
// get/put/delete/ok atoms are reused. Message structs live beside this header, one header
// per area (job.hpp, policy.hpp, status.hpp), each with its `inspect()`.
// Not here: actor interfaces (actors/actors.hpp), behaviour.
#pragma once

#include <cstdint>
#include <string>

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>

namespace mda {

// -- atoms --------------------------------------------------------------------------------

using caf::delete_atom;
using caf::get_atom;
using caf::ok_atom;
using caf::put_atom;

/// Run a blocking job (worker pool, worker).
using run_atom = caf::atom_constant<caf::atom("run")>;
/// Counters of an actor (worker pool).
using stats_atom = caf::atom_constant<caf::atom("stats")>;
/// A run of an MD failed (retry policy).
using failed_atom = caf::atom_constant<caf::atom("failed")>;
/// The md-status JSON (status).
using md_status_atom = caf::atom_constant<caf::atom("md_status")>;
/// The whole live snapshot (status).
using snapshot_atom = caf::atom_constant<caf::atom("snapshot")>;
/// Write the status file now (status, self-sent).
using publish_atom = caf::atom_constant<caf::atom("publish")>;

constexpr run_atom run_atom_v{};
constexpr stats_atom stats_atom_v{};
constexpr failed_atom failed_atom_v{};
constexpr md_status_atom md_status_atom_v{};
constexpr snapshot_atom snapshot_atom_v{};
constexpr publish_atom publish_atom_v{};

// -- errors -------------------------------------------------------------------------------

/// The category atom of engine errors in a caf::error.
constexpr caf::atom_value engine_error_category = caf::atom("mdactor");

/// What went wrong inside the engine (not in ACME, the store or the core: those travel as
/// values inside job results).
enum class engine_errc : std::uint8_t {
  ok = 0,
  job_failed = 1,   ///< a blocking job threw an exception
  job_crashed = 2,  ///< the worker running a job ended without answering
  unknown_md = 3,   ///< a request named a managed domain nobody knows
  bad_request = 4,  ///< a malformed query (status socket)
  unavailable = 5,  ///< the asked actor did not answer in time, or is gone
  io = 6,           ///< a file or socket call failed; the message names it
};

/// "job_failed", ... (for logs).
std::string to_string(engine_errc e);

/// A caf::error of the engine category whose context is the human-readable `message`.
caf::error make_error(engine_errc code, std::string message);

/// The human-readable message of an error: the text given to make_error for engine errors,
/// CAF's rendering (to_string) for any other.
std::string error_text(const caf::error& err);

/// True when `err` is an engine error with this code.
bool is_engine_error(const caf::error& err, engine_errc code);

// -- registration --------------------------------------------------------------------------

/// Announces every custom message type (add_message_type<T>("name")) and the engine's error
/// category. Call once on the config before constructing the actor_system.
void register_message_types(caf::actor_system_config& cfg);

} // namespace mda
