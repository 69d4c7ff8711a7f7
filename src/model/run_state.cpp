#include "model/run_state.h"

#include <ctime>

#include "util/files.h"

namespace dbr {

std::string NowUtc() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool RunState::StepDone(const std::string& name) const {
  auto it = steps.find(name);
  return it != steps.end() && it->second.done;
}

nlohmann::json RunState::ToJson() const {
  nlohmann::json j;
  j["format"] = 1;
  j["source"] = source;
  j["destination_database"] = destination_database;
  j["current_step"] = current_step;
  j["started_at"] = started_at;
  for (const auto& [name, s] : steps)
    j["steps"][name] = {{"done", s.done}, {"seconds", s.seconds}, {"finished_at", s.finished_at}};
  j["replication_password"] = replication_password;
  j["snapshot_lsn"] = snapshot_lsn;
  j["snapshot_phase"] = snapshot_phase;
  j["tables"] = nlohmann::json::object();
  for (const auto& [name, t] : tables)
    j["tables"][name] = {
        {"state", t.state}, {"rows", t.rows}, {"bytes", t.bytes}, {"seconds", t.seconds}};
  j["resync_tables"] = resync_tables;
  j["sequences_set"] = sequences_set;
  j["created_roles"] = created_roles;
  j["notes"] = notes;
  if (!rds.phase.empty()) j["rds"] = rds;
  j["primary"] = primary;
  auto record = [](const SwitchRecord& r) {
    return nlohmann::json{{"to", r.to},
                          {"stage", r.stage},
                          {"started_at", r.started_at},
                          {"finished_at", r.finished_at},
                          {"pause_ms", r.pause_ms},
                          {"marker", r.marker},
                          {"lsn", r.lsn}};
  };
  if (switching) j["switching"] = record(*switching);
  j["switches"] = nlohmann::json::array();
  for (const auto& r : switches) j["switches"].push_back(record(r));
  j["fenced"] = nlohmann::json::object();
  for (const auto& [side, roles] : fenced)
    for (const auto& f : roles)
      j["fenced"][side].push_back({{"role", f.role}, {"previous", f.previous}});
  return j;
}

RunState RunState::FromJson(const nlohmann::json& j) {
  RunState s;
  s.source = j.value("source", "");
  s.destination_database = j.value("destination_database", "");
  s.current_step = j.value("current_step", "");
  s.started_at = j.value("started_at", "");
  if (j.contains("steps"))
    for (const auto& [name, v] : j["steps"].items())
      s.steps[name] = {v.value("done", false), v.value("seconds", 0.0), v.value("finished_at", "")};
  s.replication_password = j.value("replication_password", "");
  s.snapshot_lsn = j.value("snapshot_lsn", "");
  s.snapshot_phase = j.value("snapshot_phase", "");
  if (j.contains("tables"))
    for (const auto& [name, v] : j["tables"].items())
      s.tables[name] = {v.value("state", "pending"), v.value("rows", int64_t{0}),
                        v.value("bytes", int64_t{0}), v.value("seconds", 0.0)};
  s.resync_tables = j.value("resync_tables", std::vector<std::string>{});
  s.sequences_set = j.value("sequences_set", false);
  s.created_roles = j.value("created_roles", std::vector<std::string>{});
  s.notes = j.value("notes", std::vector<std::string>{});
  if (j.contains("rds") && j["rds"].is_object()) s.rds = j["rds"].get<RdsState>();
  s.primary = j.value("primary", "src");
  auto record = [](const nlohmann::json& v) {
    return SwitchRecord{v.value("to", ""),         v.value("stage", ""),
                        v.value("started_at", ""), v.value("finished_at", ""),
                        v.value("pause_ms", 0.0),  v.value("marker", int64_t{0}),
                        v.value("lsn", "")};
  };
  if (j.contains("switching")) s.switching = record(j["switching"]);
  if (j.contains("switches"))
    for (const auto& v : j["switches"]) s.switches.push_back(record(v));
  if (j.contains("fenced"))
    for (const auto& [side, roles] : j["fenced"].items())
      for (const auto& f : roles)
        s.fenced[side].push_back({f.value("role", ""), f.value("previous", "")});
  return s;
}

bool StateStore::Exists() const {
  return std::filesystem::exists(file("state.json"));
}

Result<RunState> StateStore::Load() const {
  if (!Exists()) return RunState{};
  auto text = ReadFile(file("state.json"));
  if (!text.ok()) return text.status();
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Status::Error("the run state " + file("state.json").string() +
                         " is damaged (not JSON); move it away to start afresh");
  return RunState::FromJson(j);
}

Status StateStore::Save(const RunState& state) const {
  DBR_RETURN_IF_ERROR(EnsureDirectory(dir_));
  return WriteFileAtomic(file("state.json"), state.ToJson().dump(2) + "\n");
}

}  // namespace dbr
