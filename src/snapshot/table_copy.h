// The rows half of the logical copy: every table's rows as of one exported snapshot, copied in
// parallel (`jobs` workers; large tables split into block ranges copied concurrently), streamed
// from source to destination with bounded memory.
#pragma once

#include <string>
#include <vector>

#include "model/run_context.h"

namespace dbr {

// Copies `tables` (already empty on the destination) under `snapshot`; records each finished
// table in ctx.state as it completes.
Status CopyTables(RunContext& ctx, const std::vector<TableInfo>& tables,
                  const std::string& snapshot);

}  // namespace dbr
