// `status --output json`, for scripts: the keys are an interface, kept as they are.
#include <fmt/format.h>

#include "core/status_view.h"

namespace dbr {
namespace {

nlohmann::json StepsJson(const std::map<std::string, StepRecord>& steps) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, s] : steps)
    j[name] = {{"done", s.done}, {"seconds", s.seconds}, {"finished_at", s.finished_at}};
  return j;
}

nlohmann::json TablesJson(const std::map<std::string, TableProgress>& tables) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, t] : tables)
    j[name] = {{"state", t.state}, {"rows", t.rows}, {"bytes", t.bytes}};
  return j;
}

nlohmann::json DriftJson(const std::vector<DriftItem>& drift) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& d : drift)
    j.push_back({{"table", d.table},
                 {"problem", d.problem},
                 {"fix", d.fix},
                 {"stalls_apply", d.stalls_apply},
                 {"not_replicated", d.not_replicated}});
  return j;
}

nlohmann::json SwitchesJson(const std::vector<SwitchRecord>& switches) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& r : switches)
    j.push_back({{"to", r.to},
                 {"started_at", r.started_at},
                 {"finished_at", r.finished_at},
                 {"pause_ms", r.pause_ms},
                 {"marker", r.marker},
                 {"lsn", r.lsn},
                 {"large_objects", r.large_objects},
                 {"follow_up_pending", r.follow_up_pending}});
  return j;
}

}  // namespace

nlohmann::json StatusJson(const StatusView& view) {
  nlohmann::json j;
  j["started"] = view.started;
  j["state_dir"] = view.state_dir;
  j["current_step"] = view.current_step;
  j["started_at"] = view.started_at;
  j["steps"] = StepsJson(view.steps);
  j["snapshot_lsn"] = view.snapshot_lsn;
  if (view.rds.phase != RdsPhase::kNone) j["rds"] = view.rds;
  j["tables"] = TablesJson(view.tables);
  j["replication"] = view.replication.ToJson();
  if (view.binlog)  // engine mysql: its replication, and the heartbeat
    j["replication"] = {{"binlog", view.binlog->ToJson()},
                        {"heartbeat", j["replication"]["heartbeat"]}};
  j["replication"]["schema_drift"] = DriftJson(view.schema_drift);
  if (const auto& p = view.pending_ddl)
    j["replication"]["pending_ddl"] = {
        {"id", p->id}, {"statement", p->statement}, {"error", p->error}};
  j["heartbeat_writer_pid"] = view.heartbeat_writer_pid.value_or(0);
  j["source_error"] = view.source_error;
  j["destination_error"] = view.destination_error;
  j["notes"] = view.notes;
  j["primary"] = view.primary;
  j["replication_direction"] = fmt::format("{}->{}", view.primary, Other(view.primary));
  j["switches"] = SwitchesJson(view.switches);
  j["switch_in_progress"] =
      view.unfinished_switch ? std::string(NameOf(view.unfinished_switch->stage)) : std::string();
  return j;
}

}  // namespace dbr
