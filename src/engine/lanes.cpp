#include "engine/lanes.h"

#include <algorithm>
#include <tuple>

#include "model/names.h"

namespace dbr {

Result<std::map<std::string, int>> PlanTableLanes(pg::Connection& source,
                                                  const std::vector<TableInfo>& tables, int lanes) {
  std::map<std::string, int> placed;
  if (lanes <= 1) return placed;
  auto written = source.Query(
      "SELECT format('%I.%I', schemaname, relname), n_tup_ins + n_tup_upd + n_tup_del "
      "FROM pg_stat_user_tables");
  if (!written.ok()) return written.status().Wrap("reading how much each table was written");
  std::map<std::string, int64_t> writes;
  for (int i = 0; i < written->rows(); ++i) writes[written->Get(i, 0)] = written->GetInt(i, 1);
  struct Weighed {
    std::string table;
    int64_t writes, bytes;
  };
  std::vector<Weighed> order;
  for (const TableInfo& t : tables) {
    if (!t.Replicable() || t.schema == names::kSchema) continue;
    auto w = writes.find(t.Qualified());
    order.push_back({t.Qualified(), w == writes.end() ? 0 : w->second, t.bytes});
  }
  std::stable_sort(order.begin(), order.end(), [](const Weighed& a, const Weighed& b) {
    return std::tie(a.writes, a.bytes) > std::tie(b.writes, b.bytes);
  });
  // Writes where there are any; otherwise the bytes tell the tables apart.
  const bool by_writes =
      std::any_of(order.begin(), order.end(), [](const Weighed& w) { return w.writes > 0; });
  std::vector<int64_t> load(static_cast<size_t>(lanes), 0);
  for (const Weighed& w : order) {
    const auto lightest = std::min_element(load.begin(), load.end());
    *lightest += std::max<int64_t>(by_writes ? w.writes : w.bytes, 1);
    const int lane = static_cast<int>(lightest - load.begin()) + 1;
    if (lane != 1) placed[w.table] = lane;
  }
  return placed;
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

}  // namespace dbr
