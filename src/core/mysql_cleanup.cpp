// cleanup for engine mysql (issue #25): the heartbeat writer, the replication on either side (into
// the destination, or into the source after a cut-over), the relocation's own database on both
// sides and the server's marker where no other relocation is left (mysql/neighbours.h), the
// replication user when the relocation made it and no other records it (on the source; on the
// destination for a cut-over's way back), then the run state is moved aside. Idempotent;
// --dry-run lists.
#include <fmt/format.h>

#include <filesystem>
#include <set>

#include "core/cleanup.h"
#include "engine/heartbeat.h"
#include "mariadb/quote.h"
#include "mysql/heartbeat.h"
#include "mysql/identity.h"
#include "mysql/neighbours.h"
#include "mysql/replication.h"
#include "mysql/servers.h"
#include "util/log.h"
#include "util/text.h"

namespace dbr {
namespace {

class MysqlCleanup {
 public:
  MysqlCleanup(const Config& config, bool dry_run)
      : config_(config), names_(mysql::NamesOf(config)), dry_run_(dry_run) {}

  Result<std::vector<std::string>> Run() {
    StateStore store(config_.state_dir);
    DBR_ASSIGN_OR_RETURN(const std::optional<FileLock> lock, store.LockIfExists());
    DBR_ASSIGN_OR_RETURN(RunState state, store.Load());
    DBR_RETURN_IF_ERROR(RefuseWhileSidesDiffer(config_, state));
    DBR_RETURN_IF_ERROR(RetireProxyStandby(config_, state.primary, dry_run_, actions_));
    if (auto pid = HeartbeatWriterPid(store)) {
      if (Do(fmt::format("stop the heartbeat writer (pid {})", *pid)))
        DBR_RETURN_IF_ERROR(StopHeartbeatWriter(store));
    }
    auto src = mariadb::Connection::Open(mysql::SourceParams(config_));
    if (!src.ok()) return src.status().Wrap("cleanup needs the source");
    auto dst = mariadb::Connection::Open(mysql::DestinationParams(config_));
    if (!dst.ok()) return dst.status().Wrap("cleanup needs the destination");

    // A server that records another relocation of this name (the same database between other
    // servers, or from another state_dir: this state's run was refused) keeps all of it.
    std::vector<mariadb::Connection*> ours;
    std::set<mariadb::Connection*> recording_us;
    for (auto [side, peer] :
         {std::pair{&*dst, Side::kSource}, std::pair{&*src, Side::kDestination}}) {
      // A state that never recorded itself owns no record.
      const std::string& id = state.mysql.relocation_id;
      DBR_ASSIGN_OR_RETURN(const auto recorded, mysql::RecordOf(*side, names_.database));
      Status other = mysql::NotAnotherRelocation(
          *side, recorded,
          {names_.database, state.servers[peer].system_identifier, id.empty() ? "-" : id});
      if (!other.ok()) {
        log::warn("nothing is removed on the {}: {}", side->params().label, other.message());
        continue;
      }
      ours.push_back(side);
      if (recorded) recording_us.insert(side);
    }
    // Into the destination, or into the source after a cut-over (the way back).
    for (auto* side : ours) {
      DBR_ASSIGN_OR_RETURN(mysql::ReplicaState replica, mysql::ReadReplica(*side, names_.channel));
      if (replica.exists && Do(fmt::format("stop and remove the replication {} on the {}",
                                           names_.channel, side->params().label)))
        DBR_RETURN_IF_ERROR(mysql::RemoveReplication(*side, names_.channel).status());
    }
    for (auto* side : ours) {
      DBR_ASSIGN_OR_RETURN(const std::vector<std::string> others,
                           mysql::OtherRelocations(*side, names_.database));
      DBR_RETURN_IF_ERROR(DropDatabase(*side, names_.database, "the heartbeat"));
      if (recording_us.count(side) && Do(fmt::format("forget the relocation {} on the {}",
                                                     names_.database, side->params().label)))
        DBR_RETURN_IF_ERROR(mysql::ForgetRelocation(*side, names_.database));
      if (others.empty()) {
        DBR_RETURN_IF_ERROR(DropDatabase(*side, mysql::kIdentityDatabase, "the server's marker"));
      } else {
        log::info("the {}'s marker ({}) stays: other relocations use the server ({})",
                  side->params().label, mysql::kIdentityDatabase, Join(others));
      }
    }
    for (auto* side : ours)
      DBR_RETURN_IF_ERROR(DropReplicationUser(
          *side, side == &*src ? state.mysql.replication_user_created
                               : state.mysql.replication_user_created_on_destination));
    for (const auto& [side, settings] : state.fenced)
      if (!settings.empty())
        log::warn(
            "the {} stays read-only (fenced by the last switch); lift it with SET GLOBAL "
            "read_only = OFF when it is to take writes again",
            SideName(side));
    if (store.Exists() &&
        Do("move the run state aside (" + store.file("state.json").string() + ")")) {
      std::error_code ec;
      std::filesystem::rename(store.file("state.json"),
                              store.file("state.json.cleaned-" + NowUtc()), ec);
      if (ec) return Status::Error("cannot move the run state aside: " + ec.message());
    }
    return actions_;
  }

 private:
  // Records `action`; true when it is to be done now.
  bool Do(std::string action) {
    actions_.push_back(std::move(action));
    return !dry_run_;
  }

  Status DropDatabase(mariadb::Connection& side, const std::string& database, const char* what) {
    DBR_ASSIGN_OR_RETURN(
        int64_t there,
        side.QueryInt("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = " +
                      side.Literal(database)));
    if (there == 0 ||
        !Do(fmt::format("drop database {} ({}) on the {}", database, what, side.params().label)))
      return Status::Ok();
    return side.Exec("DROP DATABASE " + mariadb::QuoteIdent(database));
  }

  // The replication user on `side` (the source for `run`, the destination for the way back of
  // a cut-over), when the relocation made it there and no other relocation uses it.
  Status DropReplicationUser(mariadb::Connection& side, bool made_here) {
    const std::string& user = config_.upgrade.user;
    DBR_ASSIGN_OR_RETURN(bool there, mysql::ReplicationUserExists(side, user));
    if (!there) return Status::Ok();
    if (!made_here) {
      log::warn("the replication user {} on the {} was there before the relocation: kept", user,
                side.params().label);
      return Status::Ok();
    }
    DBR_ASSIGN_OR_RETURN(const std::string other,
                         mysql::RelocationUsingUser(side, names_.database, user));
    if (!other.empty()) {
      log::warn(
          "the replication user {} on the {} stays: another relocation uses it (its "
          "database {})",
          user, side.params().label, other);
      return Status::Ok();
    }
    if (!Do("drop the replication user " + user + " on the " + side.params().label))
      return Status::Ok();
    return side.Exec("DROP USER " + side.Literal(user) + "@'%'");
  }

  const Config& config_;
  const mysql::RelocationNames names_;
  bool dry_run_;
  std::vector<std::string> actions_;
};

}  // namespace

Result<std::vector<std::string>> CleanupMysqlRelocation(const Config& config, bool dry_run) {
  return MysqlCleanup(config, dry_run).Run();
}

}  // namespace dbr
