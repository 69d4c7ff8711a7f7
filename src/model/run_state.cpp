#include "model/run_state.h"

#include <fmt/format.h>

#include <ctime>
#include <stdexcept>

#include "config/config.h"
#include "util/files.h"

namespace dbr {

std::string SwitchRecord::Interrupted() const {
  return fmt::format("a {} was interrupted (stage {})", SwitchName(to), stage);
}

std::string NowUtc() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {

nlohmann::json FencedJson(const FencedRole& f) {
  return {{"role", f.role}, {"previous", f.previous}};
}

}  // namespace

bool RunState::StepDone(const std::string& name) const {
  auto it = steps.find(name);
  return it != steps.end() && it->second.done;
}

bool RunState::DestinationDependsOnSlot() const {
  if (!rds.snapshot.empty()) return true;  // recorded before it is requested
  if (cloudsql.method == NameOf(UpgradeMethod::kClone) && cloudsql.phase != CloudSqlPhase::kNone)
    return true;  // named before it is requested
  for (const auto& [name, t] : tables)
    if (t.state != TableState::kPending) return true;
  return false;
}

nlohmann::json RunState::ToJson() const {
  nlohmann::json j;
  j["format"] = kStateFormat;
  j["source"] = source;
  j["destination_database"] = destination_database;
  j["servers"] = nlohmann::json::object();
  for (const auto& [side, identity] : servers) j["servers"][std::string(NameOf(side))] = identity;
  j["current_step"] = current_step;
  j["started_at"] = started_at;
  for (const auto& [name, s] : steps)
    j["steps"][name] = {{"done", s.done}, {"seconds", s.seconds}, {"finished_at", s.finished_at}};
  j["replication_password"] = replication_password;
  j["snapshot_lsn"] = snapshot_lsn;
  j["snapshot_slot"] = snapshot_slot;
  j["schema_lsn"] = schema_lsn;
  j["snapshot_phase"] = snapshot_phase;
  j["tables"] = nlohmann::json::object();
  for (const auto& [name, t] : tables)
    j["tables"][name] = {
        {"state", t.state}, {"rows", t.rows}, {"bytes", t.bytes}, {"seconds", t.seconds}};
  j["resync_tables"] = resync_tables;
  j["apply_workers"] = apply_workers;
  j["table_lanes"] = table_lanes;
  j["sequences_set"] = sequences_set;
  j["created_roles"] = created_roles;
  j["replication_user_before"] = nlohmann::json::object();
  for (const auto& [side, before] : replication_user_before)
    j["replication_user_before"][std::string(NameOf(side))] = {
        {"role", before.role}, {"existed", before.existed}, {"comment", before.comment}};
  j["notes"] = notes;
  if (rds.phase != RdsPhase::kNone) j["rds"] = rds;
  if (cloudsql != CloudSqlState{}) j["cloudsql"] = cloudsql;
  if (mysql != MysqlState{}) j["mysql"] = mysql;
  j["primary"] = primary;
  auto record = [](const SwitchRecord& r) {
    nlohmann::json j{{"to", r.to},
                     {"stage", r.stage},
                     {"started_at", r.started_at},
                     {"finished_at", r.finished_at},
                     {"pause_ms", r.pause_ms},
                     {"marker", r.marker},
                     {"lsn", r.lsn},
                     {"large_objects", r.large_objects}};
    if (!r.way_back_from.empty()) j["way_back_from"] = r.way_back_from;
    if (r.undo != UndoProgress::kNone) j["undo"] = r.undo;
    if (r.follow_up_pending) j["follow_up_pending"] = true;
    for (const auto& f : r.lifted_fence) j["lifted_fence"].push_back(FencedJson(f));
    return j;
  };
  if (switching) j["switching"] = record(*switching);
  j["switches"] = nlohmann::json::array();
  for (const auto& r : switches) j["switches"].push_back(record(r));
  j["fenced"] = nlohmann::json::object();
  for (const auto& [side, roles] : fenced)
    for (const auto& f : roles) j["fenced"][std::string(NameOf(side))].push_back(FencedJson(f));
  return j;
}

namespace {

// A field of `j` read as T, or `fallback` when absent.
template <typename T>
T Field(const nlohmann::json& j, const char* key, T fallback) {
  if (!j.is_object())
    throw std::invalid_argument(std::string("an object holding \"") + key + "\" is " + j.dump());
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? fallback : it->get<T>();
}

FencedRole FencedFromJson(const nlohmann::json& f) {
  return {Field<std::string>(f, "role", ""), Field<std::string>(f, "previous", "")};
}

}  // namespace

RunState RunState::FromJson(const nlohmann::json& j) {
  // Formats older than kStateFormat are migrated here, oldest first. Format 1 has no `servers`
  // and no `snapshot_slot`: they are left empty, and recorded at the next contact.
  RunState s;
  s.format = Field(j, "format", 1);
  s.source = Field<std::string>(j, "source", "");
  s.destination_database = Field<std::string>(j, "destination_database", "");
  if (j.contains("servers"))
    for (const auto& [side, v] : j["servers"].items())
      s.servers[nlohmann::json(side).get<Side>()] = v.get<ServerIdentity>();
  s.current_step = Field<std::string>(j, "current_step", "");
  s.started_at = Field<std::string>(j, "started_at", "");
  if (j.contains("steps"))
    for (const auto& [name, v] : j["steps"].items())
      s.steps[name] = {Field(v, "done", false), Field(v, "seconds", 0.0),
                       Field<std::string>(v, "finished_at", "")};
  s.replication_password = Field<std::string>(j, "replication_password", "");
  s.snapshot_lsn = Field<std::string>(j, "snapshot_lsn", "");
  s.snapshot_slot = Field<std::string>(j, "snapshot_slot", "");
  s.schema_lsn = Field<std::string>(j, "schema_lsn", "");
  s.snapshot_phase = Field(j, "snapshot_phase", SnapshotPhase::kNone);
  if (j.contains("tables"))
    for (const auto& [name, v] : j["tables"].items())
      s.tables[name] = {Field(v, "state", TableState::kPending), Field(v, "rows", int64_t{0}),
                        Field(v, "bytes", int64_t{0}), Field(v, "seconds", 0.0)};
  s.resync_tables = Field(j, "resync_tables", std::vector<std::string>{});
  s.apply_workers = Field(j, "apply_workers", 0);
  s.table_lanes = Field(j, "table_lanes", std::map<std::string, int>{});
  s.sequences_set = Field(j, "sequences_set", false);
  s.created_roles = Field(j, "created_roles", std::vector<std::string>{});
  if (j.contains("replication_user_before"))
    for (const auto& [side, v] : j["replication_user_before"].items())
      s.replication_user_before[nlohmann::json(side).get<Side>()] = {
          Field<std::string>(v, "role", ""), Field(v, "existed", false),
          Field<std::string>(v, "comment", "")};
  s.notes = Field(j, "notes", std::vector<std::string>{});
  if (j.contains("rds") && j["rds"].is_object()) s.rds = j["rds"].get<RdsState>();
  if (j.contains("cloudsql") && j["cloudsql"].is_object())
    s.cloudsql = j["cloudsql"].get<CloudSqlState>();
  if (j.contains("mysql") && j["mysql"].is_object()) s.mysql = j["mysql"].get<MysqlState>();
  s.primary = Field(j, "primary", Side::kSource);
  auto record = [](const nlohmann::json& v) {
    SwitchRecord r{Field(v, "to", Side::kDestination),
                   Field(v, "stage", SwitchStage::kPrepared),
                   Field<std::string>(v, "started_at", ""),
                   Field<std::string>(v, "finished_at", ""),
                   Field(v, "pause_ms", 0.0),
                   Field(v, "marker", int64_t{0}),
                   Field<std::string>(v, "lsn", "")};
    if (v.contains("lifted_fence"))
      for (const auto& f : v["lifted_fence"]) r.lifted_fence.push_back(FencedFromJson(f));
    r.large_objects = Field(v, "large_objects", LargeObjectSync{});
    r.way_back_from = Field<std::string>(v, "way_back_from", "");
    r.undo = Field(v, "undo", UndoProgress::kNone);
    r.follow_up_pending = Field(v, "follow_up_pending", false);
    return r;
  };
  if (j.contains("switching") && !j["switching"].is_null()) s.switching = record(j["switching"]);
  if (j.contains("switches"))
    for (const auto& v : j["switches"]) s.switches.push_back(record(v));
  if (j.contains("fenced"))
    for (const auto& [side, roles] : j["fenced"].items())
      for (const auto& f : roles)
        s.fenced[nlohmann::json(side).get<Side>()].push_back(FencedFromJson(f));
  return s;
}

Result<std::optional<FileLock>> StateStore::LockIfExists() const {
  if (!std::filesystem::is_directory(dir_)) return std::optional<FileLock>();
  DBR_ASSIGN_OR_RETURN(FileLock held, Lock());
  return std::optional<FileLock>(std::move(held));
}

bool StateStore::Exists() const {
  return std::filesystem::exists(file("state.json"));
}

Result<RunState> StateStore::Load() const {
  if (!Exists()) return RunState{};
  auto text = ReadFile(file("state.json"));
  if (!text.ok()) return text.status();
  auto j = nlohmann::json::parse(*text, nullptr, false);
  const std::string path = file("state.json").string();
  if (j.is_discarded() || !j.is_object())
    return Status::Error("the run state " + path +
                         " is damaged (not JSON); move it away to start afresh");
  const int format =
      j.contains("format") && j["format"].is_number_integer() ? j["format"].get<int>() : 1;
  if (format > kStateFormat)
    return Status::Error(fmt::format(
        "the run state {} has format {}, written by a newer db_relocate (this one reads formats "
        "up to {}): use that version for this relocation",
        path, format, kStateFormat));
  try {
    return RunState::FromJson(j);
  } catch (const std::exception& e) {
    return Status::Error("the run state " + path + " is damaged (" + e.what() +
                         "); move it away to start afresh");
  }
}

Status StateStore::Save(const RunState& state) const {
  DBR_RETURN_IF_ERROR(EnsureDirectory(dir_));
  return WriteFileAtomic(file("state.json"), state.ToJson().dump(2) + "\n");
}

}  // namespace dbr
