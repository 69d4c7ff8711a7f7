#include "pg/replication.h"

#include "pg/quote.h"

namespace dbr::pg {

Result<CreatedSlot> CreateLogicalSlotExportingSnapshot(Connection& conn, const std::string& slot) {
  // The pre-PostgreSQL-15 spelling: every major from 10 to 18 accepts it.
  auto res = conn.Query("CREATE_REPLICATION_SLOT " + QuoteIdent(slot) +
                        " LOGICAL pgoutput EXPORT_SNAPSHOT");
  if (!res.ok()) return res.status();
  if (res->rows() != 1 || res->cols() < 4)
    return Status::Error("on " + conn.params().label +
                         ": unexpected reply to CREATE_REPLICATION_SLOT");
  auto lsn = Lsn::Parse(res->Get(0, 1));
  if (!lsn)
    return Status::Error("on " + conn.params().label + ": bad consistent point " + res->Get(0, 1));
  return CreatedSlot{res->Get(0, 0), *lsn, res->Get(0, 2)};
}

Result<SlotWaits> WhatASlotWaitsFor(Connection& conn, int running_longer_than_seconds) {
  SlotWaits out;
  // format(): a NULL (a background worker's user) prints as nothing, not as a NULL row.
  auto prepared = conn.Query(
      "SELECT format('%L in database %s (prepared %s)', gid, database, "
      "date_trunc('second', prepared)) FROM pg_prepared_xacts ORDER BY prepared");
  if (!prepared.ok()) return prepared.status();
  for (int i = 0; i < prepared->rows(); ++i) out.prepared.push_back(prepared->Get(i, 0));
  auto running = conn.Query(
      "SELECT format('pid %s (user %s) in database %s, running for %s', pid, usename, datname, "
      "date_trunc('second', now() - xact_start)) FROM pg_stat_activity "
      "WHERE backend_xid IS NOT NULL AND xact_start < now() - make_interval(secs => $1) "
      "AND pid <> pg_backend_pid() ORDER BY xact_start",
      {std::to_string(running_longer_than_seconds)});
  if (!running.ok()) return running.status();
  for (int i = 0; i < running->rows(); ++i) out.long_running.push_back(running->Get(i, 0));
  return out;
}

Result<std::string> IdentifySystem(Connection& conn) {
  auto res = conn.Query("IDENTIFY_SYSTEM");
  if (!res.ok()) return res.status();
  if (res->rows() != 1 || res->cols() < 1 || res->IsNull(0, 0))
    return Status::Error("on " + conn.params().label + ": unexpected reply to IDENTIFY_SYSTEM");
  return res->Get(0, 0);
}

}  // namespace dbr::pg
