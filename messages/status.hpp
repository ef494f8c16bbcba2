// Messages of the status actor: the snapshot types of status/snapshot.hpp travel as they are
// (md_snapshot for one MD's update, status_snapshot for a query answer), plus its counters.
//
// md_snapshot and status_snapshot hold nested core types (md.json, job.json models) without
// inspect(): they are announced as local-only messages. Their wire form, should one be
// needed, is their JSON (to_json / parse_snapshot), never CAF serialization.
#pragma once

#include <cstdint>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/meta/type_name.hpp>

#include "status/snapshot.hpp"

namespace mda {

/// The status actor's counters.
struct status_stats {
  std::uint64_t updates = 0;      ///< MD updates and removals received
  std::uint64_t writes = 0;       ///< status files written
  std::uint64_t write_errors = 0; ///< failed writes (the next change tries again)
  std::string last_error;         ///< the message of the last failed write; "" = none
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, status_stats& x) {
  return f(caf::meta::type_name("status_stats"), x.updates, x.writes, x.write_errors,
           x.last_error);
}

} // namespace mda

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mda::md_snapshot)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mda::status_snapshot)
