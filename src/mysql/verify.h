// engine mysql's verify (issue #25): every table of the database read on both sides at one
// point of the source's binary log, while the application writes. The source's point is a
// consistent snapshot; the destination's applier is stopped, started again up to exactly that
// point (START SLAVE ... UNTIL), read there in consistent snapshots, and let go on. Each table's
// row count and sum of 60-bit row hashes are compared, a large table's in primary-key ranges
// (mysql/key_ranges.h) spread over the sessions; a range that differs is compared row by row by
// its primary key, naming the keys; a table without one, as a multiset of row hashes, naming the
// rows. Then the schema objects (mysql/schema_compare.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "mariadb/connection.h"
#include "mysql/dialect.h"
#include "mysql/schema_compare.h"
#include "util/status.h"

namespace dbr::mysql {

struct RowMismatch {
  std::string key;   // (id)=(42), (order_id, line)=(7, 2)
  std::string what;  // "only on the source", "only on the destination", "differs"
};

struct TableComparison {
  std::string table;
  bool equal = true;
  int64_t source_rows = 0, destination_rows = 0;
  int ranges = 1, differing_ranges = 0;  // key ranges compared, and those found to differ
  int64_t differing_rows = 0;            // a row changed counts once by its key, twice without one
  std::vector<RowMismatch> examples;     // the first few; without a key, `key` shows the row
  std::string detail;                    // e.g. no primary key: compared as a multiset of rows
};

struct Comparison {
  BinlogPosition point;
  std::vector<TableComparison> tables;
  std::vector<ObjectComparison> objects;  // mysql/schema_compare.h
};

// Compares every base table of the database (`source_database` on the source,
// `destination_database` on the destination), on `sessions` sessions a side; a table with a
// single integer primary key in ranges of about `range_bytes` (0: whole). The destination must
// replicate from the source through `channel` (mysql/replication.h); its applier runs again when
// this returns, whatever happened.
Result<Comparison> CompareAtOnePoint(const mariadb::ConnParams& source,
                                     const mariadb::ConnParams& destination,
                                     const std::string& source_database,
                                     const std::string& destination_database,
                                     const std::string& channel, int sessions, int64_t range_bytes,
                                     size_t example_limit, std::chrono::seconds timeout);

}  // namespace dbr::mysql
