// `ddl: replicate`: schema changes made on the source while the relocation runs reach the
// destination in commit order, with the rows.
//
// On the sending side an event trigger (ddl_command_end) records each DDL statement that touches
// the relocation's scope, with the role that ran it and its search_path, as a row of
// db_relocate.ddl_log, in the same transaction as the change. A table it creates in scope is
// added to the publication there too, with SELECT on it for the replication user (whose table
// synchronisation copies it). The log is published like every table of db_relocate's schema, so
// its rows arrive in the order of the stream. On the receiving side a trigger on the
// log, enabled for replica sessions only (the apply worker), runs each statement as it arrives:
// after the rows committed before it and before the rows that depend on it. A statement that
// fails there stops the apply worker with the statement and the error in its message, and stays
// stopped until the destination is fixed.
//
// What cannot be carried is refused on the source with a message, not replayed wrong:
// a query string holding several statements or DDL run from a function (DO, CALL, SELECT), whose
// other statements would run twice; CREATE TABLE AS / SELECT INTO, whose rows would arrive twice;
// and statements that cannot run inside a transaction (CREATE INDEX CONCURRENTLY), which are let
// through with a warning and must be repeated on the destination by hand.
#pragma once

#include <string>

#include "config/config.h"
#include "model/names.h"
#include "pg/connection.h"
#include "util/status.h"

namespace dbr {

inline constexpr const char* kDdlLogTable = "ddl_log";

// Creates (or replaces) the log, both triggers' functions and the event trigger on `conn`, for
// the scope of `config`, adding the tables it creates to `publication`. Needs a superuser (or
// rds_superuser / cloudsqlsuperuser, which may create event triggers).
Status EnsureDdlCapture(pg::Connection& conn, const Config& config, const std::string& publication);

// The receiving side of `link` learns the tables the event trigger added to the publication once
// their CREATE TABLE has been applied there: ALTER SUBSCRIPTION ... REFRESH PUBLICATION, whose
// table synchronisation copies each one consistently with the stream. Returns how many tables
// were new (0: nothing to do).
Result<int> FollowNewTables(pg::Connection& sender, pg::Connection& receiver,
                            const names::Link& link);

// The first logged statement the receiver has not applied, with the error it gives there when
// tried in a transaction that is rolled back (empty when it runs); nullopt when none is pending.
struct PendingDdl {
  int64_t id = 0;
  std::string statement;
  std::string error;
};
Result<std::optional<PendingDdl>> FirstPendingDdl(pg::Connection& sender, pg::Connection& receiver);

}  // namespace dbr
