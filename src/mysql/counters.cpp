#include "mysql/counters.h"

#include <fmt/format.h>

#include <map>

#include "mariadb/quote.h"
#include "util/log.h"
#include "util/parse.h"

namespace dbr::mysql {
namespace {

Result<std::map<std::string, int64_t>> Counters(mariadb::Connection& c,
                                                const std::string& database) {
  // MySQL 8 caches these figures for a day unless told otherwise.
  if (c.version().flavor == mariadb::Flavor::kMySql)
    DBR_RETURN_IF_ERROR(c.Exec("SET SESSION information_schema_stats_expiry = 0"));
  DBR_ASSIGN_OR_RETURN(
      mariadb::Rows rows,
      c.Query("SELECT TABLE_NAME, AUTO_INCREMENT FROM information_schema.TABLES WHERE "
              "TABLE_SCHEMA = " +
              c.Literal(database) + " AND AUTO_INCREMENT IS NOT NULL"));
  std::map<std::string, int64_t> counters;
  for (int i = 0; i < rows.rows(); ++i)
    counters[rows.Get(i, 0)] = ParseInt(rows.Get(i, 1)).value_or(0);
  return counters;
}

}  // namespace

Result<int> SetCountersAhead(mariadb::Connection& source, mariadb::Connection& destination,
                             const std::string& source_database,
                             const std::string& destination_database) {
  DBR_ASSIGN_OR_RETURN(auto wanted, Counters(source, source_database));
  DBR_ASSIGN_OR_RETURN(auto have, Counters(destination, destination_database));
  int moved = 0;
  for (const auto& [table, next] : wanted) {
    auto it = have.find(table);
    if (it == have.end() || it->second >= next) continue;
    DBR_RETURN_IF_ERROR(
        destination.Exec(fmt::format("ALTER TABLE {} AUTO_INCREMENT = {}",
                                     mariadb::QualifiedName(destination_database, table), next)));
    log::info("AUTO_INCREMENT of {} on the destination: {} -> {}", mariadb::QuoteIdent(table),
              it->second, next);
    ++moved;
  }
  return moved;
}

}  // namespace dbr::mysql
