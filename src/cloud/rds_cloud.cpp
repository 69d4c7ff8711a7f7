// Provider `rds`: Amazon RDS for PostgreSQL through its API (aws/).

#include "aws/rds.h"
#include "cloud/cloud.h"
#include "cloud/rds_plan.h"
#include "cloud/rds_wait.h"
#include "model/timings.h"
#include "util/log.h"

namespace dbr {

// rds_snapshot.cpp
std::unique_ptr<SnapshotSource> MakeRdsSnapshotSource(const Config& config, SharedRdsPlan plan);

namespace {

class RdsCloud : public Cloud {
 public:
  const char* name() const override { return "Amazon RDS"; }

  std::vector<CheckResult> Check(const Config& config, const Progress& progress) override {
    aws::RdsSession session(config.aws);
    auto planned = PlanRdsRelocation(config, session.rds(), progress);
    *plan_ = planned.plan;
    std::vector<CheckResult> out;
    for (auto& f : planned.findings) {
      CheckResult& c = out.emplace_back();
      c.name = f.name;
      c.level = !f.ok ? CheckLevel::kFail : f.warn ? CheckLevel::kWarn : CheckLevel::kPass;
      c.detail = f.detail;
      c.hint = f.hint;
      c.bad_config = f.bad_config;
    }
    return out;
  }

  bool CanEnableLogicalReplication(const Config& config,
                                   const PreflightReport& report) const override {
    if (!config.upgrade.allow_source_reboot) return false;
    // The group allows it (or may be set to), and the source runs without it: a reboot is due.
    const CheckResult* group = report.Find(kRdsLogicalReplicationCheck);
    const CheckResult* in_effect = report.Find(kLogicalReplicationCheck);
    // A reading that says it is off, not a query that failed.
    return group != nullptr && group->level != CheckLevel::kFail && in_effect != nullptr &&
           in_effect->level == CheckLevel::kFail && !in_effect->unread;
  }

  Status EnableLogicalReplication(const Config& config) override {
    aws::RdsSession session(config.aws);
    aws::Rds& rds = session.rds();
    auto source = rds.DescribeInstance(config.src.instance_id);
    if (!source.ok()) return source.status();
    auto params = rds.Parameters(source->parameter_group);
    if (!params.ok()) return params.status();
    if ((*params)["rds.logical_replication"] != "1") {
      log::warn(
          "setting rds.logical_replication = 1 in parameter group {} "
          "(upgrade.allow_source_reboot)",
          source->parameter_group);
      DBR_RETURN_IF_ERROR(
          rds.SetParameter(source->parameter_group, "rds.logical_replication", "1"));
    }
    log::warn(
        "rebooting the source instance {} so that logical replication takes effect: its "
        "connections drop until it is back",
        source->id);
    DBR_RETURN_IF_ERROR(rds.Reboot(source->id));
    RealClock().SleepFor(Timings::Default().rds.reboot_settle);
    return WaitForInstance(rds, source->id, config.upgrade.wait_timeout, nullptr);
  }

  std::unique_ptr<SnapshotSource> MakeSnapshotSource(const Config& config) override {
    return MakeRdsSnapshotSource(config, plan_);
  }

  Status DeleteIntermediates(const Config& config, const RunState& state,
                             const CleanupRequest& request,
                             std::vector<std::string>* actions) override {
    const bool dry_run = request.dry_run;
    if (!state.rds.instance.empty())
      log::info("the RDS instance {} is the destination and stays", state.rds.instance);
    if (state.rds.snapshots_deleted || config.upgrade.keep_snapshots) return Status::Ok();
    std::vector<std::string> ids;
    for (const auto& id : {state.rds.encrypted_snapshot, state.rds.snapshot})
      if (!id.empty()) ids.push_back(id);
    if (ids.empty()) return Status::Ok();
    aws::RdsSession session(config.aws);
    aws::Rds& rds = session.rds();
    for (const auto& id : ids) {
      auto found = rds.FindSnapshot(id);
      if (!found.ok()) return found.status();
      if (!*found) continue;
      actions->push_back("delete the RDS snapshot " + id);
      if (dry_run) continue;
      // AWS refuses to delete a snapshot while it is still being made, upgraded or copied.
      DBR_RETURN_IF_ERROR(WaitForAws("snapshot " + id + " to settle before it is deleted",
                                     config.upgrade.wait_timeout,
                                     [&](std::string* progress) -> Result<bool> {
                                       auto s = rds.DescribeSnapshot(id);
                                       if (!s.ok()) return s.status();
                                       *progress = s->status;
                                       return s->status == "available" || s->status == "failed";
                                     }));
      DBR_RETURN_IF_ERROR(rds.DeleteSnapshot(id));
      log::info("deleted the RDS snapshot {}", id);
    }
    return Status::Ok();
  }

 private:
  SharedRdsPlan plan_ = std::make_shared<std::optional<RdsPlan>>();
};

}  // namespace

std::unique_ptr<Cloud> MakeRdsCloud() {
  return std::make_unique<RdsCloud>();
}

}  // namespace dbr
