#include "core/status_view.h"

#include "engine/heartbeat.h"
#include "model/names.h"
#include "model/servers.h"
#include "mysql/heartbeat.h"
#include "mysql/replication.h"
#include "mysql/servers.h"
#include "util/parse.h"

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

pg::Connection* PointerTo(std::optional<pg::Connection>& conn) {
  return conn ? &*conn : nullptr;
}

// The replication from the primary into the other side, and the DDL on the primary since the
// relocation started that it does not carry.
void ReadServers(const Config& config, StatusView& view) {
  std::optional<pg::Connection> src =
      pg::Connection::OpenOrNone(SourceParams(config), &view.source_error);
  std::optional<pg::Connection> dst =
      pg::Connection::OpenOrNone(DestinationParams(config), &view.destination_error);
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

// engine mysql: the replication into the side that follows the primary, and the newest heartbeat
// on each side.
void ReadMysqlServers(const Config& config, StatusView& view) {
  std::optional<mariadb::Connection> src =
      mariadb::Connection::OpenOrNone(mysql::SourceParams(config), &view.source_error);
  std::optional<mariadb::Connection> dst =
      mariadb::Connection::OpenOrNone(mysql::DestinationParams(config), &view.destination_error);
  const bool reversed = view.primary == Side::kDestination;
  std::optional<mariadb::Connection>& sender = reversed ? dst : src;
  std::optional<mariadb::Connection>& receiver = reversed ? src : dst;
  const mysql::RelocationNames names = mysql::NamesOf(config);
  BinlogReplicationView b{.name = names.channel};
  if (receiver) {
    if (auto replica = mysql::ReadReplica(*receiver, names.channel); replica.ok()) {
      b.exists = replica->exists;
      b.receiving = replica->receiving;
      b.applying = replica->applying;
      b.applied = replica->applied.Display();
      b.by_gtid = replica->by_gtid;
      b.seconds_behind = replica->seconds_behind;
      b.error = replica->error;
      if (sender && b.exists)
        if (auto lag = mysql::LagBytes(*sender, replica->applied); lag.ok()) b.lag_bytes = *lag;
    } else {
      b.error = replica.message();
    }
  }
  view.binlog = b;
  const std::string newest = "SELECT seq, src_time FROM " + mysql::HeartbeatTable(names.database) +
                             " ORDER BY seq DESC LIMIT 1";
  auto read_heartbeat = [&](std::optional<mariadb::Connection>& c, int64_t& seq, std::string& at) {
    if (!c) return;
    auto row = c->Query(newest);
    if (!row.ok() || row->rows() == 0) return;
    seq = ParseInt(row->Get(0, 0)).value_or(-1);
    at = row->Get(0, 1);
  };
  read_heartbeat(sender, view.replication.src_heartbeat_seq, view.replication.src_heartbeat_at);
  read_heartbeat(receiver, view.replication.dst_heartbeat_seq, view.replication.dst_heartbeat_at);
  view.replication.lag_seconds = static_cast<double>(b.seconds_behind);
}

}  // namespace

nlohmann::json BinlogReplicationView::ToJson() const {
  return {{"name", name},           {"exists", exists},
          {"receiving", receiving}, {"applying", applying},
          {"applied", applied},     {"by_gtid", by_gtid},
          {"lag_bytes", lag_bytes}, {"seconds_behind", seconds_behind},
          {"error", error}};
}

Result<StatusView> ReadStatus(const Config& config) {
  StateStore store(config.state_dir);
  DBR_ASSIGN_OR_RETURN(const RunState state, store.Load());
  StatusView view = ViewOfState(state);
  view.state_dir = config.state_dir;
  if (config.engine == EngineKind::kMysql)
    ReadMysqlServers(config, view);
  else
    ReadServers(config, view);
  view.heartbeat_writer_pid = HeartbeatWriterPid(store);
  view.started = store.Exists();
  return view;
}

}  // namespace dbr
