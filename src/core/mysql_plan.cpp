// `db_relocate plan` for engine mysql (issue #25): PostgreSQL's document (core/plan.h) read from
// the source's information_schema: the database's tables and views with their sizes and the key
// ranges each is copied in, the copy under one snapshot, the replication into the destination and
// the proxy switch.
#include <fmt/format.h>

#include "core/plan.h"
#include "mariadb/connection.h"
#include "model/copy_parts.h"
#include "model/run_context.h"
#include "mysql/key_ranges.h"
#include "mysql/replication.h"
#include "mysql/servers.h"
#include "util/parse.h"

namespace dbr {

using nlohmann::json;

Result<RelocationPlan> MakeMysqlPlan(const Config& config) {
  auto src = mariadb::Connection::Open(mysql::SourceParams(config));
  if (!src.ok()) return src.status().Wrap("reaching the source");
  DBR_ASSIGN_OR_RETURN(
      mariadb::Rows rows,
      src->Query(
          "SELECT TABLE_NAME, TABLE_TYPE, COALESCE(ENGINE, ''), "
          "COALESCE(DATA_LENGTH, 0) + COALESCE(INDEX_LENGTH, 0), AUTO_INCREMENT IS NOT "
          "NULL, COALESCE(DATA_LENGTH, 0) FROM information_schema.TABLES WHERE TABLE_SCHEMA = " +
          src->Literal(config.src.name) + " ORDER BY TABLE_NAME"));
  json tables = json::array();
  int64_t copy_bytes = 0;
  int counters = 0;
  for (int r = 0; r < rows.rows(); ++r) {
    const bool view = rows.Get(r, 1) == "VIEW";
    const std::string& engine = rows.Get(r, 2);
    const int64_t bytes = ParseInt(rows.Get(r, 3)).value_or(0);
    std::string note;
    if (view)
      note = "created after the rows";
    else if (engine != "InnoDB")
      note = engine + ": not transactional, outside the consistent snapshot";
    int parts = 0;
    if (!view) {
      copy_bytes += bytes;
      const int wanted = CopyPartsOf(ParseInt(rows.Get(r, 5)).value_or(0),
                                     config.split_tables_larger_than, JobsOf(config));
      DBR_ASSIGN_OR_RETURN(auto ranges,
                           mysql::KeyRangesOf(*src, config.src.name, rows.Get(r, 0), wanted));
      parts = static_cast<int>(ranges.size());
    }
    counters += rows.Get(r, 4) == "1";
    tables.push_back({{"name", config.src.name + "." + rows.Get(r, 0)},
                      {"kind", view ? "view" : "table"},
                      {"bytes", bytes},
                      {"copy_parts", parts},
                      {"note", note}});
  }
  json doc = {{"engine", "mysql"},
              {"source", config.src.Address() + "/" + config.src.name},
              {"provider", "self_managed"},
              {"destination", config.dst.Address() + "/" + config.dst.name}};
  doc["scope"] = {{"schemas", {config.src.name}},       {"tables", tables},
                  {"copy_bytes", copy_bytes},           {"without_rows", json::array()},
                  {"left_out", json::array()},          {"sequences", counters},
                  {"unmatched_patterns", json::array()}};
  doc["copy"] = {{"jobs", JobsOf(config)},
                 {"split_tables_larger_than", config.split_tables_larger_than},
                 {"method",
                  "one consistent snapshot of the source at an exact binary log position; the "
                  "schema, then the rows streamed as multi-row INSERTs over the sessions, then "
                  "views, routines, triggers and events"}};
  doc["replication"] = {{"name", mysql::NamesOf(config).channel},
                        {"databases", mysql::ReplicatedDatabases(config, Side::kDestination)},
                        {"user", config.upgrade.user}};
  if (const auto rewrite = mysql::RewriteInto(config, Side::kDestination))
    doc["replication"]["renames"] = rewrite->from + " -> " + rewrite->to;
  doc["large_objects"] = {{"count", 0}, {"bytes_on_disk", 0}};
  doc["switch"] = SwitchSection(config);
  if (!doc["switch"].is_null()) doc["switch"]["fence"] = "read_only (server-wide)";
  return RelocationPlan{std::move(doc)};
}

}  // namespace dbr
