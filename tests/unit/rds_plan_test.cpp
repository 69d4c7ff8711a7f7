// The upgrade path through RDS's ValidUpgradeTarget graph, and version order.
#include "cloud/rds_plan.h"

#include <gtest/gtest.h>

#include <map>

namespace dbr {
namespace {

using Targets = std::vector<aws::UpgradeTarget>;

// A small picture of RDS's graph: minors upgrade within their major, some majors skip one.
const std::map<std::string, Targets> kGraph = {
    {"12.22", {{"13.18", true}, {"14.15", true}}},
    {"13.7", {{"13.18", false}, {"14.6", true}}},
    {"13.18", {{"14.15", true}, {"15.10", true}, {"16.6", true}}},
    {"14.6", {{"14.15", false}, {"15.2", true}}},
    {"14.15", {{"15.10", true}, {"16.6", true}, {"17.2", true}}},
    {"15.2", {{"15.10", false}}},
    {"15.10", {{"16.6", true}, {"17.2", true}}},
    {"16.6", {{"17.2", true}}},
    {"17.2", {}},
};

Result<std::vector<std::string>> Hops(const std::string& from, const std::string& target) {
  return PlanUpgradeHops(from, target, [](const std::string& v) {
    using Found = std::optional<Targets>;
    auto it = kGraph.find(v);
    return Result<Found>(it == kGraph.end() ? Found() : Found(it->second));
  });
}

TEST(RdsPlanTest, DirectUpgradeToAMajorTakesItsNewestReachableMinor) {
  auto hops = Hops("15.10", "17");
  ASSERT_TRUE(hops.ok()) << hops.message();
  EXPECT_EQ(*hops, (std::vector<std::string>{"17.2"}));
}

TEST(RdsPlanTest, ExactVersionTarget) {
  auto hops = Hops("13.18", "16.6");
  ASSERT_TRUE(hops.ok()) << hops.message();
  EXPECT_EQ(*hops, (std::vector<std::string>{"16.6"}));
}

TEST(RdsPlanTest, OldMinorNeedsAnIntermediateHop) {
  // 13.7 cannot reach 17 directly: 13.7 -> 14.6 -> 15.2 is longer than 13.7 -> 13.18 -> 17?
  // No: 13.18 does not reach 17 either; the fewest hops are 13.7 -> 13.18 -> 14.15 -> 17.2 or
  // 13.7 -> 14.6 -> 14.15 -> 17.2 (three each).
  auto hops = Hops("13.7", "17");
  ASSERT_TRUE(hops.ok()) << hops.message();
  ASSERT_EQ(hops->size(), 3u);
  EXPECT_EQ(hops->back(), "17.2");
  EXPECT_EQ((*hops)[1], "14.15");
}

TEST(RdsPlanTest, UnreachableTargetListsTheValidOnes) {
  auto hops = Hops("15.10", "18");
  ASSERT_FALSE(hops.ok());
  EXPECT_NE(hops.message().find("15.10 cannot be upgraded to 18"), std::string::npos);
  EXPECT_NE(hops.message().find("16.6, 17.2"), std::string::npos) << hops.message();
}

TEST(RdsPlanTest, UnknownSourceVersion) {
  auto hops = Hops("11.1", "17");
  ASSERT_FALSE(hops.ok());
  EXPECT_NE(hops.message().find("does not know engine version 11.1"), std::string::npos);
}

TEST(RdsPlanTest, LookupErrorsAreReturned) {
  auto hops = PlanUpgradeHops("15.10", "17", [](const std::string&) {
    return Result<std::optional<Targets>>(
        Status::Error("rds DescribeDBEngineVersions: Throttling"));
  });
  ASSERT_FALSE(hops.ok());
  EXPECT_NE(hops.message().find("Throttling"), std::string::npos);
}

TEST(RdsPlanTest, VersionOrderIsNumeric) {
  EXPECT_TRUE(VersionLess("13.7", "13.10"));
  EXPECT_FALSE(VersionLess("13.10", "13.7"));
  EXPECT_TRUE(VersionLess("9.6.24", "10.1"));
  EXPECT_TRUE(VersionLess("16.6", "17"));
  EXPECT_FALSE(VersionLess("17.2", "17.2"));
}

TEST(RdsPlanTest, DestinationInstanceIdDefaultsFromTheSource) {
  Config c;
  c.src.instance_id = "shop-db";
  EXPECT_EQ(DestinationInstanceId(c, "17.2"), "shop-db-v17");
  c.dst.instance_id = "shop-db-new";
  EXPECT_EQ(DestinationInstanceId(c, "17.2"), "shop-db-new");
}

// Method instance: AWS wants a parameter group of the hop's family across majors.
TEST(RdsPlanTest, EachInstanceHopAcrossMajorsNamesAGroupOfItsFamily) {
  RdsPlan plan;
  plan.hops = {"14.17", "15.19", "15.20"};
  plan.upgrade_parameter_group = "shop-params";
  EXPECT_EQ(HopParameterGroup(plan, "13.20", "14.17"), "default.postgres14");
  EXPECT_EQ(HopParameterGroup(plan, "14.17", "15.19"), "shop-params");
  EXPECT_EQ(HopParameterGroup(plan, "15.19", "15.20"), "");  // a minor hop keeps the instance's
}

TEST(RdsPlanTest, InstanceIdentifiersFollowRdsRules) {
  EXPECT_EQ(InstanceIdProblem("shop-db-v17"), "");
  EXPECT_EQ(InstanceIdProblem(std::string(63, 'a')), "");
  EXPECT_NE(InstanceIdProblem(std::string(64, 'a')).find("1 to 63 characters, this one 64"),
            std::string::npos);
  EXPECT_NE(InstanceIdProblem("").find("1 to 63"), std::string::npos);
  EXPECT_NE(InstanceIdProblem("1shop").find("starts with a letter"), std::string::npos);
  EXPECT_NE(InstanceIdProblem("shop_db").find("letters, digits and hyphens"), std::string::npos);
  for (const char* id : {"shop-", "shop--db"})
    EXPECT_NE(InstanceIdProblem(id).find("hyphen"), std::string::npos) << id;
  EXPECT_EQ(ReplicaInstanceId("shop-db-v17", 0), "shop-db-v17-replica-1");
}

}  // namespace
}  // namespace dbr
