// The rows half of the logical copy: every table's rows as of one exported snapshot, copied in
// parallel (`jobs` workers; large tables split into block ranges copied concurrently), streamed
// from source to destination with bounded memory.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/copy_parts.h"
#include "model/run_context.h"

namespace dbr {

// Called by the worker that copied a table's last rows, on its destination connection, once the
// table is recorded as copied; an error stops the copy.
using TableCopied = std::function<Status(const TableInfo& table, pg::Connection& dst)>;

// Copies `tables` (already empty on the destination) under `snapshot`; records each finished
// table in ctx.state as it completes, then calls `copied` (when set) for it.
Status CopyTables(RunContext& ctx, const std::vector<TableInfo>& tables,
                  const std::string& snapshot, const TableCopied& copied = {});

}  // namespace dbr
