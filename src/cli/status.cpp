#include <fmt/format.h>

#include <iostream>
#include <optional>

#include "cli/commands.h"
#include "engine/heartbeat.h"
#include "engine/replication_health.h"
#include "engine/schema_drift.h"
#include "model/names.h"
#include "model/run_state.h"
#include "model/servers.h"
#include "util/progress.h"

namespace dbr::cli {
namespace {

std::string YesNo(bool b) {
  return b ? "yes" : "no";
}

}  // namespace

int ShowStatus(const Config& config, const CommandOptions& options) {
  StateStore store(config.state_dir);
  auto state = store.Load();
  if (!state.ok()) {
    std::cerr << "error: " << state.message() << "\n";
    return kExitFailed;
  }
  std::optional<pg::Connection> src, dst;
  std::string src_error, dst_error;
  if (auto c = pg::Connection::Open(SourceParams(config)); c.ok())
    src.emplace(std::move(*c));
  else
    src_error = c.message();
  if (auto c = pg::Connection::Open(DestinationParams(config)); c.ok())
    dst.emplace(std::move(*c));
  else
    dst_error = c.message();
  // After a cut-over the application writes to the destination and replication runs back.
  const bool reversed = state->primary == Side::kDestination;
  const names::Links links = LinksOf(config);
  const names::Link& link = links.Into(Other(state->primary));
  pg::Connection* src_conn = src ? &*src : nullptr;
  pg::Connection* dst_conn = dst ? &*dst : nullptr;
  ReplicationHealth h = reversed ? ReadReplicationHealth(dst_conn, src_conn, link)
                                 : ReadReplicationHealth(src_conn, dst_conn, link);
  const std::string primary = SideName(state->primary);
  const std::string replica = SideName(Other(state->primary));
  auto writer = HeartbeatWriterPid(store);
  // DDL on the primary since the relocation started, which replication does not carry.
  std::vector<DriftItem> drift;
  if (h.subscription_exists && src_conn != nullptr && dst_conn != nullptr) {
    pg::Connection& sender = reversed ? *dst_conn : *src_conn;
    pg::Connection& receiver = reversed ? *src_conn : *dst_conn;
    auto d = ReadSchemaDrift(sender, receiver, link, config);
    if (d.ok()) drift = std::move(*d);
  }

  std::map<std::string, int> by_state;
  for (const auto& [name, t] : state->tables) by_state[std::string(NameOf(t.state))]++;
  const bool started = store.Exists();

  if (options.output == "json") {
    nlohmann::json j;
    j["started"] = started;
    j["state_dir"] = config.state_dir;
    j["current_step"] = state->current_step;
    j["started_at"] = state->started_at;
    nlohmann::json steps = nlohmann::json::object();
    for (const auto& [name, s] : state->steps)
      steps[name] = {{"done", s.done}, {"seconds", s.seconds}, {"finished_at", s.finished_at}};
    j["steps"] = steps;
    j["snapshot_lsn"] = state->snapshot_lsn;
    if (state->rds.phase != RdsPhase::kNone) j["rds"] = state->rds;
    nlohmann::json tables = nlohmann::json::object();
    for (const auto& [name, t] : state->tables)
      tables[name] = {{"state", t.state}, {"rows", t.rows}, {"bytes", t.bytes}};
    j["tables"] = tables;
    j["replication"] = h.ToJson();
    nlohmann::json drift_json = nlohmann::json::array();
    for (const auto& d : drift)
      drift_json.push_back({{"table", d.table},
                            {"problem", d.problem},
                            {"fix", d.fix},
                            {"stalls_apply", d.stalls_apply},
                            {"not_replicated", d.not_replicated}});
    j["replication"]["schema_drift"] = drift_json;
    j["heartbeat_writer_pid"] = writer ? *writer : 0;
    j["source_error"] = src_error;
    j["destination_error"] = dst_error;
    j["notes"] = state->notes;
    j["primary"] = state->primary;
    j["replication_direction"] = fmt::format("{}->{}", link.from, link.to);
    nlohmann::json switches = nlohmann::json::array();
    for (const auto& r : state->switches)
      switches.push_back({{"to", r.to},
                          {"started_at", r.started_at},
                          {"finished_at", r.finished_at},
                          {"pause_ms", r.pause_ms},
                          {"marker", r.marker},
                          {"lsn", r.lsn}});
    j["switches"] = switches;
    j["switch_in_progress"] =
        state->switching ? std::string(NameOf(state->switching->stage)) : std::string();
    std::cout << j.dump(2) << "\n";
  } else {
    std::string out;
    if (!started)
      out += "no relocation has run with this config yet (state: " + config.state_dir + ")\n";
    out += fmt::format("step:            {}\n",
                       state->current_step.empty() ? "-" : state->current_step);
    if (!state->started_at.empty()) out += fmt::format("started:         {}\n", state->started_at);
    if (!state->snapshot_lsn.empty())
      out += fmt::format("snapshot LSN:    {}\n", state->snapshot_lsn);
    if (const RdsState& rds = state->rds; rds.phase != RdsPhase::kNone) {
      out += fmt::format("RDS:             {} (snapshot {}{})\n", rds.phase, rds.snapshot,
                         rds.encrypted_snapshot.empty() ? "" : ", " + rds.encrypted_snapshot);
      if (!rds.instance.empty())
        out += fmt::format(
            "RDS destination: {} at {}:{}{}\n", rds.instance, rds.dst_host, rds.dst_port,
            rds.replicas.empty() ? "" : fmt::format(", {} read replica(s)", rds.replicas.size()));
    }
    std::string counts;
    for (const auto& [s, n] : by_state)
      counts += (counts.empty() ? "" : ", ") + fmt::format("{} {}", n, s);
    out += fmt::format("tables:          {}\n", counts.empty() ? "-" : counts);
    for (const auto& [name, t] : state->tables)
      if (t.state != TableState::kCopied) out += fmt::format("  {:<40} {}\n", name, t.state);
    out += fmt::format("primary:         {} (replication {} -> {})\n", primary, primary, replica);
    for (const auto& r : state->switches)
      out += fmt::format("  {} at {}: write pause {:.0f} ms\n", SwitchName(r.to), r.finished_at,
                         r.pause_ms);
    if (state->switching)
      out += fmt::format("WARNING:         a {} was interrupted (stage {}): run it again\n",
                         SwitchCommand(state->switching->to), state->switching->stage);
    if (!src_error.empty()) out += "source:          unreachable: " + src_error + "\n";
    if (!dst_error.empty()) out += "destination:     unreachable: " + dst_error + "\n";
    out +=
        fmt::format("slot:            {}{}\n", h.slot_exists ? "present" : "absent",
                    h.slot_exists ? fmt::format(", active {}, wal_status {}, retains {}",
                                                YesNo(h.slot_active), h.slot_wal_status,
                                                HumanBytes(static_cast<double>(h.retained_bytes)))
                                  : "");
    out += fmt::format(
        "subscription:    {}{}\n", h.subscription_exists ? "present" : "absent",
        h.subscription_exists
            ? fmt::format(", enabled {}, apply worker {}, {} tables syncing",
                          YesNo(h.subscription_enabled),
                          h.apply_worker_running ? "running" : "NOT running", h.tables_not_ready)
            : "");
    if (h.apply_errors >= 0) out += fmt::format("apply errors:    {}\n", h.apply_errors);
    if (std::string w = h.SlotWarning(); !w.empty()) out += "WARNING:         " + w + "\n";
    for (const auto& d : drift)
      out += "WARNING:         schema changed on the " + primary + ": " + d.ToString() + "\n";
    out += fmt::format("lag:             {} bytes, {} s\n", h.lag_bytes,
                       h.lag_seconds < 0 ? std::string("?") : fmt::format("{:.1f}", h.lag_seconds));
    out += fmt::format("heartbeat:       {} #{} ({}), {} #{} ({}), writer {}\n", primary,
                       h.src_heartbeat_seq, h.src_heartbeat_at.empty() ? "-" : h.src_heartbeat_at,
                       replica, h.dst_heartbeat_seq,
                       h.dst_heartbeat_at.empty() ? "-" : h.dst_heartbeat_at,
                       writer ? fmt::format("running (pid {})", *writer) : "not running");
    for (const auto& n : state->notes) out += "note: " + n + "\n";
    std::cout << out;
  }
  return src_error.empty() && dst_error.empty() ? kExitOk : kExitFailed;
}

}  // namespace dbr::cli
