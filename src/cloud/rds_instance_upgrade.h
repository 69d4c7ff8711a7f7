// upgrade.method instance: AWS upgrades the restored instance (ModifyDBInstance), hop by hop.
#pragma once

#include "aws/rds.h"
#include "cloud/rds_plan.h"
#include "model/run_context.h"
#include "util/status.h"

namespace dbr {

// ModifyDBInstance of the restored instance (ctx.state.rds.instance) to each of
// ctx.state.rds.hops in turn, each recorded in the state (rds.instance_hops) once AWS accepted
// it; after each wait the instance's EngineVersion is read again, and an upgrade AWS did not do
// (a failed pre-check, a failure rolled back) stops the run with what AWS said. A rerun skips the
// hops the instance has reached and waits for one under way.
Status UpgradeRestoredInstance(aws::Rds& rds, RunContext& ctx, const RdsPlan& plan);

}  // namespace dbr
