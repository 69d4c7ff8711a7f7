// The Cloud SQL clone snapshot source (upgrade.method clone, for databases too large to copy
// logically in good time): instances.clone of the source, a physical copy that Google starts as a
// new instance at the source's version; the exact LSN at which its data ends, read from its
// crash recovery in its PostgreSQL log through Cloud Logging; the copied slots and subscriptions
// put out of the way; then the clone upgraded in place (instances.patch databaseVersion) to the
// target major. Every request is recorded in the run state before it is waited for.
#include <fmt/chrono.h>
#include <fmt/format.h>

#include "cloud/cloudsql_plan.h"
#include "cloud/cloudsql_session.h"
#include "cloud/copied_instance.h"
#include "model/servers.h"
#include "model/timings.h"
#include "snapshot/snapshot_source.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/phases.h"

namespace dbr {
namespace {

std::string Rfc3339(std::chrono::system_clock::time_point t) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::chrono::system_clock::to_time_t(t)));
}

class CloudSqlCloneSource : public SnapshotSource {
 public:
  explicit CloudSqlCloneSource(SharedCloudSqlPlan planned) : planned_(std::move(planned)) {}

  const char* name() const override { return "Cloud SQL clone"; }
  bool ExportsSnapshot() const override { return false; }

  Status Take(RunContext& ctx) override {
    if (!planned_ || !*planned_)
      return Status::Error("internal: no Cloud SQL plan (pre-flight did not pass)");
    plan_ = **planned_;
    DBR_ASSIGN_OR_RETURN(session_, OpenGoogleSession(ctx.config));
    CloudSqlState& st = ctx.state.cloudsql;
    using Row = PhaseRow<CloudSqlPhase>;
    const Row phases[] = {
        {CloudSqlPhase::kNone, [&] { return Name(ctx); }},
        {CloudSqlPhase::kCreate, [&] { return Clone(ctx); }},
        {CloudSqlPhase::kLsn,
         [&]() -> Result<CloudSqlPhase> {
           UseRecordedDestination(ctx.config, ctx.state);  // from now on: the clone
           DBR_RETURN_IF_ERROR(ctx.Reconnect());
           // First: copied subscriptions run from the moment the clone starts.
           DBR_RETURN_IF_ERROR(DetachCopiedSubscriptions(ctx));
           return FindLsn(ctx);
         }},
        {CloudSqlPhase::kPrepare,
         [&]() -> Result<CloudSqlPhase> {
           DBR_RETURN_IF_ERROR(ctx.Reconnect());
           DBR_RETURN_IF_ERROR(PrepareCopiedInstance(ctx));
           return st.target_major > plan_.source_major ? CloudSqlPhase::kUpgrade
                                                       : CloudSqlPhase::kDone;
         }},
        {CloudSqlPhase::kUpgrade, [&] { return Upgrade(ctx); }},
    };
    return RunPhases(st.phase, CloudSqlPhase::kDone, phases, "cloudsql",
                     [&] { return ctx.SaveState(); });
  }

 private:
  // The clone's name and the source's WAL before it is asked for, recorded before it exists:
  // cleanup can find it.
  Result<CloudSqlPhase> Name(RunContext& ctx) {
    CloudSqlState& st = ctx.state.cloudsql;
    DBR_ASSIGN_OR_RETURN(st.lsn_before,
                         ctx.src->QueryValue("SELECT pg_current_wal_flush_lsn()::text"));
    st.time_before = NowUtc();
    st.method = NameOf(UpgradeMethod::kClone);
    st.target_major = plan_.target_major;
    st.instance = plan_.destination;
    return CloudSqlPhase::kCreate;
  }

  Result<CloudSqlPhase> Clone(RunContext& ctx) {
    CloudSqlState& st = ctx.state.cloudsql;
    gcp::SqlAdmin& admin = session_->admin;
    const std::string& project = ctx.config.gcp.project;
    DBR_RETURN_IF_ERROR(WaitForRecorded(ctx, admin));
    DBR_ASSIGN_OR_RETURN(auto existing, admin.GetInstance(project, st.instance));
    if (!existing) {
      log::info("cloning the Cloud SQL instance {} as {} (source WAL at {})",
                ctx.config.src.instance_id, st.instance, st.lsn_before);
      DBR_RETURN_IF_ERROR(RecordAndWait(
          ctx, admin, admin.CloneInstance(project, ctx.config.src.instance_id, st.instance)));
    }
    DBR_ASSIGN_OR_RETURN(auto made, admin.GetInstance(project, st.instance));
    if (!made || made->state != "RUNNABLE" || made->primary_ip.empty())
      return Status::Error(fmt::format("the clone {} is {} after its creation", st.instance,
                                       made ? made->state : "gone"));
    DBR_ASSIGN_OR_RETURN(st.lsn_after,
                         ctx.src->QueryValue("SELECT pg_current_wal_insert_lsn()::text"));
    st.time_after = NowUtc();
    st.dst_host = made->primary_ip;
    log::info("clone {} RUNNABLE at {} (source WAL between {} and {})", st.instance, st.dst_host,
              st.lsn_before, st.lsn_after);
    return CloudSqlPhase::kLsn;
  }

  // The clone's recovery ended its data: its log lines between the two times, read through
  // Cloud Logging, name the position (cloud/copied_instance.h).
  Result<CloudSqlPhase> FindLsn(RunContext& ctx) {
    CloudSqlState& st = ctx.state.cloudsql;
    auto before = ParseIso8601(st.time_before);
    auto after = ParseIso8601(st.time_after);
    auto lower = pg::Lsn::Parse(st.lsn_before);
    auto upper = pg::Lsn::Parse(st.lsn_after);
    if (!before.ok() || !after.ok() || !lower || !upper)
      return Status::Error("internal: the run state lacks the clone's bounds");
    const auto skew = Timings::Default().cloud_clock_skew;
    const CopyBounds bounds{*lower, *upper, *before - skew, *after + skew};
    const std::string filter = gcp::CloudSqlPostgresLogFilter(
        ctx.config.gcp.project, st.instance, Rfc3339(bounds.not_before), Rfc3339(bounds.not_after));
    DBR_ASSIGN_OR_RETURN(auto entries, session_->logging.List(ctx.config.gcp.project, filter));
    std::string text;
    for (const auto& e : entries) text += e.text + "\n";
    std::string rule;
    auto exact = CopyEndFromLog(
        ctx, text, bounds,
        fmt::format("{} ({} Cloud Logging entries)", st.instance, entries.size()), &rule);
    if (!exact.ok())
      return exact.status().Wrap(fmt::format(
          "finding the LSN at which the data of the clone {} ends (nothing was subscribed; to "
          "give up, run `db_relocate cleanup --delete-instance {}`)",
          st.instance, st.instance));
    ctx.state.snapshot_lsn = exact->ToString();
    log::info("the clone's data ends at {} (rule: {}; source WAL was between {} and {})",
              ctx.state.snapshot_lsn, rule, st.lsn_before, st.lsn_after);
    return CloudSqlPhase::kPrepare;
  }

  // In place, straight to the target major (Google's "Upgrade the database major version
  // in-place": pg_upgrade, refused while the instance has logical slots, dropped above).
  Result<CloudSqlPhase> Upgrade(RunContext& ctx) {
    CloudSqlState& st = ctx.state.cloudsql;
    gcp::SqlAdmin& admin = session_->admin;
    const std::string& project = ctx.config.gcp.project;
    ctx.dst.reset();  // the upgrade replaces the server
    DBR_RETURN_IF_ERROR(WaitForRecorded(ctx, admin));
    const std::string target = fmt::format("POSTGRES_{}", st.target_major);
    DBR_ASSIGN_OR_RETURN(auto clone, admin.GetInstance(project, st.instance));
    if (!clone) return Status::Error("the clone " + st.instance + " is gone");
    if (MajorOfDatabaseVersion(clone->database_version) < st.target_major) {
      log::info("upgrading the clone {} in place from {} to {}", st.instance,
                clone->database_version, target);
      DBR_RETURN_IF_ERROR(RecordAndWait(
          ctx, admin, admin.PatchInstance(project, st.instance, {{"databaseVersion", target}})));
      DBR_ASSIGN_OR_RETURN(clone, admin.GetInstance(project, st.instance));
      if (!clone || clone->database_version != target)
        return Status::Error(fmt::format("Cloud SQL did not upgrade the clone {} to {}: it is {}",
                                         st.instance, target,
                                         clone ? clone->database_version : "gone"));
    }
    log::info("the clone {} runs {}", st.instance, target);
    return CloudSqlPhase::kDone;
  }

  SharedCloudSqlPlan planned_;
  CloudSqlPlan plan_;
  std::unique_ptr<GoogleSession> session_;
};

}  // namespace

std::unique_ptr<SnapshotSource> MakeCloudSqlCloneSource(SharedCloudSqlPlan plan) {
  return std::make_unique<CloudSqlCloneSource>(std::move(plan));
}

}  // namespace dbr
