// Materialized views are not replicated (a view's rows are derived, and REFRESH writes no row
// changes to the stream): the destination refreshes its own, after the copy and again after each
// switch, from the rows it holds then.
#pragma once

#include "config/config.h"
#include "pg/connection.h"
#include "util/status.h"

namespace dbr {

// Refreshes on `target` each materialized view in scope that is populated on `reference` (the
// source after a copy, whose views the schema restore leaves empty; the side itself after a
// switch). Returns how many were refreshed.
Result<int> RefreshMaterializedViews(pg::Connection& reference, pg::Connection& target,
                                     const Config& config);

}  // namespace dbr
