// The relocation's steps, in the order `run` performs them. Each step is idempotent: it looks at
// what exists before it acts, so a `run` started again after a crash simply continues.
#pragma once

#include "core/run_context.h"
#include "util/status.h"

namespace dbr::steps {

Status Preflight(RunContext& ctx);          // 1. stop on FAIL unless `force`
Status StartHeartbeat(RunContext& ctx);     // 2. heartbeat table + detached writer
Status CreatePublication(RunContext& ctx);  // 3. replication user, publication, slot
Status TakeSnapshot(RunContext& ctx);       // 4. destination restored from the source
Status Subscribe(RunContext& ctx);          // 5. subscription bound to the slot at the LSN
Status CatchUp(RunContext& ctx);            // 6. wait until lag is under the threshold
Status VerifyHeartbeat(RunContext& ctx);    // 7. every heartbeat arrived exactly once
Status SetSequences(RunContext& ctx);       // 8. sequences ahead of the source by a gap
Status StartProxy(RunContext& ctx);         // 9. a managed proxy sends traffic to the primary
Status Verify(RunContext& ctx);             // 10. every table equal on both sides

}  // namespace dbr::steps
