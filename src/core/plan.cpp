#include "core/plan.h"

#include <fmt/format.h>

#include "cloud/cloud.h"
#include "engine/fence.h"
#include "engine/large_objects.h"
#include "model/copy_parts.h"
#include "model/names.h"
#include "model/run_context.h"
#include "model/scope.h"
#include "model/servers.h"
#include "proxy/proxy.h"
#include "snapshot/table_copy.h"
#include "util/progress.h"
#include "util/text.h"

namespace dbr {
namespace {

using nlohmann::json;

const char* KindOf(char relkind) {
  switch (relkind) {
    case 'r':
      return "table";
    case 'p':
      return "partitioned table";
    case 'v':
      return "view";
    case 'm':
      return "materialized view";
    case 'S':
      return "sequence";
    case 'f':
      return "foreign table";
    default:
      return "relation";
  }
}

// What happens to a table in scope that is not kept in sync row by row.
std::string NoteOf(const TableInfo& t) {
  if (t.relkind == 'p') return "its partitions move";
  if (t.relkind == 'm') return "refreshed on the destination after the copy and after each switch";
  if (t.relkind == 'f') return "definition only";
  if (t.persistence == 'u') return "unlogged: rows copied inside the cut-over's write pause";
  return "";
}

json ScopeSection(const Config& config, const ScopeListing& scope) {
  const int jobs = JobsOf(config);
  json tables = json::array(), without = json::array(), left_out = json::array();
  int64_t bytes = 0;
  std::vector<int64_t> sizes;
  for (const auto& t : scope.tables)
    if (t.schema != names::kSchema && t.Replicable()) sizes.push_back(t.bytes);
  const std::vector<int> planned = PlanCopyParts(sizes, config.split_tables_larger_than, jobs);
  size_t copied = 0;
  for (const auto& t : scope.tables) {
    if (t.schema == names::kSchema) continue;
    const int parts = t.Replicable() ? planned[copied++] : 0;
    if (t.Replicable()) bytes += t.bytes;
    tables.push_back({{"name", t.Display()},
                      {"kind", KindOf(t.relkind)},
                      {"bytes", t.bytes},
                      {"copy_parts", parts},
                      {"note", NoteOf(t)}});
  }
  for (const auto& t : scope.without_rows)
    without.push_back({{"name", t.Display()}, {"bytes", t.bytes}});
  for (const auto& r : scope.ExcludedTablesAndSequences())
    left_out.push_back({{"name", r.Display()}, {"kind", KindOf(r.relkind)}});
  json schemas = json::array();
  for (const auto& s : scope.schemas)
    if (s != names::kSchema) schemas.push_back(s);
  return {{"schemas", schemas},
          {"tables", tables},
          {"copy_bytes", bytes},
          {"without_rows", without},
          {"left_out", left_out},
          {"sequences", scope.sequences.size()},
          {"unmatched_patterns", scope.unmatched}};
}

json CopySection(const Config& config, const ScopeListing& scope) {
  size_t published = 0;
  for (const auto& t : scope.tables) published += t.Replicable() && t.schema != names::kSchema;
  const names::Links links = LinksOf(config);
  json copy = {{"jobs", JobsOf(config)},
               {"split_tables_larger_than", config.split_tables_larger_than}};
  copy["method"] = config.provider == Provider::kRds
                       ? "RDS snapshot of the source instance, restored as the destination"
                       : "pg_dump --schema-only, then COPY of every table in parallel under the "
                         "replication slot's exported snapshot";
  return {{"copy", copy},
          {"publication",
           {{"name", links.forward.front().publication},
            {"tables", published},
            {"slot", links.forward.front().slot},
            {"subscription", links.forward.front().subscription},
            {"apply_workers", config.apply_workers}}},
          {"sequence_gap", config.sequence_gap}};
}

}  // namespace

json SwitchSection(const Config& config) {
  if (!config.cutover.configured) return nullptr;
  const CutoverConfig& co = config.cutover;
  const Backend from = BackendOf(config, Side::kSource);
  const Backend to = BackendOf(config, Side::kDestination);
  json sw = {{"proxy", co.type},
             {"listen", co.listen},
             {"managed", co.manage},
             {"from", fmt::format("{}:{}/{}", from.host, from.port, from.dbname)},
             {"to", fmt::format("{}:{}/{}", to.host, to.port, to.dbname)},
             {"fence", co.fence},
             {"max_lag_bytes", co.max_lag_bytes},
             {"pause_timeout_seconds", co.pause_timeout}};
  return sw;
}

namespace {

std::string Size(int64_t bytes) {
  return HumanBytes(static_cast<double>(bytes));
}

}  // namespace

Result<RelocationPlan> MakePlan(const Config& config) {
  if (config.engine == EngineKind::kMysql) return MakeMysqlPlan(config);
  auto src = pg::Connection::Open(SourceParams(config));
  if (!src.ok()) return src.status().Wrap("reaching the source");
  DBR_ASSIGN_OR_RETURN(ScopeListing scope, ListScope(*src, config));
  json doc = {{"source", config.src.Address() + "/" + config.src.name},
              {"provider", config.provider}};
  auto cloud = MakeCloud(config);
  doc["destination"] = cloud ? json(fmt::format("a new {} instance (see cloud)", cloud->name()))
                             : json(config.dst.Address() + "/" + config.dst.name);
  doc["scope"] = ScopeSection(config, scope);
  doc.update(CopySection(config, scope));
  DBR_ASSIGN_OR_RETURN(LargeObjectVolume lo, MeasureLargeObjects(*src));
  doc["large_objects"] = {{"count", lo.count}, {"bytes_on_disk", lo.bytes_on_disk}};
  if (cloud) {
    json steps = json::array();
    auto state = StateStore(config.state_dir).Load();  // none yet: a plan from the start
    for (const auto& c : cloud->Check(config, ProgressOf(config, state.ok() ? *state : RunState{})))
      steps.push_back({{"name", c.name}, {"level", LevelName(c.level)}, {"detail", c.detail}});
    doc["cloud"] = steps;
  }
  doc["switch"] = SwitchSection(config);
  if (config.cutover.configured && config.cutover.fence != FenceMode::kNone) {
    auto roles = RolesToFence(config, *src);
    doc["switch"]["fence_roles"] = roles.ok() ? json(*roles) : json(roles.message());
  }
  return RelocationPlan{std::move(doc)};
}

std::string RelocationPlan::ToText() const {
  const json& s = doc["scope"];
  std::string out =
      fmt::format("Relocation of {} to {} (provider {})\n\n", doc["source"].get<std::string>(),
                  doc["destination"].get<std::string>(), doc["provider"].get<std::string>());
  const bool mysql = doc.value("engine", "postgres") == "mysql";
  std::vector<std::string> schemas = s["schemas"];
  out += fmt::format("Scope: {} {}\n", mysql ? "database" : "schema", Join(schemas));
  out += fmt::format("  {} relations move, {} to copy:\n", s["tables"].size(),
                     Size(s["copy_bytes"].get<int64_t>()));
  for (const auto& t : s["tables"]) {
    const int parts = t["copy_parts"];
    std::string how = parts > 1 ? fmt::format("copied in {} parts", parts) : "";
    const std::string note = t["note"];
    if (!note.empty()) how = note;
    out += fmt::format("    {:<40} {:>10}  {}\n", t["name"].get<std::string>(),
                       Size(t["bytes"].get<int64_t>()), how);
  }
  if (!s["without_rows"].empty()) {
    out += fmt::format("  {} tables move without their rows (exclude_table_data):\n",
                       s["without_rows"].size());
    for (const auto& t : s["without_rows"])
      out += fmt::format("    {:<40} {:>10}  rows stay\n", t["name"].get<std::string>(),
                         Size(t["bytes"].get<int64_t>()));
  }
  if (!s["left_out"].empty()) {
    out += fmt::format("  {} relations are left out:\n", s["left_out"].size());
    for (const auto& r : s["left_out"])
      out += fmt::format("    {:<40} {}\n", r["name"].get<std::string>(),
                         r["kind"].get<std::string>());
  }
  for (const auto& p : s["unmatched_patterns"])
    out += fmt::format("  pattern that matches nothing: {}\n", p.get<std::string>());
  if (const json& lo = doc["large_objects"]; lo["count"].get<int64_t>() > 0)
    out += fmt::format(
        "  {} large objects ({} on disk): copied with the snapshot, not replicated; each "
        "cut-over and rollback compares them and copies the changed ones inside its write "
        "pause\n",
        lo["count"].get<int64_t>(), Size(lo["bytes_on_disk"].get<int64_t>()));
  if (mysql)
    out += fmt::format(
        "  {} AUTO_INCREMENT counters, set at least to the source's at the end of run and at "
        "cut-over\n\n",
        s["sequences"].get<size_t>());
  else
    out +=
        fmt::format("  {} sequences, set {} increments ahead at the end of run and at cut-over\n\n",
                    s["sequences"].get<size_t>(), doc["sequence_gap"].get<int64_t>());

  const json& c = doc["copy"];
  out += fmt::format("Copy: {}; {} jobs; tables above {} split\n", c["method"].get<std::string>(),
                     c["jobs"].get<int>(), Size(c["split_tables_larger_than"].get<int64_t>()));
  if (mysql) {
    const json& r = doc["replication"];
    out += fmt::format(
        "Replication: the destination's replication {} from the snapshot's binary log position, "
        "applying only {}, with the replication user {} on the source\n",
        r["name"].get<std::string>(), Join(r["databases"].get<std::vector<std::string>>()),
        r["user"].get<std::string>());
  }
  const json& p = mysql ? json::object() : doc["publication"];
  if (!mysql)
    out += fmt::format(
        "Replication: publication {} of {} tables (and db_relocate's heartbeat) with slot {} on "
        "the source, subscription {} on the destination, from the copy's exact point\n",
        p["name"].get<std::string>(), p["tables"].get<size_t>(), p["slot"].get<std::string>(),
        p["subscription"].get<std::string>());
  if (const int lanes = p.value("apply_workers", 1); lanes > 1)
    out += fmt::format(
        "  apply_workers {}: the tables spread over {} such publications, slots and "
        "subscriptions ({}2, ...), the most written tables first, each onto the least loaded\n",
        lanes, lanes, p["subscription"].get<std::string>());
  if (doc.contains("cloud")) {
    out += "\nCloud:\n";
    for (const auto& step : doc["cloud"])
      out += fmt::format("  {:<28} {:<5} {}\n", step["name"].get<std::string>(),
                         step["level"].get<std::string>(), step["detail"].get<std::string>());
  }
  const json& sw = doc["switch"];
  if (sw.is_null()) {
    out += "\nSwitch: no cutover block; `cutover` is not configured\n";
  } else {
    out += fmt::format("\nSwitch: {} at {}{}: from {} to {}; fence {}",
                       sw["proxy"].get<std::string>(), sw["listen"].get<std::string>(),
                       sw["managed"].get<bool>() ? " (managed)" : "", sw["from"].get<std::string>(),
                       sw["to"].get<std::string>(), sw["fence"].get<std::string>());
    if (sw.contains("fence_roles")) {
      if (sw["fence_roles"].is_array()) {
        std::vector<std::string> roles = sw["fence_roles"];
        out += " of role " + (roles.empty() ? std::string("(none)") : Join(roles));
      } else {
        out += " (roles: " + sw["fence_roles"].get<std::string>() + ")";
      }
    }
    out += fmt::format("; refused above {} of lag\n", Size(sw["max_lag_bytes"].get<int64_t>()));
  }
  out += "\nNothing was changed. `db_relocate check` runs the pre-flight checks.\n";
  return out;
}

}  // namespace dbr
