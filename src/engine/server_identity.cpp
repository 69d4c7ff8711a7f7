#include "engine/server_identity.h"

#include "engine/replication_link.h"
#include "pg/replication.h"
#include "util/log.h"
#include "util/parse.h"

namespace dbr {
namespace {

// pg_control_system(), else IDENTIFY_SYSTEM on a replication connection of the same login; ""
// when the server tells neither.
std::string SystemIdentifier(pg::Connection& conn) {
  auto id = conn.QueryValue("SELECT system_identifier::text FROM pg_control_system()");
  if (id.ok()) return *id;
  pg::ConnParams params = conn.params();
  params.replication = true;
  auto replication = pg::Connection::Open(params);
  if (replication.ok()) {
    auto systemid = pg::IdentifySystem(*replication);
    if (systemid.ok()) return *systemid;
    id = systemid.status();
  } else {
    id = replication.status();
  }
  log::debug(
      "the {} does not tell its system_identifier ({}): only its database OID identifies "
      "it",
      conn.params().label, id.message());
  return "";
}

}  // namespace

Result<LiveServer> ReadServerIdentity(pg::Connection& conn) {
  auto r = conn.Query(
      "SELECT oid::bigint::text, pg_postmaster_start_time()::text FROM pg_database "
      "WHERE datname = current_database()");
  if (!r.ok()) return r.status();
  auto oid = r->rows() == 1 ? ParseInt(r->Get(0, 0), 1) : std::nullopt;
  if (!oid)
    return Status::Error("on the " + conn.params().label +
                         ": the current database's OID not found");
  return LiveServer{{SystemIdentifier(conn), *oid}, r->Get(0, 1)};
}

Result<bool> OnOneServer(pg::Connection& a, pg::Connection& b, bool same_address) {
  DBR_ASSIGN_OR_RETURN(LiveServer first, ReadServerIdentity(a));
  DBR_ASSIGN_OR_RETURN(LiveServer second, ReadServerIdentity(b));
  if (first.identity.system_identifier.empty() || second.identity.system_identifier.empty())
    return same_address;
  return SameServer(first, second);
}

Result<StateServers> CompareWithServers(const RunState& state, const names::Links& links,
                                        pg::Connection* src, pg::Connection* dst) {
  StateServers out;
  // A cloud's copy still to be upgraded is compared once it is upgraded.
  if (!state.rds.DestinationSettled() || !state.cloudsql.DestinationSettled()) dst = nullptr;
  for (auto [side, conn] : {std::pair{Side::kSource, src}, std::pair{Side::kDestination, dst}}) {
    if (conn == nullptr) continue;
    DBR_ASSIGN_OR_RETURN(LiveServer live, ReadServerIdentity(*conn));
    auto recorded = state.servers.find(side);
    if (recorded != state.servers.end())
      for (auto& m : CompareIdentity(side, recorded->second, live.identity))
        out.mismatches.push_back(std::move(m));
    out.live[side] = std::move(live);
  }
  if (!out.mismatches.empty()) return out;
  if (auto needed = SlotTheStateNeeds(state, links)) {
    pg::Connection* on = needed->side == Side::kSource ? src : dst;
    if (on != nullptr) {
      DBR_ASSIGN_OR_RETURN(bool exists, SlotExists(*on, needed->slot));
      if (!exists) out.lost_slot = needed;
    }
  }
  return out;
}

Status StateServers::Verdict(const RunState& state, const std::string& state_dir) const {
  if (!mismatches.empty()) return Status::BadConfig(MismatchMessage(mismatches, state_dir));
  if (lost_slot) return Status::Error(LostSlotMessage(*lost_slot, state));
  return Status::Ok();
}

std::vector<Side> StateServers::Unrecorded(const RunState& state) const {
  std::vector<Side> out;
  for (const auto& [side, server] : live) {
    auto recorded = state.servers.find(side);
    if (recorded == state.servers.end() || !recorded->second.recorded()) out.push_back(side);
  }
  return out;
}

bool RecordIdentity(RunState& state, const StateServers& servers) {
  const std::vector<Side> unrecorded = servers.Unrecorded(state);
  for (Side side : unrecorded) {
    if (state.format < 2)
      log::warn(
          "the run state was written by an older db_relocate and does not record which {} "
          "server it belongs to: recording the one the config reaches now (if it was recreated "
          "since the relocation started, move the state folder aside and start again)",
          SideName(side));
    state.servers[side] = servers.live.at(side).identity;
  }
  return !unrecorded.empty();
}

Status BindStateToServers(RunState& state, const std::string& state_dir, const names::Links& links,
                          pg::Connection* src, pg::Connection* dst, bool& changed) {
  DBR_ASSIGN_OR_RETURN(StateServers servers, CompareWithServers(state, links, src, dst));
  DBR_RETURN_IF_ERROR(servers.Verdict(state, state_dir));
  changed = RecordIdentity(state, servers);
  return Status::Ok();
}

}  // namespace dbr
