// One MD's status entry (see md_view.hpp).
#include "status/md_view.hpp"

#include "core/md_spec.hpp"

namespace mda {

std::vector<std::string> staged_slot_names(const managed_domain& md) {
  std::vector<std::string> names;
  for (const auto& spec : effective_key_specs(md)) names.push_back(spec.name());
  return names;
}

namespace {

std::vector<cert_slot> places(const std::vector<std::string>& names,
                              const std::vector<std::optional<certificate>>& leaves) {
  std::vector<cert_slot> out;
  out.reserve(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    cert_slot c{names[i], std::nullopt};
    if (i < leaves.size() && leaves[i]) c.cert = inspect_certificate(*leaves[i]);
    out.push_back(std::move(c));
  }
  return out;
}

} // namespace

std::vector<cert_slot> staged_cert_slots(const managed_domain& md,
                                         const std::vector<std::optional<certificate>>& staged) {
  return places(staged_slot_names(md), staged);
}

md_snapshot describe_md(const md_view_facts& f) {
  md_snapshot s;
  s.md = f.md;
  s.certs = places(certificate_slots(f.md), f.leaves);
  s.staged_certs = staged_cert_slots(f.md, f.staged);
  s.watched = is_watched(f.md, f.windows.used);
  s.renewing = f.renewing;
  auto facts = certificate_facts(f.md, f.leaves);
  auto start = earliest_window_start(facts, f.windows.renew_window);
  const bool incomplete = assess_certificates(f.md, facts).state != md_state::complete;
  s.renew_at = (start && !incomplete) ? start->at : f.now;
  if (f.renewal) s.renewal = *f.renewal;
  s.renew = s.renewing || s.renewal.has_value() || s.renew_at <= f.now;
  s.ca_in_use = f.ca_in_use;
  s.next_run = f.next_run;
  return s;
}

} // namespace mda
