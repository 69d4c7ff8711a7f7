// A table cut into primary-key ranges, for the copy and verify of engine mysql (issue #25): the
// ranges of a single integer key, of equal width between the smallest and the largest key one
// session sees. The first range has no lower bound and the last no upper one, so together they
// cover every value: a row another side has outside that span still falls in one of them.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "mariadb/connection.h"
#include "util/status.h"

namespace dbr::mysql {

struct KeyRange {
  std::string where;  // the condition selecting the range's rows; "": the whole table
  int part = 1, parts = 1;
};

// `parts` ranges of `table` when it has a single integer primary key whose values span at least
// `parts`; else one range, the whole table.
Result<std::vector<KeyRange>> KeyRangesOf(mariadb::Connection& session, const std::string& database,
                                          const std::string& table, int parts);

// The size of each base table of `database` as the server estimates it (DATA_LENGTH), by name.
Result<std::map<std::string, int64_t>> TableBytes(mariadb::Connection& session,
                                                  const std::string& database);

// One key range of a table, with its share of the table's size.
struct TableRange {
  std::string table;
  int64_t bytes = 0;  // the table's size (TableBytes) over its number of ranges
  KeyRange range;
};

// Each of `tables` cut into as many ranges as `parts_of` gives for its size, all the ranges
// largest first: the units a copy or a verify spreads over its sessions.
Result<std::vector<TableRange>> RangesLargestFirst(mariadb::Connection& session,
                                                   const std::string& database,
                                                   const std::vector<std::string>& tables,
                                                   const std::function<int(int64_t)>& parts_of);

}  // namespace dbr::mysql
