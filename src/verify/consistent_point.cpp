#include "verify/consistent_point.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <optional>

#include "engine/heartbeat.h"
#include "model/timings.h"
#include "pg/quote.h"
#include "pg/replication.h"
#include "util/fault.h"
#include "util/files.h"
#include "util/log.h"
#include "util/text.h"
#include "verify/table_shape.h"

namespace dbr::verify {
namespace {

std::vector<std::string> MarkerTables(const std::vector<names::Link>& lanes) {
  std::vector<std::string> out;
  for (const names::Link& lane : lanes) out.push_back(LaneMarkerTable(lane.lane));
  return out;
}

Status WaitFor(const std::string& what, int64_t timeout_s,
               const std::function<Result<bool>()>& done,
               const std::function<std::string()>& progress) {
  const Timings::Verify& timings = Timings::Default().verify;
  Clock& clock = RealClock();
  const Clock::TimePoint start = clock.Now();
  Clock::TimePoint last_report = start;
  while (true) {
    auto d = done();
    if (!d.ok()) return d.status();
    if (*d) return Status::Ok();
    const Clock::TimePoint now = clock.Now();
    if (now - start > std::chrono::seconds(timeout_s))
      return Status::Error(
          fmt::format("{} took longer than {} s ({})", what, timeout_s, progress()));
    if (now - last_report > timings.progress_every) {
      log::info("verify: {}... ({})", what, progress());
      last_report = now;
    }
    clock.SleepFor(timings.poll);
  }
}

Result<std::vector<pg::Connection>> OpenReaders(const pg::ConnParams& params, int n,
                                                const std::string& snapshot) {
  std::vector<pg::Connection> out;
  for (int i = 0; i < n; ++i) {
    auto c = OpenVerifySession(params);
    if (!c.ok()) return c.status();
    DBR_RETURN_IF_ERROR(c->BeginAtSnapshot(snapshot));
    out.push_back(std::move(*c));
  }
  return out;
}

// Making the slot waits for every transaction running on the sender: a prepared one, or one
// running for a while, may keep it waiting long, and the user is told which.
void WarnOfWhatTheSlotWaitsFor(pg::Connection& sender) {
  constexpr int kNamedAfterSeconds = 10;
  auto waits = pg::WhatASlotWaitsFor(sender, kNamedAfterSeconds);
  if (!waits.ok()) return;  // only a warning: the slot tells the rest
  std::vector<std::string> all = waits->prepared;
  all.insert(all.end(), waits->long_running.begin(), waits->long_running.end());
  if (all.empty()) return;
  log::warn(
      "the consistent point (a replication slot on the {}) waits until these transactions end: "
      "{}",
      sender.params().label, Join(all, "; "));
}

// The changes of the transactions that committed before the marker `token`.
Result<Window> DecodeWindow(pg::Connection& sender, const std::string& slot,
                            const std::string& upto, const std::vector<names::Link>& lanes,
                            const std::string& token) {
  auto rows = sender.Query(
      "SELECT data FROM pg_logical_slot_peek_binary_changes($1, $2::pg_lsn, NULL, "
      "'proto_version', '1', 'publication_names', $3)",
      {slot, upto, Join(names::PublicationsOf(lanes), ",")});
  if (!rows.ok()) return rows.status().Wrap("decoding the verify window");
  Window w;
  std::vector<pg::pgoutput::Message> txn;
  bool in_marker_txn = false;
  for (int r = 0; r < rows->rows(); ++r) {
    auto bytes = pg::pgoutput::DecodeByteaHex(rows->Get(r, 0));
    if (!bytes.ok()) return bytes.status();
    auto m = pg::pgoutput::Parse(*bytes);
    if (!m.ok()) return m.status();
    switch (m->type) {
      case 'R':
        w.relations[m->relation.id] = m->relation;
        break;
      case 'B':
        txn.clear();
        in_marker_txn = false;
        break;
      case 'I': {
        const auto& rel = w.relations[m->relid];
        if (names::VerifyMarkerLane(rel.schema, rel.name) > 0 && m->new_tuple.size() > 1 &&
            m->new_tuple[1].text == token)
          in_marker_txn = true;
        txn.push_back(std::move(*m));
        break;
      }
      case 'U':
      case 'D':
      case 'T':
        txn.push_back(std::move(*m));
        break;
      case 'C':
        if (in_marker_txn) return w;
        for (auto& c : txn) w.changes.push_back(std::move(c));
        txn.clear();
        break;
      default:
        break;
    }
  }
  return Status::Error("internal: the verify marker was not found in the decoded window");
}

}  // namespace

const char* const kStaleVerifySlots =
    "FROM pg_replication_slots WHERE NOT active AND slot_name LIKE $1 AND database = "
    "current_database()";

Result<int64_t> CountStaleVerifySlots(pg::Connection& conn) {
  return conn.QueryInt(std::string("SELECT count(*) ") + kStaleVerifySlots,
                       {std::string(names::kVerifySlotPrefix) + "%"});
}

Status DropStaleVerifySlots(pg::Connection& conn) {
  return conn.Exec(std::string("SELECT pg_drop_replication_slot(slot_name) ") + kStaleVerifySlots,
                   {std::string(names::kVerifySlotPrefix) + "%"});
}

Result<pg::Connection> OpenVerifySession(pg::ConnParams params) {
  params.application_name = "db_relocate verify";
  auto c = pg::Connection::Open(params);
  if (!c.ok()) return c.status();
  DBR_RETURN_IF_ERROR(c->Exec(kSessionSettings));
  return c;
}

Result<ConsistentPoint> TakeConsistentPoint(const Sides& sides, int readers, int64_t timeout_s) {
  DBR_ASSIGN_OR_RETURN(pg::Connection sender, OpenVerifySession(sides.sender));
  DBR_ASSIGN_OR_RETURN(pg::Connection receiver, OpenVerifySession(sides.receiver));
  for (const names::Link& lane : sides.lanes)
    DBR_RETURN_IF_ERROR(EnsureLaneMarkerReplicated(sender, receiver, lane));
  DBR_RETURN_IF_ERROR(DropStaleVerifySlots(sender));

  const std::string lag_query =
      "SELECT coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)), 0)::bigint "
      "FROM pg_replication_slots WHERE slot_name = ANY($1::text[])";
  auto lag = [&]() -> std::string {
    auto l = sender.QueryValue(lag_query, {pg::TextArrayLiteral(names::SlotsOf(sides.lanes))});
    return l.ok() ? "replication lag " + *l + " bytes" : l.message();
  };
  // An earlier marker still in flight would stop an apply worker before the point.
  for (const names::Link& lane : sides.lanes) {
    DBR_ASSIGN_OR_RETURN(
        std::string last_marker,
        sender.QueryValue("SELECT coalesce(max(id), 0) FROM " + LaneMarkerTable(lane.lane)));
    DBR_RETURN_IF_ERROR(WaitFor(
        "waiting for the " + sides.receiver.label + " to apply earlier markers", timeout_s,
        [&]() -> Result<bool> {
          auto n = receiver.QueryValue(
              "SELECT coalesce(max(id), 0) >= $1::bigint FROM " + LaneMarkerTable(lane.lane),
              {last_marker});
          if (!n.ok()) return n.status();
          return *n == "t";
        },
        lag));
  }

  DBR_ASSIGN_OR_RETURN(pg::Connection lock, OpenVerifySession(sides.receiver));
  DBR_RETURN_IF_ERROR(lock.Exec("BEGIN"));
  DBR_RETURN_IF_ERROR(
      lock.Exec("LOCK TABLE " + Join(MarkerTables(sides.lanes), ", ") + " IN EXCLUSIVE MODE"));

  pg::ConnParams repl_params = sides.sender;
  repl_params.replication = true;
  std::optional<pg::Connection> repl;
  {
    auto c = pg::Connection::Open(repl_params);
    if (!c.ok()) return c.status().Wrap("opening a replication connection");
    repl.emplace(std::move(*c));
  }
  const std::string slot = names::kVerifySlotPrefix + std::to_string(getpid());
  WarnOfWhatTheSlotWaitsFor(sender);
  DBR_ASSIGN_OR_RETURN(pg::CreatedSlot created,
                       pg::CreateLogicalSlotExportingSnapshot(*repl, slot));
  // From here the slot retains WAL: it goes on every path out.
  struct SlotGuard {
    pg::Connection& conn;
    std::string name;
    ~SlotGuard() {
      (void)conn.Exec(
          "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE "
          "slot_name = $1 AND NOT active",
          {name});
    }
  } guard{sender, slot};
  CrashPoint("verify:slot-created");
  PausePoint("verify:window");  // the tests widen the window to be sure writes land in it
  // One transaction: every lane's stream carries the marker at the same point of the source's.
  const std::string token = RandomPassword(24);
  DBR_RETURN_IF_ERROR(sender.Exec("BEGIN"));
  for (const std::string& table : MarkerTables(sides.lanes)) {
    if (Status st = sender.Exec("INSERT INTO " + table + " (token) VALUES ($1)", {token});
        !st.ok()) {
      (void)sender.Exec("ROLLBACK");
      return st;
    }
  }
  DBR_RETURN_IF_ERROR(sender.Exec("COMMIT"));
  // Read after the marker's commit: decoding up to here includes it.
  DBR_ASSIGN_OR_RETURN(std::string upto,
                       sender.QueryValue("SELECT pg_current_wal_insert_lsn()::text"));
  auto sender_readers = OpenReaders(sides.sender, readers, created.snapshot);
  repl.reset();  // its exported snapshot has been imported (or failed to be)
  if (!sender_readers.ok()) return sender_readers.status();

  DBR_RETURN_IF_ERROR(WaitFor(
      "waiting for the " + sides.receiver.label + " to apply everything before the marker",
      timeout_s,
      [&]() -> Result<bool> {
        // Per lane: its running workers, and those waiting for the lock on a marker table.
        auto r = receiver.Query(
            "SELECT sub.subname, count(w.pid), count(l.pid) FROM pg_subscription sub "
            "LEFT JOIN pg_stat_subscription w ON w.subid = sub.oid "
            "LEFT JOIN pg_locks l ON l.pid = w.pid AND NOT l.granted AND l.locktype = "
            "'relation' AND l.relation = ANY($2::regclass[]) "
            "WHERE sub.subname = ANY($1::text[]) AND " +
                std::string(names::kSubscriptionInThisDatabase) + " GROUP BY 1 ORDER BY 1",
            {pg::TextArrayLiteral(names::SubscriptionsOf(sides.lanes)),
             pg::TextArrayLiteral(MarkerTables(sides.lanes))});
        if (!r.ok()) return r.status();
        bool all_there = r->rows() == static_cast<int>(sides.lanes.size());
        for (int i = 0; i < r->rows(); ++i) {
          if (r->GetInt(i, 1) == 0)
            return Status::Error(fmt::format(
                "subscription {} has no running apply worker on the {} (see its server log; "
                "`db_relocate status` shows the replication)",
                r->Get(i, 0), sides.receiver.label));
          all_there = all_there && r->GetInt(i, 2) > 0;
        }
        return all_there;
      },
      lag));

  DBR_ASSIGN_OR_RETURN(pg::Connection exporter, OpenVerifySession(sides.receiver));
  DBR_RETURN_IF_ERROR(exporter.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  DBR_ASSIGN_OR_RETURN(std::string receiver_snapshot,
                       exporter.QueryValue("SELECT pg_export_snapshot()"));
  auto receiver_readers = OpenReaders(sides.receiver, readers, receiver_snapshot);
  DBR_RETURN_IF_ERROR(lock.Exec("COMMIT"));  // the apply worker goes on
  if (!receiver_readers.ok()) return receiver_readers.status();

  DBR_ASSIGN_OR_RETURN(Window window, DecodeWindow(sender, slot, upto, sides.lanes, token));
  log::info("verify: both sides read at {} ({} changes committed in the window before the marker)",
            created.consistent_point.ToString(), window.changes.size());
  return ConsistentPoint{std::move(*sender_readers), std::move(*receiver_readers),
                         std::move(window), created.consistent_point};
}

}  // namespace dbr::verify
