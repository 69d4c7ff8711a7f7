#include "mysql/row_copy.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <map>
#include <mutex>

#include "mariadb/quote.h"
#include "model/copy_parts.h"
#include "mysql/exact_text.h"
#include "mysql/key_ranges.h"
#include "util/log.h"
#include "util/parallel.h"
#include "util/progress.h"
#include "util/text.h"

namespace dbr::mysql {
namespace {

using mariadb::QualifiedName;
using mariadb::QuoteIdent;

constexpr size_t kStatementBytes = 1 << 20;  // a batch of rows is one INSERT of about this size

Status PrepareLoader(mariadb::Connection& c, const std::string& database) {
  for (const char* sql : {"SET SESSION foreign_key_checks = 0", "SET SESSION unique_checks = 0",
                          "SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO'", kUtcSession})
    DBR_RETURN_IF_ERROR(c.Exec(sql));
  return c.Exec("USE " + QuoteIdent(database));
}

// The columns a row is written with (all but the generated ones, in table order), and how each
// is read exactly (mysql/exact_text.h).
struct StoredColumns {
  std::vector<std::string> names, reads;
};

Result<StoredColumns> ReadStoredColumns(mariadb::Connection& c, const std::string& database,
                                        const std::string& table) {
  DBR_ASSIGN_OR_RETURN(
      mariadb::Rows rows,
      c.Query("SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA "
              "= " +
              c.Literal(database) + " AND TABLE_NAME = " + c.Literal(table) +
              " AND COALESCE(GENERATION_EXPRESSION, '') = '' ORDER BY ORDINAL_POSITION"));
  StoredColumns columns;
  for (int i = 0; i < rows.rows(); ++i) {
    columns.names.push_back(QuoteIdent(rows.Get(i, 0)));
    columns.reads.push_back(ExactText(columns.names.back(), rows.Get(i, 1)));
  }
  if (columns.names.empty())
    return Status::Error("table " + QualifiedName(database, table) + " shows no columns");
  return columns;
}

// Rows read from the source, held as the server sent them until the writer makes them an INSERT.
struct RowBatch {
  std::vector<mariadb::Column> columns;
  std::string bytes;  // every value, one after the other
  struct Span {
    size_t offset = 0, size = 0;
    bool null = false;
  };
  std::vector<Span> values;    // columns.size() per row
  size_t statement_bytes = 0;  // about the size of the INSERT the rows make (binary as hex)

  // The row's values appended; returns their size.
  size_t Add(const std::vector<mariadb::Column>& cols, const std::vector<mariadb::Value>& row) {
    size_t size = 0;
    for (size_t i = 0; i < row.size(); ++i) {
      const mariadb::Value& v = row[i];
      values.push_back({bytes.size(), v.size, v.null()});
      if (!v.null()) bytes.append(v.data, v.size);
      size += v.size;
      statement_bytes += v.null() ? 6 : (cols[i].binary ? 2 * v.size : v.size) + 5;
    }
    return size;
  }
  bool empty() const { return values.empty(); }
  void Clear() {
    bytes.clear();
    values.clear();
    statement_bytes = 0;
  }
};

// Writes each batch as one multi-row INSERT on a thread of its own while the reader reads the
// next, so that the source and the destination work at once. Until Finish() returns, the
// destination connection is used by that thread only: the values are quoted there too.
class BatchWriter {
 public:
  BatchWriter(mariadb::Connection& destination, std::string head)
      : destination_(destination), head_(std::move(head)) {}
  ~BatchWriter() { (void)Finish(); }

  // Waits for the batch handed before (its error is returned), then takes `batch`, leaving it
  // empty.
  Status Hand(RowBatch& batch) {
    DBR_RETURN_IF_ERROR(Finish());
    if (batch.empty()) return Status::Ok();
    std::swap(writing_, batch);
    batch.Clear();
    done_ = std::async(std::launch::async, [this] { return Write(writing_); });
    return Status::Ok();
  }
  // Waits for the batch being written.
  Status Finish() { return done_.valid() ? done_.get() : Status::Ok(); }

 private:
  Status Write(const RowBatch& batch) {
    std::string statement = head_;
    const size_t width = batch.columns.size();
    for (size_t i = 0; i < batch.values.size(); ++i) {
      const size_t col = i % width;
      statement += col == 0 ? (i == 0 ? "(" : "), (") : ", ";
      const RowBatch::Span& v = batch.values[i];
      destination_.AppendValue(
          statement, batch.columns[col],
          v.null ? mariadb::Value{} : mariadb::Value{batch.bytes.data() + v.offset, v.size});
    }
    statement += ')';
    return destination_.Exec(statement);
  }

  mariadb::Connection& destination_;
  const std::string head_;
  RowBatch writing_;
  std::future<Status> done_;  // after writing_: waited for before it goes
};

}  // namespace

Result<CopiedTable> CopyRows(mariadb::Connection& source, mariadb::Connection& destination,
                             const std::string& database, const std::string& table,
                             const std::string& where, CopyCounters* live) {
  DBR_ASSIGN_OR_RETURN(StoredColumns columns, ReadStoredColumns(source, database, table));
  BatchWriter writer(destination, fmt::format("INSERT INTO {} ({}) VALUES ", QuoteIdent(table),
                                              Join(columns.names, ", ")));
  CopiedTable copied{table};
  RowBatch batch;
  const std::string select =
      fmt::format("SELECT {} FROM {}{}", Join(columns.reads, ", "), QualifiedName(database, table),
                  where.empty() ? "" : " WHERE " + where);
  Status st = source.Stream(select,
                            [&](const std::vector<mariadb::Column>& cols,
                                const std::vector<mariadb::Value>& row) -> Status {
                              if (batch.columns.empty()) batch.columns = cols;
                              const auto bytes = static_cast<int64_t>(batch.Add(cols, row));
                              copied.bytes += bytes;
                              ++copied.rows;
                              if (live != nullptr) {
                                live->bytes += bytes;
                                ++live->rows;
                              }
                              return batch.statement_bytes >= kStatementBytes ? writer.Hand(batch)
                                                                              : Status::Ok();
                            });
  if (st.ok()) st = writer.Hand(batch);
  KeepFirstError(st, writer.Finish());
  DBR_RETURN_IF_ERROR(st.Wrap("copying " + QualifiedName(database, table)));
  return copied;
}

Result<std::vector<CopiedTable>> CopyAllRows(ConsistentSnapshot& snapshot,
                                             const mariadb::ConnParams& destination,
                                             const SchemaDefinitions& schema, int64_t split_above,
                                             CopyCounters* live) {
  // A table above `split_above` with a single integer primary key in key ranges.
  std::vector<std::string> names;
  for (const Definition& t : schema.tables) names.push_back(t.name);
  DBR_ASSIGN_OR_RETURN(
      std::vector<TableRange> units,
      RangesLargestFirst(snapshot.session(0), schema.database, names, [&](int64_t bytes) {
        return CopyPartsOf(bytes, split_above, snapshot.size());
      }));
  std::vector<mariadb::Connection> loaders;
  for (int i = 0; i < snapshot.size(); ++i) {
    DBR_ASSIGN_OR_RETURN(mariadb::Connection c, mariadb::Connection::Open(destination));
    DBR_RETURN_IF_ERROR(PrepareLoader(c, schema.target));
    loaders.push_back(std::move(c));
  }
  using Clock = std::chrono::steady_clock;
  std::map<std::string, const Definition*> definitions;
  for (const Definition& t : schema.tables) definitions[t.name] = &t;
  std::mutex mu;  // guards the three maps below
  std::map<std::string, CopiedTable> copied;
  std::map<std::string, Clock::time_point> first_started;
  std::map<std::string, size_t> units_left;
  for (const TableRange& unit : units) ++units_left[unit.table];
  DBR_RETURN_IF_ERROR(RunParallel(snapshot.size(), units.size(), [&](size_t i, int worker) {
    const TableRange& unit = units[i];
    {
      std::lock_guard<std::mutex> lock(mu);
      first_started.try_emplace(unit.table, Clock::now());
    }
    auto part = CopyRows(snapshot.session(worker), loaders[worker], schema.database, unit.table,
                         unit.range.where, live);
    if (!part.ok()) return part.status();
    log::info("copied {}{}: {} rows, {}", QuoteIdent(unit.table),
              unit.range.parts > 1
                  ? fmt::format(" (key range {} of {})", unit.range.part, unit.range.parts)
                  : "",
              part->rows, HumanBytes(static_cast<double>(part->bytes)));
    bool last_unit = false;
    {
      std::lock_guard<std::mutex> lock(mu);
      CopiedTable& table = copied.try_emplace(unit.table, CopiedTable{unit.table}).first->second;
      table.rows += part->rows;
      table.bytes += part->bytes;
      table.parts = unit.range.parts;
      table.seconds =
          std::chrono::duration<double>(Clock::now() - first_started[unit.table]).count();
      last_unit = --units_left[unit.table] == 0;
    }
    // The table's rows are all in: its secondary indexes are built now, while the other
    // sessions go on copying.
    const std::string& after_rows = definitions.at(unit.table)->after_rows;
    if (!last_unit || after_rows.empty()) return Status::Ok();
    log::info("building the secondary indexes of {}", QuoteIdent(unit.table));
    return loaders[worker]
        .Exec(after_rows)
        .Wrap("adding the secondary indexes of " + QualifiedName(schema.database, unit.table));
  }));
  std::vector<CopiedTable> tables;
  for (auto& [name, table] : copied) tables.push_back(std::move(table));
  return tables;
}

}  // namespace dbr::mysql
