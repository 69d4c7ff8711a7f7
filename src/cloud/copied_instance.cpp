#include "cloud/copied_instance.h"

#include <optional>
#include <vector>

#include "engine/replication_link.h"
#include "model/servers.h"
#include "pg/quote.h"
#include "pg/recovery_log.h"
#include "pg/wal_record.h"
#include "util/log.h"
#include "util/progress.h"

namespace dbr {

Result<pg::Lsn> CopyEndFromLog(RunContext& ctx, const std::string& log_text,
                               const CopyBounds& bounds, const std::string& instance,
                               std::string* rule) {
  std::vector<pg::RecoveryEnd> found = pg::FindRecoveryEnds(log_text);
  log::info("searched the log of {} ({}) for the end of recovery: {} candidate(s)", instance,
            HumanBytes(static_cast<double>(log_text.size())), found.size());
  DBR_ASSIGN_OR_RETURN(pg::Lsn lsn, pg::ChooseSnapshotLsn(found, bounds.lower, bounds.upper,
                                                          bounds.not_before, bounds.not_after));
  for (const auto& e : found)
    if (e.lsn == lsn) *rule = e.form;
  if (!rule->starts_with("redo done")) return lsn;
  // While the copied slot still keeps that WAL on the copy.
  DBR_ASSIGN_OR_RETURN(std::optional<pg::Lsn> end,
                       pg::EndOfWalRecord(*ctx.dst, pg::Lsn(lsn.value() - 1)));
  if (!end) return lsn;
  *rule = "redo done at Z: the end of the record at Z (pg_walinspect)";
  return *end;
}

Status DetachCopiedSubscriptions(RunContext& ctx) {
  auto subs = ctx.dst->Query(
      "SELECT d.datname, s.subname FROM pg_subscription s JOIN pg_database d ON d.oid = "
      "s.subdbid WHERE NOT (d.datname = current_database() AND s.subname = ANY($1::text[])) "
      "ORDER BY 1, 2",
      {pg::TextArrayLiteral(names::SubscriptionsOf(ctx.links.forward))});
  if (!subs.ok()) return subs.status();
  std::optional<pg::Connection> other;  // to the database of the row at hand, when not ours
  for (int i = 0; i < subs->rows(); ++i) {
    const std::string db = subs->Get(i, 0), sub = subs->Get(i, 1);
    pg::Connection* conn = &*ctx.dst;
    if (db != ctx.dst->params().dbname) {
      if (!other || other->params().dbname != db) {
        pg::ConnParams params = DestinationParams(ctx.config);
        params.dbname = db;
        auto opened = pg::Connection::Open(params);
        if (!opened.ok())
          return opened.status().Wrap("detaching the copied subscription " + sub + " in database " +
                                      db);
        other.emplace(std::move(*opened));
      }
      conn = &*other;
    }
    DBR_RETURN_IF_ERROR(DetachSubscription(*conn, sub));
    log::warn(
        "the copied subscription {} in database {} is disabled and detached from its slot on "
        "the new instance (the source's own keeps running)",
        sub, db);
  }
  return Status::Ok();
}

Status DropCopiedSlots(RunContext& ctx) {
  auto slots = ctx.dst->Query(
      "SELECT slot_name FROM pg_replication_slots WHERE NOT active AND slot_type = 'logical' "
      "ORDER BY 1");
  if (!slots.ok()) return slots.status();
  for (int i = 0; i < slots->rows(); ++i) {
    DBR_RETURN_IF_ERROR(ctx.dst->Exec("SELECT pg_drop_replication_slot($1)", {slots->Get(i, 0)}));
    log::info("dropped the copy of replication slot {} on the new instance", slots->Get(i, 0));
  }
  return Status::Ok();
}

}  // namespace dbr
