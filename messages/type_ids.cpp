// Engine errors and the announcement of the message types (see type_ids.hpp).
#include "messages/type_ids.hpp"

#include <caf/make_message.hpp>
#include <caf/message.hpp>

#include "messages/domain.hpp"
#include "messages/job.hpp"
#include "messages/policy.hpp"
#include "messages/status.hpp"

namespace mda {

const char* to_string(md_outcome o) noexcept {
  switch (o) {
    case md_outcome::complete: return "complete";
    case md_outcome::staged: return "staged";
    case md_outcome::failed: return "failed";
    case md_outcome::skipped: return "skipped";
  }
  return "unknown";
}

std::string to_string(engine_errc e) {
  switch (e) {
    case engine_errc::ok: return "ok";
    case engine_errc::job_failed: return "job_failed";
    case engine_errc::job_crashed: return "job_crashed";
    case engine_errc::unknown_md: return "unknown_md";
    case engine_errc::bad_request: return "bad_request";
    case engine_errc::unavailable: return "unavailable";
    case engine_errc::io: return "io";
  }
  return "engine_errc(" + std::to_string(static_cast<int>(e)) + ")";
}

caf::error make_error(engine_errc code, std::string message) {
  return caf::error(static_cast<std::uint8_t>(code), engine_error_category,
                    caf::make_message(std::move(message)));
}

std::string error_text(const caf::error& err) {
  if (!err)
    return "";
  if (err.category() == engine_error_category && err.context().match_elements<std::string>())
    return err.context().get_as<std::string>(0);
  return to_string(err);
}

bool is_engine_error(const caf::error& err, engine_errc code) {
  return err && err.category() == engine_error_category &&
         err.code() == static_cast<std::uint8_t>(code);
}

void register_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<pool_stats>("mda::pool_stats");
  cfg.add_message_type<md_failure>("mda::md_failure");
  cfg.add_message_type<retry_plan>("mda::retry_plan");
  cfg.add_message_type<md_policy_state>("mda::md_policy_state");
  cfg.add_message_type<status_stats>("mda::status_stats");
  cfg.add_error_category(engine_error_category,
                         [](std::uint8_t code, caf::atom_value, const caf::message& ctx) {
                           auto text = to_string(static_cast<engine_errc>(code));
                           if (ctx.match_elements<std::string>())
                             text += ": " + ctx.get_as<std::string>(0);
                           return text;
                         });
}

} // namespace mda
