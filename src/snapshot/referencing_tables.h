// The tables whose rows reference, through foreign keys, rows of given tables, directly or
// through others: when the given tables are emptied and handed to the subscription's table
// synchronisation, these must go with them, or the restore of their foreign keys would check
// their rows against empty tables and fail.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "pg/connection.h"
#include "util/status.h"

namespace dbr {

// The tables of `conn`'s catalog that reference any of `tables` ("schema"."name"), with
// `tables` themselves: partitions count for their partitioned tables, on either side.
Result<std::set<std::string>> WithReferencingTables(pg::Connection& conn,
                                                    const std::vector<std::string>& tables);

}  // namespace dbr
