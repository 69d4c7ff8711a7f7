// The MySQL engine (MySQL and MariaDB, issue #25): binary log replication into a named
// replication connection of the destination, a copy read under one consistent snapshot, the
// heartbeat in the relocation's own database (mysql/servers.h's RelocationNames). Binds mysql/ to
// the engine seam; its own control sessions live here (RunContext's are PostgreSQL's).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <optional>

#include "core/engine.h"
#include "engine/heartbeat.h"
#include "mariadb/quote.h"
#include "model/timings.h"
#include "mysql/counters.h"
#include "mysql/deferred_indexes.h"
#include "mysql/heartbeat.h"
#include "mysql/identity.h"
#include "mysql/neighbours.h"
#include "mysql/replication.h"
#include "mysql/row_copy.h"
#include "mysql/schema_copy.h"
#include "mysql/servers.h"
#include "mysql/snapshot.h"
#include "mysql/verify.h"
#include "snapshot/copy_sampler.h"
#include "util/fault.h"
#include "util/files.h"
#include "util/log.h"
#include "util/progress.h"
#include "util/retry.h"

namespace dbr {
namespace {

using mariadb::Connection;

mysql::BinlogPosition SnapshotPosition(const RunState& state) {
  return {state.mysql.snapshot_file, state.mysql.snapshot_offset, state.mysql.snapshot_gtid};
}

verify::Verdict VerdictOf(mysql::ObjectVerdict v) {
  switch (v) {
    case mysql::ObjectVerdict::kOk:
      return verify::Verdict::kOk;
    case mysql::ObjectVerdict::kDiffers:
      return verify::Verdict::kDiffers;
    case mysql::ObjectVerdict::kMissing:
      return verify::Verdict::kMissing;
    case mysql::ObjectVerdict::kExtra:
      return verify::Verdict::kExtra;
  }
  return verify::Verdict::kError;
}

class MysqlEngine;

// The copy under one consistent snapshot of the source: schema, rows, then the objects that
// must follow the rows. An interrupted copy is started again from an empty destination.
class MysqlCopy : public SnapshotSource {
 public:
  explicit MysqlCopy(MysqlEngine& engine) : engine_(engine) {}
  const char* name() const override { return "MySQL copy under a consistent snapshot"; }
  bool ExportsSnapshot() const override { return false; }
  Status Take(RunContext& ctx) override;

 private:
  MysqlEngine& engine_;
};

class MysqlEngine : public Engine {
 public:
  const char* name() const override { return "MySQL"; }

  Status Connect(RunContext& ctx) override {
    DBR_RETURN_IF_ERROR(Open(ctx, mysql::SourceParams(ctx.config), src_));
    return Open(ctx, mysql::DestinationParams(ctx.config), dst_);
  }
  bool LostAServer(RunContext&) override {
    bool lost = false;
    for (auto* c : {&src_, &dst_})
      if (c->has_value() && (*c)->IsBroken()) lost = true;
    return lost;
  }
  // Each server records the relocation beside the marker the state records of it
  // (mysql/neighbours.h). Another relocation of this name on either server refuses the run
  // before any marker is made or anything recorded.
  Status BindToServers(RunContext& ctx) override {
    const std::string name = Names(ctx).database;
    std::string& id = ctx.state.mysql.relocation_id;
    // A new relocation owns no record yet.
    if (src_ && dst_)
      DBR_RETURN_IF_ERROR(
          mysql::NotAnotherRelocationOnEither(*src_, *dst_, name, id.empty() ? "-" : id));
    bool changed = false;
    DBR_RETURN_IF_ERROR(mysql::BindStateToServers(ctx.state, ctx.config.state_dir,
                                                  src_ ? &*src_ : nullptr, dst_ ? &*dst_ : nullptr,
                                                  /*make=*/true, changed));
    if (!src_ || !dst_) return changed ? ctx.SaveState() : Status::Ok();
    if (id.empty()) {
      DBR_ASSIGN_OR_RETURN(id, src_->QueryValue("SELECT UUID()"));
      changed = true;
    }
    if (changed) DBR_RETURN_IF_ERROR(ctx.SaveState());
    DBR_RETURN_IF_ERROR(mysql::RecordRelocation(
        *src_, {name, ctx.state.servers[Side::kDestination].system_identifier, id}));
    return mysql::RecordRelocation(*dst_,
                                   {name, ctx.state.servers[Side::kSource].system_identifier, id});
  }
  Status Prepare(RunContext&) override { return Status::Ok(); }
  Status ClaimReplicationUser(RunContext&) override { return Status::Ok(); }
  std::string ReplicationSummary(RunContext& ctx) override {
    auto replica = mysql::ReadReplica(*dst_, Names(ctx).channel);
    if (!replica.ok()) return "replication: " + replica.message();
    auto lag = mysql::LagBytes(*src_, replica->applied);
    return fmt::format("replication: {}, applied up to the source's {}, lag {} bytes",
                       replica->receiving && replica->applying ? "running" : "STOPPED",
                       replica->applied.Display(), lag.ok() ? std::to_string(*lag) : "unknown");
  }

  Status StartHeartbeat(RunContext& ctx) override {
    DBR_RETURN_IF_ERROR(mysql::EnsureHeartbeatTable(*src_, Names(ctx).database));
    return EnsureHeartbeatWriter(ctx.config, ctx.store);
  }

  // The replication user, recorded as this relocation's on both servers (the destination's for
  // a cut-over's way back) before its password is set: pre-flight refused one another relocation
  // records, and the check is made again under the user's lock for a relocation that started
  // beside this one.
  Status OpenChangeStream(RunContext& ctx) override {
    const std::string& user = ctx.config.upgrade.user;
    const std::string name = Names(ctx).database;
    return mysql::WithReplicationUserClaimed(*src_, user, 600, [&]() -> Status {
      DBR_RETURN_IF_ERROR(mysql::UserIsFree(*src_, *dst_, name, user));
      for (Connection* side : {&*src_, &*dst_})
        DBR_RETURN_IF_ERROR(mysql::RecordReplicationUser(*side, name, user));
      auto existed = mysql::ReplicationUserExists(*src_, user);
      if (existed.ok() && !*existed) {
        ctx.state.mysql.replication_user_created = true;
        DBR_RETURN_IF_ERROR(ctx.SaveState());
      }
      return mysql::EnsureReplicationUser(*src_, user, ctx.ReplicationPassword());
    });
  }

  std::unique_ptr<SnapshotSource> MakeLogicalCopy() override {
    return std::make_unique<MysqlCopy>(*this);
  }

  // A replication already past the snapshot's position is kept (started again when stopped
  // cleanly, its filter set again when a restart dropped it); one that stopped on an error is
  // never made again from the snapshot's position, which would apply what it applied twice. One
  // cut short while it was made (no filter yet) has applied nothing: it is made again.
  Status Subscribe(RunContext& ctx) override {
    const mysql::BinlogPosition from = SnapshotPosition(ctx.state);
    const std::string channel = Names(ctx).channel;
    DBR_ASSIGN_OR_RETURN(mysql::ReplicaState replica, mysql::ReadReplica(*dst_, channel));
    if (replica.exists && !(replica.applied < from) &&
        (replica.complete || from < replica.applied)) {
      log::info("the destination replicates already, at the source's {}",
                replica.applied.Display());
      return KeepApplying(ctx, replica);
    }
    const mysql::SourceEndpoint source{ctx.config.src.host, ctx.config.src.port,
                                       ctx.config.upgrade.user, ctx.ReplicationPassword()};
    return mysql::StartReplication(*dst_, channel, source, from,
                                   mysql::ReplicatedDatabases(ctx.config, Side::kDestination),
                                   mysql::RewriteInto(ctx.config, Side::kDestination));
  }

  Status CatchUp(RunContext& ctx) override {
    const auto deadline = ctx.clock.Now() + std::chrono::seconds(ctx.config.catchup_timeout);
    auto last_said = ctx.clock.Now() - std::chrono::hours(1);
    while (true) {
      DBR_ASSIGN_OR_RETURN(mysql::ReplicaState replica,
                           mysql::ReadReplica(*dst_, Names(ctx).channel));
      if (!replica.exists)
        return Status::Error("the destination has no replication from the source (run again)");
      DBR_RETURN_IF_ERROR(KeepApplying(ctx, replica));
      DBR_ASSIGN_OR_RETURN(int64_t lag, mysql::LagBytes(*src_, replica.applied));
      if (lag < ctx.config.catchup_lag_bytes) {
        log::info("caught up: {} of the source's binary log left to apply", HumanBytes(lag));
        return Status::Ok();
      }
      if (ctx.clock.Now() - last_said >= std::chrono::seconds(5)) {
        log::info("catching up: {} of the source's binary log to apply, {} s behind",
                  HumanBytes(static_cast<double>(lag)), replica.seconds_behind);
        last_said = ctx.clock.Now();
      }
      if (ctx.clock.Now() >= deadline)
        return Status::Error(fmt::format("not caught up after catchup_timeout ({} s): {} behind",
                                         ctx.config.catchup_timeout,
                                         HumanBytes(static_cast<double>(lag))));
      ctx.clock.SleepFor(std::chrono::milliseconds(500));
    }
  }

  Status VerifyHeartbeats(RunContext& ctx) override {
    DBR_ASSIGN_OR_RETURN(mysql::HeartbeatProof proof,
                         mysql::ProveHeartbeats(*src_, *dst_, Names(ctx),
                                                std::chrono::seconds(ctx.config.catchup_timeout)));
    if (!proof.ok()) return Status::Error("heartbeat verification failed: " + proof.Describe());
    log::info("heartbeat verification: {}", proof.Describe());
    return Status::Ok();
  }

  Status SetSequencesAhead(RunContext& ctx) override {
    DBR_ASSIGN_OR_RETURN(
        int moved, mysql::SetCountersAhead(*src_, *dst_, ctx.config.src.name, ctx.config.dst.name));
    log::info("AUTO_INCREMENT counters checked: {} moved ahead on the destination", moved);
    ctx.state.sequences_set = true;  // a switch requires it
    return ctx.SaveState();
  }

  // The tables, then the schema objects: the primary (the destination after a cut-over) against
  // the side that replicates from it. Large tables are compared in key
  // ranges of 64 MB, or of `split_tables_larger_than` when that is smaller.
  Result<verify::VerifyReport> Verify(RunContext& ctx) override {
    constexpr size_t kExamples = 10;
    constexpr int64_t kRangeBytes = 64LL * 1024 * 1024;
    const int64_t split = ctx.config.split_tables_larger_than;
    const auto started = ctx.clock.Now();
    const Side primary = ctx.state.primary, follower = Other(ctx.state.primary);
    DBR_ASSIGN_OR_RETURN(
        mysql::Comparison cmp,
        mysql::CompareAtOnePoint(
            mysql::ParamsOf(ctx.config, primary), mysql::ParamsOf(ctx.config, follower),
            mysql::DatabaseOn(ctx.config, primary), mysql::DatabaseOn(ctx.config, follower),
            Names(ctx).channel, ctx.Jobs(), split > 0 ? std::min(split, kRangeBytes) : kRangeBytes,
            kExamples, std::chrono::seconds(ctx.config.catchup_timeout)));
    verify::VerifyReport report;
    report.sender = SideName(primary);
    report.receiver = SideName(follower);
    report.lsn = cmp.point.Display();
    for (const auto& t : cmp.tables) {
      verify::TableResult r;
      r.table = mariadb::QualifiedName(mysql::DatabaseOn(ctx.config, primary), t.table);
      r.status = t.equal ? verify::Verdict::kOk : verify::Verdict::kDiffers;
      r.source_rows = t.source_rows;
      r.destination_rows = t.destination_rows;
      r.differing_rows = t.differing_rows;
      r.ranges = t.ranges;
      r.differing_ranges = t.differing_ranges;
      r.detail = t.detail;
      for (const auto& x : t.examples) r.examples.push_back({x.key, x.what});
      report.tables.push_back(std::move(r));
    }
    for (auto& o : cmp.objects)
      report.objects.push_back({o.kind, o.name, VerdictOf(o.verdict), std::move(o.detail)});
    report.seconds = ctx.clock.SecondsSince(started);
    report.finished_at = NowUtc();
    DBR_RETURN_IF_ERROR(EnsureDirectory(ctx.store.dir()));
    DBR_RETURN_IF_ERROR(WriteFileAtomic(ctx.store.file("verify.json"), report.ToJsonText()));
    return report;
  }

  Connection& source() { return *src_; }
  Connection& destination() { return *dst_; }

 private:
  // A replication stopped without an error (by hand, or a verify killed while it held the
  // applier) is started again; one stopped on an error is reported. One without its filter (the
  // destination restarted) gets it again, and is started.
  Status KeepApplying(RunContext& ctx, const mysql::ReplicaState& replica) {
    const std::string channel = Names(ctx).channel;
    if (!replica.complete)
      return mysql::RestoreFilter(*dst_, channel,
                                  mysql::ReplicatedDatabases(ctx.config, Side::kDestination),
                                  mysql::RewriteInto(ctx.config, Side::kDestination));
    if (replica.applying && replica.receiving) return Status::Ok();
    if (!replica.error.empty())
      return Status::Error(
          fmt::format("the destination's replication stopped at the source's {}: {}",
                      replica.applied.Display(), replica.error));
    log::warn("the destination's replication was stopped (at the source's {}): starting it again",
              replica.applied.Display());
    return dst_->Exec(mysql::DialectOf(*dst_).StartReplica(channel));
  }

  // A server never reached is tried a few times; one that was there is waited for.
  static Status Open(RunContext& ctx, const mariadb::ConnParams& params,
                     std::optional<Connection>& conn) {
    if (conn && !conn->IsBroken()) return Status::Ok();
    const RetryPolicy policy =
        conn ? ctx.OutagePolicy() : Timings::Default().reconnect.first_contact;
    return RetryIf(
        policy, "connecting to the " + params.label,
        [&] {
          auto c = Connection::Open(params);
          if (!c.ok()) return c.status();
          conn.emplace(std::move(*c));
          return Status::Ok();
        },
        [](const Status& st) { return st.is_unavailable(); }, ctx.clock);
  }

  // This relocation's names (mysql/servers.h), worked out at first use.
  const mysql::RelocationNames& Names(const RunContext& ctx) {
    if (!names_) names_ = mysql::NamesOf(ctx.config);
    return *names_;
  }

  std::optional<Connection> src_, dst_;
  std::optional<mysql::RelocationNames> names_;
};

// The rows of `schema`, with a progress line and the report's "copy" samples while they stream.
Result<std::vector<mysql::CopiedTable>> CopyRowsShowingProgress(
    RunContext& ctx, mysql::ConsistentSnapshot& snapshot, const mysql::SchemaDefinitions& schema) {
  CopyCounters live;
  const auto started = ctx.clock.Now();
  ProgressReporter progress([&] {
    const auto bytes = static_cast<double>(live.bytes.load());
    return fmt::format("copy of {}: {}, {} rows, {}/s", schema.database, HumanBytes(bytes),
                       live.rows.load(),
                       HumanBytes(bytes / std::max(ctx.clock.SecondsSince(started), 0.001)));
  });
  CopySampler samples(ctx.store, ctx.state, live, ctx.clock);
  return mysql::CopyAllRows(snapshot, mysql::DestinationParams(ctx.config), schema,
                            ctx.config.split_tables_larger_than, &live);
}

Status MysqlCopy::Take(RunContext& ctx) {
  const Config& config = ctx.config;
  Connection& dst = engine_.destination();
  if (ctx.state.mysql.copy_started) {
    // A copy cut short: what it made is this relocation's own (pre-flight found it empty).
    log::info("an earlier copy was interrupted: the destination's {} is made again",
              config.dst.name);
    for (const auto& db : mysql::ReplicatedDatabases(config, Side::kDestination))
      DBR_RETURN_IF_ERROR(dst.Exec("DROP DATABASE IF EXISTS " + mariadb::QuoteIdent(db)));
    ctx.state.tables.clear();
  }
  ctx.state.mysql.copy_started = true;
  DBR_RETURN_IF_ERROR(ctx.SaveState());
  DBR_ASSIGN_OR_RETURN(mysql::ConsistentSnapshot snapshot,
                       mysql::ConsistentSnapshot::Take(mysql::SourceParams(config), ctx.Jobs()));
  const auto started = ctx.clock.Now();
  const auto on_source = mysql::ReplicatedDatabases(config, Side::kSource);
  const auto on_destination = mysql::ReplicatedDatabases(config, Side::kDestination);
  for (size_t i = 0; i < on_source.size(); ++i) {
    const std::string& db = on_source[i];
    DBR_ASSIGN_OR_RETURN(mysql::SchemaDefinitions schema,
                         mysql::ReadSchema(snapshot.session(0), db));
    mysql::MakeAs(schema, on_destination[i]);
    mysql::DeferSecondaryKeys(schema);
    DBR_RETURN_IF_ERROR(mysql::CreateTables(dst, schema));
    DBR_ASSIGN_OR_RETURN(auto copied, CopyRowsShowingProgress(ctx, snapshot, schema));
    CrashPoint("mysql-copy:rows");
    for (const auto& t : copied) {
      TableProgress& p = ctx.state.tables[mariadb::QualifiedName(db, t.name)];
      p.state = TableState::kCopied;
      p.rows = t.rows;
      p.bytes = t.bytes;
      p.seconds = t.seconds;
      ctx.rows_copied += t.rows;
      ctx.bytes_copied += t.bytes;
    }
    DBR_RETURN_IF_ERROR(mysql::CreateObjectsAfterRows(dst, schema));
  }
  ctx.copy_seconds = ctx.clock.SecondsSince(started);
  const mysql::BinlogPosition& at = snapshot.position();
  ctx.state.mysql.snapshot_file = at.file;
  ctx.state.mysql.snapshot_offset = at.offset;
  ctx.state.mysql.snapshot_gtid = at.gtid;
  ctx.state.snapshot_lsn = at.Display();
  return ctx.SaveState();
}

}  // namespace

std::unique_ptr<Engine> MakeMysqlEngine() {
  return std::make_unique<MysqlEngine>();
}

}  // namespace dbr
