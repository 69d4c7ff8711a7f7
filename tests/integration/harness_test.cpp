// Proves the test harness itself: real clusters of every supported major, password (scram)
// connections, replication connections, stop/start/restart, cleanup, and its error messages.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <set>
#include <string>

#include "harness/cluster.h"
#include "harness/shared_pair.h"

namespace fs = std::filesystem;

namespace dbr::test {
namespace {

// Two majors, started concurrently once for the suite.
class HarnessTest : public SharedPairTest {
 protected:
};

TEST_F(HarnessTest, ConcurrentClustersAreSeparate) {
  EXPECT_NE(src_->port(), dst_->port());
  EXPECT_NE(src_->data_dir(), dst_->data_dir());
  EXPECT_EQ(src_->host(), "127.0.0.1");
  EXPECT_EQ(src_->major(), 15);
  EXPECT_EQ(dst_->major(), 17);
  EXPECT_EQ(src_->bin_dir(), DebianPgBinDir(15));
  for (const auto* c : {src_.get(), dst_.get()}) {
    EXPECT_TRUE(fs::exists(c->data_dir() / "PG_VERSION")) << c->data_dir();
    EXPECT_TRUE(fs::exists(c->log_file())) << c->log_file();
    EXPECT_TRUE(fs::exists(c->bin_dir() / "postgres")) << c->bin_dir();
    EXPECT_NE(c->port(), 5432) << "must never use the Debian default cluster's port";
    struct stat st {};
    ASSERT_EQ(stat(c->data_dir().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    if (geteuid() == 0) {
      EXPECT_NE(st.st_uid, 0u) << "the data dir must belong to postgres";
    }
  }
}

TEST_F(HarnessTest, PasswordConnectionSeesItsMajorAndLogicalWal) {
  for (auto* c : {src_.get(), dst_.get()}) {
    auto conn = c->Connect();
    ASSERT_TRUE(conn.ok()) << conn.message();
    EXPECT_EQ(conn->server_major(), c->major());
    auto num = conn->QueryValue("SHOW server_version_num");
    ASSERT_TRUE(num.ok()) << num.message();
    EXPECT_EQ(std::stoi(*num) / 10000, c->major());
    auto wal = conn->QueryValue("SHOW wal_level");
    ASSERT_TRUE(wal.ok()) << wal.message();
    EXPECT_EQ(*wal, "logical");
    // Really over TCP with a password: scram-sha-256 (of 16 iterations, cheap), not trust.
    auto method = conn->QueryValue(
        "SELECT coalesce(inet_server_addr()::text, 'socket') || ' ' || "
        "(SELECT rolpassword LIKE 'SCRAM-SHA-256$16:%' FROM pg_authid WHERE rolname = 'ops')");
    ASSERT_TRUE(method.ok()) << method.message();
    EXPECT_EQ(*method, "127.0.0.1/32 true");
  }
}

TEST_F(HarnessTest, WrongPasswordIsRejected) {
  for (auto* c : {src_.get(), dst_.get()}) {
    auto conn = c->Connect("postgres", "ops", "not-the-password");
    ASSERT_FALSE(conn.ok());
    EXPECT_NE(conn.message().find("password authentication failed"), std::string::npos)
        << conn.message();
    EXPECT_EQ(conn.message().find("not-the-password"), std::string::npos) << "password leaked";
  }
}

TEST_F(HarnessTest, ReplicationConnectionRunsIdentifySystem) {
  for (auto* c : {src_.get(), dst_.get()}) {
    pg::ConnParams p = c->Params();
    p.replication = true;
    auto conn = pg::Connection::Open(p);
    ASSERT_TRUE(conn.ok()) << conn.message();
    auto res = conn->Query("IDENTIFY_SYSTEM");
    ASSERT_TRUE(res.ok()) << res.message();
    ASSERT_EQ(res->rows(), 1);
    EXPECT_FALSE(res->Get(0, 0).empty());                    // systemid
    EXPECT_NE(res->Get(0, 2).find('/'), std::string::npos);  // xlogpos, an LSN
    EXPECT_EQ(res->Get(0, 3), "postgres");                   // dbname
  }
}

TEST_F(HarnessTest, ExecQueryValueAndCreateDatabase) {
  for (auto* c : {src_.get(), dst_.get()}) {
    ASSERT_TRUE(c->CreateDatabase("Mixed Case db").ok());
    ASSERT_TRUE(c->Exec("CREATE TABLE t (id int PRIMARY KEY, v text)", "Mixed Case db").ok());
    ASSERT_TRUE(
        c->Exec("INSERT INTO t SELECT g, 'x' FROM generate_series(1, 10) g", "Mixed Case db").ok());
    auto n = c->QueryValue("SELECT count(*) FROM t", "Mixed Case db");
    ASSERT_TRUE(n.ok()) << n.message();
    EXPECT_EQ(*n, "10");
    // Logical decoding with the built-in plugin works on this build.
    auto slot = c->QueryValue(
        "SELECT slot_name FROM pg_create_logical_replication_slot('harness_slot', 'pgoutput')",
        "Mixed Case db");
    ASSERT_TRUE(slot.ok()) << slot.message();
    EXPECT_TRUE(c->Exec("SELECT pg_drop_replication_slot('harness_slot')", "Mixed Case db").ok());
    Status bad = c->Exec("SELECT * FROM no_such_table");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.message().find("no_such_table"), std::string::npos) << bad.message();
  }
}

TEST(HarnessLifecycle, StopStartAgainAndRestartWithNewSetting) {
  auto started = TestCluster::Start(17, {.settings = {{"work_mem", "7MB"}}});
  ASSERT_TRUE(started.ok()) << started.message();
  TestCluster& c = **started;
  EXPECT_EQ(c.QueryValue("SHOW work_mem").value(), "7MB");
  ASSERT_TRUE(c.Exec("CREATE TABLE kept (id int)").ok());
  ASSERT_TRUE(c.Exec("INSERT INTO kept VALUES (1), (2)").ok());

  ASSERT_TRUE(c.Stop().ok());
  EXPECT_FALSE(c.running());
  auto down = c.Connect();
  EXPECT_FALSE(down.ok());
  EXPECT_TRUE(c.Stop().ok()) << "stopping a stopped cluster is a no-op";

  Status again = c.StartAgain();
  ASSERT_TRUE(again.ok()) << again.message();
  EXPECT_EQ(c.QueryValue("SELECT count(*) FROM kept").value(), "2");

  const int port = c.port();
  Status restarted = c.Restart({{"wal_level", "replica"}});
  ASSERT_TRUE(restarted.ok()) << restarted.message();
  EXPECT_EQ(c.port(), port);
  EXPECT_EQ(c.QueryValue("SHOW wal_level").value(), "replica");
  EXPECT_EQ(c.QueryValue("SHOW work_mem").value(), "7MB") << "earlier settings survive";
  EXPECT_EQ(c.settings().at("wal_level"), "replica");

  ASSERT_TRUE(c.Restart({{"wal_level", "logical"}}).ok());
  EXPECT_EQ(c.QueryValue("SHOW wal_level").value(), "logical");
  ASSERT_TRUE(c.Stop("immediate").ok());
  ASSERT_TRUE(c.StartAgain().ok()) << "recovers after an immediate stop";
  EXPECT_EQ(c.QueryValue("SELECT count(*) FROM kept").value(), "2");
}

// Clusters are copies of one initdb'd template per major, each given its own system identifier:
// in pg_control and in the WAL, which the server checks against each other when it starts and
// recovers.
TEST(HarnessLifecycle, CopiesOfOneTemplateAreDistinctServersThatRestart) {
  auto pair = StartPair(16, 16);
  ASSERT_TRUE(pair.ok()) << pair.message();
  std::set<std::string> ids;
  for (TestCluster* c : {pair->first.get(), pair->second.get()}) {
    auto id = c->QueryValue("SELECT system_identifier FROM pg_control_system()");
    ASSERT_TRUE(id.ok()) << id.message();
    ids.insert(*id);
    pg::ConnParams p = c->Params();
    p.replication = true;
    auto repl = pg::Connection::Open(p);
    ASSERT_TRUE(repl.ok()) << repl.message();
    auto identify = repl->Query("IDENTIFY_SYSTEM");
    ASSERT_TRUE(identify.ok()) << identify.message();
    EXPECT_EQ(identify->Get(0, 0), *id);
  }
  EXPECT_EQ(ids.size(), 2u) << "two clusters share the system identifier " << *ids.begin();

  TestCluster& c = *pair->first;
  const std::string id = c.QueryValue("SELECT system_identifier FROM pg_control_system()").value();
  ASSERT_TRUE(c.Exec("CREATE TABLE kept AS SELECT g FROM generate_series(1, 1000) g").ok());
  ASSERT_TRUE(c.Exec("SELECT pg_switch_wal()").ok());
  ASSERT_TRUE(c.Exec("INSERT INTO kept VALUES (0)").ok());
  Status restarted = c.Restart();
  ASSERT_TRUE(restarted.ok()) << restarted.message();
  ASSERT_TRUE(c.Stop("immediate").ok());
  Status recovered = c.StartAgain();
  ASSERT_TRUE(recovered.ok()) << recovered.message();
  EXPECT_EQ(c.QueryValue("SELECT count(*) FROM kept").value(), "1001");
  EXPECT_EQ(c.QueryValue("SELECT system_identifier FROM pg_control_system()").value(), id);
}

TEST(HarnessLifecycle, DestructionStopsTheServerAndRemovesTheDataDir) {
  if (std::getenv("DBR_KEEP_TEMP") != nullptr && std::string(std::getenv("DBR_KEEP_TEMP")) == "1")
    GTEST_SKIP() << "DBR_KEEP_TEMP=1 keeps data dirs on purpose";
  fs::path data_dir;
  pg::ConnParams params;
  {
    auto started = TestCluster::Start(15);
    ASSERT_TRUE(started.ok()) << started.message();
    data_dir = (*started)->data_dir();
    params = (*started)->Params();
    ASSERT_TRUE(fs::exists(data_dir));
  }
  EXPECT_FALSE(fs::exists(data_dir)) << data_dir;
  EXPECT_FALSE(fs::exists(data_dir.parent_path())) << data_dir.parent_path();
  params.connect_timeout_s = 2;
  auto conn = pg::Connection::Open(params);
  EXPECT_FALSE(conn.ok()) << "the server still answers on port " << params.port;
}

TEST(HarnessErrors, FailedStartCarriesTheServerLog) {
  auto started = TestCluster::Start(17, {.settings = {{"shared_buffers", "lots"}}});
  ASSERT_FALSE(started.ok());
  const std::string& msg = started.message();
  EXPECT_NE(msg.find("pg_ctl start"), std::string::npos) << msg;
  EXPECT_NE(msg.find("PostgreSQL 17"), std::string::npos) << msg;
  EXPECT_NE(msg.find("shared_buffers"), std::string::npos) << "log tail missing: " << msg;
}

TEST(HarnessErrors, FailedInitdbCarriesItsOutput) {
  TempDir bin;
  fs::permissions(bin.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                  fs::perms::others_read | fs::perms::others_exec);
  {
    std::ofstream initdb(bin.path() / "initdb");
    initdb << "#!/bin/sh\necho 'initdb: error: the disk is made of cheese' >&2\nexit 1\n";
  }
  fs::permissions(bin.path() / "initdb", fs::perms::owner_all | fs::perms::others_read |
                                             fs::perms::others_exec | fs::perms::group_read |
                                             fs::perms::group_exec);
  fs::create_symlink(DebianPgBinDir(15) / "postgres", bin.path() / "postgres");
  fs::create_symlink(DebianPgBinDir(15) / "pg_ctl", bin.path() / "pg_ctl");
  ASSERT_EQ(setenv("DBR_PG_BIN_98", bin.path().c_str(), 1), 0);
  auto started = TestCluster::Start(98);
  unsetenv("DBR_PG_BIN_98");
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.message().find("initdb failed"), std::string::npos) << started.message();
  EXPECT_NE(started.message().find("made of cheese"), std::string::npos) << started.message();
}

TEST(HarnessErrors, MissingMajorNamesInstallScript) {
  auto bin = PgBinDir(99);
  ASSERT_FALSE(bin.ok());
  EXPECT_NE(bin.message().find("scripts/install-deps.sh"), std::string::npos) << bin.message();
  auto started = TestCluster::Start(99);
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.message().find("scripts/install-deps.sh"), std::string::npos);

  ASSERT_EQ(setenv("DBR_PG_BIN_99", DebianPgBinDir(15).c_str(), 1), 0);
  auto overridden = PgBinDir(99);
  unsetenv("DBR_PG_BIN_99");
  ASSERT_TRUE(overridden.ok()) << overridden.message();
  EXPECT_EQ(*overridden, DebianPgBinDir(15));
}

TEST(HarnessHelpers, TempDirIsRemoved) {
  fs::path kept;
  {
    TempDir dir;
    kept = dir.path();
    ASSERT_TRUE(fs::is_directory(kept));
    std::ofstream(kept / "file") << "x";
  }
  if (!KeepTemp()) {
    EXPECT_FALSE(fs::exists(kept));
  }
}

TEST(HarnessHelpers, RunDbRelocateRunsTheBuiltBinary) {
  CommandResult version = RunDbRelocate({"version"});
  EXPECT_EQ(version.exit_code, 0) << version.err;
  EXPECT_NE((version.out + version.err).find(DBR_VERSION), std::string::npos)
      << version.out << version.err;
  CommandResult bad = RunDbRelocate({"no-such-command"}, {{"DBR_HARNESS_PROBE", "1"}});
  EXPECT_NE(bad.exit_code, 0);
}

// Every other supported major from scripts/install-deps.sh. Missing binaries fail (CI installs
// them all); the message names scripts/install-deps.sh.
class HarnessMajorTest : public ::testing::TestWithParam<int> {};

TEST_P(HarnessMajorTest, StartsAndReportsItsVersion) {
  const int major = GetParam();
  auto started = TestCluster::Start(major);
  ASSERT_TRUE(started.ok()) << started.message();
  TestCluster& c = **started;
  auto conn = c.Connect();
  ASSERT_TRUE(conn.ok()) << conn.message();
  EXPECT_EQ(conn->server_major(), major);
  EXPECT_EQ(conn->QueryValue("SHOW wal_level").value(), "logical");
  auto slot = conn->QueryValue(
      "SELECT slot_name FROM pg_create_logical_replication_slot('harness_slot', 'pgoutput')");
  ASSERT_TRUE(slot.ok()) << slot.message();
  EXPECT_TRUE(conn->Exec("SELECT pg_drop_replication_slot('harness_slot')").ok());
  pg::ConnParams p = c.Params();
  p.replication = true;
  auto repl = pg::Connection::Open(p);
  ASSERT_TRUE(repl.ok()) << repl.message();
  EXPECT_TRUE(repl->Query("IDENTIFY_SYSTEM").ok());
}

INSTANTIATE_TEST_SUITE_P(OtherMajors, HarnessMajorTest, ::testing::Values(13, 14, 16, 18),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return "PG" + std::to_string(info.param);
                         });

}  // namespace
}  // namespace dbr::test
