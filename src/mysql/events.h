// Scheduled events run where the application writes (issue #25). The copy makes them DISABLE ON
// SLAVE on the destination (mysql/schema_copy.h); once a switch is done, they follow the
// application: each event enabled on the old side is enabled on the new one (its definer kept),
// then made DISABLE ON SLAVE on the old side. An event disabled on the old side (by a user, or
// never run there) is left as it is. Run again, it finishes what it started.
#pragma once

#include <string>

#include "mariadb/connection.h"
#include "util/status.h"

namespace dbr::mysql {

// The number of events moved. `old_side` (database `old_database`) follows `new_side` (database
// `new_database`): the new side's ALTER EVENT names its event in the database it USEs, so that
// the old side's replication renames it as it renames the rest (replicate_rewrite_db applies to
// the default database), and applies it as DISABLE ON SLAVE, as a replica applies any event.
Result<int> MoveEvents(mariadb::Connection& old_side, const std::string& old_database,
                       mariadb::Connection& new_side, const std::string& new_database);

}  // namespace dbr::mysql
