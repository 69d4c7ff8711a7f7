// Several databases of one server relocated side by side, one config each: replication slots
// and roles are cluster-wide, subscriptions are seen from every database, so each relocation must
// keep to its own and leave the other running, whatever it does (run, status, cleanup).
#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <nlohmann/json.hpp>

#include "harness/cluster.h"
#include "harness/relocation.h"
#include "util/files.h"

namespace dbr::test {
namespace {

const std::vector<std::string> kSchemas = {"public", "Sales Ops", "db_relocate"};

class SideBySideTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pair = StartPair(15, 17);
    ASSERT_TRUE(pair.ok()) << pair.message();
    src_ = std::move(pair->first);
    dst_ = std::move(pair->second);
    for (const char* db : {"alpha", "beta"}) {
      ASSERT_TRUE(src_->CreateDatabase(db).ok());
      ASSERT_TRUE(dst_->CreateDatabase(db).ok());
      ASSERT_TRUE(LoadRichSchema(*src_, db, 3000).ok());
      std::filesystem::create_directories(tmp_.path() / db);
    }
  }
  void TearDown() override {
    for (const char* db : {"alpha", "beta"}) StopHeartbeatWriter(StateDir(db));
    StopHeartbeatWriter(tmp_.path() / "shared" / "state");
  }

  std::filesystem::path StateDir(const std::string& db) const { return tmp_.path() / db / "state"; }
  std::filesystem::path Config(const std::string& db, const std::string& extra = "") {
    return WriteConfig(tmp_.path() / db, *src_, *dst_, db, extra);
  }
  CommandResult Dbr(const std::string& command, const std::filesystem::path& config) {
    return RunDbRelocate({command, "--config", config.string()});
  }
  std::string Src(const std::string& sql, const std::string& db = "postgres") {
    auto v = src_->QueryValue(sql, db);
    return v.ok() ? *v : "error: " + v.message();
  }
  std::string Dst(const std::string& sql, const std::string& db = "postgres") {
    auto v = dst_->QueryValue(sql, db);
    return v.ok() ? *v : "error: " + v.message();
  }

  // A row written on the source's `db` now reaches the destination's.
  void ExpectStillReplicating(const std::string& db) {
    ASSERT_TRUE(src_->Exec("INSERT INTO big (payload) VALUES ('still replicating')", db).ok());
    std::string arrived;
    for (int i = 0; i < 150 && arrived != "1"; ++i) {
      arrived = Dst("SELECT count(*) FROM big WHERE payload = 'still replicating'", db);
      if (arrived != "1") std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    EXPECT_EQ(arrived, "1") << "a new row on the source's " << db
                            << " never reached the destination";
  }

  TempDir tmp_;
  std::unique_ptr<TestCluster> src_, dst_;
};

TEST_F(SideBySideTest, TwoDatabasesRelocateAtOnceUnderWritesAndOneCleanupLeavesTheOtherRunning) {
  auto alpha = Config("alpha");
  auto beta = Config("beta", "upgrade:\n  user: upgrade_beta\n");
  {
    LiveWriter write_alpha(*src_, "alpha"), write_beta(*src_, "beta");
    auto run_alpha = std::async(std::launch::async, [&] { return Dbr("run", alpha); });
    auto run_beta = std::async(std::launch::async, [&] { return Dbr("run", beta); });
    CommandResult a = run_alpha.get(), b = run_beta.get();
    ASSERT_EQ(a.exit_code, 0) << a.err;
    ASSERT_EQ(b.exit_code, 0) << b.err;
    StopWritersAndExpectSynced(&write_alpha, StateDir("alpha"), *src_, "alpha",
                               dst_->Params("alpha"), kSchemas);
    StopWritersAndExpectSynced(&write_beta, StateDir("beta"), *src_, "beta", dst_->Params("beta"),
                               kSchemas);
  }
  // One slot per database on the source, one subscription in each destination database.
  EXPECT_EQ(Src("SELECT string_agg(database, ',' ORDER BY database) FROM pg_replication_slots"),
            "alpha,beta");
  EXPECT_EQ(Dst("SELECT string_agg(d.datname, ',' ORDER BY d.datname) FROM pg_subscription s "
                "JOIN pg_database d ON d.oid = s.subdbid"),
            "alpha,beta");

  // Each status shows its own relocation only.
  for (const auto& [db, config] : {std::pair{"alpha", alpha}, std::pair{"beta", beta}}) {
    CommandResult st = RunDbRelocate({"status", "--config", config.string(), "--output", "json"});
    ASSERT_EQ(st.exit_code, 0) << st.err;
    auto j = nlohmann::json::parse(st.out);
    EXPECT_EQ(j["replication"]["slot"]["name"], std::string("db_relocate_slot_") + db) << st.out;
    EXPECT_TRUE(j["replication"]["subscription"]["apply_worker_running"].get<bool>()) << st.out;
  }

  CommandResult clean = Dbr("cleanup", alpha);
  ASSERT_EQ(clean.exit_code, 0) << clean.err;
  EXPECT_EQ(Src("SELECT string_agg(database, ',') FROM pg_replication_slots"), "beta");
  EXPECT_EQ(Dst("SELECT string_agg(d.datname, ',') FROM pg_subscription s "
                "JOIN pg_database d ON d.oid = s.subdbid"),
            "beta");
  EXPECT_EQ(Src("SELECT count(*) FROM pg_roles WHERE rolname = 'upgrade'"), "0");
  EXPECT_EQ(Src("SELECT count(*) FROM pg_roles WHERE rolname = 'upgrade_beta'"), "1");
  ExpectStillReplicating("beta");

  CommandResult clean_beta = Dbr("cleanup", beta);
  ASSERT_EQ(clean_beta.exit_code, 0) << clean_beta.err;
  EXPECT_EQ(Src("SELECT count(*) FROM pg_replication_slots"), "0");
  EXPECT_EQ(Dst("SELECT count(*) FROM pg_subscription"), "0");
  EXPECT_EQ(Src("SELECT count(*) FROM pg_roles WHERE rolname = 'upgrade_beta'"), "0");
}

TEST_F(SideBySideTest, ASecondRelocationWouldChangeTheSharedReplicationUsersPasswordSoItRefuses) {
  auto alpha = Config("alpha");
  CommandResult a = Dbr("run", alpha);
  ASSERT_EQ(a.exit_code, 0) << a.err;

  // Same default upgrade.user, and a password of its own (generated): it would lock alpha's
  // subscription out at its next reconnect. `check` says so, and `run` stops before changing it.
  auto beta = Config("beta");
  CommandResult check = RunDbRelocate({"check", "--config", beta.string(), "--output", "json"});
  EXPECT_EQ(check.exit_code, 1) << check.out << check.err;
  bool named = false;
  const auto report = nlohmann::json::parse(check.out);
  for (const auto& c : report["checks"])
    if (c["name"] == "replication user") {
      named = true;
      EXPECT_EQ(c["result"], "FAIL") << c.dump();
      EXPECT_NE(c["detail"].get<std::string>().find("db_relocate_slot_alpha"), std::string::npos)
          << c.dump();
      EXPECT_NE(c["hint"].get<std::string>().find("upgrade.user"), std::string::npos) << c.dump();
    }
  EXPECT_TRUE(named) << check.out;
  CommandResult b = Dbr("run", beta);
  EXPECT_EQ(b.exit_code, 1) << b.err;
  EXPECT_NE(b.err.find("upgrade.user"), std::string::npos) << b.err;
  EXPECT_NE(b.err.find("alpha"), std::string::npos) << b.err;
  EXPECT_EQ(Src("SELECT count(*) FROM pg_publication", "beta"), "0");
  EXPECT_EQ(Src("SELECT string_agg(database, ',') FROM pg_replication_slots"), "alpha");

  // alpha survives a reconnect of its subscription: the password it knows still works.
  ASSERT_TRUE(src_->Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_replication").ok());
  ExpectStillReplicating("alpha");

  CommandResult clean = Dbr("cleanup", alpha);
  ASSERT_EQ(clean.exit_code, 0) << clean.err;
  EXPECT_EQ(Src("SELECT count(*) FROM pg_replication_slots"), "0");
  EXPECT_EQ(Src("SELECT count(*) FROM pg_roles WHERE rolname = 'upgrade'"), "0");
}

// Two config files in one folder share its state folder unless they say otherwise.
TEST_F(SideBySideTest, TwoConfigsSharingOneStateFolderRefuseToMixTheirStates) {
  std::filesystem::path folder = tmp_.path() / "shared";
  std::filesystem::create_directories(folder);
  auto write = [&](const std::string& db, const std::string& extra) {
    auto written = WriteConfig(folder, *src_, *dst_, db, extra);
    auto path = folder / (db + ".yaml");
    std::filesystem::rename(written, path);
    return path;
  };
  std::filesystem::path shared = folder / "state";
  auto alpha = write("alpha", "");
  CommandResult a = Dbr("run", alpha);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  auto before = ReadFile(shared / "state.json");
  ASSERT_TRUE(before.ok());

  auto beta = write("beta", "upgrade:\n  user: upgrade_beta\n");
  for (const char* command : {"run", "status", "cleanup"}) {
    CommandResult b = Dbr(command, beta);
    EXPECT_NE(b.exit_code, 0) << command << ": " << b.out << b.err;
    EXPECT_NE(b.err.find("state_dir"), std::string::npos) << command << ": " << b.err;
    EXPECT_NE(b.err.find("alpha"), std::string::npos) << command << ": " << b.err;
  }
  EXPECT_EQ(*ReadFile(shared / "state.json"), *before);
  EXPECT_EQ(Src("SELECT count(*) FROM pg_publication", "beta"), "0");
  ExpectStillReplicating("alpha");
}

}  // namespace
}  // namespace dbr::test
