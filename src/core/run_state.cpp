#include "core/run_state.h"

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
  return j;
}

RunState RunState::FromJson(const nlohmann::json& j) {
  RunState s;
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
