// The MySQL engine's part of a switch (core/engine_switch.h; issue #25): the old side made
// read_only (super_read_only too on MySQL) and its client sessions ended, its last binary log
// position applied on the new side, AUTO_INCREMENT counters ahead, and the way back: the old
// side replicates from the new side's binary log position taken once the new side stopped
// applying and before the application writes there.
#include <fmt/format.h>

#include <optional>

#include "core/engine_switch.h"
#include "core/heartbeat_writer.h"
#include "engine/heartbeat.h"
#include "mariadb/quote.h"
#include "model/servers.h"
#include "mysql/counters.h"
#include "mysql/events.h"
#include "mysql/fence.h"
#include "mysql/heartbeat.h"
#include "mysql/logins.h"
#include "mysql/replication.h"
#include "mysql/servers.h"
#include "util/log.h"
#include "util/poll.h"
#include "util/progress.h"
#include "util/retry.h"

namespace dbr {
namespace {

using mariadb::Connection;

class MysqlSwitch : public EngineSwitch {
 public:
  explicit MysqlSwitch(const SwitchContext& ctx)
      : ctx_(ctx),
        config_(ctx.config),
        names_(mysql::NamesOf(ctx.config)),
        state_(ctx.state),
        from_(ctx.from),
        to_(ctx.to) {}

  Status Connect() override {
    Status connected = Open(from_);
    KeepFirstError(connected, Open(to_));
    return connected;
  }

  bool Reachable(Side side) override {
    std::optional<Connection>& c = side == from_ ? old_ : new_;
    return c.has_value() && !c->IsBroken();
  }

  Status CheckReady() override {
    DBR_ASSIGN_OR_RETURN(std::string log_bin, new_->QueryValue("SELECT @@GLOBAL.log_bin"));
    if (log_bin != "1")
      return Status::Error(fmt::format(
          "the {} has log_bin off: it could not carry the application's writes back to the {} "
          "(start it with log_bin, binlog_format ROW)",
          SideName(to_), SideName(from_)));
    DBR_RETURN_IF_ERROR(NoOtherWayBack());
    DBR_RETURN_IF_ERROR(EnsureHeartbeatWriter(config_, ctx_.store));
    return ReplicationIntoNewSideFlows();
  }

  Status PrepareReturnPath() override {
    const std::string password = ctx_.ReplicationPassword();
    if (password.empty())
      return Status::Error("the run state holds no replication password: was `run` finished?");
    const std::string& user = config_.upgrade.user;
    DBR_ASSIGN_OR_RETURN(const bool existed, mysql::ReplicationUserExists(*new_, user));
    if (!existed && to_ == Side::kDestination) {
      state_.mysql.replication_user_created_on_destination = true;  // cleanup drops it
      DBR_RETURN_IF_ERROR(ctx_.store.Save(state_));
    }
    DBR_RETURN_IF_ERROR(mysql::EnsureReplicationUser(*new_, user, password));
    return mysql::SyncAccounts(*old_, *new_, mysql::DatabaseOn(config_, from_),
                               mysql::DatabaseOn(config_, to_),
                               {config_.src.user, config_.dst.user, user})
        .status()
        .Wrap("the application's accounts on the " + std::string(SideName(to_)));
  }

  Result<std::vector<FencedRole>> ReadFence(Side side) override {
    return mysql::ReadOnlySettings(Of(side));
  }

  // Sessions first: read_only waits for the transactions they hold. Then those that came
  // meanwhile (not through the proxy, which holds new ones).
  Status ApplyFence(Side side, const std::vector<FencedRole>& fence) override {
    DBR_RETURN_IF_ERROR(mysql::EndClientSessions(Of(side)).status());
    DBR_RETURN_IF_ERROR(mysql::Fence(Of(side), fence));
    return mysql::EndClientSessions(Of(side)).status();
  }

  Status LiftFence(Side side, const std::vector<FencedRole>& fence) override {
    return mysql::LiftFence(Of(side), fence);
  }

  // Fenced, the old side's binary log ends with its last write: the new side applies up to there.
  Status Drain() override {
    DBR_ASSIGN_OR_RETURN(const mysql::BinlogPosition last, mysql::SourcePositionNow(*old_));
    DBR_ASSIGN_OR_RETURN(const int64_t marker,
                         old_->QueryInt("SELECT COALESCE(MAX(seq), 0) FROM " +
                                        mysql::HeartbeatTable(names_.database)));
    state_.switching->marker = marker;
    state_.switching->lsn = last.Display();
    DBR_RETURN_IF_ERROR(
        mysql::WaitApplied(
            *new_, names_.channel, last,
            std::chrono::seconds(static_cast<int64_t>(config_.cutover.drain_timeout)))
            .Wrap(fmt::format("the {} did not apply the {}'s last writes within "
                              "cutover.drain_timeout ({} s)",
                              SideName(to_), SideName(from_), config_.cutover.drain_timeout)));
    DBR_ASSIGN_OR_RETURN(const int64_t seen, new_->QueryInt(fmt::format(
                                                 "SELECT COUNT(*) FROM {} WHERE seq = {}",
                                                 mysql::HeartbeatTable(names_.database), marker)));
    if (marker > 0 && seen == 0)
      return Status::Error(fmt::format(
          "the {} applied the {}'s binary log up to {} but lacks its last heartbeat {}: the "
          "replication filter leaves out {}",
          SideName(to_), SideName(from_), last.Display(), marker, names_.database));
    return Status::Ok();
  }

  // After LiftNewSideFence: the counters are set by ALTER TABLE, which read_only refuses.
  Status CopyWhatReplicationMisses() override {
    return mysql::SetCountersAhead(*old_, *new_, mysql::DatabaseOn(config_, from_),
                                   mysql::DatabaseOn(config_, to_))
        .status();
  }

  // The new side stops applying (nothing more comes), and its binary log position then is where
  // the old side will follow it from: nothing writes to it before the proxy resumes.
  Status TurnReplicationAround() override {
    DBR_ASSIGN_OR_RETURN(mysql::ReplicaState replica, mysql::ReadReplica(*new_, names_.channel));
    if (replica.exists)
      DBR_RETURN_IF_ERROR(new_->Exec(mysql::DialectOf(*new_).StopReplica(names_.channel)));
    DBR_ASSIGN_OR_RETURN(const mysql::BinlogPosition here, mysql::SourcePositionNow(*new_));
    state_.switching->way_back_from = here.Display();
    return ctx_.store.Save(state_);
  }

  // A replication the old side already has is kept: run again after a crash, it has applied
  // some of the way back, which a new one from way_back_from would apply twice (its filter set
  // again when a restart of the old side dropped it). One cut short while it was made (no
  // filter yet) has applied nothing: it is made again.
  Status BuildWayBack() override {
    DBR_ASSIGN_OR_RETURN(mysql::BinlogPosition from, WayBackFrom());
    DBR_RETURN_IF_ERROR(mysql::RemoveReplication(*new_, names_.channel).status());
    DBR_ASSIGN_OR_RETURN(mysql::ReplicaState back, mysql::ReadReplica(*old_, names_.channel));
    if (back.exists && !back.complete && from < back.applied)
      return mysql::RestoreFilter(*old_, names_.channel, mysql::ReplicatedDatabases(config_, from_),
                                  mysql::RewriteInto(config_, from_));
    if (back.exists && back.complete) {
      if (!back.receiving || !back.applying)
        DBR_RETURN_IF_ERROR(old_->Exec(mysql::DialectOf(*old_).StartReplica(names_.channel)));
      return Status::Ok();
    }
    DBR_ASSIGN_OR_RETURN(from, mysql::WithGtid(*new_, std::move(from)));
    const ServerConfig& target = ServerOf(config_, to_);
    const mysql::SourceEndpoint endpoint{target.host, target.port, config_.upgrade.user,
                                         ctx_.ReplicationPassword()};
    return mysql::StartReplication(*old_, names_.channel, endpoint, from,
                                   mysql::ReplicatedDatabases(config_, from_),
                                   mysql::RewriteInto(config_, from_))
        .Wrap(fmt::format("the way back: the {} replicating from the {}", SideName(from_),
                          SideName(to_)));
  }

  Status WayBackStreams() override {
    std::string error;
    const bool streams = ctx_.timings.switching.return_streams.Until([&] {
      auto back = mysql::ReadReplica(*old_, names_.channel);
      if (!back.ok()) {
        error = back.message();
        return false;
      }
      error = back->error;
      return back->exists && back->receiving && back->applying && back->error.empty();
    });
    if (streams) return Status::Ok();
    return Status::Error(fmt::format(
        "the {}'s replication {} from the {} does not run ({}): the {} does not follow the "
        "application's writes yet; see SHOW REPLICA '{}' STATUS there, then run the same command "
        "again",
        SideName(from_), names_.channel, SideName(to_), error.empty() ? "not started" : error,
        SideName(from_), names_.channel));
  }

  // The scheduled events follow the application, once the switch is done (an undone one never
  // moved them).
  Status AfterSwitch() override {
    auto moved = mysql::MoveEvents(*old_, mysql::DatabaseOn(config_, from_), *new_,
                                   mysql::DatabaseOn(config_, to_));
    if (moved.ok()) return Status::Ok();
    return Status::Error(fmt::format(
        "its scheduled events may not run there yet: {}. Enable those the {} ran (ALTER EVENT "
        "... ENABLE), and DISABLE ON SLAVE them on the {}",
        moved.message(), SideName(from_), SideName(from_)));
  }

  std::string WayBackName() const override {
    return fmt::format("replication {} on the {}", names_.channel, SideName(from_));
  }

  Result<bool> NewSideTookWrites() override {
    if (!state_.switching || state_.switching->way_back_from.empty()) return false;
    DBR_ASSIGN_OR_RETURN(const mysql::BinlogPosition from, WayBackFrom());
    return mysql::WroteOwnChangesSince(*new_, from);
  }

  Result<bool> StopWayBack() override {
    DBR_ASSIGN_OR_RETURN(mysql::ReplicaState back, mysql::ReadReplica(*old_, names_.channel));
    if (!back.exists) return false;
    if (back.receiving || back.applying)
      DBR_RETURN_IF_ERROR(old_->Exec(mysql::DialectOf(*old_).StopReplica(names_.channel)));
    return true;
  }

  Status PutBackNewSide() override {
    Status result;
    auto replica = mysql::ReadReplica(*new_, names_.channel);
    if (!replica.ok())
      KeepFirstError(result, replica.status());
    else if (replica->exists && (!replica->receiving || !replica->applying))
      KeepFirstError(result, new_->Exec(mysql::DialectOf(*new_).StartReplica(names_.channel)));
    return result;
  }

 private:
  Connection& Of(Side side) { return side == from_ ? *old_ : *new_; }

  Status Open(Side side) {
    std::optional<Connection>& out = side == from_ ? old_ : new_;
    if (out.has_value() && !out->IsBroken()) return Status::Ok();
    out.reset();
    const Timings::Switch& t = ctx_.timings.switching;
    return Retry(t.connect, std::string("connecting to the ") + SideName(side), [&] {
      auto c = Connection::Open(mysql::ParamsOf(config_, side));
      if (!c.ok()) return c.status();
      DBR_RETURN_IF_ERROR(
          c->Exec(fmt::format("SET SESSION lock_wait_timeout = {}", t.lock_timeout.count())));
      out.emplace(std::move(*c));
      return Status::Ok();
    });
  }

  Result<mysql::BinlogPosition> WayBackFrom() const {
    const std::string& text = state_.switching->way_back_from;
    auto position = mysql::BinlogPosition::Parse(text);
    if (!position)
      return Status::Error("the switch's record holds no binary log position for the way back (" +
                           (text.empty() ? std::string("none") : text) + ")");
    return *position;
  }

  // The way back is the old side following the new one, which a server does once: one that
  // follows it already, through another replication, would refuse ours inside the switch.
  Status NoOtherWayBack() {
    DBR_ASSIGN_OR_RETURN(const std::vector<mysql::OtherReplication> others,
                         mysql::OtherReplications(*old_, names_.channel));
    const mysql::OtherReplication* back = mysql::Following(others, ServerOf(config_, to_));
    if (!back) return Status::Ok();
    return Status::Error(fmt::format(
        "the {} replicates from the {} already, through {}: a server follows a source once, "
        "so the way back (the {} following the {} after the switch) could not be made. "
        "Nothing was changed; remove that replication on the {}, then run this again",
        SideName(from_), SideName(to_), back->Called(), SideName(from_), SideName(to_),
        SideName(from_)));
  }

  // The new side replicates from the old one without an error and not further behind than
  // cutover.max_lag_bytes; a replication just made by the last switch is given
  // Timings::Switch::settle to start.
  Status ReplicationIntoNewSideFlows() {
    DBR_ASSIGN_OR_RETURN(const mysql::ReplicaState now, mysql::ReadReplica(*new_, names_.channel));
    if (now.exists && !now.complete)
      DBR_RETURN_IF_ERROR(mysql::RestoreFilter(*new_, names_.channel,
                                               mysql::ReplicatedDatabases(config_, to_),
                                               mysql::RewriteInto(config_, to_)));
    const Timings::Switch& t = ctx_.timings.switching;
    std::string why;
    auto flows = PollUntil(ctx_.clock, t.settle, t.settle_poll, [&]() -> Result<bool> {
      DBR_ASSIGN_OR_RETURN(mysql::ReplicaState replica, mysql::ReadReplica(*new_, names_.channel));
      if (!replica.exists) {
        why = "it has no replication from the " + std::string(SideName(from_));
        return false;
      }
      if (!replica.receiving || !replica.applying) {
        why = fmt::format("its replication {} is stopped{}", names_.channel,
                          replica.error.empty() ? "" : ": " + replica.error);
        return false;
      }
      DBR_ASSIGN_OR_RETURN(const int64_t lag, mysql::LagBytes(*old_, replica.applied));
      if (lag > config_.cutover.max_lag_bytes) {
        why = fmt::format("it is {} behind (cutover.max_lag_bytes {})",
                          HumanBytes(static_cast<double>(lag)), config_.cutover.max_lag_bytes);
        return false;
      }
      return true;
    });
    if (!flows.ok()) return flows.status();
    if (*flows) return Status::Ok();
    return Status::Error(
        fmt::format("the {} is not ready to take the writes: {}", SideName(to_), why));
  }

  const SwitchContext ctx_;
  const Config& config_;
  const mysql::RelocationNames names_;
  RunState& state_;
  const Side from_, to_;
  std::optional<Connection> old_, new_;
};

}  // namespace

std::unique_ptr<EngineSwitch> MakeMysqlSwitch(const SwitchContext& ctx) {
  return std::make_unique<MysqlSwitch>(ctx);
}

}  // namespace dbr
