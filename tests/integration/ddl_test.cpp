// DDL on the source while the relocation runs. Logical replication carries rows, not schema: a
// column added on the source stops the apply worker at the first row that fills it, and a table
// created there is not replicated at all. db_relocate must name the table and the fix rather than
// wait in silence, and pick up again once the fix is in.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "harness/app_pair.h"
#include "harness/wait.h"

namespace dbr::test {
namespace {

using namespace std::chrono_literals;

const std::vector<std::string> kDdlSchemas = {"public", "db_relocate"};

class DdlTest : public AppPairTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartAppPair());
    ASSERT_TRUE(src_->Exec("CREATE TABLE orders (id bigserial PRIMARY KEY, item text NOT NULL);"
                           "INSERT INTO orders (item) SELECT md5(g::text) "
                           "FROM generate_series(1, 2000) g",
                           "app")
                    .ok());
    config_ = WriteConfig(tmp_.path(), *src_, *dst_, "app");
  }

  CommandResult Dbr(const std::vector<std::string>& args,
                    const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> argv = args;
    argv.insert(argv.end(), {"--config", config_.string()});
    return RunDbRelocate(argv, env);
  }

  nlohmann::json StatusJson() {
    CommandResult r = Dbr({"status", "--output", "json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out, nullptr, false);
  }

  // `tables`: orders, the heartbeat, verify's marker and those the test created.
  void ExpectSynced(size_t tables) {
    StopWritersAndExpectSynced(nullptr, state_dir(), *src_, "app", dst_->Params("app"), kDdlSchemas,
                               tables);
  }

  std::filesystem::path config_;
};

TEST_F(DdlTest, ColumnAddedOnTheSourceDuringCatchUpIsNamedWithItsFixThenResumes) {
  CommandResult crashed = Dbr({"run"}, {{"DBR_CRASH_AT", "after:subscription"}});
  ASSERT_EQ(crashed.exit_code, 128 + 9) << crashed.err;
  // The application ships a migration to the source only.
  ASSERT_TRUE(src_->Exec("ALTER TABLE orders ADD COLUMN \"Gift Note\" varchar(40);"
                         "INSERT INTO orders (item, \"Gift Note\") VALUES ('mug', 'for you')",
                         "app")
                  .ok());

  const auto started = std::chrono::steady_clock::now();
  CommandResult stuck = Dbr({"run"});
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(stuck.exit_code, 1) << stuck.err;
  EXPECT_NE(stuck.err.find("replication is stuck"), std::string::npos) << stuck.err;
  EXPECT_NE(stuck.err.find("table public.orders: column Gift Note (character varying(40)) exists "
                           "on the source but not on the destination"),
            std::string::npos)
      << stuck.err;
  EXPECT_NE(stuck.err.find("ALTER TABLE \"public\".\"orders\" ADD COLUMN \"Gift Note\" character "
                           "varying(40)"),
            std::string::npos)
      << stuck.err;
  // Named within seconds of the apply failures, not after catchup_timeout (120 s here).
  EXPECT_LT(took, 60s);

  nlohmann::json status = StatusJson();
  ASSERT_FALSE(status.is_discarded());
  auto drift = status["replication"]["schema_drift"];
  ASSERT_EQ(drift.size(), 1u) << drift.dump();
  EXPECT_EQ(drift[0]["table"], "public.orders");
  EXPECT_TRUE(drift[0]["stalls_apply"].get<bool>());
  CommandResult text = Dbr({"status"});
  EXPECT_NE(text.out.find("WARNING:         schema changed on the source: table public.orders"),
            std::string::npos)
      << text.out;

  // The fix it printed, run on the destination: the next run goes on from catch-up.
  ASSERT_TRUE(
      dst_->Exec("ALTER TABLE \"public\".\"orders\" ADD COLUMN \"Gift Note\" character varying(40)",
                 "app")
          .ok());
  CommandResult resumed = Dbr({"run"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(*dst_->QueryValue("SELECT \"Gift Note\" FROM orders WHERE item = 'mug'", "app"),
            "for you");
  EXPECT_TRUE(StatusJson()["replication"]["schema_drift"].empty());
  ExpectSynced(3);
}

TEST_F(DdlTest, TableCreatedOnTheSourceAfterTheRunIsShownAsNotReplicatedUntilAdded) {
  CommandResult run = Dbr({"run"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  ASSERT_TRUE(src_->Exec("CREATE TABLE coupons (code text PRIMARY KEY, pct int);"
                         "INSERT INTO coupons SELECT 'c' || g, g FROM generate_series(1, 50) g",
                         "app")
                  .ok());
  nlohmann::json status = StatusJson();
  auto drift = status["replication"]["schema_drift"];
  ASSERT_EQ(drift.size(), 1u) << drift.dump();
  EXPECT_EQ(drift[0]["table"], "public.coupons");
  EXPECT_TRUE(drift[0]["not_replicated"].get<bool>());
  EXPECT_NE(drift[0]["fix"].get<std::string>().find(
                "ALTER PUBLICATION \"db_relocate_pub\" ADD TABLE \"public\".\"coupons\""),
            std::string::npos)
      << drift[0]["fix"];

  // The fix, step by step as it reads.
  ASSERT_TRUE(dst_->Exec("CREATE TABLE coupons (code text PRIMARY KEY, pct int)", "app").ok());
  const std::string fix = status["replication"]["schema_drift"][0]["fix"];
  EXPECT_NE(fix.find("GRANT SELECT ON \"public\".\"coupons\" TO \"upgrade\""), std::string::npos)
      << fix;
  ASSERT_TRUE(src_->Exec("GRANT SELECT ON \"public\".\"coupons\" TO \"upgrade\";"
                         "ALTER PUBLICATION \"db_relocate_pub\" ADD TABLE \"public\".\"coupons\"",
                         "app")
                  .ok());
  ASSERT_TRUE(dst_->Exec("ALTER SUBSCRIPTION \"db_relocate_sub\" REFRESH PUBLICATION", "app").ok());
  ASSERT_TRUE(src_->Exec("INSERT INTO coupons VALUES ('late', 99)", "app").ok());
  EXPECT_TRUE(StatusJson()["replication"]["schema_drift"].empty());
  // Its rows, the old ones through the table synchronisation and the late one streamed.
  std::string count;
  WaitFor(
      [&] {
        auto n = dst_->QueryValue("SELECT count(*) FROM coupons", "app");
        count = n.ok() ? *n : "";
        return count == "51";
      },
      60s, 100ms);
  EXPECT_EQ(count, "51");
  ExpectSynced(4);
}

}  // namespace
}  // namespace dbr::test
