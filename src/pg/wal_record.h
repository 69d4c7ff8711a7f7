// The end of one WAL record, read from the server's own WAL with pg_walinspect (PostgreSQL 15+).
#pragma once

#include <optional>

#include "pg/connection.h"
#include "pg/lsn.h"
#include "util/status.h"

namespace dbr::pg {

// The end of the record that starts at `start` (where the next record may start), while the
// server still holds that WAL. pg_walinspect is created for the call and dropped after it when it
// was not there. nullopt, with the reason logged, where it cannot be read: a server before 15,
// no pg_walinspect or not allowed to create it, the WAL already removed, no record at `start`.
Result<std::optional<Lsn>> EndOfWalRecord(Connection& conn, Lsn start);

}  // namespace dbr::pg
