#include "metrics/relocation_metrics.h"

#include <algorithm>
#include <map>

#include "metrics/exposition.h"
#include "model/run_state.h"
#include "model/samples.h"

namespace dbr::metrics {
namespace {

double Field(const std::optional<nlohmann::json>& figure, const char* key, double otherwise) {
  if (!figure) return otherwise;
  auto it = figure->find(key);
  return it != figure->end() && it->is_number() ? it->get<double>() : otherwise;
}

std::string StepOf(const RunState& state) {
  if (state.switching) return SwitchCommand(state.switching->to);
  return state.current_step.empty() ? "none" : state.current_step;
}

}  // namespace

std::string RenderRelocationMetrics(const std::filesystem::path& state_dir, double now) {
  StateStore store(state_dir);
  auto loaded = store.Load();
  const RunState state = loaded.ok() ? *loaded : RunState{};
  Exposition e;

  e.Family("db_relocate_step", "gauge",
           "The step the relocation is in (1 for the current one): a step of run, replicating "
           "once run has finished, cutover or rollback while one is under way");
  e.Add(1, {{"step", StepOf(state)}});

  e.Family("db_relocate_primary", "gauge", "The side taking the application's writes (1)");
  e.Add(1, {{"side", SideName(state.primary)}});

  std::map<std::string, int64_t> by_state = {{"pending", 0}, {"copied", 0}, {"resync", 0}};
  double state_rows = 0, state_bytes = 0;
  for (const auto& [name, t] : state.tables) {
    by_state[std::string(NameOf(t.state))]++;
    state_rows += static_cast<double>(t.rows);
    state_bytes += static_cast<double>(t.bytes);
  }
  e.Family("db_relocate_tables", "gauge", "Tables in scope by copy state");
  for (const auto& [s, n] : by_state) e.Add(static_cast<double>(n), {{"state", s}});

  // The copy's figure counts rows in flight too; the state counts finished tables (and is all
  // there is for a snapshot restored by RDS).
  auto copy = ReadFigure(state_dir, "copy");
  e.Family("db_relocate_copied_bytes_total", "counter",
           "Bytes of table data copied from the source to the destination");
  e.Add(std::max(Field(copy, "bytes", 0), state_bytes));
  e.Family("db_relocate_copied_rows_total", "counter",
           "Rows copied from the source to the destination");
  e.Add(std::max(Field(copy, "rows", 0), state_rows));

  auto lag = ReadFigure(state_dir, "lag");
  const bool lag_fresh = lag && now - Field(lag, "t", 0) <= kLagFreshSeconds;
  e.Family("db_relocate_replication_lag_bytes", "gauge",
           "WAL the primary has written that the replica has not confirmed yet");
  if (lag_fresh && Field(lag, "bytes", -1) >= 0) e.Add(Field(lag, "bytes", 0));
  e.Family("db_relocate_replication_lag_seconds", "gauge",
           "Age of the newest heartbeat on the replica, by the primary's clock");
  if (lag_fresh && Field(lag, "seconds", -1) >= 0) e.Add(Field(lag, "seconds", 0));

  // Measured age plus the time since it was measured: it keeps growing when the writer (or
  // whoever samples it) stops.
  auto beat = ReadFigure(state_dir, "heartbeat");
  e.Family("db_relocate_heartbeat_age_seconds", "gauge",
           "Age of the newest heartbeat row on the primary");
  if (beat && Field(beat, "age_seconds", -1) >= 0)
    e.Add(Field(beat, "age_seconds", 0) + std::max(0.0, now - Field(beat, "t", now)));

  e.Family("db_relocate_switches_total", "counter", "Finished cut-overs and rollbacks");
  e.Add(static_cast<double>(state.switches.size()));
  e.Family("db_relocate_write_pause_seconds", "gauge",
           "How long the last cut-over or rollback held the application's writes");
  if (!state.switches.empty()) e.Add(state.switches.back().pause_ms / 1000);

  std::map<std::string, double> errors = {
      {"run", 0}, {"heartbeat", 0}, {"cutover", 0}, {"rollback", 0}};
  if (auto figure = ReadFigure(state_dir, "errors"); figure && figure->contains("counts"))
    for (const auto& [process, n] : (*figure)["counts"].items())
      if (n.is_number()) errors[process] = n.get<double>();
  e.Family("db_relocate_errors_total", "counter",
           "Errors met by the relocation's processes (failed commands and steps, failed "
           "heartbeat writes)");
  for (const auto& [process, n] : errors) e.Add(n, {{"process", process}});
  return e.text();
}

}  // namespace dbr::metrics
