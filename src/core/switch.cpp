#include "core/switch.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <iostream>
#include <optional>

#include "core/switch_decisions.h"
#include "core/switch_ready.h"
#include "engine/ddl_replication.h"
#include "engine/fence.h"
#include "engine/heartbeat.h"
#include "engine/lanes.h"
#include "engine/large_objects.h"
#include "engine/materialized_views.h"
#include "engine/replication_link.h"
#include "engine/sequences.h"
#include "model/catalog.h"
#include "model/names.h"
#include "model/scope.h"
#include "model/servers.h"
#include "model/timings.h"
#include "pg/copy_stream.h"
#include "pg/quote.h"
#include "proxy/proxy.h"
#include "util/clock.h"
#include "util/fault.h"
#include "util/files.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/poll.h"
#include "util/progress.h"
#include "util/retry.h"

namespace dbr {
namespace {

using std::chrono::milliseconds;

// Client sessions of the database that hold a transaction which already wrote (it has an xid).
constexpr const char* kWritingSessions =
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
    "pid <> pg_backend_pid() AND backend_type = 'client backend' AND backend_xid IS NOT NULL";

// Keeps the first error of several steps that all run whatever fails.
void KeepFirstError(Status& first, Status next) {
  if (first.ok() && !next.ok()) first = std::move(next);
}

// What the proxy reported, or nullopt when it could not be read.
std::optional<ProxyState> AnswerOf(const Result<ProxyState>& inspected) {
  return inspected.ok() ? std::optional<ProxyState>(*inspected) : std::nullopt;
}

struct Switch {
  const Config& config;
  Clock& clock;
  const Timings timings;
  StateStore store;
  RunState state;
  Side from, to;
  const names::Links links;
  const std::vector<names::Link> link_in;   // carry writes into `to` (from -> to): its lanes
  const std::vector<names::Link> link_out;  // will carry them back (to -> from)
  std::optional<pg::Connection> old_side, new_side;
  std::unique_ptr<Proxy> proxy;
  Clock::TimePoint paused_at;                          // when the proxy was asked to pause
  std::optional<std::vector<RelationName>> sequences;  // in scope, from the old side
  std::optional<std::vector<TableInfo>> unlogged;      // in scope, from the old side

  Switch(const Config& c, Side target, Clock& clock, Timings timings)
      : config(c),
        clock(clock),
        timings(std::move(timings)),
        store(c.state_dir),
        from(Other(target)),
        to(target),
        links(LinksOf(c)),
        link_in(links.Into(to)),
        link_out(links.Into(from)) {}

  std::string Verb() const { return SwitchName(to); }

  Status Save() { return store.Save(state); }

  Status Connect() {
    auto open = [&](Side side, std::optional<pg::Connection>* out) {
      if (out->has_value() && !(*out)->IsBroken()) return Status::Ok();
      return Retry(
          timings.switching.connect, std::string("connecting to the ") + SideName(side), [&] {
            auto c = pg::Connection::Open(ParamsOf(config, side));
            if (!c.ok()) return c.status();
            DBR_RETURN_IF_ERROR(c->Exec(
                fmt::format("SET lock_timeout = '{}s'", timings.switching.lock_timeout.count())));
            DBR_RETURN_IF_ERROR(c->Exec(fmt::format("SET statement_timeout = '{}s'",
                                                    timings.switching.statement_timeout.count())));
            out->emplace(std::move(*c));
            return Status::Ok();
          });
    };
    // Both are tried, so that a command that cannot go on knows which side is missing.
    Status connected = open(from, &old_side);
    KeepFirstError(connected, open(to, &new_side));
    return connected;
  }

  // Reopens connections lost since (a server restarted): undoing must not give up on a blip.
  Status Reconnect() {
    if (old_side && !old_side->IsBroken() && new_side && !new_side->IsBroken()) return Status::Ok();
    if (old_side && old_side->IsBroken()) old_side.reset();
    if (new_side && new_side->IsBroken()) new_side.reset();
    return Connect();
  }

  std::string ReplicationPassword() const {
    return config.upgrade.password.empty() ? state.replication_password : config.upgrade.password;
  }

  // ---- Before anything changes -------------------------------------------------------------

  SwitchSides Sides() { return {config, from, to, *old_side, *new_side, link_in}; }

  Status CheckReady() {
    DBR_RETURN_IF_ERROR(ProxyIsReady(*proxy, from));
    DBR_RETURN_IF_ERROR(NewSideCanReplicateBack(Sides()));
    DBR_RETURN_IF_ERROR(NoPreparedTransactions(*old_side, from));
    if (!state.sequences_set)
      return Status::Error("sequences were never set on the destination: finish `run` first");
    DBR_RETURN_IF_ERROR(NoSchemaDriftBlocks(Sides()));
    DBR_RETURN_IF_ERROR(EnsureHeartbeatWriter(config, store));
    return ReplicationIntoNewSideFlows(Sides(), clock, timings);
  }

  Status SyncLogins() { return dbr::SyncLogins(Sides()); }

  // Reversible and harmless: the return path's user, publication and replica identities.
  Status PrepareReturnPath() {
    DBR_ASSIGN_OR_RETURN(ScopeListing scope, ListScope(*new_side, config));
    std::vector<TableInfo> replicable;
    for (auto& t : scope.tables) {
      if (!t.Replicable()) continue;
      if (!t.HasUsableReplicaIdentity()) {
        DBR_RETURN_IF_ERROR(
            new_side->Exec("ALTER TABLE " + t.Qualified() + " REPLICA IDENTITY FULL"));
        log::warn("{} has no key on the {}: REPLICA IDENTITY FULL set, as on the {}", t.Display(),
                  SideName(to), SideName(from));
      }
      replicable.push_back(std::move(t));
    }
    if (ReplicationPassword().empty())
      return Status::Error("the run state holds no replication password: was `run` finished?");
    // Cleanup drops it only if created here, else puts back its comment.
    DBR_RETURN_IF_ERROR(RecordReplicationUserBefore(*new_side, config.upgrade.user,
                                                    MarkOf(config, state), to, state));
    DBR_RETURN_IF_ERROR(Save());
    DBR_RETURN_IF_ERROR(EnsureReplicationUser(*new_side, config.upgrade.user, ReplicationPassword(),
                                              scope.schemas, MarkOf(config, state)));
    // DDL on the new side after the switch reaches the old one, for a rollback.
    if (config.ddl == DdlMode::kReplicate)
      DBR_RETURN_IF_ERROR(EnsureDdlCapture(*new_side, config, link_out.front().publication));
    DBR_RETURN_IF_ERROR(ReadScopeBeforePause());
    DBR_RETURN_IF_ERROR(EnsureLanePublications(*new_side, link_out, replicable, state));
    // The drain finds the end of each lane after the first by a row in its marker table.
    for (size_t i = 1; i < link_in.size(); ++i)
      DBR_RETURN_IF_ERROR(EnsureLaneMarkerReplicated(*old_side, *new_side, link_in[i]));
    return Status::Ok();
  }

  // The heartbeat writer writes to the old side through no proxy: stop it first.
  Status StopHeartbeat() { return StopHeartbeatWriter(store); }

  // From here to ResumeProxy the proxy holds the application's writes: the write pause.
  Status PauseProxy() {
    paused_at = clock.Now();
    return proxy->Pause(milliseconds(static_cast<int64_t>(config.cutover.pause_timeout * 1000)));
  }

  // ---- While paused ------------------------------------------------------------------------

  Status FenceOldSide() {
    if (config.cutover.fence == FenceMode::kNone) return Status::Ok();
    auto roles = RolesToFence(config, *old_side);
    if (!roles.ok()) return roles.status();
    auto current = CurrentReadOnlySettings(*old_side, *roles);
    if (!current.ok()) return current.status();
    // Recorded before it changes anything, so that a crash can be undone.
    if (state.fenced[from].empty()) {
      state.fenced[from] = *current;
      DBR_RETURN_IF_ERROR(Save());
    }
    return Fence(*old_side, state.fenced[from]);
  }

  // The last write on the old side, and the wait until the new side has it (and everything
  // committed before it: logical replication applies in commit order), durably.
  Status Drain() {
    DBR_RETURN_IF_ERROR(NoPreparedTransactions(*old_side, from));
    DBR_RETURN_IF_ERROR(WaitForWritingSessions());
    DBR_RETURN_IF_ERROR(WriteMarker());
    DBR_RETURN_IF_ERROR(WaitForMarker());
    // The subscription commits asynchronously: make what it applied durable before it counts.
    return new_side->FlushCommitted();
  }

  // A transaction that already wrote (it has an xid) and commits after the marker would be
  // missed: wait until no client session of this database holds one.
  Status WaitForWritingSessions() {
    std::string busy;
    auto idle = PollUntil(clock, Seconds(config.cutover.drain_timeout),
                          timings.switching.drain_poll, [&]() -> Result<bool> {
                            DBR_ASSIGN_OR_RETURN(busy, old_side->QueryValue(kWritingSessions));
                            return busy == "0";
                          });
    if (!idle.ok()) return idle.status();
    if (!*idle)
      return Status::Error(
          fmt::format("{} sessions on the {} still hold a writing transaction after the fence "
                      "(cutover.drain_timeout {} s): see pg_stat_activity",
                      busy, SideName(from), config.cutover.drain_timeout));
    return Status::Ok();
  }

  // The marker: a heartbeat committed on the old side once it is fenced (with a row in the marker
  // table of every other lane, in the same transaction), and the old side's flushed WAL position
  // just after it, in the switch's record.
  Status WriteMarker() {
    DBR_RETURN_IF_ERROR(old_side->Exec("BEGIN"));
    Status st = old_side->Exec("SET LOCAL synchronous_commit = on");
    auto marker = st.ok() ? old_side->QueryValue("INSERT INTO " + HeartbeatTable() +
                                                 " (kind) VALUES ('switch') RETURNING seq")
                          : Result<std::string>(st);
    for (size_t i = 1; i < link_in.size() && marker.ok(); ++i)
      if (Status lane = old_side->Exec(
              "INSERT INTO " + LaneMarkerTable(link_in[i].lane) + " (token) VALUES ($1)",
              {LaneMarkerToken(*marker)});
          !lane.ok())
        marker = lane;
    if (!marker.ok()) {
      (void)old_side->Exec("ROLLBACK");
      return marker.status();
    }
    DBR_RETURN_IF_ERROR(old_side->Exec("COMMIT"));
    auto lsn = old_side->QueryValue("SELECT pg_current_wal_flush_lsn()");
    if (!lsn.ok()) return lsn.status();
    auto seq = ParseInt(*marker);
    if (!seq) return Status::Error("the switch marker's seq is not a number: " + *marker);
    state.switching->marker = *seq;
    state.switching->lsn = *lsn;
    return Status::Ok();
  }

  static std::string LaneMarkerToken(const std::string& marker) { return "switch " + marker; }

  // The marker applied on the new side, in every lane.
  Status WaitForMarker() {
    const std::string marker = std::to_string(state.switching->marker);
    const std::string seen_query = "SELECT count(*) FROM " + HeartbeatTable() + " WHERE seq = $1";
    auto applied = PollUntil(
        clock, Seconds(config.cutover.drain_timeout), timings.switching.drain_poll,
        [&]() -> Result<bool> {
          DBR_ASSIGN_OR_RETURN(std::string seen, new_side->QueryValue(seen_query, {marker}));
          for (size_t i = 1; i < link_in.size() && seen != "0"; ++i) {
            DBR_ASSIGN_OR_RETURN(seen, new_side->QueryValue("SELECT count(*) FROM " +
                                                                LaneMarkerTable(link_in[i].lane) +
                                                                " WHERE token = $1",
                                                            {LaneMarkerToken(marker)}));
          }
          return seen != "0";
        });
    if (!applied.ok()) return applied.status();
    if (!*applied)
      return Status::Error(fmt::format(
          "the {} did not apply the last writes (marker {} at {}) within cutover.drain_timeout "
          "({} s): replication is stalled or slow",
          SideName(to), marker, state.switching->lsn, config.cutover.drain_timeout));
    return Status::Ok();
  }

  Status TurnReplicationAround() {
    // Nothing more comes from the old side; stop listening to it before it starts listening to
    // us, or the changes would go round in a loop.
    for (const names::Link& lane : link_in) {
      DBR_RETURN_IF_ERROR(
          new_side->Exec("ALTER SUBSCRIPTION " + pg::QuoteIdent(lane.subscription) + " DISABLE"));
      DBR_RETURN_IF_ERROR(WaitForWorkerToStop(*new_side, lane.subscription));
    }
    // Nothing writes to the new side until the proxy resumes: every lane's slot starts at the
    // same point of its WAL.
    for (const names::Link& lane : link_out)
      DBR_RETURN_IF_ERROR(RecreateSlot(*new_side, lane.slot).status());
    return Status::Ok();
  }

  // Read before the write pause, so that the pause pays only for the values and the rows.
  Status ReadScopeBeforePause() {
    DBR_ASSIGN_OR_RETURN(ScopeListing scope, ListScope(*old_side, config));
    sequences = std::move(scope.sequences);
    unlogged.emplace();
    for (auto& t : scope.tables)
      if (t.relkind == 'r' && t.persistence == 'u') unlogged->push_back(std::move(t));
    return Status::Ok();
  }

  // Unlogged tables are not replicated (they write no WAL): their rows are copied here, with
  // the application's writes held, so that the new side starts with exactly the old one's.
  Status CopyUnloggedTables() {
    if (!unlogged)
      DBR_RETURN_IF_ERROR(ReadScopeBeforePause());  // a switch resumed past the listing
    if (unlogged->empty()) return Status::Ok();
    const Clock::TimePoint started = clock.Now();
    pg::CopyResult total;
    for (const auto& t : *unlogged) {
      DBR_RETURN_IF_ERROR(new_side->Exec("TRUNCATE ONLY " + t.Qualified()));
      auto copied = pg::StreamCopy(*old_side, "COPY " + t.Qualified() + " TO STDOUT", *new_side,
                                   "COPY " + t.Qualified() + " FROM STDIN", nullptr, nullptr);
      if (!copied.ok()) return copied.status().Wrap("copying unlogged table " + t.Display());
      total.rows += copied->rows;
      total.bytes += copied->bytes;
    }
    log::info(
        "{} unlogged tables copied to the {} inside the write pause: {} rows, {} in {:.0f} ms",
        unlogged->size(), SideName(to), total.rows, HumanBytes(static_cast<double>(total.bytes)),
        clock.SecondsSince(started) * 1000);
    return Status::Ok();
  }

  // Large objects are not replicated either (engine/large_objects.h). Before the pause the new
  // side is brought level, so that inside it only what changed since is written again.
  Status SyncLargeObjectsAhead() {
    auto synced = SyncLargeObjects(*old_side, *new_side);
    if (!synced.ok()) return synced.status();
    if (!synced->None())
      log::info("before the write pause: {} (to the {})", Describe(*synced), SideName(to));
    PausePoint("switch:large-objects-ahead");
    return Status::Ok();
  }

  // With the old side fenced and drained, its large objects are final: compared again, the
  // ones changed since written again. What this costs the pause is recorded with the switch.
  Status SyncLargeObjectsInPause() {
    auto synced = SyncLargeObjects(*old_side, *new_side);
    if (!synced.ok()) return synced.status();
    state.switching->large_objects = *synced;
    if (!synced->None())
      log::info("inside the write pause: {} (to the {})", Describe(*synced), SideName(to));
    return Status::Ok();
  }

  Status SetSequencesAhead() {
    if (!sequences)
      DBR_RETURN_IF_ERROR(ReadScopeBeforePause());  // a switch resumed past the listing
    auto set = CopySequencesAhead(*old_side, *new_side, *sequences, config.sequence_gap);
    if (!set.ok()) return set.status();
    // setval is not transactional and the new side may commit asynchronously.
    return new_side->FlushCommitted();
  }

  // The new side's fence from the last switch (it was the old side then), lifted. Recorded in
  // the switch first, so that undoing it puts the fence back even after a crash.
  Status LiftNewSideFence() {
    auto it = state.fenced.find(to);
    if (it == state.fenced.end() || it->second.empty()) return Status::Ok();
    state.switching->lifted_fence = it->second;
    DBR_RETURN_IF_ERROR(Save());
    return LiftFenceOn(to);
  }

  Status PointProxyAtNewSide() { return proxy->PointTo(BackendOf(config, to)); }

  Status ResumeProxy() {
    DBR_RETURN_IF_ERROR(proxy->Resume());
    state.switching->pause_ms =
        std::chrono::duration<double, std::milli>(clock.Now() - paused_at).count();
    return Status::Ok();
  }

  // ---- Undo and finish ---------------------------------------------------------------------

  // Whether the new side took writes after its return slot was made: then the proxy resumed
  // there, the new side is the primary, and the switch may only go forward.
  Result<bool> NewSideTookWrites() {
    for (const names::Link& lane : link_out) {
      DBR_ASSIGN_OR_RETURN(const bool exists, SlotExists(*new_side, lane.slot));
      if (!exists) continue;
      DBR_ASSIGN_OR_RETURN(const bool changes, SlotHasChanges(*new_side, lane));
      if (changes) return true;
    }
    return false;
  }

  // Puts everything back as it was before the switch began; safe to run more than once. What
  // cannot be put back keeps the switch recorded, so that running the command again goes on.
  Status Undo() {
    Status result = Record(SwitchStage::kUndoing);
    KeepFirstError(result, Reconnect());
    const bool new_side_reachable = new_side && !new_side->IsBroken();
    bool took_writes = false;
    if (new_side_reachable) {
      DBR_ASSIGN_OR_RETURN(took_writes, NewSideTookWrites());
    }
    switch (PlanUndo(new_side_reachable, took_writes)) {
      case UndoPlan::kRollForward:
        log::warn("the {} took writes after the switch: finishing it instead of undoing it",
                  SideName(to));
        return RollForward();
      case UndoPlan::kBothSides:
        KeepFirstError(result, PutBackNewSide());
        break;
      case UndoPlan::kOldSideOnly:
        KeepFirstError(result,
                       Status::Error(std::string("the ") + SideName(to) + " cannot be reached"));
        break;
    }
    if (old_side && !old_side->IsBroken())
      KeepFirstError(result, LiftFenceOn(from));
    else
      KeepFirstError(result,
                     Status::Error(std::string("the ") + SideName(from) + " cannot be reached"));
    KeepFirstError(result, proxy->PointTo(BackendOf(config, from)));
    KeepFirstError(result, proxy->Resume());
    if (result.ok()) state.switching.reset();
    KeepFirstError(result, Save());
    KeepFirstError(result, EnsureHeartbeatWriter(config, store));
    return result;
  }

  // The new side as before the switch: no return slot, the subscription into it running again,
  // and the fence this switch lifted (it was the old side of the last one) back on.
  Status PutBackNewSide() {
    Status result;
    for (const names::Link& lane : link_out) KeepFirstError(result, DropSlot(*new_side, lane.slot));
    for (const names::Link& lane : link_in)
      KeepFirstError(result, new_side->Exec("ALTER SUBSCRIPTION " +
                                            pg::QuoteIdent(lane.subscription) + " ENABLE"));
    const std::vector<FencedRole>& lifted = state.switching->lifted_fence;
    if (!lifted.empty()) {
      KeepFirstError(result, Fence(*new_side, lifted));
      state.fenced[to] = lifted;
    }
    return result;
  }

  // The proxy sends (or is to send) the application to the new side: finish there.
  Status RollForward() {
    DBR_RETURN_IF_ERROR(proxy->PointTo(BackendOf(config, to)));
    DBR_RETURN_IF_ERROR(proxy->Resume());
    DBR_RETURN_IF_ERROR(Record(SwitchStage::kSwitched));
    return Finish();
  }

  Status LiftFenceOn(Side side) {
    auto it = state.fenced.find(side);
    if (it == state.fenced.end() || it->second.empty()) return Status::Ok();
    pg::Connection& conn = side == from ? *old_side : *new_side;
    DBR_RETURN_IF_ERROR(LiftFence(conn, it->second));
    state.fenced.erase(it);
    return Save();
  }

  // After the proxy points at the new side: what remains is bookkeeping that can be redone.
  Status Finish() {
    for (const names::Link& lane : link_out) {
      DBR_ASSIGN_OR_RETURN(const bool slot, SlotExists(*new_side, lane.slot));
      if (!slot)
        return Status::Error(fmt::format(
            "the return slot {} is missing on the {}: the way back cannot be built; the "
            "application writes to the {} and the {} no longer follows it",
            lane.slot, SideName(to), SideName(to), SideName(from)));
    }
    for (const names::Link& lane : link_in) {
      DBR_RETURN_IF_ERROR(DropSubscriptionKeepingSlot(*new_side, lane.subscription));
      DBR_RETURN_IF_ERROR(DropSlot(*old_side, lane.slot));
    }
    for (const names::Link& lane : link_out)
      DBR_RETURN_IF_ERROR(
          CreateSubscriptionOnSlot(*old_side, lane,
                                   SubscriptionConnInfo(ServerOf(config, to), config.upgrade.user,
                                                        ReplicationPassword(), lane.subscription)));
    CrashPoint("switch:finishing");
    DBR_RETURN_IF_ERROR(EnsureHeartbeatWriter(config, store));
    // Not done before the way back carries the application's writes.
    DBR_RETURN_IF_ERROR(ReturnReplicationStreams(*old_side, link_out, from, to, clock, timings));
    state.switching->stage = SwitchStage::kDone;
    state.switching->finished_at = NowUtc();
    state.switching->lifted_fence.clear();  // lifted for good
    state.switches.push_back(*state.switching);
    state.switching.reset();
    DBR_RETURN_IF_ERROR(Save());
    // The new side's materialized views hold what they held at the copy (or at the last switch).
    auto refreshed = RefreshMaterializedViews(*new_side, *new_side, config);
    if (!refreshed.ok())
      log::warn("the {} takes the writes, but its materialized views are not refreshed: {}",
                SideName(to), refreshed.message());
    else if (*refreshed > 0)
      log::info("{} materialized views refreshed on the {}", *refreshed, SideName(to));
    return Status::Ok();
  }

  // ---- What a failed stage becomes (the `undo` of kStages) ---------------------------------

  // The proxy did not pause (it resumed by itself): only the record and the stopped heartbeat
  // writer have changed.
  Status Abandon(const Status& failure) {
    state.switching.reset();
    (void)Save();
    (void)EnsureHeartbeatWriter(config, store);
    return failure.Wrap(Verb() + " abandoned");
  }

  // The proxy holds the application's writes, or sends them nowhere yet: everything goes back.
  Status PutBack(const Status& failure) {
    Status undone = Undo();
    return failure.Wrap(fmt::format(
        "{} failed, {}", Verb(),
        undone.ok() ? fmt::format("traffic is back on the {}; nothing was lost", SideName(from))
                    : "and putting things back failed too (" + undone.message() +
                          "); run the same command again"));
  }

  // The application writes to the new side: what is left is redone by the command run again.
  Status FinishLater(const Status& failure) {
    return failure.Wrap("the application now writes to the " + std::string(SideName(to)) +
                        ", but finishing failed; run the same command again to finish");
  }

  // ---- The sequence ------------------------------------------------------------------------

  // Records the switch at `stage`: the first stage starts its record, and a switched one makes
  // the new side the primary.
  Status Record(SwitchStage stage) {
    if (stage == SwitchStage::kPrepared)
      state.switching = SwitchRecord{.to = to, .started_at = NowUtc()};
    state.switching->stage = stage;
    if (stage == SwitchStage::kSwitched) state.primary = to;
    return Save();
  }

  // Runs kStages (below), the switch proper.
  Status RunStages();

  Status Run() {
    DBR_ASSIGN_OR_RETURN(proxy, MakeProxy(config));
    DBR_ASSIGN_OR_RETURN(state, store.Load());
    DBR_RETURN_IF_ERROR(StateBelongsToConfig(config, state));
    if (state.current_step != "replicating" && state.switches.empty() && !state.switching)
      return Status::Error("the relocation is not replicating yet (step: " +
                           (state.current_step.empty() ? "none" : state.current_step) +
                           "): run `db_relocate run` to the end first");
    if (Status connected = Connect(); !connected.ok()) return WhenUnreachable(connected);

    const bool interrupted = state.switching.has_value();
    if (interrupted) DBR_RETURN_IF_ERROR(Recover());
    if (state.primary == to) {
      if (interrupted)
        std::cout << fmt::format(
            "Finished the interrupted {}: the application writes to the {} (write pause {:.0f} "
            "ms, as recorded).\n",
            Verb(), SideName(to), state.switches.empty() ? 0.0 : state.switches.back().pause_ms);
      else
        std::cout << fmt::format("The application already writes to the {}; nothing to do.\n",
                                 SideName(to));
      return Status::Ok();
    }

    DBR_RETURN_IF_ERROR(RunStages());
    const SwitchRecord& done = state.switches.back();
    std::cout << fmt::format(
        "{} done: the application writes to the {} ({}:{}).\n"
        "  write pause: {:.0f} ms (proxy paused -> resumed)\n"
        "  last write on the {}: heartbeat {} at {}, applied before the switch\n"
        "  return replication: {} -> {} (subscriptions {}), so `{}` loses nothing\n",
        to == Side::kDestination ? "Cut-over" : "Rollback", SideName(to), ServerOf(config, to).host,
        ServerOf(config, to).port, done.pause_ms, SideName(from), done.marker, done.lsn,
        SideName(to), SideName(from), fmt::join(names::SubscriptionsOf(link_out), ", "),
        SwitchCommand(from));
    if (!done.large_objects.None())
      std::cout << "  large objects, inside the pause: " << Describe(done.large_objects) << "\n";
    return Status::Ok();
  }

  // A switch interrupted by a crash: finish it when the proxy already sends traffic to its
  // target, else undo it. Only the command that was interrupted does that.
  Status Recover() {
    Recovery what = RecoverFromRecord(*state.switching, to);
    if (what == Recovery::kRefuse)
      return Status::Error(fmt::format(
          "a {} was interrupted (stage {}): run `db_relocate {}` again first, to finish or undo "
          "it",
          SwitchName(from), state.switching->stage, SwitchCommand(from)));
    log::warn("an interrupted {} (stage {}) was found", Verb(), state.switching->stage);
    if (what == Recovery::kAskTheProxy) {
      auto ps = proxy->Inspect();
      what = RecoverFromProxy(AnswerOf(ps), to);
      if (what == Recovery::kProxySilent)
        return Status::Error(fmt::format(
            "cannot read the proxy to finish or undo the interrupted {} ({}); run the command "
            "again once it answers",
            Verb(), ps.ok() ? ps->detail : ps.message()));
    }
    if (what == Recovery::kFinish) {
      Status finished = Finish();
      return finished.ok() ? finished : FinishLater(finished);
    }
    if (what == Recovery::kRollForward) return RollForward();
    DBR_RETURN_IF_ERROR(Undo().Wrap("undoing the interrupted " + Verb()));
    log::info("the interrupted {} was undone; traffic is on the {}", Verb(), SideName(from));
    return Status::Ok();
  }

  // Both sides could not be reached. The application must not wait at a proxy paused by an
  // interrupted switch of this command: when the new side cannot have taken writes, traffic goes
  // back to the old side now; the switch stays recorded as undoing, and the command run again
  // once the new side is back finishes the undo there.
  Status WhenUnreachable(const Status& why) {
    if (OnUnreachable(state.switching, to) == Unreachable::kReport) return why;
    const bool old_side_reachable = old_side && !old_side->IsBroken();
    const bool new_side_reachable = new_side && !new_side->IsBroken();
    auto inspected = proxy->Inspect();
    const Unreachable what =
        OnUnreachableProxy(AnswerOf(inspected), to, old_side_reachable, new_side_reachable);
    if (what == Unreachable::kWaitForNewSide) return WaitForNewSide(why, inspected->paused);
    if (what != Unreachable::kResumeOnOldSide)
      return why.Wrap("an interrupted " + Verb() + " cannot be finished or undone yet");
    DBR_RETURN_IF_ERROR(Record(SwitchStage::kUndoing));
    DBR_RETURN_IF_ERROR(LiftFenceOn(from));
    DBR_RETURN_IF_ERROR(proxy->PointTo(BackendOf(config, from)));
    DBR_RETURN_IF_ERROR(proxy->Resume());
    (void)EnsureHeartbeatWriter(config, store);
    return why.Wrap(fmt::format(
        "the interrupted {} could not be undone on the {}, but the application is back on the "
        "{}; run the same command again once the {} answers",
        Verb(), SideName(to), SideName(from), SideName(to)));
  }

  // The proxy sends the application to the new side (or holds it for it), and the new side does
  // not answer: it may hold writes that exist nowhere else, so nothing is decided without it.
  // Says what the command waits for and the ways on; changes nothing.
  Status WaitForNewSide(const Status& why, bool proxy_paused) {
    const ServerConfig& server = ServerOf(config, to);
    const std::string at = fmt::format("{}:{}", server.host, server.port);
    return Status::Error(fmt::format(
        "the interrupted {verb} can be neither finished nor undone: the proxy already {sends} "
        "the {to} ({at}), which does not answer ({why}). Nothing was changed.\n"
        "`db_relocate {cmd}` waits for the {to} at {at}: it alone may hold writes the "
        "application made since the switch. Ways on:\n"
        "  1. bring the {to} back at {at}, then run `db_relocate {cmd}` again: it finishes or "
        "undoes the {verb}, losing nothing;\n"
        "  2. only if the {to} is lost for good: point the proxy back at the {from} by hand "
        "({how}), "
        "then run `db_relocate {cmd}` again: it lifts the fence on the {from} and the "
        "application writes there. This LOSES every write the application made on the {to} "
        "since the {verb} started ({started}).",
        fmt::arg("verb", Verb()),
        fmt::arg("sends",
                 proxy_paused ? "holds the application's writes for" : "sends the application to"),
        fmt::arg("to", SideName(to)), fmt::arg("at", at), fmt::arg("why", why.message()),
        fmt::arg("cmd", SwitchCommand(to)), fmt::arg("from", SideName(from)),
        fmt::arg("how", proxy->HowToPointTo(BackendOf(config, from))),
        fmt::arg("started", state.switching->started_at)));
  }
};

// One stage of the switch.
struct Stage {
  // The SwitchStage recorded in the state before the stage runs, where one begins here.
  std::optional<SwitchStage> records;
  // Where the tests kill the process (DBR_CRASH_AT), right after the stage is recorded.
  const char* crash_point;
  Status (Switch::*does)();
  // What a failure of the stage, or of recording it, becomes; none: it is returned as it is.
  Status (Switch::*undo)(const Status& failure);
};

constexpr std::optional<SwitchStage> kSameStage = std::nullopt;

// The switch, in order. Before the proxy pauses, a failure has nothing to undo (a recorded
// switch is undone by the command run again); a pause the proxy refuses abandons the switch;
// while the proxy holds the application's writes, a failure puts everything back; once the
// application writes to the new side, what is left is finished by the command run again.
// clang-format off
const Stage kStages[] = {
    // records                crash point        does                               undo
    {kSameStage,              nullptr,           &Switch::CheckReady,               nullptr},
    {kSameStage,              nullptr,           &Switch::SyncLogins,               nullptr},
    {kSameStage,              nullptr,           &Switch::PrepareReturnPath,        nullptr},
    {kSameStage,              nullptr,           &Switch::SyncLargeObjectsAhead,    nullptr},
    {SwitchStage::kPrepared,  nullptr,           &Switch::StopHeartbeat,            nullptr},
    {kSameStage,              nullptr,           &Switch::PauseProxy,               &Switch::Abandon},
    {SwitchStage::kPaused,    "switch:paused",   &Switch::FenceOldSide,             &Switch::PutBack},
    {kSameStage,              nullptr,           &Switch::Drain,                    &Switch::PutBack},
    {kSameStage,              nullptr,           &Switch::CopyUnloggedTables,       &Switch::PutBack},
    {kSameStage,              nullptr,           &Switch::SyncLargeObjectsInPause,  &Switch::PutBack},
    {kSameStage,              nullptr,           &Switch::SetSequencesAhead,        &Switch::PutBack},
    {kSameStage,              nullptr,           &Switch::TurnReplicationAround,    &Switch::PutBack},
    {kSameStage,              nullptr,           &Switch::LiftNewSideFence,         &Switch::PutBack},
    {SwitchStage::kPointing,  "switch:pointing", &Switch::PointProxyAtNewSide,      &Switch::PutBack},
    {kSameStage,              nullptr,           &Switch::ResumeProxy,              &Switch::PutBack},
    {SwitchStage::kSwitched,  "switch:switched", &Switch::Finish,                   &Switch::FinishLater},
};
// clang-format on

Status Switch::RunStages() {
  for (const Stage& stage : kStages) {
    Status st = stage.records ? Record(*stage.records) : Status::Ok();
    if (stage.crash_point != nullptr) CrashPoint(stage.crash_point);
    if (st.ok()) st = (this->*stage.does)();
    if (!st.ok()) return stage.undo != nullptr ? (this->*stage.undo)(st) : st;
  }
  return Status::Ok();
}

}  // namespace

Status RunSwitch(const Config& config, Side to) {
  DBR_RETURN_IF_ERROR(EnsureDirectory(config.state_dir));
  auto lock =
      FileLock::Acquire(std::filesystem::path(config.state_dir) / "run.lock", "this relocation");
  if (!lock.ok()) return lock.status();
  Switch s(config, to, RealClock(), Timings::Default());
  return s.Run();
}

}  // namespace dbr
