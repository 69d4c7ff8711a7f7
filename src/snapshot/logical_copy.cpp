// The logical copy: schema and rows read under the replication slot's exported snapshot, so the
// destination holds the source exactly as of the slot's consistent point.
#include <fmt/format.h>

#include <algorithm>
#include <mutex>
#include <set>
#include <vector>

#include "engine/large_objects.h"
#include "engine/materialized_views.h"
#include "engine/schema_drift.h"
#include "model/names.h"
#include "model/scope.h"
#include "model/servers.h"
#include "pg/quote.h"
#include "pg/tools.h"
#include "snapshot/referencing_tables.h"
#include "snapshot/schema_dump.h"
#include "snapshot/snapshot_source.h"
#include "snapshot/table_copy.h"
#include "snapshot/table_indexes.h"
#include "util/fault.h"
#include "util/log.h"
#include "util/parallel.h"
#include "util/phases.h"

namespace dbr {
namespace {

// Tables from this size on get their indexes built as soon as their rows are in. The smaller
// ones' take less time than the pg_restore process that would build them: they are built in
// batches once the last of them is in, while a large table still copies or builds its indexes
// on another worker, or else at the end, `jobs` at a time.
constexpr int64_t kEarlyIndexBytes = 16LL * 1024 * 1024;
// The small tables' indexes are built this many tables to a transaction (which locks each table
// and index it creates until it ends: max_locks_per_transaction), a batch at a time per worker.
constexpr size_t kTablesPerBatch = 100;

class LogicalCopySource : public SnapshotSource {
 public:
  const char* name() const override { return "logical copy"; }
  bool ExportsSnapshot() const override { return true; }

  Status Take(RunContext& ctx) override {
    auto pg_dump = pg::FindPgTool("pg_dump", ctx.src->server_major(), ctx.config.pg_bin_dir);
    if (!pg_dump.ok()) return pg_dump.status();
    auto pg_restore = pg::FindPgTool("pg_restore", pg_dump->major, ctx.config.pg_bin_dir);
    if (!pg_restore.ok()) return pg_restore.status();
    auto archive = ctx.store.file("schema.dump");
    const bool indexes_interrupted = ctx.state.snapshot_phase == SnapshotPhase::kIndexes;
    auto schema = [&]() -> Result<SnapshotPhase> {
      DBR_RETURN_IF_ERROR(RestoreSchema(ctx, *pg_dump, *pg_restore, archive));
      return SnapshotPhase::kRows;
    };
    const PhaseRow<SnapshotPhase> phases[] = {
        {SnapshotPhase::kNone, schema},
        {SnapshotPhase::kSchema, schema},
        {SnapshotPhase::kRows,
         [&]() -> Result<SnapshotPhase> {
           DBR_RETURN_IF_ERROR(CopyRows(ctx, *pg_restore, archive));
           return SnapshotPhase::kIndexes;
         }},
        {SnapshotPhase::kIndexes,
         [&]() -> Result<SnapshotPhase> {
           DBR_ASSIGN_OR_RETURN(const TableIndexes* indexes, Indexes(ctx, *pg_restore, archive));
           DBR_ASSIGN_OR_RETURN(const std::set<std::string> built, indexes->Built(*ctx.dst));
           log::info(
               "building indexes and constraints (pg_dump's post-data part, {} jobs; {} built "
               "with their tables' rows)",
               ctx.Jobs(), built.size());
           DBR_ASSIGN_OR_RETURN(const std::string* toc, Toc(*pg_restore, archive));
           DBR_RETURN_IF_ERROR(RestoreSection(ctx.config, *pg_restore, archive, *toc, "post-data",
                                              ctx.Jobs(), indexes_interrupted, *ctx.dst, built));
           DBR_RETURN_IF_ERROR(RefreshMaterializedViews(*ctx.src, *ctx.dst, ctx.config).status());
           return SnapshotPhase::kAnalyze;
         }},
        {SnapshotPhase::kAnalyze,
         [&]() -> Result<SnapshotPhase> {
           DBR_RETURN_IF_ERROR(Analyze(ctx));
           return SnapshotPhase::kDone;
         }},
    };
    return RunPhases(ctx.state.snapshot_phase, SnapshotPhase::kDone, phases, "snapshot",
                     [&] { return ctx.SaveState(); });
  }

 private:
  Status RestoreSchema(RunContext& ctx, const pg::PgTool& pg_dump, const pg::PgTool& pg_restore,
                       const std::filesystem::path& archive) {
    if (ctx.state.snapshot_phase == SnapshotPhase::kSchema) {
      // An earlier attempt stopped here; pre-data is restored in one transaction, so either
      // all of it is there (the heartbeat table with it) or nothing is.
      auto there = ctx.dst->QueryValue("SELECT to_regclass($1) IS NOT NULL",
                                       {pg::QualifiedName(names::kSchema, names::kHeartbeatTable)});
      if (there.ok() && *there == "t") return Status::Ok();
    }
    if (ctx.exported_snapshot.empty())
      return Status::Error("internal: the schema must be dumped under the slot's snapshot");
    ctx.state.snapshot_phase = SnapshotPhase::kSchema;
    DBR_RETURN_IF_ERROR(ctx.SaveState());
    DBR_ASSIGN_OR_RETURN(auto scope, ListScope(*ctx.src, ctx.config));
    log::info("dumping the schema with pg_dump {} under snapshot {}", pg_dump.version,
              ctx.exported_snapshot);
    // pg_dump reads the schema while the roles and extensions it needs are made on the
    // destination (on this connection alone: the other task only runs pg_dump).
    DBR_RETURN_IF_ERROR(RunParallel(2, 2, [&](size_t task, int) -> Status {
      if (task == 0)
        return DumpSchema(ctx.config, pg_dump, ctx.exported_snapshot, scope.schemas,
                          scope.ExcludedTablesAndSequences(), archive);
      DBR_RETURN_IF_ERROR(EnsureRoles(*ctx.src, *ctx.dst, scope.schemas, &ctx.state.created_roles));
      DBR_RETURN_IF_ERROR(GrantExistingSchemaPrivileges(*ctx.src, *ctx.dst, scope.schemas));
      return EnsureExtensions(*ctx.src, *ctx.dst);
    }));
    toc_.reset();  // a new archive
    DBR_ASSIGN_OR_RETURN(const std::string* toc, Toc(pg_restore, archive));
    log::info("restoring tables, types and functions (pg_dump's pre-data part) on the destination");
    DBR_RETURN_IF_ERROR(
        RestoreSection(ctx.config, pg_restore, archive, *toc, "pre-data", 1, false, *ctx.dst));
    ctx.state.schema_lsn = ctx.state.snapshot_lsn;  // saved with the phase
    return Status::Ok();
  }

  // The destination's schema was dumped under an earlier slot's snapshot (a run killed before
  // any table was copied; the slot made again since). A table the source changed in between
  // would not take the rows copied now: said with the fix before copying, not as a COPY error.
  Status SchemaFitsTheSnapshot(RunContext& ctx) {
    if (ctx.state.schema_lsn == ctx.state.snapshot_lsn) return Status::Ok();
    DBR_ASSIGN_OR_RETURN(const std::vector<DriftItem> drift,
                         ReadSchemaDrift(*ctx.src, *ctx.dst, ctx.links.forward, ctx.config));
    // Any difference: the copy is binary, where even a wider type does not fit. (Tables created
    // since are left out of the copy: RunContext::CreatedSinceTheSchema.)
    std::string list;
    for (const auto& d : drift)
      if (!d.not_replicated) list += "\n  " + d.ToString();
    if (list.empty()) return Status::Ok();
    return Status::Error(
        "the source's schema changed while the run was down, after the destination's schema was "
        "restored: the rows copied now would not fit. Run the fix on the destination, then "
        "`db_relocate run` again:" +
        list);
  }

  // The archive's table of contents (listed once per process and archive).
  Result<const std::string*> Toc(const pg::PgTool& pg_restore,
                                 const std::filesystem::path& archive) {
    if (!toc_) {
      DBR_ASSIGN_OR_RETURN(std::string listed, ArchiveToc(pg_restore, archive));
      toc_ = std::move(listed);
    }
    return &*toc_;
  }

  // The archive's index entries by table (planned once per process).
  Result<const TableIndexes*> Indexes(RunContext& ctx, const pg::PgTool& pg_restore,
                                      const std::filesystem::path& archive) {
    if (!indexes_) {
      DBR_ASSIGN_OR_RETURN(const std::string* toc, Toc(pg_restore, archive));
      DBR_ASSIGN_OR_RETURN(TableIndexes planned, TableIndexes::Plan(*ctx.src, *toc));
      indexes_ = std::move(planned);
    }
    return &*indexes_;
  }

  // Called for each table once its rows are in. A large table's indexes and constraints, then
  // its statistics, at once. The small tables' in batches, once the last of them is in, if a
  // large table is still at work on another worker; the workers done with their own share them.
  Status FinishTable(RunContext& ctx, const pg::PgTool& pg_restore,
                     const std::filesystem::path& archive, const TableIndexes& indexes,
                     const TableInfo& table, pg::Connection& dst) {
    if (table.bytes >= kEarlyIndexBytes) {
      PausePoint("copy:large-table-copied");
      DBR_RETURN_IF_ERROR(
          BuildAndAnalyze(ctx, pg_restore, archive, indexes, {table.Qualified()}, dst)
              .Wrap("building the indexes of " + table.Display()));
      CrashPoint("copy:table-indexes");  // its indexes built, the post-data part not yet
      {
        std::lock_guard<std::mutex> lock(mu_);
        --large_unfinished_;
      }
    } else {
      std::lock_guard<std::mutex> lock(mu_);
      small_copied_.push_back(table.Qualified());
      if (small_copied_.size() < small_total_ || large_unfinished_ == 0) return Status::Ok();
      log::info("building the indexes of the {} small tables while {} large ones copy or index",
                small_copied_.size(), large_unfinished_);
      for (size_t first = 0; first < small_copied_.size(); first += kTablesPerBatch)
        small_batches_.emplace_back(
            small_copied_.begin() + static_cast<std::ptrdiff_t>(first),
            small_copied_.begin() + static_cast<std::ptrdiff_t>(
                                        std::min(small_copied_.size(), first + kTablesPerBatch)));
      small_copied_.clear();
    }
    for (;;) {
      std::vector<std::string> batch;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (small_batches_.empty()) return Status::Ok();
        batch = std::move(small_batches_.back());
        small_batches_.pop_back();
      }
      DBR_RETURN_IF_ERROR(
          BuildAndAnalyze(ctx, pg_restore, archive, indexes, batch, dst)
              .Wrap(fmt::format("building the indexes of {} small tables", batch.size())));
    }
  }

  // The entries of `tables` in one transaction, then their ANALYZE.
  Status BuildAndAnalyze(RunContext& ctx, const pg::PgTool& pg_restore,
                         const std::filesystem::path& archive, const TableIndexes& indexes,
                         const std::vector<std::string>& tables, pg::Connection& dst) {
    std::string list;
    for (const std::string& t : tables) list += indexes.ListOf(t);
    DBR_RETURN_IF_ERROR(RestoreEntries(ctx.config, pg_restore, archive, list, ListName()));
    for (const std::string& t : tables) DBR_RETURN_IF_ERROR(dst.Exec("ANALYZE " + t));
    std::lock_guard<std::mutex> lock(mu_);
    analyzed_.insert(tables.begin(), tables.end());
    return Status::Ok();
  }

  // The file name of the next list of entries restored during the copy.
  std::string ListName() {
    std::lock_guard<std::mutex> lock(mu_);
    return fmt::format("post-data-table-{}", ++early_lists_);
  }

  Status CopyRows(RunContext& ctx, const pg::PgTool& pg_restore,
                  const std::filesystem::path& archive) {
    std::vector<TableInfo> pending;
    for (const auto& t : ctx.tables) {
      auto it = ctx.state.tables.find(t.Qualified());
      if (it == ctx.state.tables.end() || it->second.state == TableState::kPending)
        pending.push_back(t);
    }
    if (ctx.exported_snapshot.empty()) {
      DBR_RETURN_IF_ERROR(HandToTableSync(ctx, pending));
      DBR_RETURN_IF_ERROR(CopyLargeObjects(ctx));
      return ctx.SaveState();
    }
    DBR_RETURN_IF_ERROR(SchemaFitsTheSnapshot(ctx));
    DBR_ASSIGN_OR_RETURN(const TableIndexes* indexes, Indexes(ctx, pg_restore, archive));
    // Counted afresh: a run resumed after an outage copies again in the same process.
    small_total_ = large_unfinished_ = 0;
    small_copied_.clear();
    small_batches_.clear();
    for (const auto& t : pending)
      ++(t.bytes >= kEarlyIndexBytes ? large_unfinished_ : small_total_);
    DBR_RETURN_IF_ERROR(CopyTables(ctx, pending, ctx.exported_snapshot,
                                   [&](const TableInfo& t, pg::Connection& dst) {
                                     return FinishTable(ctx, pg_restore, archive, *indexes, t, dst);
                                   }));
    DBR_RETURN_IF_ERROR(CopyLargeObjects(ctx));
    ctx.slot_connection.reset();  // the snapshot is no longer needed
    ctx.exported_snapshot.clear();
    return Status::Ok();
  }

  // The snapshot died with the process that exported it. The tables copied under it are right;
  // the rest is handed, empty, to PostgreSQL's own table synchronisation through the
  // subscription, which copies each one consistently with the change stream. So are the copied
  // tables whose rows reference theirs: the post-data restore would check those rows' foreign
  // keys against empty tables.
  Status HandToTableSync(RunContext& ctx, const std::vector<TableInfo>& pending) {
    std::vector<std::string> seeds = ctx.state.resync_tables;
    for (const auto& t : pending) seeds.push_back(t.Qualified());
    if (seeds.empty()) return Status::Ok();
    DBR_ASSIGN_OR_RETURN(const std::set<std::string> handed,
                         WithReferencingTables(*ctx.src, seeds));
    size_t count = 0, copied = 0;
    for (const auto& t : ctx.tables) {
      auto it = ctx.state.tables.find(t.Qualified());
      const TableState state =
          it == ctx.state.tables.end() ? TableState::kPending : it->second.state;
      if (state == TableState::kResync || !handed.count(t.Qualified())) continue;
      // A COPY interrupted by a crash may have committed some ranges.
      DBR_RETURN_IF_ERROR(ctx.dst->Exec("TRUNCATE ONLY " + t.Qualified()));
      ctx.state.tables[t.Qualified()] = {TableState::kResync, 0, 0, 0};
      ctx.state.resync_tables.push_back(t.Qualified());
      ++count;
      copied += state == TableState::kCopied;
    }
    if (count > 0)
      log::warn(
          "the exported snapshot of the interrupted run is gone: {} tables will be copied by the "
          "subscription's table synchronisation instead{}",
          count,
          copied > 0
              ? fmt::format(" ({} of them copied already, but their rows reference the others')",
                            copied)
              : "");
    return Status::Ok();
  }

  // Large objects are not in the change stream (engine/large_objects.h). Read under the
  // snapshot when there still is one, they match the rows that name them; each switch compares
  // them again anyway.
  Status CopyLargeObjects(RunContext& ctx) {
    DBR_ASSIGN_OR_RETURN(pg::Connection src, pg::Connection::Open(SourceParams(ctx.config)));
    if (!ctx.exported_snapshot.empty())
      DBR_RETURN_IF_ERROR(src.BeginAtSnapshot(ctx.exported_snapshot));
    DBR_ASSIGN_OR_RETURN(LargeObjectSync copied, SyncLargeObjects(src, *ctx.dst));
    if (!copied.None()) log::info("{}", Describe(copied));
    return Status::Ok();
  }

  Status Analyze(RunContext& ctx) {
    std::vector<const TableInfo*> tables;
    for (const auto& t : ctx.tables)
      if (!analyzed_.count(t.Qualified())) tables.push_back(&t);
    log::info("analyzing {} tables on the destination ({} jobs)", tables.size(), ctx.Jobs());
    std::vector<std::optional<pg::Connection>> conns(static_cast<size_t>(ctx.Jobs()));
    return RunParallel(ctx.Jobs(), tables.size(), [&](size_t i, int w) {
      auto& conn = conns[static_cast<size_t>(w)];
      if (!conn) {
        auto c = pg::Connection::Open(DestinationParams(ctx.config));
        if (!c.ok()) return c.status();
        conn.emplace(std::move(*c));
        // ANALYZE commits once per table: no WAL flush for each (the state's save flushes).
        DBR_RETURN_IF_ERROR(conn->Exec("SET synchronous_commit = off"));
      }
      return conn->Exec("ANALYZE " + tables[i]->Qualified());
    });
  }

  std::optional<std::string> toc_;
  std::optional<TableIndexes> indexes_;
  std::mutex mu_;
  size_t early_lists_ = 0;
  size_t small_total_ = 0;                 // tables below kEarlyIndexBytes to copy
  size_t large_unfinished_ = 0;            // the others, until their indexes are built
  std::vector<std::string> small_copied_;  // small tables copied, waiting for their indexes
  std::vector<std::vector<std::string>> small_batches_;  // their batches not built yet
  std::set<std::string> analyzed_;                       // by FinishTable, with their indexes
};

}  // namespace

std::unique_ptr<SnapshotSource> MakeLogicalCopySource() {
  return std::make_unique<LogicalCopySource>();
}

}  // namespace dbr
