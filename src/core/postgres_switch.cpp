// The PostgreSQL engine's part of a switch (core/engine_switch.h): role-level fences, a marker
// heartbeat drained through the subscriptions, sequences, unlogged tables and large objects
// inside the pause, and the return slots made while nothing writes to the new side.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <optional>

#include "core/engine_switch.h"
#include "core/heartbeat_writer.h"
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
#include "pg/copy_stream.h"
#include "pg/quote.h"
#include "util/fault.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/poll.h"
#include "util/progress.h"
#include "util/retry.h"

namespace dbr {
namespace {

// Client sessions of the database that hold a transaction which already wrote (it has an xid).
constexpr const char* kWritingSessions =
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
    "pid <> pg_backend_pid() AND backend_type = 'client backend' AND backend_xid IS NOT NULL";

class PostgresSwitch : public EngineSwitch {
 public:
  explicit PostgresSwitch(const SwitchContext& ctx)
      : ctx_(ctx),
        config(ctx.config),
        clock(ctx.clock),
        timings(ctx.timings),
        state(ctx.state),
        from(ctx.from),
        to(ctx.to),
        links(LinksOf(ctx.config)),
        link_in(links.Into(to)),
        link_out(links.Into(from)) {}

  Status Connect() override {
    auto open = [&](Side side, std::optional<pg::Connection>* out) {
      if (out->has_value() && !(*out)->IsBroken()) return Status::Ok();
      out->reset();
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
    Status connected = open(from, &old_side);
    KeepFirstError(connected, open(to, &new_side));
    return connected;
  }

  bool Reachable(Side side) override {
    const std::optional<pg::Connection>& c = side == from ? old_side : new_side;
    return c.has_value() && !c->IsBroken();
  }

  Status CheckReady() override {
    DBR_RETURN_IF_ERROR(NewSideCanReplicateBack(Sides()));
    DBR_RETURN_IF_ERROR(NoPreparedTransactions(*old_side, from));
    DBR_RETURN_IF_ERROR(NoSchemaDriftBlocks(Sides()));
    DBR_RETURN_IF_ERROR(EnsureHeartbeatWriter(config, ctx_.store));
    return ReplicationIntoNewSideFlows(Sides(), clock, timings);
  }

  // Logins, the return path's user, publication and replica identities, and the large objects
  // brought level ahead of the pause.
  Status PrepareReturnPath() override {
    DBR_RETURN_IF_ERROR(SyncLogins(Sides()));
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
    const std::string password = ctx_.ReplicationPassword();
    if (password.empty())
      return Status::Error("the run state holds no replication password: was `run` finished?");
    // Cleanup drops it only if created here, else puts back its comment.
    DBR_RETURN_IF_ERROR(RecordReplicationUserBefore(*new_side, config.upgrade.user,
                                                    MarkOf(config, state), to, state));
    DBR_RETURN_IF_ERROR(ctx_.store.Save(state));
    DBR_RETURN_IF_ERROR(EnsureReplicationUser(*new_side, config.upgrade.user, password,
                                              scope.schemas, MarkOf(config, state)));
    // DDL on the new side after the switch reaches the old one, for a rollback.
    if (config.ddl == DdlMode::kReplicate)
      DBR_RETURN_IF_ERROR(EnsureDdlCapture(*new_side, config, link_out.front().publication));
    DBR_RETURN_IF_ERROR(ReadScopeBeforePause());
    DBR_RETURN_IF_ERROR(EnsureLanePublications(*new_side, link_out, replicable, state));
    // The drain finds the end of each lane after the first by a row in its marker table.
    for (size_t i = 1; i < link_in.size(); ++i)
      DBR_RETURN_IF_ERROR(EnsureLaneMarkerReplicated(*old_side, *new_side, link_in[i]));
    return SyncLargeObjectsAhead();
  }

  Result<std::vector<FencedRole>> ReadFence(Side side) override {
    pg::Connection& conn = Of(side);
    DBR_ASSIGN_OR_RETURN(std::vector<std::string> roles, RolesToFence(config, conn));
    return CurrentReadOnlySettings(conn, roles);
  }

  Status ApplyFence(Side side, const std::vector<FencedRole>& fence) override {
    return Fence(Of(side), fence);
  }

  Status LiftFence(Side side, const std::vector<FencedRole>& fence) override {
    return dbr::LiftFence(Of(side), fence);
  }

  // The last write on the old side, and the wait until the new side has it (and everything
  // committed before it: logical replication applies in commit order), durably.
  Status Drain() override {
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

  Status TurnReplicationAround() override {
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

  // Unlogged tables, large objects changed since PrepareReturnPath, and sequences.
  Status CopyWhatReplicationMisses() override {
    DBR_RETURN_IF_ERROR(CopyUnloggedTables());
    DBR_RETURN_IF_ERROR(SyncLargeObjectsInPause());
    return SetSequencesAhead();
  }

  Status BuildWayBack() override {
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
      DBR_RETURN_IF_ERROR(CreateSubscriptionOnSlot(
          *old_side, lane,
          SubscriptionConnInfo(ServerOf(config, to), config.upgrade.user,
                               ctx_.ReplicationPassword(), lane.subscription)));
    return Status::Ok();
  }

  Status WayBackStreams() override {
    return ReturnReplicationStreams(*old_side, link_out, from, to, clock, timings);
  }

  // The new side's materialized views hold what they held at the copy (or at the last switch).
  Status AfterSwitch() override {
    auto refreshed = RefreshMaterializedViews(*new_side, *new_side, config);
    if (!refreshed.ok()) return refreshed.status().Wrap("its materialized views are not refreshed");
    if (*refreshed > 0)
      log::info("{} materialized views refreshed on the {}", *refreshed, SideName(to));
    return Status::Ok();
  }

  std::string WayBackName() const override {
    return fmt::format("subscriptions {}", fmt::join(names::SubscriptionsOf(link_out), ", "));
  }

  // Whether a return slot has changes: the proxy resumed on the new side.
  Result<bool> NewSideTookWrites() override {
    for (const names::Link& lane : link_out) {
      DBR_ASSIGN_OR_RETURN(const bool exists, SlotExists(*new_side, lane.slot));
      if (!exists) continue;
      DBR_ASSIGN_OR_RETURN(const bool changes, SlotHasChanges(*new_side, lane));
      if (changes) return true;
    }
    return false;
  }

  Result<bool> StopWayBack() override {
    bool built = false;
    for (const names::Link& lane : link_out) {
      DBR_ASSIGN_OR_RETURN(const bool exists, SubscriptionExists(*old_side, lane.subscription));
      if (!exists) continue;
      built = true;
      DBR_RETURN_IF_ERROR(
          old_side->Exec("ALTER SUBSCRIPTION " + pg::QuoteIdent(lane.subscription) + " DISABLE"));
    }
    return built;
  }

  // No return slot, and the subscription into the new side running again.
  Status PutBackNewSide() override {
    Status result;
    for (const names::Link& lane : link_out) KeepFirstError(result, DropSlot(*new_side, lane.slot));
    for (const names::Link& lane : link_in)
      KeepFirstError(result, new_side->Exec("ALTER SUBSCRIPTION " +
                                            pg::QuoteIdent(lane.subscription) + " ENABLE"));
    return result;
  }

 private:
  pg::Connection& Of(Side side) { return side == from ? *old_side : *new_side; }
  SwitchSides Sides() { return {config, from, to, *old_side, *new_side, link_in}; }

  // Large objects are not replicated (engine/large_objects.h). Before the pause the new side is
  // brought level, so that inside it only what changed since is written again.
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

  Status SetSequencesAhead() {
    if (!sequences)
      DBR_RETURN_IF_ERROR(ReadScopeBeforePause());  // a switch resumed past the listing
    auto set = CopySequencesAhead(*old_side, *new_side, *sequences, config.sequence_gap);
    if (!set.ok()) return set.status();
    // setval is not transactional and the new side may commit asynchronously.
    return new_side->FlushCommitted();
  }

  const SwitchContext ctx_;
  const Config& config;
  Clock& clock;
  const Timings& timings;
  RunState& state;
  const Side from, to;
  const names::Links links;
  const std::vector<names::Link> link_in;   // carry writes into `to` (from -> to): its lanes
  const std::vector<names::Link> link_out;  // will carry them back (to -> from)
  std::optional<pg::Connection> old_side, new_side;
  std::optional<std::vector<RelationName>> sequences;  // in scope, from the old side
  std::optional<std::vector<TableInfo>> unlogged;      // in scope, from the old side
};

}  // namespace

std::unique_ptr<EngineSwitch> MakePostgresSwitch(const SwitchContext& ctx) {
  return std::make_unique<PostgresSwitch>(ctx);
}

}  // namespace dbr
