// AUTO_INCREMENT counters: the destination's set at least to the source's (issue #25). The
// source's can be ahead of its highest row (inserts rolled back, the last rows deleted), and
// replication carries rows, not counters: without this, the first inserts after a cut-over could
// take numbers the source had already handed out.
#pragma once

#include <string>

#include "mariadb/connection.h"
#include "util/status.h"

namespace dbr::mysql {

// The number of the destination's counters that were behind and were moved; the database is
// `source_database` on the source and `destination_database` on the destination.
Result<int> SetCountersAhead(mariadb::Connection& source, mariadb::Connection& destination,
                             const std::string& source_database,
                             const std::string& destination_database);

}  // namespace dbr::mysql
