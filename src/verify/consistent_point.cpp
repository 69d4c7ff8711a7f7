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
#include "verify/table_shape.h"

namespace dbr::verify {
namespace {

std::string MarkerTable() {
  return pg::QualifiedName(names::kSchema, names::kVerifyMarkerTable);
}

// The marker table exists on both sides and is published (relocations set up before verify
// existed get it here).
Status EnsureMarkerReplicated(pg::Connection& sender, pg::Connection& receiver,
                              const names::Link& link) {
  DBR_RETURN_IF_ERROR(EnsureVerifyMarkerTable(sender));
  DBR_RETURN_IF_ERROR(EnsureVerifyMarkerTable(receiver));
  auto published = sender.QueryValue(
      "SELECT count(*) FROM pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND "
      "tablename = $3",
      {link.publication, names::kSchema, names::kVerifyMarkerTable});
  if (!published.ok()) return published.status();
  if (*published != "0") return Status::Ok();
  log::info("adding {} to publication {}", MarkerTable(), link.publication);
  DBR_RETURN_IF_ERROR(sender.Exec("ALTER PUBLICATION " + pg::QuoteIdent(link.publication) +
                                  " ADD TABLE " + MarkerTable()));
  return receiver.Exec("ALTER SUBSCRIPTION " + pg::QuoteIdent(link.subscription) +
                       " REFRESH PUBLICATION WITH (copy_data = false)");
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

// The changes of the transactions that committed before the marker `token`.
Result<Window> DecodeWindow(pg::Connection& sender, const std::string& slot,
                            const std::string& upto, const names::Link& link,
                            const std::string& token) {
  auto rows = sender.Query(
      "SELECT data FROM pg_logical_slot_peek_binary_changes($1, $2::pg_lsn, NULL, "
      "'proto_version', '1', 'publication_names', $3)",
      {slot, upto, link.publication});
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
        if (rel.schema == names::kSchema && rel.name == names::kVerifyMarkerTable &&
            m->new_tuple.size() > 1 && m->new_tuple[1].text == token)
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
  DBR_RETURN_IF_ERROR(EnsureMarkerReplicated(sender, receiver, sides.link));
  DBR_RETURN_IF_ERROR(DropStaleVerifySlots(sender));

  // An earlier marker still in flight would stop the apply worker before the point.
  DBR_ASSIGN_OR_RETURN(std::string last_marker,
                       sender.QueryValue("SELECT coalesce(max(id), 0) FROM " + MarkerTable()));
  const std::string lag_query =
      "SELECT coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn), 0)::bigint "
      "FROM pg_replication_slots WHERE slot_name = $1";
  auto lag = [&]() -> std::string {
    auto l = sender.QueryValue(lag_query, {sides.link.slot});
    return l.ok() ? "replication lag " + *l + " bytes" : l.message();
  };
  DBR_RETURN_IF_ERROR(WaitFor(
      "waiting for the " + sides.receiver.label + " to apply earlier markers", timeout_s,
      [&]() -> Result<bool> {
        auto n = receiver.QueryValue(
            "SELECT coalesce(max(id), 0) >= $1::bigint FROM " + MarkerTable(), {last_marker});
        if (!n.ok()) return n.status();
        return *n == "t";
      },
      lag));

  DBR_ASSIGN_OR_RETURN(pg::Connection lock, OpenVerifySession(sides.receiver));
  DBR_RETURN_IF_ERROR(lock.Exec("BEGIN"));
  DBR_RETURN_IF_ERROR(lock.Exec("LOCK TABLE " + MarkerTable() + " IN EXCLUSIVE MODE"));

  pg::ConnParams repl_params = sides.sender;
  repl_params.replication = true;
  std::optional<pg::Connection> repl;
  {
    auto c = pg::Connection::Open(repl_params);
    if (!c.ok()) return c.status().Wrap("opening a replication connection");
    repl.emplace(std::move(*c));
  }
  const std::string slot = names::kVerifySlotPrefix + std::to_string(getpid());
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
  const std::string token = RandomPassword(24);
  DBR_RETURN_IF_ERROR(
      sender.Exec("INSERT INTO " + MarkerTable() + " (token) VALUES ($1)", {token}));
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
        auto r = receiver.Query(
            "SELECT count(*) FILTER (WHERE l.pid IS NOT NULL), count(s.pid) "
            "FROM pg_stat_subscription s LEFT JOIN pg_locks l ON l.pid = s.pid AND NOT l.granted "
            "AND l.locktype = 'relation' AND l.relation = to_regclass($2) "
            "WHERE s.subid = (SELECT oid FROM pg_subscription WHERE subname = $1 AND " +
                std::string(names::kSubscriptionInThisDatabase) + ")",
            {sides.link.subscription, MarkerTable()});
        if (!r.ok()) return r.status();
        if (r->GetInt(0, 1) == 0)
          return Status::Error(fmt::format(
              "subscription {} has no running apply worker on the {} (see its server log; "
              "`db_relocate status` shows the replication)",
              sides.link.subscription, sides.receiver.label));
        return r->GetInt(0, 0) > 0;
      },
      lag));

  DBR_ASSIGN_OR_RETURN(pg::Connection exporter, OpenVerifySession(sides.receiver));
  DBR_RETURN_IF_ERROR(exporter.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  DBR_ASSIGN_OR_RETURN(std::string receiver_snapshot,
                       exporter.QueryValue("SELECT pg_export_snapshot()"));
  auto receiver_readers = OpenReaders(sides.receiver, readers, receiver_snapshot);
  DBR_RETURN_IF_ERROR(lock.Exec("COMMIT"));  // the apply worker goes on
  if (!receiver_readers.ok()) return receiver_readers.status();

  DBR_ASSIGN_OR_RETURN(Window window, DecodeWindow(sender, slot, upto, sides.link, token));
  log::info("verify: both sides read at {} ({} changes committed in the window before the marker)",
            created.consistent_point.ToString(), window.changes.size());
  return ConsistentPoint{std::move(*sender_readers), std::move(*receiver_readers),
                         std::move(window), created.consistent_point};
}

}  // namespace dbr::verify
