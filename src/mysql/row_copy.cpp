#include "mysql/row_copy.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <mutex>

#include "mariadb/quote.h"
#include "model/copy_parts.h"
#include "mysql/exact_text.h"
#include "util/log.h"
#include "util/parallel.h"
#include "util/parse.h"
#include "util/progress.h"
#include "util/text.h"

namespace dbr::mysql {
namespace {

using mariadb::QualifiedName;
using mariadb::QuoteIdent;

constexpr size_t kStatementBytes = 1 << 20;

Status PrepareLoader(mariadb::Connection& c, const std::string& database) {
  for (const char* sql :
       {"SET SESSION foreign_key_checks = 0", "SET SESSION unique_checks = 0",
        "SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO'", "SET SESSION time_zone = '+00:00'"})
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

// A table's single integer primary-key column, quoted; "" when it has another kind of key.
Result<std::string> IntegerKey(mariadb::Connection& c, const std::string& database,
                               const std::string& table) {
  DBR_ASSIGN_OR_RETURN(
      mariadb::Rows key,
      c.Query("SELECT k.COLUMN_NAME, c.DATA_TYPE FROM information_schema.KEY_COLUMN_USAGE k JOIN "
              "information_schema.COLUMNS c ON c.TABLE_SCHEMA = k.TABLE_SCHEMA AND c.TABLE_NAME "
              "= k.TABLE_NAME AND c.COLUMN_NAME = k.COLUMN_NAME WHERE k.TABLE_SCHEMA = " +
              c.Literal(database) + " AND k.TABLE_NAME = " + c.Literal(table) +
              " AND k.CONSTRAINT_NAME = 'PRIMARY'"));
  if (key.rows() != 1) return std::string();
  const std::string type = key.Get(0, 1);
  for (const char* integer : {"tinyint", "smallint", "mediumint", "int", "bigint"})
    if (type == integer) return QuoteIdent(key.Get(0, 0));
  return std::string();
}

// One unit of the copy: a table, or one primary-key range of it.
struct CopyUnit {
  std::string table;
  int64_t bytes = 0;
  std::string where;  // "": the whole table
  int part = 1, parts = 1;
};

// `parts` ranges of `key` covering every value, of equal width between the smallest and the
// largest key under the snapshot; one unit when the table is empty or its keys do not fit.
Result<std::vector<CopyUnit>> KeyRanges(mariadb::Connection& session, const std::string& database,
                                        const std::string& table, const std::string& key,
                                        int64_t bytes, int parts) {
  DBR_ASSIGN_OR_RETURN(mariadb::Rows bounds,
                       session.Query(fmt::format("SELECT MIN({0}), MAX({0}) FROM {1}", key,
                                                 QualifiedName(database, table))));
  const auto lo = ParseInt(bounds.Get(0, 0)), hi = ParseInt(bounds.Get(0, 1));
  // In unsigned arithmetic: the span of a BIGINT key does not fit a signed one.
  const uint64_t span = lo && hi ? static_cast<uint64_t>(*hi) - static_cast<uint64_t>(*lo) : 0;
  const uint64_t n_parts = static_cast<uint64_t>(parts);
  if (span < n_parts) return std::vector<CopyUnit>{{table, bytes}};
  const auto bound = [&](int n) {
    const uint64_t k = static_cast<uint64_t>(n);
    return static_cast<int64_t>(static_cast<uint64_t>(*lo) + span / n_parts * k +
                                span % n_parts * k / n_parts);
  };
  std::vector<CopyUnit> units;
  for (int i = 0; i < parts; ++i) {
    std::string where;
    if (i > 0) where = fmt::format("{} >= {}", key, bound(i));
    if (i + 1 < parts)
      where += fmt::format("{}{} < {}", where.empty() ? "" : " AND ", key, bound(i + 1));
    units.push_back({table, bytes / parts, where, i + 1, parts});
  }
  return units;
}

// Every table of `schema` as units, largest first: a table above `split_above` with a single
// integer primary key is split into key ranges.
Result<std::vector<CopyUnit>> PlanUnits(mariadb::Connection& session,
                                        const SchemaDefinitions& schema, int64_t split_above,
                                        int jobs) {
  DBR_ASSIGN_OR_RETURN(
      mariadb::Rows sizes,
      session.Query("SELECT TABLE_NAME, DATA_LENGTH FROM information_schema.TABLES WHERE "
                    "TABLE_SCHEMA = " +
                    session.Literal(schema.database) + " AND TABLE_TYPE = 'BASE TABLE'"));
  std::vector<CopyUnit> units;
  for (const auto& t : schema.tables) {
    int64_t bytes = 0;
    for (int i = 0; i < sizes.rows(); ++i)
      if (sizes.Get(i, 0) == t.name) bytes = ParseInt(sizes.Get(i, 1)).value_or(0);
    const int parts = CopyPartsOf(bytes, split_above, jobs);
    DBR_ASSIGN_OR_RETURN(std::string key, parts > 1 ? IntegerKey(session, schema.database, t.name)
                                                    : Result<std::string>(std::string()));
    if (key.empty()) {
      units.push_back({t.name, bytes});
      continue;
    }
    DBR_ASSIGN_OR_RETURN(auto ranges,
                         KeyRanges(session, schema.database, t.name, key, bytes, parts));
    units.insert(units.end(), ranges.begin(), ranges.end());
  }
  std::stable_sort(units.begin(), units.end(),
                   [](const CopyUnit& a, const CopyUnit& b) { return a.bytes > b.bytes; });
  return units;
}

}  // namespace

Result<CopiedTable> CopyRows(mariadb::Connection& source, mariadb::Connection& destination,
                             const std::string& database, const std::string& table,
                             const std::string& where) {
  DBR_ASSIGN_OR_RETURN(StoredColumns columns, ReadStoredColumns(source, database, table));
  const std::string head =
      fmt::format("INSERT INTO {} ({}) VALUES ", QuoteIdent(table), Join(columns.names, ", "));
  CopiedTable copied{table};
  std::string statement;
  auto flush = [&]() -> Status {
    if (statement.empty()) return Status::Ok();
    Status st = destination.Exec(statement);
    statement.clear();
    return st;
  };
  const std::string select =
      fmt::format("SELECT {} FROM {}{}", Join(columns.reads, ", "), QualifiedName(database, table),
                  where.empty() ? "" : " WHERE " + where);
  Status st = source.Stream(select,
                            [&](const std::vector<mariadb::Column>& cols,
                                const std::vector<mariadb::Value>& row) -> Status {
                              statement += statement.empty() ? head + "(" : ", (";
                              for (size_t i = 0; i < row.size(); ++i) {
                                if (i > 0) statement += ", ";
                                destination.AppendValue(statement, cols[i], row[i]);
                                copied.bytes += static_cast<int64_t>(row[i].size);
                              }
                              statement += ')';
                              ++copied.rows;
                              return statement.size() >= kStatementBytes ? flush() : Status::Ok();
                            });
  DBR_RETURN_IF_ERROR(st.Wrap("copying " + QualifiedName(database, table)));
  DBR_RETURN_IF_ERROR(flush().Wrap("copying " + QualifiedName(database, table)));
  return copied;
}

Result<std::vector<CopiedTable>> CopyAllRows(ConsistentSnapshot& snapshot,
                                             const mariadb::ConnParams& destination,
                                             const SchemaDefinitions& schema, int64_t split_above) {
  DBR_ASSIGN_OR_RETURN(std::vector<CopyUnit> units,
                       PlanUnits(snapshot.session(0), schema, split_above, snapshot.size()));
  std::vector<mariadb::Connection> loaders;
  for (int i = 0; i < snapshot.size(); ++i) {
    DBR_ASSIGN_OR_RETURN(mariadb::Connection c, mariadb::Connection::Open(destination));
    DBR_RETURN_IF_ERROR(PrepareLoader(c, schema.database));
    loaders.push_back(std::move(c));
  }
  std::mutex mu;
  std::map<std::string, CopiedTable> copied;
  DBR_RETURN_IF_ERROR(RunParallel(snapshot.size(), units.size(), [&](size_t i, int worker) {
    const CopyUnit& unit = units[i];
    auto part = CopyRows(snapshot.session(worker), loaders[worker], schema.database, unit.table,
                         unit.where);
    if (!part.ok()) return part.status();
    log::info("copied {}{}: {} rows, {}", QuoteIdent(unit.table),
              unit.parts > 1 ? fmt::format(" (key range {} of {})", unit.part, unit.parts) : "",
              part->rows, HumanBytes(static_cast<double>(part->bytes)));
    std::lock_guard<std::mutex> lock(mu);
    CopiedTable& table = copied.try_emplace(unit.table, CopiedTable{unit.table}).first->second;
    table.rows += part->rows;
    table.bytes += part->bytes;
    table.parts = unit.parts;
    return Status::Ok();
  }));
  std::vector<CopiedTable> tables;
  for (auto& [name, table] : copied) tables.push_back(std::move(table));
  return tables;
}

}  // namespace dbr::mysql
