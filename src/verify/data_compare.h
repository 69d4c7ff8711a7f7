// Compares the rows of tables read at one consistent point (see consistent_point.h): each table's
// row count and hash sum on both sides, read in pieces of 64 MB in parallel (block ranges on
// PostgreSQL 14+, key ranges before); the window's changes accounted for row by row; a table
// that still differs compared per key range, ranges that differ narrowed to 1024 key buckets,
// then to the rows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "verify/consistent_point.h"
#include "verify/table_shape.h"
#include "verify/verdict.h"

namespace dbr::verify {

struct RowDifference {
  std::string key;   // (id)=(42); a row's text for tables without a key
  std::string what;  // "only on the source", "only on the destination", "differs"
};

struct TableResult {
  std::string table;              // schema.name
  std::string qualified;          // quoted: "a.b"."c" and "a"."b.c" show alike as a.b.c
  Verdict status = Verdict::kOk;  // OK, DIFFERS, UNSETTLED or ERROR
  int64_t source_rows = 0;        // both as of the marker: the sender's snapshot plus the window
  int64_t destination_rows = 0;
  int ranges = 1;  // key ranges a difference is looked for in
  int differing_ranges = 0;
  int64_t differing_rows = 0;
  bool differing_rows_exact = true;     // false: too many to list, a lower bound
  std::vector<RowDifference> examples;  // the first `example_limit`
  std::string detail;
};

struct TablePlan {
  TableShape shape;
  std::vector<std::string> bounds;  // range i (i > 0) starts at bounds[i - 1]
};

// Splits a large table with a splittable key into ranges of about `range_bytes` (by sampling
// its leading key column on the source).
Result<TablePlan> PlanTable(pg::Connection& src, TableShape shape, int64_t range_bytes);

// Compares `tables` at `point`, on point.sender_readers.size() workers.
std::vector<TableResult> CompareTables(ConsistentPoint& point, const std::vector<TablePlan>& tables,
                                       size_t example_limit, const std::string& sender_label,
                                       const std::string& receiver_label);

}  // namespace dbr::verify
