#include "mysql/row_copy.h"

#include <fmt/format.h>

#include <algorithm>
#include <mutex>

#include "mariadb/quote.h"
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

// The columns a row is written with: all but the generated ones, in table order.
Result<std::vector<std::string>> StoredColumns(mariadb::Connection& c, const std::string& database,
                                               const std::string& table) {
  DBR_ASSIGN_OR_RETURN(
      mariadb::Rows rows,
      c.Query("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = " +
              c.Literal(database) + " AND TABLE_NAME = " + c.Literal(table) +
              " AND COALESCE(GENERATION_EXPRESSION, '') = '' ORDER BY ORDINAL_POSITION"));
  std::vector<std::string> columns;
  for (int i = 0; i < rows.rows(); ++i) columns.push_back(QuoteIdent(rows.Get(i, 0)));
  if (columns.empty())
    return Status::Error("table " + QualifiedName(database, table) + " shows no columns");
  return columns;
}

}  // namespace

Result<CopiedTable> CopyRows(mariadb::Connection& source, mariadb::Connection& destination,
                             const std::string& database, const std::string& table) {
  DBR_ASSIGN_OR_RETURN(auto columns, StoredColumns(source, database, table));
  const std::string list = Join(columns, ", ");
  const std::string head = fmt::format("INSERT INTO {} ({}) VALUES ", QuoteIdent(table), list);
  CopiedTable copied{table};
  std::string statement;
  auto flush = [&]() -> Status {
    if (statement.empty()) return Status::Ok();
    Status st = destination.Exec(statement);
    statement.clear();
    return st;
  };
  Status st = source.Stream(fmt::format("SELECT {} FROM {}", list, QualifiedName(database, table)),
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
                                             const SchemaDefinitions& schema) {
  std::vector<std::pair<int64_t, std::string>> by_size;
  mariadb::Connection& first = snapshot.session(0);
  DBR_ASSIGN_OR_RETURN(
      mariadb::Rows sizes,
      first.Query("SELECT TABLE_NAME, DATA_LENGTH FROM information_schema.TABLES WHERE "
                  "TABLE_SCHEMA = " +
                  first.Literal(schema.database) + " AND TABLE_TYPE = 'BASE TABLE'"));
  for (const auto& t : schema.tables) {
    int64_t size = 0;
    for (int i = 0; i < sizes.rows(); ++i)
      if (sizes.Get(i, 0) == t.name) size = ParseInt(sizes.Get(i, 1)).value_or(0);
    by_size.emplace_back(size, t.name);
  }
  std::sort(by_size.rbegin(), by_size.rend());

  std::vector<mariadb::Connection> loaders;
  for (int i = 0; i < snapshot.size(); ++i) {
    DBR_ASSIGN_OR_RETURN(mariadb::Connection c, mariadb::Connection::Open(destination));
    DBR_RETURN_IF_ERROR(PrepareLoader(c, schema.database));
    loaders.push_back(std::move(c));
  }
  std::mutex mu;
  std::vector<CopiedTable> copied;
  DBR_RETURN_IF_ERROR(RunParallel(snapshot.size(), by_size.size(), [&](size_t i, int worker) {
    auto table =
        CopyRows(snapshot.session(worker), loaders[worker], schema.database, by_size[i].second);
    if (!table.ok()) return table.status();
    log::info("copied {}: {} rows, {}", QuoteIdent(table->name), table->rows,
              HumanBytes(static_cast<double>(table->bytes)));
    std::lock_guard<std::mutex> lock(mu);
    copied.push_back(std::move(*table));
    return Status::Ok();
  }));
  return copied;
}

}  // namespace dbr::mysql
