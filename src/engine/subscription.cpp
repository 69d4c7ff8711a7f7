// Step 5: the subscriptions on the destination (one per lane, engine/lanes.h), each bound to its
// existing slot (no new slot, no copy), starting at the exact LSN the destination's data ends
// at: the slot's own start when the copy read under its exported snapshot, else (a cloud's
// snapshot, taken after the slots were made; the slot of a lane other than the first, made just
// before that one) its replication origin advanced to that LSN.
#include <fmt/format.h>

#include "engine/lanes.h"
#include "engine/replication_link.h"
#include "engine/steps.h"
#include "model/names.h"
#include "pg/quote.h"
#include "util/log.h"

namespace dbr::steps {
namespace {

// Tables whose copy was lost with the exported snapshot are left out of the publication while
// the subscription starts at the snapshot's LSN (so the stream skips them), then added back and
// copied by PostgreSQL's table synchronisation, which lines each one up with the stream.
Status SetResyncTablesInPublication(RunContext& ctx, const names::Link& lane, bool present) {
  for (const auto& q : ctx.state.resync_tables) {
    const TableInfo* t = ctx.FindTable(q);
    if (t == nullptr || LaneOf(ctx.state, q) != lane.lane) continue;
    auto in = InPublication(*ctx.src, lane.publication, t->schema, t->name);
    if (!in.ok()) return in.status();
    if (*in == present) continue;
    DBR_RETURN_IF_ERROR(ctx.src->Exec(fmt::format("ALTER PUBLICATION {} {} TABLE {}",
                                                  pg::QuoteIdent(lane.publication),
                                                  present ? "ADD" : "DROP", t->Qualified())));
  }
  return Status::Ok();
}

// True when the slot will send nothing older than `lsn` by itself: it was made at the snapshot
// (its consistent point) or has confirmed past it. The origin functions, which a managed
// server's administrator may not be allowed to call, are then not needed.
Result<bool> SlotStartsAt(RunContext& ctx, const names::Link& lane, const pg::Lsn& lsn) {
  auto confirmed = ctx.src->QueryValue(
      "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = $1", {lane.slot});
  if (!confirmed.ok()) return confirmed.status();
  auto at = pg::Lsn::Parse(*confirmed);
  return at && !(*at < lsn);
}

Status AdvanceOriginTo(RunContext& ctx, const names::Link& lane, const pg::Lsn& lsn) {
  auto origin = ctx.dst->QueryValue(
      std::string("SELECT 'pg_' || oid FROM pg_subscription WHERE subname = $1 AND ") +
          names::kSubscriptionInThisDatabase,
      {lane.subscription});
  if (!origin.ok()) return origin.status();
  // pg_replication_origin_advance also moves backwards: never undo progress already made
  // (that would apply those changes twice).
  auto progress = ctx.dst->Query("SELECT pg_replication_origin_progress($1, true)", {*origin});
  if (!progress.ok()) return progress.status();
  auto current = progress->IsNull(0, 0) ? std::nullopt : pg::Lsn::Parse(progress->Get(0, 0));
  if (current && !(*current < lsn)) {
    log::info("replication origin {} is already at {}, past the snapshot's {}", *origin,
              current->ToString(), lsn.ToString());
    return Status::Ok();
  }
  DBR_RETURN_IF_ERROR(ctx.dst->Exec("SELECT pg_replication_origin_advance($1, $2::pg_lsn)",
                                    {*origin, lsn.ToString()}));
  log::info("replication origin {} advanced to {}", *origin, lsn.ToString());
  return Status::Ok();
}

// One lane's subscription, bound to its slot and started at `lsn`.
Status SubscribeLane(RunContext& ctx, const names::Link& lane, const pg::Lsn& lsn) {
  auto existing = ctx.dst->Query(
      std::string("SELECT oid, subenabled FROM pg_subscription WHERE subname = $1 AND ") +
          names::kSubscriptionInThisDatabase,
      {lane.subscription});
  if (!existing.ok()) return existing.status();
  bool enabled = existing->rows() > 0 && existing->GetBool(0, 1);
  if (existing->rows() == 0) {
    DBR_RETURN_IF_ERROR(SetResyncTablesInPublication(ctx, lane, false));
    const std::string conninfo = SubscriptionConnInfo(ctx.config.src, ctx.config.upgrade.user,
                                                      ctx.ReplicationPassword(), lane.subscription);
    DBR_RETURN_IF_ERROR(
        ctx.dst
            ->ExecSensitive(
                fmt::format("CREATE SUBSCRIPTION {} CONNECTION {} PUBLICATION {} WITH ({})",
                            pg::QuoteIdent(lane.subscription), pg::QuoteLiteral(conninfo),
                            pg::QuoteIdent(lane.publication),
                            SubscriptionOptions(ctx.dst->server_major(), lane.slot, false)))
            .Wrap("creating subscription " + lane.subscription +
                  " (the destination must reach the source at " + ctx.config.src.host + ":" +
                  std::to_string(ctx.config.src.port) + " as " + ctx.config.upgrade.user + ")"));
    log::info("subscription {} created on the destination, bound to slot {}", lane.subscription,
              lane.slot);
  }
  if (!enabled) {
    auto from_slot = SlotStartsAt(ctx, lane, lsn);
    if (!from_slot.ok()) return from_slot.status();
    if (*from_slot)
      log::info("slot {} starts at the snapshot's LSN {}: the origin needs no advance", lane.slot,
                lsn.ToString());
    else
      DBR_RETURN_IF_ERROR(AdvanceOriginTo(ctx, lane, lsn));
    DBR_RETURN_IF_ERROR(
        ctx.dst->Exec("ALTER SUBSCRIPTION " + pg::QuoteIdent(lane.subscription) + " ENABLE"));
  }
  if (ctx.state.resync_tables.empty()) return Status::Ok();
  DBR_RETURN_IF_ERROR(SetResyncTablesInPublication(ctx, lane, true));
  return ctx.dst->Exec("ALTER SUBSCRIPTION " + pg::QuoteIdent(lane.subscription) +
                       " REFRESH PUBLICATION WITH (copy_data = true)");
}

}  // namespace

Status Subscribe(RunContext& ctx) {
  auto lsn = pg::Lsn::Parse(ctx.state.snapshot_lsn);
  if (!lsn) return Status::Error("internal: no snapshot LSN recorded for the subscription");
  for (const names::Link& lane : ctx.links.forward)
    DBR_RETURN_IF_ERROR(SubscribeLane(ctx, lane, *lsn));
  if (!ctx.state.resync_tables.empty())
    log::info("{} tables handed to the subscription's table synchronisation",
              ctx.state.resync_tables.size());
  return Status::Ok();
}

}  // namespace dbr::steps
