#include "core/status_view.h"

#include "engine/heartbeat.h"
#include "model/names.h"
#include "model/servers.h"

namespace dbr {
namespace {

StatusView ViewOfState(const RunState& state) {
  StatusView view;
  view.current_step = state.current_step;
  view.started_at = state.started_at;
  view.steps = state.steps;
  view.snapshot_lsn = state.snapshot_lsn;
  view.rds = state.rds;
  view.tables = state.tables;
  view.notes = state.notes;
  view.primary = state.primary;
  view.switches = state.switches;
  view.unfinished_switch = state.switching;
  return view;
}

// A connection to one side, or none and why in `error`.
std::optional<pg::Connection> Reach(const pg::ConnParams& params, std::string& error) {
  auto conn = pg::Connection::Open(params);
  if (conn.ok()) return std::move(*conn);
  error = conn.message();
  return std::nullopt;
}

pg::Connection* PointerTo(std::optional<pg::Connection>& conn) {
  return conn ? &*conn : nullptr;
}

// The replication from the primary into the other side, and the DDL on the primary since the
// relocation started that it does not carry.
void ReadServers(const Config& config, StatusView& view) {
  std::optional<pg::Connection> src = Reach(SourceParams(config), view.source_error);
  std::optional<pg::Connection> dst = Reach(DestinationParams(config), view.destination_error);
  const bool reversed = view.primary == Side::kDestination;
  pg::Connection* sender = reversed ? PointerTo(dst) : PointerTo(src);
  pg::Connection* receiver = reversed ? PointerTo(src) : PointerTo(dst);
  const names::Links links = LinksOf(config);
  const std::vector<names::Link> lanes = links.Into(Other(view.primary));
  view.replication = ReadReplicationHealth(sender, receiver, lanes);
  if (!view.replication.subscription_exists || sender == nullptr || receiver == nullptr) return;
  if (auto drift = ReadSchemaDrift(*sender, *receiver, lanes, config); drift.ok())
    view.schema_drift = std::move(*drift);
  if (config.ddl == DdlMode::kReplicate)
    if (auto pending = FirstPendingDdl(*sender, *receiver); pending.ok())
      view.pending_ddl = std::move(*pending);
}

}  // namespace

Result<StatusView> ReadStatus(const Config& config) {
  StateStore store(config.state_dir);
  DBR_ASSIGN_OR_RETURN(const RunState state, store.Load());
  StatusView view = ViewOfState(state);
  view.state_dir = config.state_dir;
  ReadServers(config, view);
  view.heartbeat_writer_pid = HeartbeatWriterPid(store);
  view.started = store.Exists();
  return view;
}

}  // namespace dbr
