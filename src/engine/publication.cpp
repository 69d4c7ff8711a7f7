// Step 3: the replication user, the publication of the tables in scope and the logical
// replication slot whose exported snapshot the copy reads under.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <set>

#include "engine/lanes.h"
#include "engine/replication_link.h"
#include "engine/steps.h"
#include "model/names.h"
#include "model/scope.h"
#include "model/servers.h"
#include "model/timings.h"
#include "pg/quote.h"
#include "pg/replication.h"
#include "util/fault.h"
#include "util/log.h"

namespace dbr::steps {
namespace {

Status EnsureReplicationUserOnSource(RunContext& ctx) {
  const std::string password = ctx.ReplicationPassword();
  // How the user was before, for `cleanup`: recorded before anything changes it.
  DBR_RETURN_IF_ERROR(RecordReplicationUserBefore(
      *ctx.src, ctx.config.upgrade.user, MarkOf(ctx.config, ctx.state), Side::kSource, ctx.state));
  DBR_RETURN_IF_ERROR(ctx.SaveState());  // a generated password must survive a crash
  DBR_ASSIGN_OR_RETURN(auto schemas, SchemasInScope(*ctx.src, ctx.config));
  return EnsureReplicationUser(*ctx.src, ctx.config.upgrade.user, password, schemas,
                               MarkOf(ctx.config, ctx.state));
}

// With `force`, tables that have no usable replica identity get REPLICA IDENTITY FULL, so that
// publishing them does not make their UPDATEs and DELETEs fail.
Status FixReplicaIdentity(RunContext& ctx) {
  for (auto& t : ctx.tables) {
    if (t.HasUsableReplicaIdentity()) continue;
    if (!ctx.config.force)
      return Status::Error("table " + t.Display() + " has no usable replica identity");
    DBR_RETURN_IF_ERROR(ctx.src->Exec("ALTER TABLE " + t.Qualified() + " REPLICA IDENTITY FULL"));
    t.replica_identity = 'f';
    std::string note = "force: set REPLICA IDENTITY FULL on " + t.Display() +
                       " (it has no primary key; updates replicate by full-row match)";
    log::warn("{}", note);
    ctx.state.notes.push_back(note);
  }
  return ctx.SaveState();
}

// Without an exported snapshot (RDS: the data comes from a block-level snapshot), the slot is
// created by SQL: no connection has to stay open, and no snapshot holds back the source's xmin.
Status CreatePlainSlot(RunContext& ctx) {
  const std::string& slot = ctx.links.forward.front().slot;
  auto r = ctx.src->Query(
      "SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')", {slot});
  if (!r.ok()) return r.status().Wrap("creating replication slot " + slot);
  log::info("replication slot {} created at {}: it retains every change from there on", slot,
            r->Get(0, 0));
  ctx.state.snapshot_slot = slot;
  return ctx.SaveState();
}

// The slots of lanes 2..N (engine/lanes.h), made afresh just before lane 1's: each starts at or
// before the point lane 1's marks, and Subscribe moves its subscription to that point.
Status CreateOtherLaneSlots(RunContext& ctx) {
  for (size_t i = 1; i < ctx.links.forward.size(); ++i)
    DBR_RETURN_IF_ERROR(RecreateSlot(*ctx.src, ctx.links.forward[i].slot).status());
  CrashPoint("publication:lane-slots");
  return Status::Ok();
}

Status SlotLost(const std::string& slot) {
  return Status::Error(fmt::format(
      "replication slot {} has disappeared from the source after the destination's data was "
      "taken (tables copied, or the RDS snapshot requested): the changes made since cannot be "
      "recovered. Run `db_relocate cleanup`, empty the destination database (drop and create "
      "it), then `db_relocate run`",
      slot));
}

// The lanes 2..N slots a destination holding data depends on, as lane 1's.
Status OtherLaneSlotsKept(RunContext& ctx) {
  for (size_t i = 1; i < ctx.links.forward.size(); ++i) {
    DBR_ASSIGN_OR_RETURN(bool exists, SlotExists(*ctx.src, ctx.links.forward[i].slot));
    if (!exists) return SlotLost(ctx.links.forward[i].slot);
  }
  return Status::Ok();
}

// True when it made new slots; false when it kept the ones the destination depends on.
Result<bool> EnsureSlot(RunContext& ctx, bool exports_snapshot) {
  const std::string& main_slot = ctx.links.forward.front().slot;
  if (ctx.slot_connection && !ctx.exported_snapshot.empty()) {
    // Resumed after the destination was lost: the copy goes on under the same snapshot.
    log::info("keeping replication slot {} and its exported snapshot {}", main_slot,
              ctx.exported_snapshot);
    return false;
  }
  DBR_ASSIGN_OR_RETURN(const bool exists, SlotExists(*ctx.src, main_slot));
  if (exists) {
    if (ctx.state.DestinationDependsOnSlot()) {
      log::info("keeping replication slot {}: the destination's data was taken at it", main_slot);
      DBR_RETURN_IF_ERROR(OtherLaneSlotsKept(ctx));
      return false;
    }
    // Nothing depends on it yet: a fresh slot gives a fresh exported snapshot.
    DBR_RETURN_IF_ERROR(
        DropSlot(*ctx.src, main_slot).Wrap("dropping the unused slot of an interrupted run"));
  } else if (ctx.state.DestinationDependsOnSlot()) {
    return SlotLost(main_slot);
  }
  DBR_RETURN_IF_ERROR(CreateOtherLaneSlots(ctx));
  if (!exports_snapshot) {
    DBR_RETURN_IF_ERROR(CreatePlainSlot(ctx));
    return true;
  }
  pg::ConnParams params = SourceParams(ctx.config);
  params.replication = true;
  auto conn = pg::Connection::Open(params);
  if (!conn.ok()) return conn.status().Wrap("opening a replication connection");
  auto slot = pg::CreateLogicalSlotExportingSnapshot(*conn, main_slot);
  if (!slot.ok()) return slot.status();
  ctx.slot_connection.emplace(std::move(*conn));
  ctx.exported_snapshot = slot->snapshot;
  ctx.state.snapshot_lsn = slot->consistent_point.ToString();
  ctx.state.snapshot_slot = main_slot;
  log::info("replication slot {} created at {}, exported snapshot {}", main_slot,
            ctx.state.snapshot_lsn, slot->snapshot);
  PausePoint("publication:slot-created");  // not recorded yet
  DBR_RETURN_IF_ERROR(ctx.SaveState());
  return true;
}

// The replicable tables in scope that no lane's publication holds, both read at the slot's
// exported snapshot when there is one (a table created while the publication and the slot were
// being made: its rows would be in the copy, or the RDS snapshot, but not in the stream).
Result<std::vector<std::string>> UnpublishedInScope(RunContext& ctx) {
  DBR_ASSIGN_OR_RETURN(pg::Connection conn, pg::Connection::Open(SourceParams(ctx.config)));
  if (!ctx.exported_snapshot.empty())
    DBR_RETURN_IF_ERROR(conn.BeginAtSnapshot(ctx.exported_snapshot));
  DBR_ASSIGN_OR_RETURN(ScopeListing scope, ListScope(conn, ctx.config));
  // pg_publication_rel, not pg_publication_tables: a plain read follows the snapshot, the view's
  // function reads the newest catalog.
  auto published = conn.Query(
      "SELECT n.nspname, c.relname FROM pg_publication_rel r JOIN pg_publication p ON p.oid = "
      "r.prpubid JOIN pg_class c ON c.oid = r.prrelid JOIN pg_namespace n ON n.oid = "
      "c.relnamespace WHERE p.pubname = ANY($1::text[])",
      {pg::TextArrayLiteral(names::PublicationsOf(ctx.links.forward))});
  if (!published.ok()) return published.status();
  std::set<std::pair<std::string, std::string>> in;
  for (int i = 0; i < published->rows(); ++i)
    in.insert({published->Get(i, 0), published->Get(i, 1)});
  DBR_ASSIGN_OR_RETURN(const std::set<std::string> since, ctx.CreatedSinceTheSchema(scope.tables));
  std::vector<std::string> missing;
  for (const auto& t : scope.tables)
    if (t.Replicable() && !in.count({t.schema, t.name}) && !since.count(t.Qualified()))
      missing.push_back(t.Display());
  return missing;
}

Status DropFreshSlots(RunContext& ctx) {
  ctx.slot_connection.reset();  // the snapshot it exported goes with it
  ctx.exported_snapshot.clear();
  ctx.state.snapshot_lsn.clear();
  ctx.state.snapshot_slot.clear();
  DBR_RETURN_IF_ERROR(ctx.SaveState());
  for (const names::Link& lane : ctx.links.forward)
    DBR_RETURN_IF_ERROR(DropSlot(*ctx.src, lane.slot));
  return Status::Ok();
}

// Each table's lane, fixed the first time the publications are made (engine/lanes.h).
Status PlaceTablesInLanes(RunContext& ctx) {
  if (ctx.state.apply_workers != 0) return Status::Ok();
  DBR_ASSIGN_OR_RETURN(ctx.state.table_lanes,
                       PlanTableLanes(*ctx.src, ctx.tables, ctx.config.apply_workers));
  ctx.state.apply_workers = ctx.config.apply_workers;
  if (ctx.config.apply_workers > 1)
    log::info("{} tables spread over {} subscriptions (apply_workers)", ctx.tables.size(),
              ctx.config.apply_workers);
  return ctx.SaveState();
}

}  // namespace

Status CreatePublication(RunContext& ctx, bool export_snapshot) {
  if (ctx.user_claim && !ctx.user_claim->Alive()) {  // the source restarted since pre-flight
    DBR_ASSIGN_OR_RETURN(ctx.user_claim, ClaimReplicationUser(SourceParams(ctx.config),
                                                              ctx.config.upgrade.user, ctx.clock));
  }
  DBR_RETURN_IF_ERROR(EnsureReplicationUserOnSource(ctx));
  CrashPoint("publication:user-ready");  // marked for this relocation, no slot yet
  PausePoint("publication:user-ready");
  const Timings::Publication& timings = Timings::Default().publication;
  DBR_RETURN_IF_ERROR(PlaceTablesInLanes(ctx));
  for (int attempt = 1;; ++attempt) {
    DBR_RETURN_IF_ERROR(FixReplicaIdentity(ctx));
    DBR_RETURN_IF_ERROR(EnsureLanePublications(*ctx.src, ctx.links.forward, ctx.tables, ctx.state));
    DBR_ASSIGN_OR_RETURN(const bool fresh_slot, EnsureSlot(ctx, export_snapshot));
    if (!fresh_slot) return Status::Ok();  // resumed: the drift check names what is missing
    DBR_ASSIGN_OR_RETURN(auto unpublished, UnpublishedInScope(ctx));
    if (unpublished.empty()) return Status::Ok();
    if (attempt == timings.snapshot_attempts)
      return Status::Error(fmt::format(
          "tables keep appearing in scope while the publication and the slot are made ({}): "
          "run again once the application's migration is over",
          fmt::join(unpublished, ", ")));
    log::info(
        "{} tables appeared in scope while the publication and the slot were made ({}): both "
        "are made again, so that their rows are in the copy and in the stream",
        unpublished.size(), fmt::join(unpublished, ", "));
    DBR_RETURN_IF_ERROR(DropFreshSlots(ctx));
    DBR_RETURN_IF_ERROR(ctx.LoadTables());
  }
}

}  // namespace dbr::steps
