// Streams rows from a COPY ... TO STDOUT on one connection into a COPY ... FROM STDIN on another,
// gathered into messages of about 64 kB: memory stays bounded by that plus the largest row,
// whatever the table's size.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "pg/connection.h"
#include "util/copy_counters.h"

namespace dbr::pg {

struct CopyResult {
  int64_t rows = 0;
  int64_t bytes = 0;
};

// Runs `copy_out_sql` on `from` and `copy_in_sql` on `to` and pipes the data across. `live`
// (optional) is updated as data flows, for progress display; `cancelled` stops the stream.
Result<CopyResult> StreamCopy(Connection& from, const std::string& copy_out_sql, Connection& to,
                              const std::string& copy_in_sql, CopyCounters* live,
                              const std::atomic<bool>* cancelled);

}  // namespace dbr::pg
