// A relocation's state is bound to its servers (issue #22): a state kept while both servers were
// recreated at the same addresses is refused by every command that reads it, before anything is
// changed; a slot the state needs that is gone is "lost"; one server named two ways is one.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/server_identity.h"
#include "harness/app_pair.h"
#include "harness/check_run.h"
#include "harness/wait.h"
#include "util/files.h"

namespace dbr::test {
namespace {

class StateIdentityTest : public AppPairTest {
 protected:
  std::filesystem::path Config() { return WriteConfig(tmp_.path(), *src_, *dst_, "app"); }

  CommandResult Dbr(const std::string& command, const std::filesystem::path& config) {
    return RunDbRelocate({command, "--config", config.string()});
  }

  // A table of 100 rows in the source's database `app`, relocated by `run` into `into`.
  void Relocate(const std::filesystem::path& config, TestCluster& into,
                const std::string& database = "app") {
    ASSERT_TRUE(src_->Exec("CREATE TABLE t (id int PRIMARY KEY, v text);"
                           "INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 100) g",
                           "app")
                    .ok());
    CommandResult run = Dbr("run", config);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    ASSERT_EQ(*into.QueryValue("SELECT count(*) FROM t", database), "100");
  }
  void Relocate(const std::filesystem::path& config) { Relocate(config, *dst_); }

  // The server `cluster` was replaced by a new cluster of the same major at the same port, with
  // an empty database `app` (a rebuilt test environment).
  static void Recreate(std::unique_ptr<TestCluster>& cluster) {
    const int major = cluster->major();
    const int port = cluster->port();
    cluster.reset();
    ClusterOptions options;
    options.settings["port"] = std::to_string(port);
    auto fresh = TestCluster::Start(major, options);
    ASSERT_TRUE(fresh.ok()) << fresh.message();
    cluster = std::move(*fresh);
    ASSERT_EQ(cluster->port(), port);
    ASSERT_TRUE(cluster->CreateDatabase("app").ok());
  }

  // Nothing of a relocation on `cluster`'s database `app`.
  static void ExpectUntouched(TestCluster& cluster, const char* which) {
    for (const char* sql :
         {"SELECT count(*) FROM pg_publication", "SELECT count(*) FROM pg_replication_slots",
          "SELECT count(*) FROM pg_subscription",
          "SELECT count(*) FROM pg_namespace WHERE nspname = 'db_relocate'",
          "SELECT count(*) FROM pg_roles WHERE rolname = 'upgrade'",
          "SELECT count(*) FROM pg_class WHERE relname = 't'"})
      EXPECT_EQ(*cluster.QueryValue(sql, "app"), "0") << which << ": " << sql;
  }
};

TEST_F(StateIdentityTest, AStateKeptWhileBothServersWereRecreatedIsRefusedChangingNothing) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair(15, 16));
  auto config = Config();
  ASSERT_NO_FATAL_FAILURE(Relocate(config));
  StopHeartbeatWriter(state_dir());
  ASSERT_NO_FATAL_FAILURE(Recreate(src_));
  ASSERT_NO_FATAL_FAILURE(Recreate(dst_));
  // The rebuilt environment has the application's schema again.
  ASSERT_TRUE(src_->Exec("CREATE TABLE t (id int PRIMARY KEY, v text)", "app").ok());
  const std::string state_before = *ReadFile(state_dir() / "state.json");

  for (const char* command : {"run", "status", "cutover", "rollback", "verify", "cleanup"}) {
    SCOPED_TRACE(command);
    CommandResult r = Dbr(command, config);
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    for (const char* part : {"belongs to other servers", "source system_identifier: recorded",
                             "destination system_identifier: recorded", "Nothing was changed",
                             "Move the state folder aside", "point the config at the servers"})
      EXPECT_NE(r.err.find(part), std::string::npos) << part << " in: " << r.err;
    EXPECT_EQ(r.err.find("resuming"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("already done"), std::string::npos) << r.err;
  }
  CheckRun check = RunCheck(config);
  EXPECT_EQ(check.result.exit_code, 2) << check.Dump();
  EXPECT_EQ(check.Result("run state"), "FAIL") << check.Dump();

  ASSERT_TRUE(src_->Exec("DROP TABLE t", "app").ok());
  ExpectUntouched(*src_, "source");
  ExpectUntouched(*dst_, "destination");
  EXPECT_EQ(*ReadFile(state_dir() / "state.json"), state_before);

  // Moved aside, the state no longer stands in the way: a new relocation starts.
  std::filesystem::rename(state_dir(), tmp_.path() / "state.old");
  ASSERT_NO_FATAL_FAILURE(Relocate(config));
}

// Recorded identity is compared side by side: only the destination recreated.
TEST_F(StateIdentityTest, ADestinationRecreatedAloneIsNamed) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair(15, 15));
  auto config = Config();
  ASSERT_NO_FATAL_FAILURE(Relocate(config));
  ASSERT_NO_FATAL_FAILURE(Recreate(dst_));
  CommandResult r = Dbr("run", config);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("destination system_identifier: recorded"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("source system_identifier"), std::string::npos) << r.err;
  ExpectUntouched(*dst_, "destination");
}

// A state of format 1 (no identity): accepted with a warning, once, and its servers recorded.
TEST_F(StateIdentityTest, AnOlderStateGetsItsServersRecordedWithOneWarning) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair(15, 15));
  auto config = Config();
  ASSERT_NO_FATAL_FAILURE(Relocate(config));
  auto state = nlohmann::json::parse(*ReadFile(state_dir() / "state.json"));
  ASSERT_TRUE(state["servers"].contains("src")) << state.dump();
  state.erase("servers");
  state.erase("snapshot_slot");
  state["format"] = 1;
  ASSERT_TRUE(WriteFileAtomic(state_dir() / "state.json", state.dump()).ok());

  CommandResult first = Dbr("status", config);
  EXPECT_NE(first.err.find("written by an older db_relocate"), std::string::npos) << first.err;
  auto recorded = nlohmann::json::parse(*ReadFile(state_dir() / "state.json"));
  EXPECT_EQ(recorded["format"], kStateFormat);
  EXPECT_TRUE(recorded["servers"].contains("src")) << recorded.dump();
  EXPECT_TRUE(recorded["servers"].contains("dst")) << recorded.dump();
  CommandResult second = Dbr("status", config);
  EXPECT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(second.err.find("older db_relocate"), std::string::npos) << second.err;
}

TEST_F(StateIdentityTest, ALostSlotIsReportedAndNeverSetUpAgain) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair(15, 15));
  auto config = Config();
  ASSERT_NO_FATAL_FAILURE(Relocate(config));
  StopHeartbeatWriter(state_dir());
  const std::string sub = *dst_->QueryValue("SELECT subname FROM pg_subscription", "app");
  ASSERT_TRUE(dst_->Exec("ALTER SUBSCRIPTION " + sub + " DISABLE", "app").ok());
  ASSERT_TRUE(dst_->Exec("ALTER SUBSCRIPTION " + sub + " SET (slot_name = NONE)", "app").ok());
  ASSERT_TRUE(WaitFor(
      [&] {
        auto active = src_->QueryValue(
            "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'db_relocate_slot_app' "
            "AND NOT active");
        return active.ok() && *active == "1";
      },
      std::chrono::seconds(30)));
  ASSERT_TRUE(src_->Exec("SELECT pg_drop_replication_slot('db_relocate_slot_app')").ok());

  for (const char* command : {"run", "cutover"}) {
    CommandResult r = Dbr(command, config);
    EXPECT_EQ(r.exit_code, 1) << command << ": " << r.err;
    EXPECT_NE(r.err.find("replication slot db_relocate_slot_app is lost"), std::string::npos)
        << command << ": " << r.err;
    EXPECT_NE(r.err.find("db_relocate cleanup"), std::string::npos) << r.err;
  }
  CommandResult status = Dbr("status", config);
  EXPECT_NE(status.err.find("is lost"), std::string::npos) << status.err;
  CheckRun check = RunCheck(config);
  EXPECT_EQ(check.Result("run state"), "FAIL") << check.Dump();
  EXPECT_TRUE(check.HasObject("run state", "db_relocate_slot_app")) << check.Dump();
  // Nothing was set up again.
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_replication_slots"), "0");

  // cleanup is the way on.
  CommandResult clean = Dbr("cleanup", config);
  EXPECT_EQ(clean.exit_code, 0) << clean.err;
  EXPECT_EQ(*dst_->QueryValue("SELECT count(*) FROM pg_subscription", "app"), "0");
}

// The source by TCP (127.0.0.1), the destination by the same server's unix socket: two
// addresses, one server. cleanup drops the one replication user with its grants in both
// databases; and `check` finds a destination that is the source's own database.
TEST_F(StateIdentityTest, OneServerNamedTwoWaysIsOne) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair(15, 15));
  ASSERT_TRUE(src_->CreateDatabase("app_new").ok());
  const std::string socket_dir = src_->data_dir().string();
  auto write = [&](const std::filesystem::path& path, const std::string& dst_name) {
    std::ofstream(path) << fmt::format(
        "provider: postgres\n"
        "src:\n  host: 127.0.0.1\n  port: {0}\n  name: app\n  password: secret\n"
        "dst:\n  host: {1}\n  port: {0}\n  name: {2}\n"
        "jobs: 2\nheartbeat_interval: 0.2\ncatchup_timeout: 120\nstate_dir: state\n",
        src_->port(), socket_dir, dst_name);
    return path;
  };
  auto same = write(tmp_.path() / "same.yaml", "app");
  CheckRun check = RunCheck(same);
  EXPECT_EQ(check.result.exit_code, 2) << check.Dump();
  EXPECT_EQ(check.Result("destination is another database"), "FAIL") << check.Dump();

  auto config = write(tmp_.path() / "relocate.yaml", "app_new");
  ASSERT_NO_FATAL_FAILURE(Relocate(config, *src_, "app_new"));
  CommandResult clean = Dbr("cleanup", config);
  ASSERT_EQ(clean.exit_code, 0) << clean.err;
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_roles WHERE rolname = 'upgrade'"), "0");
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_replication_slots"), "0");
}

// The source reached under another name than the one the relocation was started with (its unix
// socket where the run used 127.0.0.1, as a DNS name where it used an IP): the same server, by
// its identity, so every command goes on; and cleanup puts back the comment of the replication
// user that was there before, marked under the first name. Another server under a new name, with
// the same databases, is refused.
TEST_F(StateIdentityTest, TheSourceUnderAnotherNameIsTheSameRelocation) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair(15, 15));
  ASSERT_TRUE(
      src_->Exec("CREATE ROLE upgrade LOGIN; COMMENT ON ROLE upgrade IS 'kept by the DBA'").ok());
  auto config = Config();
  ASSERT_NO_FATAL_FAILURE(Relocate(config));
  const std::string text = *ReadFile(config);
  auto renamed_to = [&](const std::string& host, int port, const char* file) {
    std::string renamed = text;
    const std::string from = fmt::format("host: 127.0.0.1\n  port: {}", src_->port());
    renamed.replace(renamed.find(from), from.size(),
                    fmt::format("host: {}\n  port: {}", host, port));
    auto path = tmp_.path() / file;
    std::ofstream(path) << renamed;
    return path;
  };
  auto renamed = renamed_to(src_->data_dir().string(), src_->port(), "renamed.yaml");

  for (const char* command : {"status", "verify", "run"}) {
    SCOPED_TRACE(command);
    CommandResult r = Dbr(command, renamed);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.err.find(fmt::format("is reached at {}:{}: the same server",
                                     src_->data_dir().string(), src_->port())),
              std::string::npos)
        << r.err;
  }

  auto other = TestCluster::Start(15);
  ASSERT_TRUE(other.ok()) << other.message();
  ASSERT_TRUE((*other)->CreateDatabase("app").ok());
  auto elsewhere = renamed_to("127.0.0.1", (*other)->port(), "elsewhere.yaml");
  for (const char* command : {"status", "cleanup"}) {
    SCOPED_TRACE(command);
    CommandResult r = Dbr(command, elsewhere);
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_NE(r.err.find("is not the server it was started on"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("source system_identifier: recorded"), std::string::npos) << r.err;
  }
  ExpectUntouched(**other, "another server");

  CommandResult clean = Dbr("cleanup", renamed);
  ASSERT_EQ(clean.exit_code, 0) << clean.err;
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_replication_slots"), "0");
  EXPECT_EQ(*src_->QueryValue("SELECT shobj_description(oid, 'pg_authid') FROM pg_roles "
                              "WHERE rolname = 'upgrade'"),
            "kept by the DBA");
}

// Where pg_control_system() is revoked (as a managed service may), the system_identifier comes
// from IDENTIFY_SYSTEM over a replication connection; without REPLICATION either, only the
// database OID is known.
TEST(ServerIdentityTest, WithoutPgControlSystemTheIdentifierComesFromIdentifySystem) {
  auto cluster = TestCluster::Start(15);
  ASSERT_TRUE(cluster.ok()) << cluster.message();
  TestCluster& c = **cluster;
  const std::string id = *c.QueryValue("SELECT system_identifier::text FROM pg_control_system()");
  const std::string oid =
      *c.QueryValue("SELECT oid::text FROM pg_database WHERE datname = 'postgres'");
  ASSERT_TRUE(c.Exec("REVOKE EXECUTE ON FUNCTION pg_control_system() FROM PUBLIC;"
                     "CREATE ROLE repl LOGIN REPLICATION PASSWORD 'pw';"
                     "CREATE ROLE plain LOGIN PASSWORD 'pw'")
                  .ok());
  for (const char* user : {"repl", "plain"}) {
    SCOPED_TRACE(user);
    auto conn = c.Connect("postgres", user, "pw");
    ASSERT_TRUE(conn.ok()) << conn.message();
    EXPECT_FALSE(conn->QueryValue("SELECT system_identifier FROM pg_control_system()").ok());
    auto live = ReadServerIdentity(*conn);
    ASSERT_TRUE(live.ok()) << live.message();
    EXPECT_EQ(live->identity.system_identifier, std::string(user) == "repl" ? id : "");
    EXPECT_EQ(std::to_string(live->identity.database_oid), oid);
  }
}

}  // namespace
}  // namespace dbr::test
