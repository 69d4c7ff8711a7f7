#include "engine/lanes.h"

#include <algorithm>
#include <tuple>

#include "engine/replication_link.h"
#include "model/names.h"

namespace dbr {

std::map<std::string, int> SpreadOverLanes(std::vector<TableWeight> tables, int lanes) {
  std::map<std::string, int> placed;
  if (lanes <= 1) return placed;
  std::stable_sort(tables.begin(), tables.end(), [](const TableWeight& a, const TableWeight& b) {
    return std::tie(a.writes, a.bytes) > std::tie(b.writes, b.bytes);
  });
  // Writes where there are any; otherwise the bytes tell the tables apart.
  const bool by_writes =
      std::any_of(tables.begin(), tables.end(), [](const TableWeight& t) { return t.writes > 0; });
  std::vector<int64_t> load(static_cast<size_t>(lanes), 0);
  for (const TableWeight& t : tables) {
    const auto lightest = std::min_element(load.begin(), load.end());
    *lightest += std::max<int64_t>(by_writes ? t.writes : t.bytes, 1);
    const int lane = static_cast<int>(lightest - load.begin()) + 1;
    if (lane != 1) placed[t.table] = lane;
  }
  return placed;
}

Result<std::map<std::string, int>> PlanTableLanes(pg::Connection& source,
                                                  const std::vector<TableInfo>& tables, int lanes) {
  if (lanes <= 1) return std::map<std::string, int>{};
  auto written = source.Query(
      "SELECT format('%I.%I', schemaname, relname), n_tup_ins + n_tup_upd + n_tup_del "
      "FROM pg_stat_user_tables");
  if (!written.ok()) return written.status().Wrap("reading how much each table was written");
  std::map<std::string, int64_t> writes;
  for (int i = 0; i < written->rows(); ++i) writes[written->Get(i, 0)] = written->GetInt(i, 1);
  std::vector<TableWeight> weighed;
  for (const TableInfo& t : tables) {
    if (!t.Replicable() || t.schema == names::kSchema) continue;
    auto w = writes.find(t.Qualified());
    weighed.push_back({t.Qualified(), w == writes.end() ? 0 : w->second, t.bytes});
  }
  return SpreadOverLanes(std::move(weighed), lanes);
}

int LaneOf(const RunState& state, const std::string& qualified) {
  auto it = state.table_lanes.find(qualified);
  return it == state.table_lanes.end() ? 1 : it->second;
}

std::vector<std::vector<TableInfo>> TablesByLane(const std::vector<TableInfo>& tables,
                                                 const RunState& state, int lanes) {
  std::vector<std::vector<TableInfo>> by_lane(static_cast<size_t>(std::max(lanes, 1)));
  for (const TableInfo& t : tables) {
    const int marker = names::VerifyMarkerLane(t.schema, t.name);
    const int placed = marker > 0 ? marker : LaneOf(state, t.Qualified());
    const int lane = placed > lanes ? 1 : placed;
    by_lane[static_cast<size_t>(lane - 1)].push_back(t);
  }
  return by_lane;
}

Status EnsureLanePublications(pg::Connection& conn, const std::vector<names::Link>& lanes,
                              const std::vector<TableInfo>& tables, const RunState& state) {
  const auto by_lane = TablesByLane(tables, state, static_cast<int>(lanes.size()));
  for (const names::Link& lane : lanes)
    DBR_RETURN_IF_ERROR(
        EnsurePublication(conn, lane.publication, by_lane[static_cast<size_t>(lane.lane - 1)]));
  return Status::Ok();
}

}  // namespace dbr
