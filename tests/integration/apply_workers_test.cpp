// `apply_workers: N`: the tables spread over N publications, slots and subscriptions, each
// starting at the snapshot's exact point, under a live writer; verify, cut-over and rollback
// make every lane meet at one point; cleanup leaves none of them.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "harness/app_pair.h"
#include "harness/pgbench.h"
#include "util/files.h"

namespace dbr::test {
namespace {

class ApplyWorkersTest : public AppPairTest {
 protected:
  std::filesystem::path Config(const std::string& extra) {
    return WriteConfig(tmp_.path(), *src_, *dst_, "app", extra);
  }
  CommandResult Dbr(const std::string& command, const std::filesystem::path& config,
                    const std::map<std::string, std::string>& env = {}) {
    return RunDbRelocate({command, "--config", config.string()}, env);
  }
  nlohmann::json State() { return nlohmann::json::parse(*ReadFile(state_dir() / "state.json")); }
  std::string Src(const std::string& sql) { return *src_->QueryValue(sql, "app"); }
  std::string Dst(const std::string& sql) { return *dst_->QueryValue(sql, "app"); }

  // Every replicable table of the schemas in scope is published exactly once, and each lane's
  // publication holds some.
  void ExpectEachTableInOneLane(int lanes) {
    EXPECT_EQ(Src("SELECT count(*) FROM (SELECT schemaname, tablename FROM pg_publication_tables "
                  "WHERE pubname LIKE 'db_relocate_pub%' GROUP BY 1, 2 HAVING count(*) > 1) d"),
              "0");
    EXPECT_EQ(Src("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                  "WHERE n.nspname IN ('public', 'Sales Ops') AND c.relkind = 'r' AND "
                  "c.relpersistence = 'p' AND NOT EXISTS (SELECT 1 FROM pg_publication_tables p "
                  "WHERE p.pubname LIKE 'db_relocate_pub%' AND p.schemaname = n.nspname AND "
                  "p.tablename = c.relname)"),
              "0");
    for (int lane = 1; lane <= lanes; ++lane) {
      const std::string pub =
          lane == 1 ? "db_relocate_pub" : fmt::format("db_relocate_pub{}", lane);
      EXPECT_NE(Src("SELECT count(*) FROM pg_publication_tables WHERE pubname = '" + pub + "'"),
                "0")
          << pub << " holds no table";
    }
  }

  // A table of a lane after the first that has rows on the destination.
  std::string TableOfAnotherLane() {
    const nlohmann::json state = State();
    for (const auto& [table, lane] : state["table_lanes"].items())
      if (Dst("SELECT count(*) > 0 FROM " + table) == "t") return table;
    return "";
  }
};

TEST_F(ApplyWorkersTest, ThreeSubscriptionsCarryALiveRelocationThereAndBackAndVerifyEqual) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair(15, 17));
  ASSERT_TRUE(LoadRichSchema(*src_, "app", 5000).ok());
  ASSERT_TRUE(src_->Exec(kLedgerForApp, "app").ok());
  int proxy_port = 0;
  std::string proxy;
  ASSERT_NO_FATAL_FAILURE(ManagedPgBouncerBlock(tmp_.path(), &proxy_port, &proxy));
  auto config = Config("apply_workers: 3\n" + proxy);
  std::shared_ptr<void> stop_proxy(nullptr, [&](void*) {
    CommandResult stopped = RunDbRelocate({"proxy", "--stop", "--config", config.string()});
    EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  });
  LiveWriter writer(*src_, "app");

  CommandResult plan = Dbr("plan", config);
  EXPECT_EQ(plan.exit_code, 0) << plan.out << plan.err;
  EXPECT_NE(plan.out.find("apply_workers 3"), std::string::npos) << plan.out;

  CommandResult run = Dbr("run", config);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.err.find("heartbeat verified"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("spread over 3 subscriptions"), std::string::npos) << run.err;
  // Lanes 2 and 3 started at lane 1's consistent point through their origins.
  EXPECT_NE(run.err.find("advanced to " + State()["snapshot_lsn"].get<std::string>()),
            std::string::npos)
      << run.err;

  auto state = State();
  EXPECT_EQ(state["apply_workers"], 3);
  std::set<int> lanes_used;
  for (const auto& [table, lane] : state["table_lanes"].items()) lanes_used.insert(lane.get<int>());
  EXPECT_EQ(lanes_used, (std::set<int>{2, 3})) << state["table_lanes"];
  EXPECT_EQ(Src("SELECT string_agg(slot_name, ',' ORDER BY slot_name) FROM pg_replication_slots"),
            "db_relocate_slot2_app,db_relocate_slot3_app,db_relocate_slot_app");
  ExpectEachTableInOneLane(3);
  EXPECT_EQ(Dst("SELECT count(DISTINCT s.subname) FROM pg_subscription s JOIN "
                "pg_stat_subscription w ON w.subid = s.oid WHERE w.pid IS NOT NULL"),
            "3");

  CommandResult status = RunDbRelocate({"status", "--config", config.string(), "--output", "json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  auto j = nlohmann::json::parse(status.out);
  EXPECT_EQ(j["replication"]["lanes"], 3);
  EXPECT_TRUE(j["replication"]["subscription"]["apply_worker_running"].get<bool>());

  // Verify stops every lane at one point while the writer goes on.
  CommandResult verify = Dbr("verify", config);
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;

  // From here the application (pgbench through the proxy) alone writes: the writer goes straight
  // to the source, which is no primary while the application is on the destination.
  writer.Stop();
  ASSERT_TRUE(writer.error().empty()) << writer.error();
  ASSERT_GT(writer.operations(), 0);
  auto source = src_->Connect("app");
  auto destination = dst_->Connect("app");
  ASSERT_TRUE(source.ok() && destination.ok());
  int64_t committed = 0;
  ASSERT_NO_FATAL_FAILURE(MoveTheApplicationThereAndBack(
      tmp_.path(), proxy_port, "app", *source, *destination,
      [&](const std::string& command) { return Dbr(command, config); }, &committed));
  EXPECT_EQ(Src("SELECT count(*) FROM ledger"), std::to_string(committed));
  // The rollback built the three lanes again, each table in the lane it had.
  ExpectEachTableInOneLane(3);
  EXPECT_EQ(Dst("SELECT count(*) FROM pg_subscription WHERE subenabled"), "3");
  StopWritersAndExpectSynced(&writer, state_dir(), *src_, "app", dst_->Params("app"), kRichSchemas,
                             12);
  verify = Dbr("verify", config);
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;

  // A row lost in a table of lane 2 or 3 is found.
  const std::string damaged = TableOfAnotherLane();
  ASSERT_FALSE(damaged.empty()) << State()["table_lanes"];
  ASSERT_TRUE(dst_->Exec("SET session_replication_role = replica; DELETE FROM " + damaged +
                             " WHERE ctid = (SELECT min(ctid) FROM " + damaged + ")",
                         "app")
                  .ok());
  verify = Dbr("verify", config);
  EXPECT_EQ(verify.exit_code, 1) << verify.out << verify.err;
  EXPECT_NE(verify.out.find("only on the source"), std::string::npos) << verify.out;

  CommandResult cleanup = Dbr("cleanup", config);
  ASSERT_EQ(cleanup.exit_code, 0) << cleanup.out << cleanup.err;
  EXPECT_EQ(Src("SELECT count(*) FROM pg_replication_slots"), "0");
  EXPECT_EQ(Src("SELECT count(*) FROM pg_publication"), "0");
  EXPECT_EQ(Dst("SELECT count(*) FROM pg_subscription"), "0");
  EXPECT_EQ(Dst("SELECT count(*) FROM pg_replication_slots"), "0");
  EXPECT_EQ(Dst("SELECT count(*) FROM pg_publication"), "0");
}

// Killed after lanes 2 and 3 made their slots but before lane 1 made its own, and again before
// catch-up: `run` again ends with every table equal; then a config that changes apply_workers
// is refused, naming the field.
TEST_F(ApplyWorkersTest, KilledBetweenTheLanesSlotsRunAgainEndsEqual) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair(14, 16));
  ASSERT_TRUE(LoadRichSchema(*src_, "app", 5000).ok());
  LiveWriter writer(*src_, "app");
  auto config = Config("apply_workers: 2\n");
  for (const char* point : {"publication:lane-slots", "before:catchup"}) {
    CommandResult killed = Dbr("run", config, {{"DBR_CRASH_AT", point}});
    ASSERT_EQ(killed.exit_code, 137) << point << "\n" << killed.err;
  }
  CommandResult run = Dbr("run", config);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_EQ(Src("SELECT count(*) FROM pg_replication_slots"), "2");
  ExpectEachTableInOneLane(2);
  StopWritersAndExpectSynced(&writer, state_dir(), *src_, "app", dst_->Params("app"), kRichSchemas);

  auto changed = Config("apply_workers: 3\n");
  CommandResult refused = Dbr("run", changed);
  EXPECT_EQ(refused.exit_code, 2) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("apply_workers is 3 in this config"), std::string::npos)
      << refused.err;
  auto ddl = Config("apply_workers: 2\nddl: replicate\n");
  CommandResult both = Dbr("check", ddl);
  EXPECT_EQ(both.exit_code, 2) << both.out << both.err;
  EXPECT_NE(both.err.find("apply_workers"), std::string::npos) << both.err;

  // The state lost and apply_workers lowered: the second lane is still found, by the leftovers
  // check and by cleanup, which leaves no slot retaining WAL on the source.
  std::filesystem::rename(state_dir(), tmp_.path() / "lost");
  auto lowered = Config("");
  CommandResult check = Dbr("check", lowered);
  const std::vector<std::string> lane_2 = {"publication db_relocate_pub2",
                                           "replication slot db_relocate_slot2_app",
                                           "subscription db_relocate_sub2"};
  for (const std::string& leftover : lane_2)
    EXPECT_NE(check.out.find(leftover), std::string::npos) << leftover << "\n" << check.out;
  CommandResult cleanup = Dbr("cleanup", lowered);
  ASSERT_EQ(cleanup.exit_code, 0) << cleanup.out << cleanup.err;
  EXPECT_EQ(Src("SELECT count(*) FROM pg_replication_slots"), "0");
  EXPECT_EQ(Src("SELECT count(*) FROM pg_publication"), "0");
  EXPECT_EQ(Dst("SELECT count(*) FROM pg_subscription"), "0");
}

}  // namespace
}  // namespace dbr::test
