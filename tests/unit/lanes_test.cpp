#include "engine/lanes.h"

#include <gtest/gtest.h>

namespace dbr {
namespace {

TEST(SpreadOverLanesTest, TheMostWrittenTablesGoFirstEachOntoTheLeastLoadedLane) {
  // 100 -> lane 1; 60 -> lane 2; 50 -> lane 2 (60 < 100); 10 -> lane 1 (100 < 110).
  auto placed = SpreadOverLanes({{"a", 10, 1}, {"b", 100, 1}, {"c", 50, 1}, {"d", 60, 1}}, 2);
  EXPECT_EQ(placed, (std::map<std::string, int>{{"c", 2}, {"d", 2}}));
}

TEST(SpreadOverLanesTest, TablesNeverWrittenAreSpreadByTheirSize) {
  auto placed = SpreadOverLanes({{"small", 0, 10}, {"big", 0, 1000}, {"mid", 0, 500}}, 3);
  EXPECT_EQ(placed, (std::map<std::string, int>{{"mid", 2}, {"small", 3}}));
}

TEST(SpreadOverLanesTest, OneLaneOrMoreLanesThanTablesLeaveNoLaneHoldingTwo) {
  EXPECT_TRUE(SpreadOverLanes({{"a", 5, 5}, {"b", 5, 5}}, 1).empty());
  auto placed = SpreadOverLanes({{"a", 5, 5}, {"b", 5, 5}}, 4);
  EXPECT_EQ(placed.size(), 1u);  // one in lane 1, one in lane 2, lanes 3 and 4 empty
}

TableInfo Table(const std::string& schema, const std::string& name) {
  TableInfo t;
  t.schema = schema;
  t.name = name;
  return t;
}

TEST(TablesByLaneTest, TheStatePlacesTablesAndEachLaneKeepsItsMarkerTable) {
  RunState state;
  state.table_lanes = {{Table("public", "orders").Qualified(), 2},
                       {Table("public", "gone").Qualified(), 3},
                       {Table("public", "beyond").Qualified(), 5}};
  const std::vector<TableInfo> tables = {Table("public", "orders"),
                                         Table("public", "new_since"),
                                         Table("db_relocate", "heartbeat"),
                                         Table("db_relocate", "verify_marker"),
                                         Table("db_relocate", "verify_marker_2"),
                                         Table("db_relocate", "verify_marker_3"),
                                         Table("public", "beyond")};
  auto by_lane = TablesByLane(tables, state, 3);
  ASSERT_EQ(by_lane.size(), 3u);
  auto names = [&](int lane) {
    std::vector<std::string> out;
    for (const auto& t : by_lane[static_cast<size_t>(lane - 1)]) out.push_back(t.name);
    return out;
  };
  // A table the state does not place, or places in a lane there no longer is, goes to lane 1.
  EXPECT_EQ(names(1),
            (std::vector<std::string>{"new_since", "heartbeat", "verify_marker", "beyond"}));
  EXPECT_EQ(names(2), (std::vector<std::string>{"orders", "verify_marker_2"}));
  EXPECT_EQ(names(3), (std::vector<std::string>{"verify_marker_3"}));
}

}  // namespace
}  // namespace dbr
