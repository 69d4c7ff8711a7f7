// Step 3: the replication user, the publication of the tables in scope and the logical
// replication slot whose exported snapshot the copy reads under.
#include <fmt/format.h>

#include "core/names.h"
#include "core/preflight.h"
#include "core/replication_link.h"
#include "core/servers.h"
#include "core/steps.h"
#include "pg/quote.h"
#include "pg/replication.h"
#include "util/log.h"

namespace dbr::steps {
namespace {

Status EnsureReplicationUserOnSource(RunContext& ctx) {
  const std::string password = ctx.ReplicationPassword();
  DBR_RETURN_IF_ERROR(ctx.SaveState());  // a generated password must survive a crash
  return EnsureReplicationUser(*ctx.src, ctx.config.upgrade.user, password,
                               SchemasInScope(ctx.config.src.schemas));
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

bool AnyTableCopied(const RunState& state) {
  for (const auto& [name, t] : state.tables)
    if (t.state != "pending") return true;
  return false;
}

Status EnsureSlot(RunContext& ctx) {
  auto exists = ctx.src->QueryValue(
      "SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", {names::kSlot});
  if (!exists.ok()) return exists.status();
  if (*exists != "0") {
    if (AnyTableCopied(ctx.state) && !ctx.state.snapshot_lsn.empty()) {
      log::info("keeping replication slot {} (consistent point {}): tables were copied at it",
                names::kSlot, ctx.state.snapshot_lsn);
      return Status::Ok();
    }
    // Nothing depends on it yet: a fresh slot gives a fresh exported snapshot.
    DBR_RETURN_IF_ERROR(ctx.src->Exec("SELECT pg_drop_replication_slot($1)", {names::kSlot})
                            .Wrap("dropping the unused slot of an interrupted run"));
  } else if (AnyTableCopied(ctx.state)) {
    return Status::Error(fmt::format(
        "replication slot {} has disappeared from the source after tables were copied: the "
        "changes made since cannot be recovered. Run `db_relocate cleanup`, then `run` again",
        names::kSlot));
  }
  pg::ConnParams params = SourceParams(ctx.config);
  params.replication = true;
  auto conn = pg::Connection::Open(params);
  if (!conn.ok()) return conn.status().Wrap("opening a replication connection");
  auto slot = pg::CreateLogicalSlotExportingSnapshot(*conn, names::kSlot);
  if (!slot.ok()) return slot.status();
  ctx.slot_connection.emplace(std::move(*conn));
  ctx.exported_snapshot = slot->snapshot;
  ctx.state.snapshot_lsn = slot->consistent_point.ToString();
  log::info("replication slot {} created at {}, exported snapshot {}", names::kSlot,
            ctx.state.snapshot_lsn, slot->snapshot);
  return ctx.SaveState();
}

}  // namespace

Status CreatePublication(RunContext& ctx) {
  DBR_RETURN_IF_ERROR(EnsureReplicationUserOnSource(ctx));
  DBR_RETURN_IF_ERROR(FixReplicaIdentity(ctx));
  DBR_RETURN_IF_ERROR(EnsurePublication(*ctx.src, names::kPublication, ctx.tables));
  return EnsureSlot(ctx);
}

}  // namespace dbr::steps
