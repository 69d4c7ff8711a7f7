// The rows of the database's tables, read in the snapshot's sessions and written to the
// destination with multi-row INSERTs of about a megabyte, streamed: no table is held in
// memory, only per session the batch of rows being read and the one being written, on a thread
// of its own, at the same time (issue #25). Generated columns are left to the
// destination to compute. Loader sessions write in UTC, without foreign-key and unique checks
// (the rows were valid on the source) and with NO_AUTO_VALUE_ON_ZERO, so a 0 stays a 0.
#pragma once

#include <string>
#include <vector>

#include "mariadb/connection.h"
#include "mysql/schema_copy.h"
#include "mysql/snapshot.h"
#include "util/copy_counters.h"
#include "util/status.h"

namespace dbr::mysql {

struct CopiedTable {
  std::string name;
  int64_t rows = 0;
  int64_t bytes = 0;   // of the values read
  int parts = 1;       // primary-key ranges it was copied in
  double seconds = 0;  // from its first range's start until its last one's rows are in
};

// One table's rows (those `where` selects; "": all), from a snapshot session to a destination
// connection. `live` (optional) counts the rows and bytes as each batch is read.
Result<CopiedTable> CopyRows(mariadb::Connection& source, mariadb::Connection& destination,
                             const std::string& database, const std::string& table,
                             const std::string& where = "", CopyCounters* live = nullptr);

// Every table of `schema`, largest first, spread over the snapshot's sessions (one destination
// connection each). A table above `split_above` bytes with a single integer primary key is
// copied in key ranges (model/copy_parts.h says how many), so that one large table keeps every
// session busy; one result per table. A table's `after_rows` (its secondary indexes) runs on
// the session that copied its last range, once that range is in. `live` (optional) counts
// what all sessions have read.
Result<std::vector<CopiedTable>> CopyAllRows(ConsistentSnapshot& snapshot,
                                             const mariadb::ConnParams& destination,
                                             const SchemaDefinitions& schema, int64_t split_above,
                                             CopyCounters* live = nullptr);

}  // namespace dbr::mysql
