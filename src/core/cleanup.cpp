#include "core/cleanup.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <optional>

#include "cloud/cloud.h"
#include "core/cleanup_decisions.h"
#include "engine/heartbeat.h"
#include "engine/replication_link.h"
#include "engine/server_identity.h"
#include "model/names.h"
#include "model/run_state.h"
#include "model/servers.h"
#include "pg/quote.h"
#include "proxy/proxy.h"
#include "util/files.h"
#include "util/log.h"
#include "verify/consistent_point.h"

namespace dbr {
namespace {

class Cleanup {
 public:
  Cleanup(const Config& config, const CleanupRequest& request)
      : config_(config), links_(LinksOf(config)), request_(request), dry_run_(request.dry_run) {}

  Result<std::vector<std::string>> Run() {
    StateStore store(config_.state_dir);
    // Without a state folder (lost, or never made here) the servers are still cleaned.
    DBR_ASSIGN_OR_RETURN(const std::optional<FileLock> lock, store.LockIfExists());
    auto state = store.Load();
    if (!state.ok()) return state.status();
    DBR_RETURN_IF_ERROR(StateBelongsToConfig(config_, *state));
    mark_ = MarkOf(config_, *state);
    DBR_RETURN_IF_ERROR(InstanceMayBeDeleted(*state));
    auto src = pg::Connection::Open(SourceParams(config_));
    if (!src.ok()) return WithoutTheSource(store, *state, src.status());
    if (request_.source_gone)
      log::warn("--source-gone, but the source answers: both sides are cleaned");
    // A relocation stopped before its destination instance was restored (RDS) or made (Cloud
    // SQL) has nothing there yet.
    const bool rds = config_.provider == Provider::kRds;
    if (rds ? state->rds.dst_host.empty() : !DestinationReachable(config_, *state)) {
      DBR_ASSIGN_OR_RETURN(links_, LinksOnServers(config_, *src, nullptr));
      return CleanSourceOnly(store, *state, *src);
    }
    auto dst = pg::Connection::Open(DestinationParams(config_));
    if (!dst.ok()) return dst.status().Wrap("cleanup needs the destination");
    DBR_ASSIGN_OR_RETURN(links_, LinksOnServers(config_, *src, &*dst));

    DBR_RETURN_IF_ERROR(RefuseWhileSidesDiffer(config_, *state));
    DBR_RETURN_IF_ERROR(RetireProxyStandby(config_, state->primary, dry_run_, actions_));
    DBR_RETURN_IF_ERROR(StopWriter(store));
    // Both directions: `run` built source -> destination, `cutover` the way back.
    std::vector<names::Link> links = links_.forward;
    links.push_back(links_.reverse);
    for (const names::Link& link : links) {
      pg::Connection& from = link.from == Side::kSource ? *src : *dst;
      pg::Connection& to = link.to == Side::kSource ? *src : *dst;
      DBR_RETURN_IF_ERROR(DropSubscription(to, link));
      DBR_RETURN_IF_ERROR(DropSlot(from, link));
      DBR_RETURN_IF_ERROR(DropPublication(from, link.publication, ""));
    }
    for (auto* side : {&*src, &*dst}) DBR_RETURN_IF_ERROR(DropVerifySlots(*side));
    for (auto* side : {&*src, &*dst}) DBR_RETURN_IF_ERROR(DropHeartbeatSchema(*side));
    // Into another database of the same server: one role, with grants in both databases.
    DBR_ASSIGN_OR_RETURN(const bool one_server,
                         OnOneServer(*src, *dst, config_.src.Address() == config_.dst.Address()));
    DBR_RETURN_IF_ERROR(PutBackReplicationUser(*src, "source", SourceUserPlan(*state),
                                               one_server ? &*dst : nullptr));
    if (rds) {
      DBR_RETURN_IF_ERROR(CleanRdsCopy(*state, *dst));
    } else {
      if (!one_server)
        DBR_RETURN_IF_ERROR(
            PutBackReplicationUser(*dst, "destination", DestinationUserPlan(*state)));
      DBR_RETURN_IF_ERROR(DeleteCloudObjects(*state));
    }
    for (const auto& [side, roles] : state->fenced)
      if (!roles.empty())
        log::warn(
            "the {} stays read-only for {} application roles (fenced by the last switch); "
            "lift it with ALTER ROLE <role> IN DATABASE <db> RESET "
            "default_transaction_read_only when that database is to take writes again",
            SideName(side), roles.size());
    return MoveStateAside(store);
  }

 private:
  // `--delete-instance` names the instance this relocation made, and not while it is the primary.
  Status InstanceMayBeDeleted(const RunState& state) const {
    const std::string& named = request_.delete_instance;
    if (named.empty()) return Status::Ok();
    if (config_.provider != Provider::kCloudSql)
      return Status::BadConfig("--delete-instance is for provider cloudsql");
    const std::string& made = state.cloudsql.instance;
    if (named != made)
      return Status::BadConfig(
          made.empty() ? "--delete-instance " + named + ": this relocation made no instance"
                       : "--delete-instance " + named + ": this relocation made " + made +
                             " and deletes no other instance");
    if (state.primary == Side::kDestination)
      return Status::BadConfig("--delete-instance " + named +
                               ": it takes the application's writes since the cut-over; "
                               "`rollback` first");
    return Status::Ok();
  }

  Result<std::vector<std::string>> CleanSourceOnly(const StateStore& store, const RunState& state,
                                                   pg::Connection& src) {
    DBR_RETURN_IF_ERROR(StopWriter(store));
    for (const names::Link& lane : links_.forward) {
      DBR_RETURN_IF_ERROR(DropSlot(src, lane));
      DBR_RETURN_IF_ERROR(DropPublication(src, lane.publication, ""));
    }
    DBR_RETURN_IF_ERROR(DropHeartbeatSchema(src));
    DBR_RETURN_IF_ERROR(PutBackReplicationUser(src, "source", SourceUserPlan(state)));
    if (!state.rds.instance.empty())
      log::warn(
          "the restore of {} had not finished: once it is available, run `cleanup` again "
          "to clean it as well, or delete it (aws rds delete-db-instance "
          "--skip-final-snapshot --db-instance-identifier {})",
          state.rds.instance, state.rds.instance);
    DBR_RETURN_IF_ERROR(DeleteCloudObjects(state));
    return MoveStateAside(store);
  }

  // The source cannot be reached. Once the application writes to the destination, a source gone
  // for good (decommissioned after the cut-over) must not keep the new primary's return slot
  // retaining its WAL forever: `--source-gone` cleans the destination alone.
  Result<std::vector<std::string>> WithoutTheSource(const StateStore& store, const RunState& state,
                                                    const Status& unreachable) {
    if (state.primary != Side::kDestination)
      return unreachable.Wrap(request_.source_gone
                                  ? "--source-gone: the source is the application's primary, "
                                    "and cleanup needs it"
                                  : "cleanup needs the source");
    if (!request_.source_gone)
      return unreachable.Wrap(
          "cleanup needs the source (if it is gone for good, `db_relocate cleanup "
          "--source-gone` cleans the destination alone)");
    log::warn("the source cannot be reached ({}): cleaning the destination alone",
              unreachable.message());
    return CleanDestinationOnly(store, state);
  }

  Result<std::vector<std::string>> CleanDestinationOnly(const StateStore& store,
                                                        const RunState& state) {
    auto dst = pg::Connection::Open(DestinationParams(config_));
    if (!dst.ok()) return dst.status().Wrap("cleanup needs the destination");
    DBR_RETURN_IF_ERROR(RefuseWhileSidesDiffer(config_, state));
    DBR_RETURN_IF_ERROR(RetireProxyStandby(config_, state.primary, dry_run_, actions_));
    DBR_RETURN_IF_ERROR(StopWriter(store));
    for (const names::Link& lane : links_.forward)
      DBR_RETURN_IF_ERROR(DropSubscription(*dst, lane));  // detached from its slot first
    DBR_RETURN_IF_ERROR(DropSlot(*dst, links_.reverse));
    DBR_RETURN_IF_ERROR(DropPublication(*dst, links_.reverse.publication, ""));
    DBR_RETURN_IF_ERROR(DropVerifySlots(*dst));
    DBR_RETURN_IF_ERROR(DropHeartbeatSchema(*dst));
    if (config_.provider == Provider::kRds) {
      DBR_RETURN_IF_ERROR(CleanRdsCopy(state, *dst));
    } else {
      DBR_RETURN_IF_ERROR(PutBackReplicationUser(*dst, "destination", DestinationUserPlan(state)));
      DBR_RETURN_IF_ERROR(DeleteCloudObjects(state));
    }
    std::vector<std::string> slots, publications;
    for (const names::Link& lane : links_.forward) {
      slots.push_back(lane.slot);
      publications.push_back(lane.publication);
    }
    log::warn(
        "left on the source, should it come back: replication slot {} (retaining WAL there), "
        "publication {}, subscription {}, schema {} and the replication user {} (where the "
        "relocation made it)",
        fmt::join(slots, ", "), fmt::join(publications, ", "), links_.reverse.subscription,
        names::kSchema, config_.upgrade.user);
    return MoveStateAside(store);
  }

  // The restored instance is a copy of the source: besides what the relocation made there, it
  // holds copies of the source's publication, slot and replication user. The instance itself
  // (and its read replicas) is the destination and stays.
  Status CleanRdsCopy(const RunState& state, pg::Connection& dst) {
    for (const names::Link& lane : links_.forward) {
      DBR_RETURN_IF_ERROR(DropSlot(dst, lane));
      DBR_RETURN_IF_ERROR(DropPublication(dst, lane.publication, " (copied)"));
    }
    // Its replication user is the source's as the snapshot found it: treated as the source's.
    DBR_RETURN_IF_ERROR(PutBackReplicationUser(dst, "destination", SourceUserPlan(state)));
    if (!state.StepDone("subscription"))
      log::warn(
          "the relocation never subscribed {} to the source: if you abandon it, delete "
          "that instance{} (aws rds delete-db-instance --skip-final-snapshot "
          "--db-instance-identifier {})",
          state.rds.instance, state.rds.replicas.empty() ? "" : " and its read replicas",
          state.rds.instance);
    if (state.rds.prewarm_extension_created)
      DBR_RETURN_IF_ERROR(Act(dst, "extension pg_prewarm (created to warm the storage)",
                              "destination", "SELECT count(*) FROM pg_extension WHERE extname = $1",
                              {std::string("pg_prewarm")}, "DROP EXTENSION pg_prewarm"));
    return DeleteCloudObjects(state);
  }

  Status DeleteCloudObjects(const RunState& state) {
    auto cloud = MakeCloud(config_);
    if (!cloud) return Status::Ok();
    return cloud->DeleteIntermediates(config_, state, request_, &actions_);
  }

  Result<std::vector<std::string>> MoveStateAside(const StateStore& store) {
    if (store.Exists()) {
      actions_.push_back("move the run state aside (" + store.file("state.json").string() + ")");
      if (!dry_run_) {
        std::error_code ec;
        std::filesystem::rename(store.file("state.json"),
                                store.file("state.json.cleaned-" + NowUtc()), ec);
        if (ec) return Status::Error("cannot move the run state aside: " + ec.message());
      }
    }
    return actions_;
  }

  // Records `action` when `count_sql` finds the object; true when it is to be dropped now.
  Result<bool> Plan(pg::Connection& conn, const std::string& count_sql, const pg::Params& params,
                    const std::string& action) {
    auto n = conn.QueryValue(count_sql, params);
    if (!n.ok()) return n.status();
    if (*n == "0") return false;
    actions_.push_back(action);
    return !dry_run_;
  }

  // Runs `drop_sql` when `count_sql` finds the object.
  Status Act(pg::Connection& conn, const std::string& what, const std::string& side,
             const std::string& count_sql, const pg::Params& params, const std::string& drop_sql) {
    auto go = Plan(conn, count_sql, params, "drop " + what + " on the " + side);
    if (!go.ok() || !*go) return go.status();
    DBR_RETURN_IF_ERROR(conn.Exec(drop_sql));
    log::info("dropped {} on the {}", what, side);
    return Status::Ok();
  }

  Status DropPublication(pg::Connection& conn, const std::string& name, const std::string& note) {
    return Act(conn, "publication " + name + note, conn.params().label,
               "SELECT count(*) FROM pg_publication WHERE pubname = $1", {name},
               "DROP PUBLICATION " + pg::QuoteIdent(name));
  }

  Status DropHeartbeatSchema(pg::Connection& conn) {
    return Act(conn, "schema db_relocate (the heartbeat table)", conn.params().label,
               "SELECT count(*) FROM pg_namespace WHERE nspname = $1", {names::kSchema},
               "DROP SCHEMA " + pg::QuoteIdent(names::kSchema) + " CASCADE");
  }

  Status StopWriter(const StateStore& store) {
    auto pid = HeartbeatWriterPid(store);
    if (!pid) return Status::Ok();
    actions_.push_back("stop the heartbeat writer (pid " + std::to_string(*pid) + ")");
    return dry_run_ ? Status::Ok() : StopHeartbeatWriter(store);
  }

  Status DropSubscription(pg::Connection& conn, const names::Link& link) {
    auto go = Plan(conn,
                   std::string("SELECT count(*) FROM pg_subscription WHERE subname = $1 AND ") +
                       names::kSubscriptionInThisDatabase,
                   {link.subscription},
                   fmt::format("drop subscription {} on the {} (its slot is dropped next)",
                               link.subscription, conn.params().label));
    if (!go.ok() || !*go) return go.status();
    return DropSubscriptionKeepingSlot(conn, link.subscription);
  }

  Status DropSlot(pg::Connection& conn, const names::Link& link) {
    auto go =
        Plan(conn, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", {link.slot},
             fmt::format("drop replication slot {} on the {} (releases the WAL it retains)",
                         link.slot, conn.params().label));
    if (!go.ok() || !*go) return go.status();
    return dbr::DropSlot(conn, link.slot);
  }

  Status DropVerifySlots(pg::Connection& conn) {
    auto n = verify::CountStaleVerifySlots(conn);
    if (!n.ok()) return n.status();
    if (*n == 0) return Status::Ok();
    actions_.push_back(fmt::format("drop {} replication slots of killed verify runs on the {}", *n,
                                   conn.params().label));
    return dry_run_ ? Status::Ok() : verify::DropStaleVerifySlots(conn);
  }

  struct UserPlan {
    ReplicationUserCleanup action;
    RoleBefore before;  // for kRestore
  };
  UserPlan PlanFor(const RunState& state, Side side, bool created) const {
    auto it = state.replication_user_before.find(side);
    std::optional<RoleBefore> before;
    if (it != state.replication_user_before.end()) before = it->second;
    return {PlanReplicationUserCleanup(before, config_.upgrade.user, created),
            before.value_or(RoleBefore{})};
  }
  UserPlan SourceUserPlan(const RunState& state) const {
    return PlanFor(state, Side::kSource, false);
  }
  // The snapshot step records the roles it created on the destination (created_roles), and so
  // did a cut-over of an earlier version.
  UserPlan DestinationUserPlan(const RunState& state) const {
    const auto& made = state.created_roles;
    return PlanFor(state, Side::kDestination,
                   std::find(made.begin(), made.end(), config_.upgrade.user) != made.end());
  }

  // The replication user on `side` (`conn`) as `plan` says: dropped when the relocation created
  // it, else kept with its comment put back. `also_in` is a connection to another database of
  // conn's server where the role has grants.
  Status PutBackReplicationUser(pg::Connection& conn, const std::string& side, const UserPlan& plan,
                                pg::Connection* also_in = nullptr) {
    const std::string& user = config_.upgrade.user;
    if (plan.action == ReplicationUserCleanup::kDrop) return DropRole(conn, side, also_in);
    auto marked = ReplicationUserMarkedFor(conn, user, mark_);
    if (!marked.ok() || !*marked) return marked.status();  // not ours to touch
    if (plan.action == ReplicationUserCleanup::kKeepUnrecorded) {
      log::warn(
          "the replication user {} on the {} is kept: the run state does not record whether "
          "this relocation created it (a state of an earlier version, or none). If it did, drop "
          "it: DROP OWNED BY {} in each database where it has grants, then DROP ROLE {}",
          user, side, pg::QuoteIdent(user), pg::QuoteIdent(user));
      return Status::Ok();
    }
    actions_.push_back(fmt::format(
        "keep the replication user {} on the {} (it was there before the relocation) and put "
        "its comment back",
        user, side));
    if (dry_run_) return Status::Ok();
    DBR_RETURN_IF_ERROR(RestoreReplicationUserComment(conn, user, plan.before, mark_));
    log::warn(
        "the replication user {} on the {} was there before the relocation: kept, its comment "
        "put back; the relocation gave it LOGIN REPLICATION, a new password and SELECT on the "
        "tables in scope, which it keeps",
        user, side);
    return Status::Ok();
  }

  Status DropRole(pg::Connection& conn, const std::string& side, pg::Connection* also_in) {
    const std::string& user = config_.upgrade.user;
    std::string role = pg::QuoteIdent(user);
    auto owner = ReplicationUserInUse(conn, user, mark_);
    if (!owner.ok()) return owner.status();
    if (*owner) {
      log::warn(
          "the replication user {} on the {} is kept: it serves the relocation of database {} "
          "into database {} ({})",
          user, side, (*owner)->relocation.src_database, (*owner)->relocation.dst_database,
          (*owner)->evidence);
      return Status::Ok();
    }
    // A replication user owns nothing: what this one owns is someone's (pre-flight refuses such
    // a role; an earlier version did not), and DROP OWNED would drop it.
    for (pg::Connection* db : {&conn, also_in}) {
      if (db == nullptr) continue;
      DBR_ASSIGN_OR_RETURN(const OwnedObjects owned, ObjectsOwnedBy(*db, user));
      if (owned.count == 0) continue;
      log::warn(
          "the replication user {} on the {} is kept: it owns {} object(s) in database {}, e.g. "
          "{}, which DROP OWNED would drop. Give them another owner (REASSIGN OWNED BY {} TO "
          "<role>) before dropping it",
          user, side, owned.count, db->params().dbname, owned.example, role);
      return Status::Ok();
    }
    auto go = Plan(conn, "SELECT count(*) FROM pg_roles WHERE rolname = $1", {user},
                   "drop the replication user " + user + " on the " + side);
    if (!go.ok() || !*go) return go.status();
    // Its grants in a database go with DROP OWNED there; it owns nothing. That takes the role's
    // privileges, which its creator holds only when a superuser (from PostgreSQL 16 others get
    // ADMIN, with which they may take them).
    auto usage = conn.QueryValue("SELECT pg_has_role(current_user, $1, 'USAGE')", {user});
    if (!usage.ok()) return usage.status();
    if (*usage != "t") DBR_RETURN_IF_ERROR(conn.Exec("GRANT " + role + " TO CURRENT_USER"));
    if (also_in != nullptr) DBR_RETURN_IF_ERROR(also_in->Exec("DROP OWNED BY " + role));
    DBR_RETURN_IF_ERROR(conn.Exec("DROP OWNED BY " + role));
    return conn.Exec("DROP ROLE " + role);
  }

  const Config& config_;
  // The config's lanes, and more where the servers hold more (LinksOnServers).
  names::Links links_;
  const CleanupRequest request_;
  bool dry_run_;
  RelocationMark mark_;  // the relocation's, once its state is read
  std::vector<std::string> actions_;
};

}  // namespace

Status RefuseWhileSidesDiffer(const Config& config, const RunState& state) {
  // An undo that sent the application back to the old side leaves the primary there (a
  // divergence keeps it recorded for good); the proxy is checked against it below.
  if (state.switching && state.switching->undo == UndoProgress::kNone)
    return Status::Error(fmt::format(
        "{}: run `db_relocate {}` again to finish or undo it before cleaning up; nothing was "
        "dropped",
        state.switching->Interrupted(), SwitchCommand(state.switching->to)));
  if (!config.cutover.configured) return Status::Ok();
  auto proxy = MakeProxy(config);
  if (!proxy.ok()) return proxy.status();
  return ProxyAllowsCleanup((*proxy)->Inspect(), (*proxy)->name(), state.primary);
}

Status RetireProxyStandby(const Config& config, Side primary, bool dry_run,
                          std::vector<std::string>& actions) {
  if (!config.cutover.configured) return Status::Ok();
  auto proxy = MakeProxy(config);
  if (!proxy.ok()) return proxy.status();
  auto ps = (*proxy)->Inspect();
  if (!ps.ok() || !ps->running) return Status::Ok();
  actions.push_back(fmt::format(
      "remove the {} from the proxy ({}), which keeps sending the application to the {}",
      SideName(Other(primary)), (*proxy)->name(), SideName(primary)));
  if (dry_run) return Status::Ok();
  return (*proxy)->RetireStandby(BackendOf(config, primary));
}

Result<std::vector<std::string>> CleanupRelocation(const Config& config,
                                                   const CleanupRequest& request) {
  if (auto state = StateStore(config.state_dir).Load();
      state.ok() && !state->switches.empty() && state->switches.back().follow_up_pending)
    log::warn(
        "what follows the last {} (materialized views refreshed, scheduled events moved) was not "
        "done, and cleanup does not do it: run `db_relocate {}` first, or do it by hand",
        SwitchName(state->switches.back().to), SwitchCommand(state->switches.back().to));
  if (config.engine == EngineKind::kMysql) {
    if (request.source_gone) return Status::BadConfig("--source-gone is for engine postgres");
    return CleanupMysqlRelocation(config, request.dry_run);
  }
  return Cleanup(config, request).Run();
}

}  // namespace dbr
