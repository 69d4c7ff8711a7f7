#include "cloud/rds_instance_upgrade.h"

#include <fmt/format.h>

#include <chrono>

#include "aws/credential_sources.h"
#include "cloud/rds_logs.h"
#include "cloud/rds_wait.h"
#include "model/timings.h"
#include "util/fault.h"
#include "util/log.h"
#include "util/progress.h"
#include "util/text.h"

namespace dbr {
namespace {

RdsInstanceHop& HopRecord(RdsState& st, const std::string& version) {
  for (auto& h : st.instance_hops)
    if (h.version == version) return h;
  st.instance_hops.push_back({.version = version});
  return st.instance_hops.back();
}

// Until the instance is available at the hop's version. Available at another version after
// AWS reported a failure, or for longer than Timings::rds.upgrade_given_up_after: AWS did not
// upgrade it, and says why in its events and pg_upgrade_precheck.log.
Status WaitForInstanceUpgrade(aws::Rds& rds, RunContext& ctx, const RdsInstanceHop& hop,
                              const std::string& from) {
  const std::string& id = ctx.state.rds.instance;
  const Clock::TimePoint waiting_since = ctx.clock.Now();
  return WaitForAws(
      fmt::format("instance {} upgrade from PostgreSQL {} to {}", id, from, hop.version),
      ctx.config.upgrade.wait_timeout,
      [&](std::string* progress) -> Result<bool> {
        DBR_ASSIGN_OR_RETURN(aws::DbInstance now, rds.DescribeInstance(id));
        *progress = fmt::format("{}, PostgreSQL {}", now.status, now.engine_version);
        if (now.status != "available") return false;
        if (now.engine_version == hop.version) return true;
        DBR_ASSIGN_OR_RETURN(std::string refusal, UpgradeRefusal(rds, id, hop.requested_at));
        const bool given_up =
            ctx.clock.Now() - waiting_since > Timings::Default().rds.upgrade_given_up_after;
        if (refusal.empty() && !given_up) return false;  // not started yet
        return Status::Error(fmt::format(
            "AWS did not upgrade instance {} from PostgreSQL {} to {}: it is available at {}{}. "
            "Nothing was subscribed. Fix what AWS names on {} (at {}:{}), then run `db_relocate "
            "run` again to request the upgrade again; or give up with `db_relocate cleanup`",
            id, from, hop.version, now.engine_version,
            refusal.empty() ? " and AWS reported no reason" : ". AWS said:\n" + refusal, id,
            ctx.state.rds.dst_host, ctx.state.rds.dst_port));
      },
      ctx.clock);
}

}  // namespace

Status UpgradeRestoredInstance(aws::Rds& rds, RunContext& ctx, const RdsPlan& plan) {
  RdsState& st = ctx.state.rds;
  ctx.dst.reset();  // each hop restarts the server
  for (const std::string& hop : st.hops) {
    RdsInstanceHop& record = HopRecord(st, hop);
    DBR_ASSIGN_OR_RETURN(aws::DbInstance now, rds.DescribeInstance(st.instance));
    if (!VersionLess(now.engine_version, hop)) continue;  // done before a restart
    const std::string from = now.engine_version;
    if (now.status == "available" && now.pending_engine_version.empty()) {
      const std::string group = HopParameterGroup(plan, from, hop);
      log::info("upgrading instance {} from PostgreSQL {} to {} (ModifyDBInstance{}{})",
                st.instance, from, hop, group.empty() ? "" : ", parameter group ", group);
      const std::string requested_at = NowUtc();
      DBR_RETURN_IF_ERROR(
          rds.UpgradeInstance({st.instance, hop, MajorOf(from) != MajorOf(hop), group}));
      record.requested_at = requested_at;
      record.seconds = 0;
      DBR_RETURN_IF_ERROR(ctx.SaveState());
    }
    CrashPoint(("rds:instance-upgrade-requested:" + hop).c_str());
    DBR_RETURN_IF_ERROR(WaitForInstanceUpgrade(rds, ctx, record, from));
    auto requested = ParseIso8601(record.requested_at);
    if (requested)
      record.seconds =
          std::chrono::duration<double>(std::chrono::system_clock::now() - *requested).count();
    DBR_RETURN_IF_ERROR(ctx.SaveState());
    log::info("instance {} runs PostgreSQL {} ({} after the request)", st.instance, hop,
              HumanDuration(record.seconds));
  }
  return Status::Ok();
}

}  // namespace dbr
