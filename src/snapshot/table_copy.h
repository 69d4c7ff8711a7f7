// The rows half of the logical copy: every table's rows as of one exported snapshot, copied in
// parallel (`jobs` workers; a large table split into block ranges copied concurrently where it
// would otherwise hold one worker after the others are done: model/copy_parts.h), streamed from
// source to destination with bounded memory. A table copied whole is loaded frozen.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/copy_parts.h"
#include "model/run_context.h"

namespace dbr {

// Called by the worker that copied a table's last rows, on its destination connection, once the
// table is recorded as copied in ctx.state; an error stops the copy.
using TableCopied = std::function<Status(const TableInfo& table, pg::Connection& dst)>;

// Copies `tables` under `snapshot`, emptying each on the destination first (of what an
// interrupted run may have left); records each finished table in ctx.state as it completes,
// then calls `copied` (when set) for it. The state is saved when the first table is done, then
// at most once a second, and at the end.
Status CopyTables(RunContext& ctx, const std::vector<TableInfo>& tables,
                  const std::string& snapshot, const TableCopied& copied = {});

}  // namespace dbr
