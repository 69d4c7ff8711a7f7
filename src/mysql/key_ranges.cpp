#include "mysql/key_ranges.h"

#include <fmt/format.h>

#include <algorithm>

#include "mariadb/quote.h"
#include "util/parse.h"

namespace dbr::mysql {
namespace {

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
    if (type == integer) return mariadb::QuoteIdent(key.Get(0, 0));
  return std::string();
}

}  // namespace

Result<std::vector<KeyRange>> KeyRangesOf(mariadb::Connection& session, const std::string& database,
                                          const std::string& table, int parts) {
  const std::vector<KeyRange> whole = {KeyRange{}};
  if (parts <= 1) return whole;
  DBR_ASSIGN_OR_RETURN(std::string key, IntegerKey(session, database, table));
  if (key.empty()) return whole;
  DBR_ASSIGN_OR_RETURN(mariadb::Rows bounds,
                       session.Query(fmt::format("SELECT MIN({0}), MAX({0}) FROM {1}", key,
                                                 mariadb::QualifiedName(database, table))));
  const auto lo = ParseInt(bounds.Get(0, 0)), hi = ParseInt(bounds.Get(0, 1));
  // In unsigned arithmetic: the span of a BIGINT key does not fit a signed one.
  const uint64_t span = lo && hi ? static_cast<uint64_t>(*hi) - static_cast<uint64_t>(*lo) : 0;
  const uint64_t n_parts = static_cast<uint64_t>(parts);
  if (span < n_parts) return whole;
  const auto bound = [&](int n) {
    const uint64_t k = static_cast<uint64_t>(n);
    return static_cast<int64_t>(static_cast<uint64_t>(*lo) + span / n_parts * k +
                                span % n_parts * k / n_parts);
  };
  std::vector<KeyRange> ranges;
  for (int i = 0; i < parts; ++i) {
    std::string where;
    if (i > 0) where = fmt::format("{} >= {}", key, bound(i));
    if (i + 1 < parts)
      where += fmt::format("{}{} < {}", where.empty() ? "" : " AND ", key, bound(i + 1));
    ranges.push_back({where, i + 1, parts});
  }
  return ranges;
}

Result<std::map<std::string, int64_t>> TableBytes(mariadb::Connection& session,
                                                  const std::string& database) {
  DBR_ASSIGN_OR_RETURN(
      mariadb::Rows sizes,
      session.Query("SELECT TABLE_NAME, DATA_LENGTH FROM information_schema.TABLES WHERE "
                    "TABLE_SCHEMA = " +
                    session.Literal(database) + " AND TABLE_TYPE = 'BASE TABLE'"));
  std::map<std::string, int64_t> bytes;
  for (int i = 0; i < sizes.rows(); ++i)
    bytes[sizes.Get(i, 0)] = ParseInt(sizes.Get(i, 1)).value_or(0);
  return bytes;
}

Result<std::vector<TableRange>> RangesLargestFirst(mariadb::Connection& session,
                                                   const std::string& database,
                                                   const std::vector<std::string>& tables,
                                                   const std::function<int(int64_t)>& parts_of) {
  DBR_ASSIGN_OR_RETURN(auto sizes, TableBytes(session, database));
  std::vector<TableRange> out;
  for (const std::string& table : tables) {
    const int64_t bytes = sizes[table];
    DBR_ASSIGN_OR_RETURN(std::vector<KeyRange> ranges,
                         KeyRangesOf(session, database, table, parts_of(bytes)));
    for (KeyRange& range : ranges)
      out.push_back({table, bytes / static_cast<int64_t>(ranges.size()), std::move(range)});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const TableRange& a, const TableRange& b) { return a.bytes > b.bytes; });
  return out;
}

}  // namespace dbr::mysql
