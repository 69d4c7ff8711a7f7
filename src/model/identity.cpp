#include "model/identity.h"

#include <fmt/format.h>

namespace dbr {

std::vector<IdentityMismatch> CompareIdentity(Side side, const ServerIdentity& recorded,
                                              const ServerIdentity& live) {
  std::vector<IdentityMismatch> out;
  if (!recorded.recorded() || !live.recorded()) return out;
  if (!recorded.system_identifier.empty() && !live.system_identifier.empty() &&
      recorded.system_identifier != live.system_identifier)
    out.push_back({side, "system_identifier", recorded.system_identifier, live.system_identifier});
  if (recorded.database_oid != live.database_oid)
    out.push_back({side, "database_oid", std::to_string(recorded.database_oid),
                   std::to_string(live.database_oid)});
  return out;
}

std::string MismatchMessage(const std::vector<IdentityMismatch>& mismatches,
                            const std::string& state_dir) {
  std::string fields;
  for (const auto& m : mismatches)
    fields += fmt::format("{}{} {}: recorded {}, now {}", fields.empty() ? "" : "; ",
                          SideName(m.side), m.field, m.recorded, m.live);
  return fmt::format(
      "state_dir {} belongs to other servers than the ones the config points at ({}): the "
      "servers at these addresses were replaced (recreated, restored or re-initialised) since the "
      "relocation started, and its steps are not done on them. Nothing was changed. Move the "
      "state folder aside to start a new relocation on these servers, or point the config at "
      "the servers the state belongs to",
      state_dir, fields);
}

bool SameServer(const LiveServer& a, const LiveServer& b) {
  return !a.identity.system_identifier.empty() &&
         a.identity.system_identifier == b.identity.system_identifier && !a.started_at.empty() &&
         a.started_at == b.started_at;
}

std::optional<NeededSlot> SlotTheStateNeeds(const RunState& state, const names::Links& links) {
  if (state.switching) return std::nullopt;
  if (state.primary == Side::kSource && !state.StepDone("snapshot")) return std::nullopt;
  const names::Link& link = links.MainInto(Other(state.primary));
  // The snapshot's slot as recorded (states of format 1 did not record it: the config's name).
  const bool forward = state.primary == Side::kSource;
  return NeededSlot{state.primary,
                    forward && !state.snapshot_slot.empty() ? state.snapshot_slot : link.slot};
}

std::string LostSlotMessage(const NeededSlot& slot, const RunState& state) {
  if (slot.side == Side::kSource)
    return fmt::format(
        "replication slot {} is lost: it no longer exists on the source, and it held every "
        "change made on the source since the destination's data was taken (at {}). Those "
        "changes cannot be replayed, so the destination can no longer be brought up to date; "
        "the relocation cannot go on and must start over: run `db_relocate cleanup`, empty the "
        "destination database (drop and create it), then `db_relocate run`",
        slot.slot, state.snapshot_lsn.empty() ? std::string("the snapshot") : state.snapshot_lsn);
  return fmt::format(
      "replication slot {} of the way back is lost: it no longer exists on the destination, so "
      "the source no longer follows the destination and a rollback would lose the writes made "
      "since the cut-over. The application stays on the destination: run `db_relocate cleanup` "
      "to end the relocation there",
      slot.slot);
}

}  // namespace dbr
