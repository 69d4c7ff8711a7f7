// Scheduled events run where the application writes (issue #25). The copy makes them DISABLE ON
// SLAVE on the destination (mysql/schema_copy.h); a switch moves them with the application: the
// old side's enabled events become DISABLE ON SLAVE, and once that has replicated, the new
// side's DISABLE ON SLAVE ones are enabled. An event a user disabled stays so on both sides. Run
// again after a crash, it finishes what it started: the new side's are enabled from its own
// catalog.
#pragma once

#include <chrono>
#include <string>

#include "mariadb/connection.h"
#include "util/status.h"

namespace dbr::mysql {

// The number of events enabled on `new_side` (database `new_database`); `old_side` replicates
// into it, and must have carried its own change within `timeout`.
Result<int> MoveEvents(mariadb::Connection& old_side, const std::string& old_database,
                       mariadb::Connection& new_side, const std::string& new_database,
                       std::chrono::seconds timeout);

}  // namespace dbr::mysql
