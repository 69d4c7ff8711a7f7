// The identity of the servers a relocation runs on (model/identity.h), read from them, and
// compared with what the relocation's state recorded. Every command that reads the state compares
// first (core/state_servers.h), so that a state is never resumed against servers recreated at the
// same addresses.
#pragma once

#include <map>
#include <optional>
#include <vector>

#include "model/identity.h"
#include "model/names.h"
#include "model/run_state.h"
#include "pg/connection.h"

namespace dbr {

// The server and database `conn` is connected to. The system_identifier comes from
// pg_control_system(), which any role may call on a stock server; where that is revoked (managed
// services may), from IDENTIFY_SYSTEM over a replication connection (the source's user has
// REPLICATION anyway); where both are refused, it is left "" and only the database OID is
// compared.
Result<LiveServer> ReadServerIdentity(pg::Connection& conn);

// Whether `a` and `b` reach one server (a server named by DNS name and by IP is one): by their
// identity when both tell their system_identifier, else `same_address` (the config's spelling of
// both, loopback spellings taken as one).
Result<bool> OnOneServer(pg::Connection& a, pg::Connection& b, bool same_address);

// What the reachable servers say of a state.
struct StateServers {
  std::map<Side, LiveServer> live;  // the sides that were reached
  std::vector<IdentityMismatch> mismatches;
  std::optional<NeededSlot> lost_slot;  // the state needs it, and it is gone

  // The sides reached whose identity the state holds none of yet.
  std::vector<Side> Unrecorded(const RunState& state) const;
  // A bad config (exit 2) naming the mismatches; else an error for a lost slot; else Ok.
  Status Verdict(const RunState& state, const std::string& state_dir) const;
};
// `src` or `dst` null: that side was not reached, and is not compared; nor is a cloud's copy
// before it is settled (RdsState/CloudSqlState::DestinationSettled: an in-place upgrade makes a
// new server). The slot is looked for only when the identities match.
Result<StateServers> CompareWithServers(const RunState& state, const names::Links& links,
                                        pg::Connection* src, pg::Connection* dst);

// Records in `state` the identity of each reached side it holds none of (the first contact, or a
// state of format 1: warned about here, once, as it is recorded); true when it recorded any.
bool RecordIdentity(RunState& state, const StateServers& servers);

// For a command holding the relocation's lock: compares, then records what is missing (`changed`
// says whether the state must be saved). A mismatch is a bad config (exit 2) and a lost slot an
// error, before anything is changed.
Status BindStateToServers(RunState& state, const std::string& state_dir, const names::Links& links,
                          pg::Connection* src, pg::Connection* dst, bool& changed);

}  // namespace dbr
