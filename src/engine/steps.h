// The PostgreSQL engine's steps of `run` (core/postgres_engine.cpp binds them to the Engine
// interface). Each is idempotent: it looks at what exists before it acts, so a `run` started
// again after a crash simply continues.
#pragma once

#include "model/run_context.h"
#include "util/status.h"

namespace dbr::steps {

// The heartbeat table on the source (in scope from then on) and its detached writer.
Status StartHeartbeat(RunContext& ctx);
// The replication user, the publication of the tables in scope and the logical slot; with
// `export_snapshot` the slot exports a snapshot that the logical copy reads under.
Status CreatePublication(RunContext& ctx, bool export_snapshot);
// The subscription bound to the slot, its origin advanced to the snapshot's LSN.
Status Subscribe(RunContext& ctx);
// Waits until the lag is under catchup_lag_bytes.
Status CatchUp(RunContext& ctx);
// Every sequence set on the destination ahead of the source by sequence_gap.
Status SetSequences(RunContext& ctx);

}  // namespace dbr::steps
