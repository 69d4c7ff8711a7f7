#include "snapshot/table_copy.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "model/servers.h"
#include "pg/copy_stream.h"
#include "pg/quote.h"
#include "snapshot/copy_sampler.h"
#include "util/fault.h"
#include "util/log.h"
#include "util/parallel.h"
#include "util/parse.h"
#include "util/progress.h"

namespace dbr {
namespace {

constexpr int64_t kBlockSize = 8192;
constexpr int64_t kFirstUserOid = 16384;  // FirstNormalObjectId: below it, built-in types

// Saving the state flushes the destination's WAL and syncs a file: longer than a small table's
// whole copy. The first table done is saved at once, then at most once per period and at the
// end; a crash copies again at most the tables of one period. (A test that needs tables copied
// and not yet saved sets a longer period in DBR_COPY_SAVE_PERIOD, in seconds.)
double StateSavePeriodSeconds() {
  static const double period = [] {
    const char* set = std::getenv("DBR_COPY_SAVE_PERIOD");
    return set ? ParseDouble(set).value_or(1.0) : 1.0;
  }();
  return period;
}

// A COPY of a large table (or a large table's ANALYZE) takes long, and a worker's source
// session waits in its snapshot's transaction while the worker builds a table's indexes: no
// timeout the role or database may set ends either side's session (pg_restore sets the same).
constexpr const char* kNoTimeouts =
    "SET statement_timeout = 0; SET idle_in_transaction_session_timeout = 0";

// One COPY: a whole table, or a range of its blocks.
struct CopyUnit {
  size_t table;  // index into the tables vector
  int part = 0;
  int parts = 1;
  int64_t first_block = 0;
  int64_t end_block = -1;  // exclusive; -1: to the end of the table
  int64_t bytes = 0;       // estimate, for ordering and ETA
};

struct TableTracker {
  int units_left = 0;
  int64_t rows = 0;
  int64_t bytes = 0;
  Clock::TimePoint started{};
  bool started_set = false;
};

}  // namespace

namespace {

std::vector<CopyUnit> PlanUnits(const std::vector<TableInfo>& tables, int64_t split_above,
                                int jobs) {
  std::vector<int64_t> sizes;
  for (const TableInfo& t : tables) sizes.push_back(t.bytes);
  const std::vector<int> planned = PlanCopyParts(sizes, split_above, jobs);
  std::vector<CopyUnit> units;
  for (size_t i = 0; i < tables.size(); ++i) {
    const TableInfo& t = tables[i];
    const int parts = planned[i];
    int64_t blocks = t.bytes / kBlockSize;
    for (int p = 0; p < parts; ++p) {
      CopyUnit u{.table = i, .part = p, .parts = parts};
      if (parts > 1) {
        u.first_block = blocks * p / parts;
        u.end_block = p + 1 == parts ? -1 : blocks * (p + 1) / parts;
      }
      u.bytes = t.bytes / parts;
      units.push_back(u);
    }
  }
  std::stable_sort(units.begin(), units.end(),
                   [](const CopyUnit& a, const CopyUnit& b) { return a.bytes > b.bytes; });
  return units;
}

struct ColumnList {
  std::string names;  // "a", "b"
  bool binary = true;
};

Result<ColumnList> ReadColumns(pg::Connection& src, const TableInfo& t) {
  auto r = src.Query(R"sql(
    SELECT a.attname, a.atttypid::int8
      FROM pg_attribute a
     WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
       AND a.attgenerated = ''
     ORDER BY a.attnum)sql",
                     {t.Qualified()});
  if (!r.ok()) return r.status();
  ColumnList cols;
  for (int i = 0; i < r->rows(); ++i) {
    if (!cols.names.empty()) cols.names += ", ";
    cols.names += pg::QuoteIdent(r->Get(i, 0));
    // Binary COPY carries type OIDs inside arrays and composites and the formats of extension
    // types are their own: only built-in types (and arrays of them) travel in binary.
    if (r->GetInt(i, 1) >= kFirstUserOid) cols.binary = false;
  }
  return cols;
}

std::string RangePredicate(const CopyUnit& u) {
  if (u.parts == 1) return "";
  std::string where;
  if (u.first_block > 0) where = fmt::format("ctid >= '({},0)'::tid", u.first_block);
  if (u.end_block >= 0)
    where += fmt::format("{}ctid < '({},0)'::tid", where.empty() ? "" : " AND ", u.end_block);
  return where.empty() ? "" : " WHERE " + where;
}

class ParallelCopy {
 public:
  ParallelCopy(RunContext& ctx, const std::vector<TableInfo>& tables, std::string snapshot,
               const TableCopied& copied)
      : ctx_(ctx), tables_(tables), snapshot_(std::move(snapshot)), copied_(copied) {}

  Status Run() {
    int jobs = ctx_.Jobs();
    auto units = PlanUnits(tables_, ctx_.config.split_tables_larger_than, jobs);
    units_ = units;
    // A split table's parts are loaded concurrently, into the table emptied here; a whole table
    // is emptied by its own COPY's transaction.
    for (const auto& u : units)
      if (u.part == 0 && u.parts > 1)
        DBR_RETURN_IF_ERROR(ctx_.dst->Exec("TRUNCATE ONLY " + tables_[u.table].Qualified()));
    for (const auto& u : units) {
      trackers_[u.table].units_left++;
      total_estimate_ += u.bytes;
    }
    jobs = std::min<int>(jobs, static_cast<int>(std::max<size_t>(1, units.size())));
    log::info("copying rows of {} tables ({} copy units, ~{} on disk) with {} workers",
              tables_.size(), units.size(), HumanBytes(static_cast<double>(total_estimate_)), jobs);
    started_ = ctx_.clock.Now();
    Status result;
    {
      ProgressReporter progress([this] { return ProgressLine(); });
      CopySampler samples(ctx_.store, ctx_.state, live_, ctx_.clock);
      workers_.resize(static_cast<size_t>(jobs));
      result = RunParallel(jobs, units_.size(), [this](size_t i, int w) {
        Status st = CopyUnitOn(units_[i], workers_[static_cast<size_t>(w)]);
        if (!st.ok()) cancelled_ = true;  // the other workers' streams stop too
        return st;
      });
    }
    if (result.ok() && !unsaved_.empty()) result = SaveProgress();
    double secs = Elapsed();
    ctx_.rows_copied += live_.rows.load();
    ctx_.bytes_copied += live_.bytes.load();
    ctx_.copy_seconds += secs;
    if (!result.ok()) return result;
    log::info("copied {} rows, {} in {} ({}/s)", live_.rows.load(),
              HumanBytes(static_cast<double>(live_.bytes.load())), HumanDuration(secs),
              HumanBytes(live_.bytes.load() / std::max(secs, 0.001)));
    return Status::Ok();
  }

 private:
  double Elapsed() const { return ctx_.clock.SecondsSince(started_); }

  std::string ProgressLine() {
    std::lock_guard<std::mutex> lock(mu_);
    double secs = Elapsed();
    double bytes = static_cast<double>(live_.bytes.load());
    double rate = bytes / std::max(secs, 0.001);
    std::string eta = "?";
    if (rate > 0 && total_estimate_ > bytes)
      eta = HumanDuration((static_cast<double>(total_estimate_) - bytes) / rate);
    std::string active;
    for (const auto& [name, count] : active_)
      if (count > 0) active += (active.empty() ? "" : ", ") + name;
    if (active.size() > 80) active = active.substr(0, 77) + "...";
    return fmt::format("copy: {}/{} tables, {} of ~{}, {} rows, {}/s, ETA {}{}", tables_done_,
                       tables_.size(), HumanBytes(bytes),
                       HumanBytes(static_cast<double>(total_estimate_)), live_.rows.load(),
                       HumanBytes(rate), eta, active.empty() ? "" : " | " + active);
  }

  Status OpenWorkerConnections(std::optional<pg::Connection>* src,
                               std::optional<pg::Connection>* dst) {
    auto s = pg::Connection::Open(SourceParams(ctx_.config));
    if (!s.ok()) return s.status();
    src->emplace(std::move(*s));
    DBR_RETURN_IF_ERROR((*src)->Exec(kNoTimeouts));
    DBR_RETURN_IF_ERROR((*src)->BeginAtSnapshot(snapshot_));
    auto d = pg::Connection::Open(DestinationParams(ctx_.config));
    if (!d.ok()) return d.status();
    dst->emplace(std::move(*d));
    DBR_RETURN_IF_ERROR((*dst)->Exec(kNoTimeouts));
    // The rows are final: skip synchronous flushes, as pg_restore does for data.
    return (*dst)->Exec("SET synchronous_commit = off");
  }

  // One worker's connections: the source inside the exported snapshot, the destination.
  struct WorkerConnections {
    std::optional<pg::Connection> src, dst;
  };

  Status CopyUnitOn(const CopyUnit& unit, WorkerConnections& conns) {
    if (!conns.src) DBR_RETURN_IF_ERROR(OpenWorkerConnections(&conns.src, &conns.dst));
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto& tr = trackers_[unit.table];
      if (!tr.started_set) {
        tr.started = ctx_.clock.Now();
        tr.started_set = true;
      }
      active_[Label(unit)]++;
    }
    auto result = CopyOne(*conns.src, *conns.dst, unit);
    if (!result.ok()) {
      return result.status().Wrap(
          "copying " + tables_[unit.table].Display() +
          (unit.parts > 1 ? fmt::format(" (part {}/{})", unit.part + 1, unit.parts) : ""));
    }
    // The COPY committed (maybe asynchronously); the state names the table as copied only once
    // saved, and saving flushes the destination's WAL, this commit included, first.
    bool table_done = false;
    DBR_RETURN_IF_ERROR(UnitDone(unit, *result, &table_done));
    if (!table_done || !copied_) return Status::Ok();
    const std::string label = "indexes of " + tables_[unit.table].Display();
    {
      std::lock_guard<std::mutex> lock(mu_);
      active_[label]++;
    }
    Status st = copied_(tables_[unit.table], *conns.dst);
    std::lock_guard<std::mutex> lock(mu_);
    active_[label]--;
    return st;
  }

  std::string Label(const CopyUnit& u) const {
    std::string name = tables_[u.table].Display();
    return u.parts > 1 ? fmt::format("{}[{}/{}]", name, u.part + 1, u.parts) : name;
  }

  // A whole table is emptied and loaded in one transaction, so its rows arrive frozen (COPY
  // FREEZE); the parts of a split table go into the table Run() emptied.
  Result<pg::CopyResult> CopyOne(pg::Connection& src, pg::Connection& dst, const CopyUnit& unit) {
    const TableInfo& t = tables_[unit.table];
    auto cols = ReadColumns(src, t);
    if (!cols.ok()) return cols.status();
    const bool whole = unit.parts == 1;
    if (whole) DBR_RETURN_IF_ERROR(dst.Exec("BEGIN; TRUNCATE ONLY " + t.Qualified()));
    auto copied = CopyColumns(src, dst, unit, *cols, whole);
    if (whole) {
      Status ended = dst.Exec(copied.ok() ? "COMMIT" : "ROLLBACK");
      if (copied.ok() && !ended.ok()) return ended;
    }
    return copied;
  }

  Result<pg::CopyResult> CopyColumns(pg::Connection& src, pg::Connection& dst, const CopyUnit& unit,
                                     const ColumnList& cols, bool freeze) {
    if (cols.names.empty()) return pg::CopyResult{};  // a table without columns: nothing to stream
    const TableInfo& t = tables_[unit.table];
    const std::string format = cols.binary ? "binary" : "text";
    std::string out_sql = fmt::format("COPY (SELECT {} FROM ONLY {}{}) TO STDOUT (FORMAT {})",
                                      cols.names, t.Qualified(), RangePredicate(unit), format);
    std::string in_sql = fmt::format("COPY {} ({}) FROM STDIN (FORMAT {}{})", t.Qualified(),
                                     cols.names, format, freeze ? ", FREEZE" : "");
    return pg::StreamCopy(src, out_sql, dst, in_sql, &live_, &cancelled_);
  }

  Status UnitDone(const CopyUnit& unit, const pg::CopyResult& r, bool* table_done) {
    std::lock_guard<std::mutex> lock(mu_);
    active_[Label(unit)]--;
    auto& tr = trackers_[unit.table];
    tr.rows += r.rows;
    tr.bytes += r.bytes;
    if (--tr.units_left > 0) return Status::Ok();
    *table_done = true;
    ++tables_done_;
    const TableInfo& t = tables_[unit.table];
    const double secs = ctx_.clock.SecondsSince(tr.started);
    log::debug("table {} copied: {} rows, {} in {}", t.Display(), tr.rows,
               HumanBytes(static_cast<double>(tr.bytes)), HumanDuration(secs));
    unsaved_[t.Qualified()] = {TableState::kCopied, tr.rows, tr.bytes, secs};
    if (last_saved_ && ctx_.clock.SecondsSince(*last_saved_) < StateSavePeriodSeconds()) {
      PausePoint("copy:table-unsaved");
      return Status::Ok();
    }
    return SaveProgress();
  }

  // Called with mu_ held, or once the workers are done. The tables copied since the last save
  // join the state at a save, which flushes the destination's WAL past their (asynchronous)
  // commits first; one that fails leaves them out of the file, and a resumed step copies them
  // again. Not sooner: a save of another thread, its flush already made, would record them.
  Status SaveProgress() {
    last_saved_ = ctx_.clock.Now();
    {
      std::lock_guard<std::mutex> state_lock(ctx_.state_mutex);
      for (const auto& [table, progress] : unsaved_) ctx_.state.tables[table] = progress;
    }
    unsaved_.clear();
    DBR_RETURN_IF_ERROR(ctx_.SaveState());
    CrashPoint("copy:table-done");  // some tables copied, others not
    return Status::Ok();
  }

  RunContext& ctx_;
  const std::vector<TableInfo>& tables_;
  std::string snapshot_;
  const TableCopied& copied_;
  std::mutex mu_;
  std::vector<CopyUnit> units_;  // largest first
  std::vector<WorkerConnections> workers_;
  std::map<size_t, TableTracker> trackers_;
  std::map<std::string, int> active_;
  size_t tables_done_ = 0;
  std::optional<Clock::TimePoint> last_saved_;    // of the state, with the tables copied by then
  std::map<std::string, TableProgress> unsaved_;  // tables copied since, not yet saved
  int64_t total_estimate_ = 0;
  CopyCounters live_;
  std::atomic<bool> cancelled_{false};
  Clock::TimePoint started_;
};

}  // namespace

Status CopyTables(RunContext& ctx, const std::vector<TableInfo>& tables,
                  const std::string& snapshot, const TableCopied& copied) {
  if (tables.empty()) return Status::Ok();
  return ParallelCopy(ctx, tables, snapshot, copied).Run();
}

}  // namespace dbr
