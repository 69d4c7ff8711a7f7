#include "cloud/copied_instance.h"

#include <fmt/format.h>

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

namespace {

// ctx.dst, or a connection to another database of the copy, opened when a row names it.
class CopyDatabases {
 public:
  explicit CopyDatabases(RunContext& ctx) : ctx_(ctx) {}

  Result<pg::Connection*> In(const std::string& db) {
    if (db == ctx_.dst->params().dbname) return &*ctx_.dst;
    if (!other_ || other_->params().dbname != db) {
      pg::ConnParams params = DestinationParams(ctx_.config);
      params.dbname = db;
      auto opened = pg::Connection::Open(params);
      if (!opened.ok()) return opened.status();
      other_.emplace(std::move(*opened));
    }
    return &*other_;
  }

 private:
  RunContext& ctx_;
  std::optional<pg::Connection> other_;
};

}  // namespace

Status DetachCopiedSubscriptions(RunContext& ctx) {
  auto subs = ctx.dst->Query(
      "SELECT d.datname, s.subname FROM pg_subscription s JOIN pg_database d ON d.oid = "
      "s.subdbid WHERE NOT (d.datname = current_database() AND s.subname = ANY($1::text[])) "
      "ORDER BY 1, 2",
      {pg::TextArrayLiteral(names::SubscriptionsOf(ctx.links.forward))});
  if (!subs.ok()) return subs.status();
  CopyDatabases dbs(ctx);
  for (int i = 0; i < subs->rows(); ++i) {
    const std::string db = subs->Get(i, 0), sub = subs->Get(i, 1);
    auto conn = dbs.In(db);
    if (!conn.ok())
      return conn.status().Wrap("detaching the copied subscription " + sub + " in database " + db);
    DBR_RETURN_IF_ERROR(DetachSubscription(**conn, sub));
    log::warn(
        "the copied subscription {} in database {} is disabled and detached from its slot on "
        "the new instance (the source's own keeps running)",
        sub, db);
  }
  return Status::Ok();
}

namespace {

Status RollBackCopiedPreparedTransactions(RunContext& ctx) {
  auto xacts = ctx.dst->Query(
      "SELECT database, gid, owner FROM pg_prepared_xacts ORDER BY database, prepared");
  if (!xacts.ok()) return xacts.status();
  CopyDatabases dbs(ctx);
  for (int i = 0; i < xacts->rows(); ++i) {
    const std::string db = xacts->Get(i, 0), gid = xacts->Get(i, 1), owner = xacts->Get(i, 2);
    const std::string what = fmt::format(
        "the prepared transaction {} (owner {}) in database {}, copied to the new instance",
        pg::QuoteLiteral(gid), owner, db);
    auto conn = dbs.In(db);
    if (!conn.ok()) return conn.status().Wrap("rolling back " + what);
    pg::Connection& c = **conn;
    const std::string rollback = "ROLLBACK PREPARED " + pg::QuoteLiteral(gid);
    Status done = c.Exec(rollback);
    if (!done.ok()) {  // only its owner or a superuser may end it: as its owner, if we may be it
      if (c.Exec("SET ROLE " + pg::QuoteIdent(owner)).ok()) {
        done = c.Exec(rollback);
        DBR_RETURN_IF_ERROR(c.Exec("RESET ROLE"));
      }
    }
    if (!done.ok())
      return done.Wrap(fmt::format(
          "rolling back {} (it holds its locks there, and its changes reach the new instance "
          "through replication once the source commits it): run {} in database {} on the new "
          "instance as {} (or GRANT {} TO {} there first), then run again",
          what, rollback, db, owner, pg::QuoteIdent(owner), pg::QuoteIdent(c.params().user)));
    log::info(
        "rolled back {} (the source still holds it; once committed there, replication "
        "brings its changes)",
        what);
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

}  // namespace

Status PrepareCopiedInstance(RunContext& ctx) {
  DBR_RETURN_IF_ERROR(DetachCopiedSubscriptions(ctx));
  DBR_RETURN_IF_ERROR(RollBackCopiedPreparedTransactions(ctx));
  return DropCopiedSlots(ctx);
}

}  // namespace dbr
