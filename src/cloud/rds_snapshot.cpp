// The RDS snapshot source: the source instance's own snapshot, encrypted by AWS and restored as
// the destination; the exact LSN at which its data ends is read from the new instance's recovery
// log. The major version changes in one of two ways (upgrade.method):
//   * instance (the default): the snapshot is restored at the source's version, so that the
//     recovery that ends its data is logged by the source's major; once the LSN is read and the
//     copied slots are dropped, ModifyDBInstance upgrades that instance hop by hop. Every step is
//     documented AWS behaviour.
//   * snapshot: ModifyDBSnapshot upgrades the snapshot before the restore.
// Every AWS resource and request is recorded in the run state before it is waited for, so a
// restarted `run` resumes the wait and `cleanup` finds it.
#include <fmt/format.h>

#include <chrono>
#include <ctime>

#include "aws/credential_sources.h"
#include "aws/rds.h"
#include "cloud/copied_instance.h"
#include "cloud/rds_instance_upgrade.h"
#include "cloud/rds_logs.h"
#include "cloud/rds_plan.h"
#include "cloud/rds_wait.h"
#include "model/names.h"
#include "model/scope.h"
#include "model/servers.h"
#include "model/timings.h"
#include "pg/quote.h"
#include "pg/recovery_log.h"
#include "snapshot/snapshot_source.h"
#include "util/fault.h"
#include "util/log.h"
#include "util/parallel.h"
#include "util/parse.h"
#include "util/phases.h"
#include "util/progress.h"
#include "util/text.h"

namespace dbr {
namespace {

std::string Compact(const std::string& iso) {  // 2026-12-02T01:02:03Z -> 20261202010203
  std::string out;
  for (char c : iso)
    if (c >= '0' && c <= '9') out += c;
  return out;
}

class RdsSnapshotSource : public SnapshotSource {
 public:
  RdsSnapshotSource(const Config& config, SharedRdsPlan planned)
      : session_(config.aws), rds_(session_.rds()), planned_(std::move(planned)) {}

  const char* name() const override { return "RDS snapshot"; }
  bool ExportsSnapshot() const override { return false; }

  Status Take(RunContext& ctx) override {
    RdsState& st = ctx.state.rds;  // its method is the config's (StateBelongsToConfig)
    if (planned_ && *planned_) {
      plan_ = **planned_;  // the run's pre-flight made it
    } else {
      auto planned = PlanRdsRelocation(ctx.config, rds_, ProgressOf(ctx.config, ctx.state));
      for (const auto& f : planned.findings)
        if (!f.ok)
          return Status::Error(f.name + ": " + f.detail + (f.hint.empty() ? "" : "; " + f.hint));
      plan_ = std::move(*planned.plan);
    }
    using Row = PhaseRow<RdsPhase>;
    const Row phases[] = {
        {RdsPhase::kNone,
         [&]() -> Result<RdsPhase> {
           // The path is fixed at the start: a version AWS releases meanwhile does not change it.
           st.method = NameOf(plan_.method);
           st.target_version = plan_.target_version;
           st.hops = plan_.hops;
           return RdsPhase::kSnapshot;
         }},
        {RdsPhase::kSnapshot, [&] { return Snapshot(ctx); }},
        {RdsPhase::kUpgrade, [&] { return Upgrade(ctx); }},
        {RdsPhase::kEncrypt, [&] { return Encrypt(ctx); }},
        {RdsPhase::kRestore, [&] { return Restore(ctx); }},
        {RdsPhase::kLsn,
         [&]() -> Result<RdsPhase> {
           UseRecordedDestination(ctx.config, ctx.state);  // from now on: the restored instance
           DBR_RETURN_IF_ERROR(ctx.Reconnect());
           // First: copied subscriptions run from the moment the instance starts.
           DBR_RETURN_IF_ERROR(DetachCopiedSubscriptions(ctx));
           return FindLsn(ctx);
         }},
        {RdsPhase::kPrepare,
         [&]() -> Result<RdsPhase> {
           DBR_RETURN_IF_ERROR(ctx.Reconnect());
           return PrepareDestination(ctx);
         }},
        {RdsPhase::kUpgradeInstance, [&] { return UpgradeInstance(ctx); }},
        {RdsPhase::kReplicas, [&] { return ReadReplicas(ctx); }},
        {RdsPhase::kWarm,
         [&]() -> Result<RdsPhase> {
           DBR_RETURN_IF_ERROR(ctx.Reconnect());
           return Warm(ctx);
         }},
    };
    return RunPhases(st.phase, RdsPhase::kDone, phases, "rds", [&] { return ctx.SaveState(); });
  }

  Status Finish(RunContext& ctx) override {
    RdsState& st = ctx.state.rds;
    if (st.snapshots_deleted || st.snapshot.empty()) return Status::Ok();
    if (ctx.config.upgrade.keep_snapshots) {
      log::info("keeping the snapshots {}{} (upgrade.keep_snapshots)", st.snapshot,
                st.encrypted_snapshot.empty() ? "" : " and " + st.encrypted_snapshot);
      return Status::Ok();
    }
    for (const auto& id : {st.encrypted_snapshot, st.snapshot}) {
      if (id.empty()) continue;
      DBR_RETURN_IF_ERROR(rds_.DeleteSnapshot(id));
      log::info("deleted the intermediate snapshot {}", id);
    }
    st.snapshots_deleted = true;
    return ctx.SaveState();
  }

 private:
  // Before the snapshot: what is surely on disk (the flush position); after it: all WAL written.
  Result<std::string> SourceFlushedLsn(RunContext& ctx) {
    return ctx.src->QueryValue("SELECT pg_current_wal_flush_lsn()::text");
  }
  Result<std::string> SourceWrittenLsn(RunContext& ctx) {
    return ctx.src->QueryValue("SELECT pg_current_wal_insert_lsn()::text");
  }

  Status WaitForSnapshot(RunContext& ctx, const std::string& id, const std::string& version) {
    return dbr::WaitForSnapshot(rds_, id, version, ctx.config.upgrade.wait_timeout, ctx.clock);
  }

  Status WaitForInstance(RunContext& ctx, const std::string& id, aws::DbInstance* out) {
    return dbr::WaitForInstance(rds_, id, ctx.config.upgrade.wait_timeout, out, ctx.clock);
  }

  Result<RdsPhase> Snapshot(RunContext& ctx) {
    RdsState& st = ctx.state.rds;
    if (st.snapshot.empty()) {
      auto before = SourceFlushedLsn(ctx);
      if (!before.ok()) return before.status();
      st.lsn_before = *before;
      st.time_before = NowUtc();
      st.snapshot =
          fmt::format("db-relocate-{}-{}", ctx.config.src.instance_id, Compact(st.time_before));
      DBR_RETURN_IF_ERROR(ctx.SaveState());  // recorded before it exists: cleanup can find it
    }
    auto existing = rds_.FindSnapshot(st.snapshot);
    if (!existing.ok()) return existing.status();
    if (!*existing) {
      log::info("creating snapshot {} of {} (source WAL at {})", st.snapshot,
                ctx.config.src.instance_id, st.lsn_before);
      auto created = rds_.CreateSnapshot(ctx.config.src.instance_id, st.snapshot);
      if (!created.ok()) return created.status();
    }
    CrashPoint("rds:snapshot-requested");
    DBR_RETURN_IF_ERROR(WaitForSnapshot(ctx, st.snapshot, ""));
    auto after = SourceWrittenLsn(ctx);
    if (!after.ok()) return after.status();
    st.lsn_after = *after;
    log::info("snapshot {} available (source WAL between {} and {})", st.snapshot, st.lsn_before,
              st.lsn_after);
    return st.method == NameOf(UpgradeMethod::kSnapshot) ? RdsPhase::kUpgrade
                                                         : AfterSnapshotUpgrade();
  }

  RdsPhase AfterSnapshotUpgrade() const {
    return plan_.kms_key.empty() ? RdsPhase::kRestore : RdsPhase::kEncrypt;
  }
  bool UpgradesInstance(const RunContext& ctx) const {
    return ctx.state.rds.method != NameOf(UpgradeMethod::kSnapshot) && !ctx.state.rds.hops.empty();
  }

  // Method snapshot: ModifyDBSnapshot to each hop in turn. After each wait the snapshot's
  // EngineVersion is read again: available at another version, AWS did not upgrade it (it rolls a
  // failed upgrade back), and the run stops with the events AWS wrote.
  Result<RdsPhase> Upgrade(RunContext& ctx) {
    const std::string& id = ctx.state.rds.snapshot;
    for (const auto& hop : ctx.state.rds.hops) {
      DBR_ASSIGN_OR_RETURN(aws::DbSnapshot s, rds_.DescribeSnapshot(id));
      if (VersionLess(hop, s.engine_version)) continue;  // passed before a restart
      // Events older than this wait are of an earlier attempt.
      const std::string since = NowUtc();
      if (VersionLess(s.engine_version, hop) && s.status == "available") {
        log::info("upgrading snapshot {} from PostgreSQL {} to {}", id, s.engine_version, hop);
        DBR_RETURN_IF_ERROR(rds_.UpgradeSnapshot(id, hop));
      }
      // Also after a restart that finds the version already showing: the upgrade may still run.
      const Clock::TimePoint asked = ctx.clock.Now();
      const std::string from = s.engine_version;
      DBR_RETURN_IF_ERROR(WaitForAws(
          "snapshot " + id + " upgrade to " + hop, ctx.config.upgrade.wait_timeout,
          [&](std::string* progress) -> Result<bool> {
            DBR_ASSIGN_OR_RETURN(aws::DbSnapshot now, rds_.DescribeSnapshot(id));
            *progress = fmt::format("{}, PostgreSQL {}", now.status, now.engine_version);
            if (now.status != "available") return false;
            if (now.engine_version == hop) return true;
            DBR_ASSIGN_OR_RETURN(std::string failed, FailureEvents(rds_, "db-snapshot", id, since));
            if (failed.empty() &&
                ctx.clock.Now() - asked <= Timings::Default().rds.upgrade_given_up_after)
              return false;  // not started yet
            return Status::Error(fmt::format(
                "AWS did not upgrade snapshot {} from PostgreSQL {} to {}: it is available at "
                "{}{}. Nothing was restored from it. Run `db_relocate run` again to request the "
                "upgrade again, or use upgrade.method: instance (run `db_relocate cleanup` first)",
                id, from, hop, now.engine_version,
                failed.empty() ? " and AWS reported no reason" : ". AWS said:\n" + failed));
          },
          ctx.clock));
    }
    return AfterSnapshotUpgrade();
  }

  Result<RdsPhase> Encrypt(RunContext& ctx) {
    RdsState& st = ctx.state.rds;
    if (st.encrypted_snapshot.empty()) {
      st.encrypted_snapshot = st.snapshot + "-encrypted";
      DBR_RETURN_IF_ERROR(ctx.SaveState());
    }
    auto existing = rds_.FindSnapshot(st.encrypted_snapshot);
    if (!existing.ok()) return existing.status();
    if (!*existing) {
      log::info("copying snapshot {} to {}, encrypted with {}", st.snapshot, st.encrypted_snapshot,
                plan_.kms_key);
      auto copied = rds_.CopySnapshot(st.snapshot, st.encrypted_snapshot, plan_.kms_key);
      if (!copied.ok()) return copied.status();
    }
    DBR_RETURN_IF_ERROR(WaitForSnapshot(ctx, st.encrypted_snapshot, ""));
    return RdsPhase::kRestore;
  }

  Result<RdsPhase> Restore(RunContext& ctx) {
    RdsState& st = ctx.state.rds;
    aws::RestoreRequest request = plan_.restore;
    request.snapshot_id = st.encrypted_snapshot.empty() ? st.snapshot : st.encrypted_snapshot;
    if (st.instance.empty()) {
      st.instance = request.instance_id;
      DBR_RETURN_IF_ERROR(ctx.SaveState());
    }
    auto existing = rds_.FindInstance(st.instance);
    if (!existing.ok()) return existing.status();
    if (st.time_restore.empty()) {
      st.time_restore = NowUtc();
      DBR_RETURN_IF_ERROR(ctx.SaveState());
    }
    if (!*existing) {
      log::info("restoring {} from snapshot {} ({}, PostgreSQL {})", st.instance,
                request.snapshot_id, request.instance_class,
                UpgradesInstance(ctx) ? plan_.source.engine_version : plan_.target_version);
      auto restored = rds_.Restore(request);
      if (!restored.ok()) return restored.status();
    }
    CrashPoint("rds:restore-requested");
    aws::DbInstance instance;
    DBR_RETURN_IF_ERROR(WaitForInstance(ctx, st.instance, &instance));
    st.dst_host = instance.endpoint_host;
    st.dst_port = instance.endpoint_port;
    st.time_after = NowUtc();
    log::info("instance {} available at {}:{}", st.instance, st.dst_host, st.dst_port);
    return RdsPhase::kLsn;
  }

  // Method snapshot across majors: AWS upgraded the snapshot, and its data was ended by the
  // recovery the source's major ran on AWS's upgrade host, before the restore.
  bool SnapshotUpgradedAcrossMajors(const RunContext& ctx) const {
    const RdsState& st = ctx.state.rds;
    return st.method == NameOf(UpgradeMethod::kSnapshot) && !st.hops.empty() &&
           MajorOf(st.hops.back()) != MajorOf(plan_.source.engine_version);
  }

  Result<RdsPhase> FindLsn(RunContext& ctx) {
    RdsState& st = ctx.state.rds;
    const bool upgraded_snapshot = SnapshotUpgradedAcrossMajors(ctx);
    // The recovery that ends the restored data happens after the restore was requested; for a
    // snapshot upgraded across majors, during its upgrade.
    auto before = ParseIso8601(upgraded_snapshot || st.time_restore.empty() ? st.time_before
                                                                            : st.time_restore);
    auto after = ParseIso8601(st.time_after);
    auto lower = pg::Lsn::Parse(st.lsn_before);
    auto upper = pg::Lsn::Parse(st.lsn_after);
    if (!before || !after || !lower || !upper)
      return Status::Error("internal: the run state lacks the snapshot's bounds");
    const std::chrono::minutes skew = Timings::Default().cloud_clock_skew;
    const auto since = *before - skew;
    size_t files = 0;
    DBR_ASSIGN_OR_RETURN(std::string text, LogsSince(rds_, st.instance, since, &files));
    if (upgraded_snapshot) {
      // Lines the upgraded cluster wrote name LSNs past the end of the data: pg_upgrade restarts
      // WAL at the old cluster's next segment.
      const std::string major = MajorOf(plan_.source.engine_version);
      text = pg::LinesLoggedBy(text, static_cast<int>(ParseInt(major, 0, 1000).value_or(0)));
      if (text.empty())
        return Status::Error(fmt::format(
            "the logs of {} hold no line written by PostgreSQL {} (the major of the source): the "
            "recovery that ended the snapshot's data ran on AWS's upgrade host and its log was "
            "not kept, and lines written by the upgraded cluster name positions past the end of "
            "the data. The LSN cannot be read; nothing was subscribed. Run `db_relocate cleanup`, "
            "then use upgrade.method: instance",
            st.instance, major));
    }
    std::string rule;
    auto exact =
        CopyEndFromLog(ctx, text, {*lower, *upper, since, *after + skew},
                       st.instance + " (" + std::to_string(files) + " log file(s))", &rule);
    if (!exact.ok())
      return exact.status().Wrap(
          "finding the LSN at which the restored data of " + st.instance +
          " ends (nothing was subscribed; to give up, run `db_relocate cleanup` and delete that "
          "instance: aws rds delete-db-instance --skip-final-snapshot --db-instance-identifier " +
          st.instance + ")");
    ctx.state.snapshot_lsn = exact->ToString();
    log::info("the restored data ends at {} (rule: {}; source WAL was between {} and {})",
              ctx.state.snapshot_lsn, rule, st.lsn_before, st.lsn_after);
    return RdsPhase::kPrepare;
  }

  // The copy holds what the source held: a copied logical slot would retain WAL on the new
  // instance for ever, and AWS refuses to upgrade an instance that has one (or a prepared
  // transaction); its consumer reads from the source, never from the copy. So every logical slot
  // found here goes (this relocation's, those of relocations of the source's other databases,
  // other tools'), and every prepared transaction is rolled back (cloud/copied_instance.h). Roles,
  // the publication and the heartbeat table are kept (the heartbeat rows up to the LSN are part of
  // what verification checks).
  Result<RdsPhase> PrepareDestination(RunContext& ctx) {
    DBR_RETURN_IF_ERROR(PrepareCopiedInstance(ctx));
    return UpgradesInstance(ctx) ? RdsPhase::kUpgradeInstance : RdsPhase::kReplicas;
  }

  Result<RdsPhase> UpgradeInstance(RunContext& ctx) {
    DBR_RETURN_IF_ERROR(UpgradeRestoredInstance(rds_, ctx, plan_));
    return RdsPhase::kReplicas;
  }

  Result<RdsPhase> ReadReplicas(RunContext& ctx) {
    RdsState& st = ctx.state.rds;
    for (size_t i = 0; i < plan_.replica_classes.size(); ++i) {
      std::string id = ReplicaInstanceId(st.instance, i);
      if (std::find(st.replicas.begin(), st.replicas.end(), id) == st.replicas.end()) {
        st.replicas.push_back(id);
        DBR_RETURN_IF_ERROR(ctx.SaveState());
      }
      auto existing = rds_.FindInstance(id);
      if (!existing.ok()) return existing.status();
      if (!*existing) {
        log::info("creating read replica {} of {} ({})", id, st.instance, plan_.replica_classes[i]);
        auto created = rds_.CreateReadReplica(id, st.instance, plan_.replica_classes[i]);
        if (!created.ok()) return created.status();
      }
    }
    for (const auto& id : st.replicas) DBR_RETURN_IF_ERROR(WaitForInstance(ctx, id, nullptr));
    return RdsPhase::kWarm;
  }

  // A restored RDS volume loads its blocks from S3 on first read: read every table and index
  // once now, on the destination, rather than in the application's first queries.
  Result<RdsPhase> Warm(RunContext& ctx) {
    RdsState& st = ctx.state.rds;
    auto have =
        ctx.dst->QueryValue("SELECT count(*) FROM pg_extension WHERE extname = 'pg_prewarm'");
    if (!have.ok()) return have.status();
    if (*have == "0") {
      st.prewarm_extension_created = true;  // recorded first: cleanup drops it only if it is there
      DBR_RETURN_IF_ERROR(ctx.SaveState());
      Status created = ctx.dst->Exec("CREATE EXTENSION pg_prewarm");
      if (!created.ok()) {
        st.prewarm_extension_created = false;
        log::warn("pg_prewarm is not available on the new instance ({}); reading tables only",
                  created.message());
      }
    }
    const bool prewarm = *have != "0" || st.prewarm_extension_created;
    std::vector<std::string> relations;
    if (prewarm) {
      DBR_ASSIGN_OR_RETURN(auto schemas, SchemasInScope(*ctx.dst, ctx.config));
      // Every relation with storage in scope: tables, materialized views, indexes, and their
      // TOAST tables and TOAST indexes (a partitioned parent has no storage of its own).
      auto rels = ctx.dst->Query(
          "WITH scope AS (SELECT c.oid, c.reltoastrelid FROM pg_class c JOIN pg_namespace n ON "
          "n.oid = c.relnamespace WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'm', 'i')) "
          "SELECT oid::regclass::text FROM scope UNION ALL "
          "SELECT reltoastrelid::regclass::text FROM scope WHERE reltoastrelid <> 0 UNION ALL "
          "SELECT i.indexrelid::regclass::text FROM scope JOIN pg_index i ON i.indrelid = "
          "scope.reltoastrelid",
          {pg::TextArrayLiteral(schemas)});
      if (!rels.ok()) return rels.status();
      for (int i = 0; i < rels->rows(); ++i) relations.push_back(rels->Get(i, 0));
    } else {
      for (const auto& t : ctx.tables) relations.push_back(t.Qualified());
    }
    log::info("warming the new instance's storage: {} tables and indexes, {} jobs",
              relations.size(), ctx.Jobs());
    std::atomic<int64_t> pages{0};
    std::vector<std::optional<pg::Connection>> conns(static_cast<size_t>(ctx.Jobs()));
    Status warmed = RunParallel(ctx.Jobs(), relations.size(), [&](size_t i, int w) -> Status {
      auto& conn = conns[static_cast<size_t>(w)];
      if (!conn) {
        auto c = pg::Connection::Open(DestinationParams(ctx.config));
        if (!c.ok()) return c.status();
        conn.emplace(std::move(*c));
      }
      if (!prewarm) return conn->QueryValue("SELECT count(*) FROM " + relations[i]).status();
      auto read = conn->QueryInt("SELECT pg_prewarm($1::regclass, 'read')", {relations[i]});
      if (!read.ok()) return read.status();
      pages += *read;
      return Status::Ok();
    });
    DBR_RETURN_IF_ERROR(warmed);
    if (prewarm) log::info("read {} pages on the new instance", pages.load());
    return RdsPhase::kDone;
  }

  aws::RdsSession session_;
  aws::Rds& rds_;
  SharedRdsPlan planned_;
  RdsPlan plan_;
};

}  // namespace

std::unique_ptr<SnapshotSource> MakeRdsSnapshotSource(const Config& config, SharedRdsPlan plan) {
  return std::make_unique<RdsSnapshotSource>(config, std::move(plan));
}

}  // namespace dbr
