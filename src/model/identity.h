// Whether a relocation's state belongs to the servers the config points at, and whether two
// connections reach one server: decided by the servers' identity (RunState::servers), never by
// their addresses alone. A server recreated at the same host, port and database name is another
// server (a new system_identifier); one server named two ways (a DNS name and an IP) is one.
// Pure functions: engine/server_identity.h reads the live identities.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model/names.h"
#include "model/run_state.h"
#include "model/side.h"

namespace dbr {

// A server as a connection finds it now.
struct LiveServer {
  ServerIdentity identity;
  // pg_postmaster_start_time(): a physical copy of a server (an RDS restore, a promoted
  // standby) keeps its system_identifier, but was not started at the same instant.
  std::string started_at;
};

// A field of a side's identity that differs from what the state recorded.
struct IdentityMismatch {
  Side side = Side::kSource;
  std::string field;  // "system_identifier" or "database_oid"
  std::string recorded;
  std::string live;
  bool operator==(const IdentityMismatch&) const = default;
};

// The fields in which `live` differs from `recorded`. A field is compared only when both hold a
// value: nothing while the side's identity is not recorded, and no system_identifier when
// either server would not tell it.
std::vector<IdentityMismatch> CompareIdentity(Side side, const ServerIdentity& recorded,
                                              const ServerIdentity& live);

// The error for `mismatches` (at least one): each field with its recorded and live value, and
// the two ways on (move the state folder aside, or point the config at the servers it belongs
// to).
std::string MismatchMessage(const std::vector<IdentityMismatch>& mismatches,
                            const std::string& state_dir);

// Whether two connections reach one server: the same system_identifier and the same start time.
// False when either server would not tell its system_identifier.
bool SameServer(const LiveServer& a, const LiveServer& b);

// The replication slot that holds the changes the receiving side has not applied yet, where the
// state says one must exist: the forward slot on the source once the destination's data was taken
// from it, the way back's on the destination after a cut-over. None while a switch is under way
// (the switch rebuilds its slots) or before the snapshot step is done (the publication step makes
// the slot again while nothing depends on it).
struct NeededSlot {
  Side side = Side::kSource;  // where it is
  std::string slot;
};
std::optional<NeededSlot> SlotTheStateNeeds(const RunState& state, const names::Links& links);

// `slot` is gone: what is lost with it, and what to do.
std::string LostSlotMessage(const NeededSlot& slot, const RunState& state);

}  // namespace dbr
