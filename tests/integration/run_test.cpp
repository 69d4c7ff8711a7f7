// End-to-end `db_relocate run` on real clusters: a live writer changes the source throughout,
// then every table must be equal row for row on both sides.
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>

#include "harness/app_pair.h"
#include "harness/wait.h"
#include "util/files.h"
#include "util/text.h"

namespace dbr::test {
namespace {

class RunTest : public AppPairTest {
 protected:
  std::filesystem::path Config(const std::string& extra = "") {
    return WriteConfig(tmp_.path(), *src_, *dst_, "app", extra);
  }

  // `run` with Config(), killed (kill -9) at crash point `point`.
  void RunKilledAt(const char* point, std::filesystem::path* config) {
    *config = Config();
    CommandResult crashed =
        RunDbRelocate({"run", "--config", config->string()}, {{"DBR_CRASH_AT", point}});
    ASSERT_EQ(crashed.exit_code, 128 + 9) << "crash point not reached: " << crashed.err;
  }

  // Stops every writer, waits until the destination has applied all, then compares.
  void ExpectSynced(LiveWriter* writer) {
    StopWritersAndExpectSynced(writer, state_dir(), *src_, "app", dst_->Params("app"),
                               kRichSchemas);
  }

  void RelocateUnderLoad(int src_major, int dst_major) {
    ASSERT_NO_FATAL_FAILURE(StartAppPair(src_major, dst_major));
    ASSERT_TRUE(LoadRichSchema(*src_, "app", 20000).ok());
    LiveWriter writer(*src_, "app");
    auto config = Config();
    CommandResult r = RunDbRelocate({"run", "--config", config.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("Relocation summary"), std::string::npos) << r.out;
    // Steps this config leaves nothing to do say so rather than show a time.
    EXPECT_NE(r.out.find("skipped (no cutover block)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("skipped (dst is a server: no instance to make)"), std::string::npos)
        << r.out;
    EXPECT_NE(r.err.find("heartbeat verified"), std::string::npos) << r.err;
    // The schema went in one transaction's SQL, not through pg_restore's second try.
    EXPECT_EQ(r.err.find("did not restore in one go"), std::string::npos) << r.err;
    // The run state holds the generated replication password: owner-only, and never printed.
    auto perms = std::filesystem::status(state_dir() / "state.json").permissions();
    EXPECT_EQ(perms & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    auto state = nlohmann::json::parse(*ReadFile(state_dir() / "state.json"));
    std::string password = state["replication_password"];
    EXPECT_EQ(password.size(), 32u);
    EXPECT_EQ(r.out.find(password), std::string::npos);
    EXPECT_EQ(r.err.find(password), std::string::npos);

    // Replication keeps running after `run` exits: the writer's later changes arrive too.
    const int64_t written_by_the_end_of_run = writer.operations();
    EXPECT_TRUE(WaitFor([&] { return writer.operations() >= written_by_the_end_of_run + 500; },
                        std::chrono::seconds(60)))
        << "the live writer stopped writing after the run: " << writer.error();
    CommandResult status =
        RunDbRelocate({"status", "--config", config.string(), "--output", "json"});
    ASSERT_EQ(status.exit_code, 0) << status.err;
    EXPECT_EQ(status.out.find(password), std::string::npos);
    auto j = nlohmann::json::parse(status.out);
    EXPECT_TRUE(j["replication"]["subscription"]["apply_worker_running"].get<bool>());
    EXPECT_EQ(j["current_step"], "replicating");
    // No false alarm from the schema-change check across majors on the rich schema.
    EXPECT_TRUE(j["replication"]["schema_drift"].empty()) << j["replication"]["schema_drift"];
    // The newest heartbeat on each side, with its source timestamp.
    EXPECT_GT(j["replication"]["heartbeat"]["destination_seq"].get<int64_t>(), 0);
    EXPECT_FALSE(j["replication"]["heartbeat"]["destination_at"].get<std::string>().empty());
    EXPECT_GE(j["replication"]["heartbeat"]["source_seq"].get<int64_t>(),
              j["replication"]["heartbeat"]["destination_seq"].get<int64_t>());
    ExpectSynced(&writer);

    // Indexes and constraints were built, the partitioned table kept its partitions.
    EXPECT_EQ(*dst_->QueryValue("SELECT count(*) FROM pg_inherits WHERE inhparent = "
                                "'events'::regclass",
                                "app"),
              "2");
    EXPECT_EQ(*dst_->QueryValue("SELECT count(*) FROM pg_indexes WHERE indexname = 'uniq_ident_a'",
                                "app"),
              "1");
    EXPECT_EQ(*dst_->QueryValue("SELECT count(*) FROM pg_trigger WHERE tgname = "
                                "'order_lines_bump'",
                                "app"),
              "1");

    // A second run on a synced pair is harmless.
    CommandResult again = RunDbRelocate({"run", "--config", config.string()});
    ASSERT_EQ(again.exit_code, 0) << again.err;
    ExpectSynced(nullptr);

    // The source is idle now: every sequence on the destination is a full gap ahead of it.
    auto src_seq =
        src_->QueryValue("SELECT last_value FROM \"Sales Ops\".\"Order Lines_Id_seq\"", "app");
    auto dst_seq =
        dst_->QueryValue("SELECT last_value FROM \"Sales Ops\".\"Order Lines_Id_seq\"", "app");
    ASSERT_TRUE(src_seq.ok() && dst_seq.ok());
    EXPECT_GE(std::stoll(*dst_seq), std::stoll(*src_seq) + 1000)
        << "source " << *src_seq << ", destination " << *dst_seq;
  }
};

TEST_F(RunTest, Postgres15To17UnderLiveWrites) {
  RelocateUnderLoad(15, 17);
}

TEST_F(RunTest, Postgres13To16UnderLiveWrites) {
  RelocateUnderLoad(13, 16);
}

TEST_F(RunTest, TableWithoutKeyStopsTheRunBeforeAnythingIsCreated) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair(15, 17));
  ASSERT_TRUE(
      src_->Exec("CREATE TABLE plain (a int, b text); INSERT INTO plain VALUES (1, 'x')", "app")
          .ok());
  CommandResult r = RunDbRelocate({"run", "--config", Config().string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("public.plain"), std::string::npos) << r.err;
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_replication_slots", "app"), "0");
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_publication", "app"), "0");
  EXPECT_EQ(*src_->QueryValue("SELECT relreplident FROM pg_class WHERE relname = 'plain'", "app"),
            "d");
}

TEST_F(RunTest, ForceSetsReplicaIdentityFullAndSaysSo) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair(15, 17));
  ASSERT_TRUE(
      src_->Exec("CREATE TABLE plain (a int, b text); INSERT INTO plain VALUES (1, 'x')", "app")
          .ok());
  CommandResult r = RunDbRelocate({"run", "--config", Config("force: true\n").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("REPLICA IDENTITY FULL on public.plain"), std::string::npos) << r.out;
  EXPECT_EQ(*src_->QueryValue("SELECT relreplident FROM pg_class WHERE relname = 'plain'", "app"),
            "f");
  // Updates on the source keep working and replicate.
  ASSERT_TRUE(src_->Exec("UPDATE plain SET b = 'y' WHERE a = 1", "app").ok());
  StopHeartbeatWriter(state_dir());
  ASSERT_TRUE(WaitUntilApplied(*src_, "app").ok());
  EXPECT_EQ(*dst_->QueryValue("SELECT b FROM plain WHERE a = 1", "app"), "y");
}

TEST_F(RunTest, UnreachableDestinationFailsClearlyAndCreatesNothing) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair(15, 17));
  ASSERT_TRUE(src_->Exec("CREATE TABLE t (id int PRIMARY KEY)", "app").ok());
  auto config = Config();
  ASSERT_TRUE(dst_->Stop("immediate").ok());
  CommandResult r = RunDbRelocate({"run", "--config", config.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("destination"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Connection refused"), std::string::npos) << r.err;
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_replication_slots", "app"), "0");
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_publication", "app"), "0");
}

TEST_F(RunTest, WrongPasswordFailsWithoutShowingIt) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair(15, 17));
  auto config = WriteConfig(tmp_.path(), *src_, *dst_, "app", "");
  std::string text = *ReadFile(config);
  auto pos = text.find("password: secret");
  text.replace(pos, 16, "password: Wr0ng-Pa55word");
  std::ofstream(config) << text;
  CommandResult r = RunDbRelocate({"run", "--config", config.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("password authentication failed"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("Wr0ng-Pa55word"), std::string::npos);
  EXPECT_EQ(r.out.find("Wr0ng-Pa55word"), std::string::npos);
}

TEST_F(RunTest, DestinationWithConflictingTablesIsLeftUntouched) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair(15, 17));
  ASSERT_TRUE(src_->Exec("CREATE TABLE clash (id int PRIMARY KEY, v text)", "app").ok());
  ASSERT_TRUE(dst_->Exec("CREATE TABLE clash (id int PRIMARY KEY, v text); "
                         "INSERT INTO clash VALUES (1, 'keep me')",
                         "app")
                  .ok());
  CommandResult r = RunDbRelocate({"run", "--config", Config().string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("public.clash"), std::string::npos) << r.err;
  EXPECT_EQ(*dst_->QueryValue("SELECT v FROM clash WHERE id = 1", "app"), "keep me");
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_replication_slots", "app"), "0");
}

// The schema's pre-data part is sent in one transaction, a few messages in all: a statement the
// destination refuses leaves nothing of it there, and the error still names that statement.
TEST_F(RunTest, SchemaStatementTheDestinationRefusesIsNamedAndNothingOfTheSchemaStays) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair(15, 17));
  ASSERT_TRUE(src_->Exec("CREATE TABLE items (id int PRIMARY KEY, v text);"
                         "INSERT INTO items SELECT g, 'v' || g FROM generate_series(1, 500) g;"
                         "CREATE FUNCTION twice(x int) RETURNS int LANGUAGE sql AS 'SELECT 2 * x'",
                         "app")
                  .ok());
  ASSERT_TRUE(
      dst_->Exec("CREATE FUNCTION twice(x int) RETURNS int LANGUAGE sql AS 'SELECT 3 * x'", "app")
          .ok());
  const auto config = Config();
  CommandResult r = RunDbRelocate({"run", "--config", config.string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("Command was: CREATE FUNCTION public.twice(x integer)"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("already exists"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("did not restore in one go"), std::string::npos) << r.err;
  EXPECT_EQ(*dst_->QueryValue("SELECT to_regclass('public.items') IS NULL AND to_regnamespace("
                              "'db_relocate') IS NULL",
                              "app"),
            "t");
  EXPECT_EQ(*dst_->QueryValue("SELECT twice(5)", "app"), "15");

  ASSERT_TRUE(dst_->Exec("DROP FUNCTION twice(int)", "app").ok());
  CommandResult fixed = RunDbRelocate({"run", "--config", config.string()});
  ASSERT_EQ(fixed.exit_code, 0) << fixed.err;
  EXPECT_EQ(fixed.err.find("did not restore in one go"), std::string::npos) << fixed.err;
  EXPECT_EQ(*dst_->QueryValue("SELECT twice(5)", "app"), "10");
  EXPECT_EQ(*dst_->QueryValue("SELECT count(*) FROM items", "app"), "500");
}

// The script's settings run before the text they govern: a destination database that reads
// backslashes in string literals as escapes (standard_conforming_strings off) still gets the
// source's literals as written.
TEST_F(RunTest, SchemaLiteralsKeepTheirValueWhereTheDestinationReadsBackslashesAsEscapes) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair(15, 17));
  ASSERT_TRUE(src_->Exec("CREATE TABLE paths (id int PRIMARY KEY, "
                         "path text NOT NULL DEFAULT 'C:\\new\\table');"
                         "INSERT INTO paths (id) VALUES (1)",
                         "app")
                  .ok());
  ASSERT_TRUE(
      dst_->Exec("ALTER DATABASE app SET standard_conforming_strings = off", "postgres").ok());
  CommandResult r = RunDbRelocate({"run", "--config", Config().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_EQ(r.err.find("did not restore in one go"), std::string::npos) << r.err;
  const std::string on_source = *src_->QueryValue("SELECT path FROM paths WHERE id = 1", "app");
  EXPECT_EQ(on_source, "C:\\new\\table");
  ASSERT_TRUE(dst_->Exec("INSERT INTO paths (id) VALUES (-1)", "app").ok());
  EXPECT_EQ(*dst_->QueryValue("SELECT path FROM paths WHERE id = -1", "app"), on_source);
}

// The copy relays text as the source's bytes: into a database of another encoding 'café' would
// arrive as five LATIN1 characters (and verify would then call replicated rows different).
TEST_F(RunTest, DestinationDatabaseOfAnotherEncodingIsRefusedBeforeAnythingIsMade) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair(15, 17));
  ASSERT_TRUE(src_->Exec("CREATE TABLE words (id int PRIMARY KEY, w text);"
                         "INSERT INTO words VALUES (1, 'café')",
                         "app")
                  .ok());
  ASSERT_TRUE(dst_->Exec("DROP DATABASE app", "postgres").ok());
  ASSERT_TRUE(dst_->Exec("CREATE DATABASE app TEMPLATE template0 ENCODING 'LATIN1' "
                         "LC_COLLATE 'C' LC_CTYPE 'C'",
                         "postgres")
                  .ok());
  CommandResult r = RunDbRelocate({"run", "--config", Config().string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const std::string said = r.out + r.err;  // the checks' table, wherever `run` prints it
  EXPECT_NE(said.find("the source database app is UTF8 and the destination database app is "
                      "LATIN1"),
            std::string::npos)
      << said;
  EXPECT_NE(said.find("ENCODING 'UTF8'"), std::string::npos) << said;
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_replication_slots", "app"), "0");
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_publication", "app"), "0");
  EXPECT_EQ(*dst_->QueryValue("SELECT count(*) FROM pg_tables WHERE tablename = 'words'", "app"),
            "0");
}

TEST_F(RunTest, SourceNewerThanEveryPgDumpIsRefusedNamingTheVersionNeeded) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair(16, 17));  // Debian 12 ships pg_dump 15 only
  ASSERT_TRUE(src_->Exec("CREATE TABLE t (id int PRIMARY KEY)", "app").ok());
  CommandResult r = RunDbRelocate({"run", "--config", Config().string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("pg_dump of PostgreSQL 16 or newer is needed"), std::string::npos) << r.err;
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_replication_slots", "app"), "0");
}

TEST_F(RunTest, EngineVersionThatDoesNotFitIsABadConfig) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair(15, 17));
  CommandResult r =
      RunDbRelocate({"run", "--config", Config("upgrade:\n  engine_version: \"14\"\n").string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("not higher than the source's major"), std::string::npos) << r.err;
}

TEST_F(RunTest, SecondProcessOnTheSameRelocationRefuses) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair(15, 17));
  auto config = Config();
  std::filesystem::create_directories(state_dir());
  auto held = FileLock::Acquire(state_dir() / "run.lock", "test");  // as a running `run` does
  ASSERT_TRUE(held.ok());
  CommandResult r = RunDbRelocate({"run", "--config", config.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("another db_relocate process is already working"), std::string::npos)
      << r.err;
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_publication", "app"), "0");
}

TEST_F(RunTest, StatusBeforeAnyRunSaysSoAndShowsNoReplication) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair(15, 17));
  CommandResult r = RunDbRelocate({"status", "--config", Config().string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("no relocation has run with this config yet"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("slot:            absent"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("subscription:    absent"), std::string::npos) << r.out;
  ASSERT_TRUE(dst_->Stop("immediate").ok());
  CommandResult down = RunDbRelocate({"status", "--config", Config().string(), "--output", "json"});
  EXPECT_EQ(down.exit_code, 1);
  auto j = nlohmann::json::parse(down.out);
  EXPECT_NE(j["destination_error"].get<std::string>().find("Connection refused"),
            std::string::npos);
}

TEST_F(RunTest, DestinationRestartedDuringCatchUpIsRecovered) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair(15, 17));
  ASSERT_TRUE(LoadRichSchema(*src_, "app", 2000).ok());
  auto writer = std::make_unique<LiveWriter>(*src_, "app");
  // A lag threshold of one byte keeps catch-up waiting while the writer runs.
  auto config = Config("catchup_lag_bytes: 1\n");
  BackgroundDbRelocate run({"run", "--config", config.string()}, tmp_.path() / "run.log");
  bool in_catchup = WaitFor(
      [&] {
        auto state = ReadFile(state_dir() / "state.json");
        return state.ok() && state->find("\"current_step\": \"catchup\"") != std::string::npos;
      },
      std::chrono::seconds(120));
  ASSERT_TRUE(in_catchup) << "the run never reached catch-up";
  ASSERT_TRUE(dst_->Stop("immediate").ok());
  // Down until the run has noticed.
  EXPECT_TRUE(run.WaitForLog("lost the connection to the destination during catch-up"))
      << run.Log();
  ASSERT_TRUE(dst_->StartAgain().ok());
  // The application goes on writing while the run recovers.
  const int64_t written_before_restart = writer->operations();
  EXPECT_TRUE(WaitFor([&] { return writer->operations() >= written_before_restart + 500; },
                      std::chrono::seconds(60)))
      << writer->error();
  // With every writer stopped the lag drains to nothing and catch-up can finish.
  writer->Stop();
  EXPECT_EQ(writer->error(), "");
  StopHeartbeatWriter(state_dir());
  CommandResult r = run.Wait();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("lost the connection to the destination during catch-up"), std::string::npos)
      << r.err;
  ExpectSynced(nullptr);
}

TEST_F(RunTest, CleanupRemovesEverythingTheRelocationCreatedAndKeepsTheData) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair(15, 17));
  ASSERT_TRUE(LoadRichSchema(*src_, "app", 1000).ok());
  auto config = Config();
  CommandResult run = RunDbRelocate({"run", "--config", config.string()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto count = [&](TestCluster& c, const std::string& sql) { return *c.QueryValue(sql, "app"); };

  CommandResult dry = RunDbRelocate({"cleanup", "--dry-run", "--config", config.string()});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  for (const char* item :
       {"stop the heartbeat writer", "drop subscription db_relocate_sub",
        "drop replication slot db_relocate_slot_app", "drop publication db_relocate_pub",
        "drop schema db_relocate", "drop the replication user upgrade on the source",
        "drop the replication user upgrade on the destination"})
    EXPECT_NE(dry.out.find(item), std::string::npos) << item << "\n" << dry.out;
  EXPECT_EQ(count(*src_, "SELECT count(*) FROM pg_replication_slots"), "1");  // dry: untouched

  CommandResult done = RunDbRelocate({"cleanup", "--config", config.string()});
  ASSERT_EQ(done.exit_code, 0) << done.err;
  EXPECT_EQ(count(*src_, "SELECT count(*) FROM pg_replication_slots"), "0");
  EXPECT_EQ(count(*src_, "SELECT count(*) FROM pg_publication"), "0");
  EXPECT_EQ(count(*dst_, "SELECT count(*) FROM pg_subscription"), "0");
  EXPECT_EQ(count(*src_, "SELECT count(*) FROM pg_namespace WHERE nspname = 'db_relocate'"), "0");
  EXPECT_EQ(count(*src_, "SELECT count(*) FROM pg_roles WHERE rolname = 'upgrade'"), "0");
  EXPECT_EQ(count(*dst_, "SELECT count(*) FROM pg_roles WHERE rolname = 'upgrade'"), "0");
  EXPECT_FALSE(std::filesystem::exists(state_dir() / "heartbeat.pid"));
  // The relocated data stays on both sides.
  EXPECT_EQ(count(*src_, "SELECT count(*) FROM big"), count(*dst_, "SELECT count(*) FROM big"));
  EXPECT_NE(count(*dst_, "SELECT count(*) FROM big"), "0");

  CommandResult again = RunDbRelocate({"cleanup", "--config", config.string()});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("nothing to clean up"), std::string::npos) << again.out;
}

// A replication user the DBA made (upgrade.user names an existing role) is theirs: cleanup keeps
// it and puts back the comment the relocation overwrote with its mark.
TEST_F(RunTest, CleanupKeepsAReplicationUserThatWasThereBeforeAndPutsBackItsComment) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair(15, 17));
  ASSERT_TRUE(LoadRichSchema(*src_, "app", 100).ok());
  ASSERT_TRUE(src_->Exec("CREATE ROLE upgrade LOGIN").ok());
  ASSERT_TRUE(src_->Exec("COMMENT ON ROLE upgrade IS 'replication login of the DBA'").ok());
  const std::string comment_sql =
      "SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = 'upgrade'";
  auto config = Config();
  CommandResult run = RunDbRelocate({"run", "--config", config.string()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(src_->QueryValue(comment_sql)->starts_with("db_relocate replication user"));
  auto state = nlohmann::json::parse(*ReadFile(state_dir() / "state.json"));
  EXPECT_EQ(state["replication_user_before"]["src"]["existed"], true) << state.dump(2);
  EXPECT_EQ(state["replication_user_before"]["src"]["role"], "upgrade") << state.dump(2);

  CommandResult dry = RunDbRelocate({"cleanup", "--dry-run", "--config", config.string()});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_NE(dry.out.find("keep the replication user upgrade on the source"), std::string::npos)
      << dry.out;
  EXPECT_EQ(dry.out.find("drop the replication user upgrade on the source"), std::string::npos)
      << dry.out;

  CommandResult done = RunDbRelocate({"cleanup", "--config", config.string()});
  ASSERT_EQ(done.exit_code, 0) << done.err;
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_replication_slots"), "0");
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_roles WHERE rolname = 'upgrade'"), "1");
  EXPECT_EQ(*src_->QueryValue(comment_sql), "replication login of the DBA");
  // The copy the snapshot step made on the destination was the relocation's: dropped.
  EXPECT_EQ(*dst_->QueryValue("SELECT count(*) FROM pg_roles WHERE rolname = 'upgrade'"), "0");
}

// What the replication user owns was given to it since (pre-flight refuses a role that owns
// anything): DROP OWNED would drop it, so cleanup keeps that role and says why.
TEST_F(RunTest, CleanupKeepsAReplicationUserThatOwnsATableAndTheTable) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair(15, 17));
  ASSERT_TRUE(LoadRichSchema(*src_, "app", 100).ok());
  auto config = Config();
  CommandResult run = RunDbRelocate({"run", "--config", config.string()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  ASSERT_TRUE(dst_->Exec("CREATE TABLE reports (id int PRIMARY KEY); ALTER TABLE reports OWNER TO "
                         "upgrade; INSERT INTO reports VALUES (1)",
                         "app")
                  .ok());
  // And the writer gone without removing its pid file, the pid since another process's (this
  // one's): not a writer to wait for.
  StopHeartbeatWriter(state_dir());
  ASSERT_TRUE(WriteFileAtomic(state_dir() / "heartbeat.pid", std::to_string(getpid())).ok());

  CommandResult done = RunDbRelocate({"cleanup", "--config", config.string()});
  ASSERT_EQ(done.exit_code, 0) << done.err;
  EXPECT_EQ(done.out.find("stop the heartbeat writer"), std::string::npos) << done.out;
  EXPECT_NE(done.err.find("the replication user upgrade on the destination is kept: it owns 1 "
                          "object(s) in database app, e.g. table reports"),
            std::string::npos)
      << done.err;
  EXPECT_EQ(*dst_->QueryValue("SELECT count(*) FROM reports", "app"), "1");
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_roles WHERE rolname = 'upgrade'"), "0");
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_replication_slots"), "0");
}

// The heartbeat writer's log shows `line` within `seconds` (its sampler reads the slot every 5 s).
bool HeartbeatLogShows(const std::filesystem::path& state_dir, const std::string& line,
                       int seconds = 20) {
  for (int i = 0; i < seconds * 5; ++i) {
    auto log = ReadFile(state_dir / "heartbeat.log");
    if (log.ok() && log->find(line) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

// Samples the heartbeat writer's lag sampler has taken so far: each one records, last, the newest
// heartbeat on the primary (samples.jsonl, kind "heartbeat").
size_t HeartbeatWriterSamples(const std::filesystem::path& state_dir) {
  auto text = ReadFile(state_dir / "samples.jsonl");
  if (!text.ok()) return 0;
  size_t n = 0;
  for (const auto& line : SplitLines(*text)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    n += !j.is_discarded() && j.value("kind", "") == "heartbeat" &&
         j.value("process", "") == "heartbeat";
  }
  return n;
}

TEST_F(RunTest, StatusAndTheHeartbeatWriterWarnBeforeTheSlotIsInvalidatedAndSayWhenItIs) {
  auto pair = dbr::test::StartPair(15, 17);
  ASSERT_TRUE(pair.ok()) << pair.message();
  src_ = std::move(pair->first);
  dst_ = std::move(pair->second);
  ASSERT_TRUE(src_->Restart({{"max_slot_wal_keep_size", "64MB"},
                             {"max_wal_size", "64MB"},
                             {"min_wal_size", "32MB"}})
                  .ok());
  ASSERT_TRUE(src_->CreateDatabase("app").ok());
  ASSERT_TRUE(dst_->CreateDatabase("app").ok());
  ASSERT_TRUE(src_->Exec("CREATE TABLE w (id bigserial PRIMARY KEY, v text)", "app").ok());
  auto config = Config();
  ASSERT_EQ(RunDbRelocate({"run", "--config", config.string()}).exit_code, 0);
  // The destination stops consuming; the source keeps writing.
  ASSERT_TRUE(dst_->Exec("ALTER SUBSCRIPTION db_relocate_sub DISABLE", "app").ok());
  auto write_mb = [&](int mb) {
    return src_->Exec(
        "INSERT INTO w (v) SELECT string_agg(md5(random()::text), '') FROM "
        "generate_series(1, 32 * 1024) g, generate_series(1, " +
            std::to_string(mb) + ") m GROUP BY m",
        "app");
  };
  ASSERT_TRUE(write_mb(40).ok());
  CommandResult near = RunDbRelocate({"status", "--config", config.string()});
  EXPECT_NE(near.out.find("WARNING:         the replication slot is close to invalidation"),
            std::string::npos)
      << near.out;
  // Nobody may be running `status`: the heartbeat writer, alive as long as the relocation, warns.
  EXPECT_TRUE(HeartbeatLogShows(state_dir(),
                                "db_relocate_slot_app: the replication slot is close to "
                                "invalidation"))
      << *ReadFile(state_dir() / "heartbeat.log");
  // Its figures move with every write (the heartbeat's own too): still one line after two more
  // samples, the next one is due a minute later. Each sample ends with the newest heartbeat
  // recorded, after the warning was weighed.
  const size_t samples_at_warning = HeartbeatWriterSamples(state_dir());
  EXPECT_TRUE(WaitFor([&] { return HeartbeatWriterSamples(state_dir()) >= samples_at_warning + 2; },
                      std::chrono::seconds(60), std::chrono::milliseconds(200)))
      << "the heartbeat writer took no two more samples";
  auto log = ReadFile(state_dir() / "heartbeat.log");
  ASSERT_TRUE(log.ok());
  size_t warnings = 0;
  for (size_t at = log->find("close to invalidation"); at != std::string::npos;
       at = log->find("close to invalidation", at + 1))
    ++warnings;
  EXPECT_EQ(warnings, 1u) << *log;
  ASSERT_TRUE(write_mb(80).ok());
  ASSERT_TRUE(src_->Exec("CHECKPOINT", "app").ok());
  CommandResult lost = RunDbRelocate({"status", "--config", config.string(), "--output", "json"});
  auto j = nlohmann::json::parse(lost.out);
  EXPECT_EQ(j["replication"]["slot"]["wal_status"], "lost") << lost.out;
  EXPECT_NE(j["replication"]["slot"]["warning"].get<std::string>().find("was invalidated"),
            std::string::npos)
      << lost.out;
  EXPECT_TRUE(HeartbeatLogShows(state_dir(),
                                "db_relocate_slot_app: the replication slot was "
                                "invalidated (max_slot_wal_keep_size exceeded): the "
                                "destination can no longer catch up; run "
                                "`db_relocate cleanup`"))
      << *ReadFile(state_dir() / "heartbeat.log");
}

// A large table's indexes and key constraints are built as soon as its rows are in (with what
// pg_dump writes beside them), the small tables' together while the large one is at it; killed
// right after, the resumed run builds the rest and skips them, and the destination has every one.
TEST_F(RunTest, ALargeTablesIndexesAreBuiltWithItsRowsAndKeptAcrossAKill) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair(15, 17));
  ASSERT_TRUE(src_->Exec(R"sql(
    CREATE TABLE big (id bigint PRIMARY KEY, code text NOT NULL UNIQUE, n int, v text)
      WITH (autovacuum_enabled = off);
    CREATE INDEX big_n_idx ON big (n);
    INSERT INTO big SELECT g, md5(g::text), g % 1000, repeat(md5(random()::text), 5)
      FROM generate_series(1, 120000) g;
    ALTER TABLE big REPLICA IDENTITY USING INDEX big_code_key;
    CLUSTER big USING big_n_idx;
    CREATE TABLE small (id int PRIMARY KEY, big_id bigint REFERENCES big, note text);
    CREATE INDEX small_note_idx ON small (note);
    INSERT INTO small SELECT g, g, 'n' || g FROM generate_series(1, 100) g;
    CREATE TABLE medium (id int PRIMARY KEY, v text) WITH (autovacuum_enabled = off);
    INSERT INTO medium SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 25000) g;
  )sql",
                         "app")
                  .ok());
  EXPECT_EQ(*src_->QueryValue("SELECT pg_table_size('big') > 16 * 1024 * 1024", "app"), "t");
  auto config = Config();
  // big's index builds wait, so that the small tables' (medium's and small's, and the
  // relocation's own) are built while big's are not, by the worker that copied the last of them.
  CommandResult crashed = RunDbRelocate(
      {"run", "--config", config.string()},
      {{"DBR_CRASH_AT", "copy:table-indexes"}, {"DBR_PAUSE_AT", "copy:large-table-copied:3000"}});
  ASSERT_EQ(crashed.exit_code, 128 + 9) << "crash point not reached: " << crashed.err;
  EXPECT_NE(crashed.err.find("building the indexes of the 4 small tables while 1 large ones"),
            std::string::npos)
      << crashed.err;
  EXPECT_EQ(
      *dst_->QueryValue(
          "SELECT string_agg(indexrelid::regclass::text, ',' ORDER BY indexrelid::regclass::text) "
          "FROM pg_index WHERE indrelid = 'big'::regclass",
          "app"),
      "big_code_key,big_n_idx,big_pkey");
  // `medium` fits whole beside big's parts (split, as larger than half of all): loaded frozen,
  // its pages are all-visible already (as its ANALYZE recorded; autovacuum is off for both),
  // all but those a load batch began partly filled; big's parts were not loaded frozen. (Seen
  // before resuming: a table the killed run copied but had not recorded yet is copied again,
  // by the subscription.)
  const char* kAllVisible =
      "SELECT string_agg(relname || ' ' || (relpages > 0 AND relallvisible >= relpages * 0.8), "
      "', ' ORDER BY relname) FROM pg_class WHERE relname IN ('big', 'medium')";
  EXPECT_EQ(*dst_->QueryValue(kAllVisible, "app"), "big false, medium true");
  CommandResult resumed = RunDbRelocate({"run", "--config", config.string()});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err << resumed.out;
  // big's 3 entries, small's 2, and medium's, heartbeat's and verify_marker's keys.
  EXPECT_NE(resumed.err.find("8 built with their tables' rows"), std::string::npos) << resumed.err;
  EXPECT_NE(resumed.out.find("every table is equal on both sides"), std::string::npos)
      << resumed.out;
  const char* kIndexes = R"sql(
    SELECT string_agg(format('%s %s%s%s', i.indexrelid::regclass, i.indisunique,
                             CASE WHEN i.indisreplident THEN ' replica identity' END,
                             CASE WHEN i.indisclustered THEN ' clustered' END), ', '
                      ORDER BY i.indexrelid::regclass::text)
      FROM pg_index i WHERE i.indrelid IN ('big'::regclass, 'small'::regclass))sql";
  EXPECT_EQ(*dst_->QueryValue(kIndexes, "app"), *src_->QueryValue(kIndexes, "app"));
  EXPECT_EQ(*dst_->QueryValue("SELECT count(*) FROM pg_constraint WHERE conrelid IN "
                              "('big'::regclass, 'small'::regclass)",
                              "app"),
            "4");  // two keys, a unique constraint, the foreign key
}

// The destination crashes during the copy and loses the last parts of a split table, whose
// COPYs it had committed without a flush (its WAL writer stopped: they stay in the WAL buffers;
// a whole table's COPY empties the table first, which makes PostgreSQL flush its commit). The
// run reconnects and copies that table again: the state counts a table only once flushed.
TEST_F(RunTest, TableWhoseCopyTheDestinationLostInACrashIsCopiedAgain) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair(15, 17));
  ASSERT_TRUE(src_->Exec(R"sql(
    CREATE TABLE first_copied (id int PRIMARY KEY, v text);
    INSERT INTO first_copied SELECT g, md5(g::text) FROM generate_series(1, 25000) g;
    CREATE TABLE lost_in_crash (id int PRIMARY KEY, v text);
    INSERT INTO lost_in_crash SELECT g, md5(g::text) FROM generate_series(1, 80000) g;
  )sql",
                         "app")
                  .ok());
  auto walwriter_now = [&] {
    return dst_->QueryValue("SELECT pid FROM pg_stat_activity WHERE backend_type = 'walwriter'",
                            "postgres");
  };
  auto walwriter = walwriter_now();
  ASSERT_TRUE(walwriter.ok() && !walwriter->empty()) << walwriter.message();
  const pid_t walwriter_pid = static_cast<pid_t>(std::stol(*walwriter));
  ASSERT_EQ(kill(walwriter_pid, SIGSTOP), 0);
  // lost_in_crash, more than half of all, is split in parts around first_copied, whole, which is
  // done first: saved at once. lost_in_crash, done next, is left for a later save (an hour
  // later here), and the run pauses there.
  PauseWindow window("copy:table-unsaved", tmp_.path() / "release");
  auto env = window.Env();
  env["DBR_COPY_SAVE_PERIOD"] = "3600";
  BackgroundDbRelocate run({"run", "--config", Config().string()}, tmp_.path() / "run.log", env);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto n = dst_->QueryValue("SELECT count(*) FROM lost_in_crash", "app");
        return n.ok() && *n == "80000";
      },
      std::chrono::seconds(60)))
      << run.Log();
  // The WAL writer killed: the server ends every process and recovers from the WAL on disk.
  ASSERT_EQ(kill(walwriter_pid, SIGKILL), 0);
  // Released once the server has been through its crash (a new WAL writer): the run's next
  // statement must find its sessions gone, not flush what the crash is to lose.
  EXPECT_TRUE(WaitFor(
      [&] {
        auto now = walwriter_now();
        return now.ok() && !now->empty() && *now != *walwriter;
      },
      std::chrono::seconds(60)));
  window.Release();
  CommandResult r = run.Wait();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("a server was lost during the step"), std::string::npos) << r.err;
  EXPECT_EQ(*dst_->QueryValue("SELECT count(*) FROM lost_in_crash", "app"), "80000");
  // Its two tables and the relocation's.
  StopWritersAndExpectSynced(nullptr, state_dir(), *src_, "app", dst_->Params("app"), kRichSchemas,
                             4);
}

// A crash during the copy loses the exported snapshot: the tables not copied yet go to the
// subscription's table synchronisation, emptied, and with them the copied tables whose rows
// reference theirs, or restoring the foreign keys would check those rows against empty tables.
TEST_F(RunTest, CopiedTablesReferencingTablesLeftToTheSubscriptionAreHandedOverWithThem) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair(15, 17));
  ASSERT_TRUE(LoadRichSchema(*src_, "app", 3000).ok());
  ASSERT_TRUE(src_->Exec(R"sql(
    CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
    INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 2000) g;
    CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL REFERENCES customers,
                         note text);
    INSERT INTO orders SELECT g, 1 + g % 2000, md5(g::text) FROM generate_series(1, 100000) g;
  )sql",
                         "app")
                  .ok());
  LiveWriter writer(*src_, "app");
  // One worker copies the largest table first, orders: the state is saved once it is copied
  // (and the run killed there), before customers.
  auto config = Config();
  std::string yaml = *ReadFile(config);
  yaml.replace(yaml.find("jobs: 2"), 7, "jobs: 1");
  std::ofstream(config) << yaml;
  CommandResult crashed =
      RunDbRelocate({"run", "--config", config.string()}, {{"DBR_CRASH_AT", "copy:table-done"}});
  ASSERT_EQ(crashed.exit_code, 128 + 9) << "crash point not reached: " << crashed.err;
  ASSERT_EQ(*dst_->QueryValue("SELECT count(*) FROM orders", "app"), "100000");
  ASSERT_EQ(*dst_->QueryValue("SELECT count(*) FROM customers", "app"), "0");
  // Rows written between the two runs reach both tables.
  ASSERT_TRUE(src_->Exec("INSERT INTO customers VALUES (2001, 'new');"
                         "INSERT INTO orders VALUES (100001, 2001, 'new');"
                         "UPDATE orders SET note = 'changed' WHERE id <= 10",
                         "app")
                  .ok());
  CommandResult resumed = RunDbRelocate({"run", "--config", config.string()});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err << resumed.out;
  EXPECT_NE(resumed.err.find("(1 of them copied already, but their rows reference the others')"),
            std::string::npos)
      << resumed.err;
  ExpectSynced(&writer);
  EXPECT_EQ(*dst_->QueryValue("SELECT count(*) FROM pg_constraint WHERE conrelid = "
                              "'orders'::regclass AND contype = 'f' AND convalidated",
                              "app"),
            "1");
}

// A table created on the source while the run was down (a new partition, a migration) is not in
// the destination's schema, restored before: the run resumed leaves it to the drift check, which
// names it and the fix, as for a table created during catch-up (and verify finds it missing),
// rather than fail on it at every run with an error that names no way out.
TEST_F(RunTest, TableCreatedWhileTheRunWasDownIsNamedWithItsFixNotAStuckRun) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair(15, 17));
  ASSERT_TRUE(LoadRichSchema(*src_, "app", 3000).ok());
  LiveWriter writer(*src_, "app");
  std::filesystem::path config;
  ASSERT_NO_FATAL_FAILURE(RunKilledAt("copy:table-done", &config));
  ASSERT_TRUE(
      src_->Exec("CREATE TABLE coupons (id int PRIMARY KEY, code text);"
                 "INSERT INTO coupons SELECT g, md5(g::text) FROM generate_series(1, 100) g",
                 "app")
          .ok());
  CommandResult resumed = RunDbRelocate({"run", "--config", config.string()});
  EXPECT_EQ(resumed.exit_code, 1) << resumed.err;
  EXPECT_NE(resumed.err.find("public.coupons: created on the source after the relocation "
                             "started: its rows are not replicated; fix: create it on the "
                             "destination"),
            std::string::npos)
      << resumed.err;
  EXPECT_NE(resumed.err.find("heartbeat verified"), std::string::npos) << resumed.err;
  EXPECT_NE(resumed.out.find("public.coupons"), std::string::npos) << resumed.out;
  CommandResult again = RunDbRelocate({"run", "--config", config.string()});
  EXPECT_EQ(again.exit_code, 1) << again.err;
  EXPECT_NE(again.out.find("public.coupons"), std::string::npos) << again.out;
  // The fix it names.
  ASSERT_TRUE(dst_->Exec("CREATE TABLE coupons (id int PRIMARY KEY, code text)", "app").ok());
  ASSERT_TRUE(src_->Exec("GRANT SELECT ON coupons TO upgrade;"
                         "ALTER PUBLICATION db_relocate_pub ADD TABLE coupons",
                         "app")
                  .ok());
  ASSERT_TRUE(dst_->Exec("ALTER SUBSCRIPTION db_relocate_sub REFRESH PUBLICATION", "app").ok());
  EXPECT_TRUE(WaitFor(
      [&] {
        auto n = dst_->QueryValue("SELECT count(*) FROM coupons", "app");
        return n.ok() && *n == "100";
      },
      std::chrono::seconds(60)));
  CommandResult fixed = RunDbRelocate({"run", "--config", config.string()});
  EXPECT_EQ(fixed.exit_code, 0) << fixed.err;
  ExpectSynced(&writer);
}

// A run killed after the destination got its schema, before any table was copied: the next run
// makes the slot again and copies under its new snapshot. A column the source gained in between
// is named with its fix before anything is copied (not a COPY error, then every table handed to
// the subscription's table synchronisation); with the fix, the run copies as usual.
TEST_F(RunTest, SchemaChangedWhileTheRunWasDownBeforeTheCopyIsNamedWithItsFix) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair(15, 17));
  ASSERT_TRUE(LoadRichSchema(*src_, "app", 3000).ok());
  ASSERT_TRUE(src_->Exec("CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);"
                         "INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 2000) g",
                         "app")
                  .ok());
  LiveWriter writer(*src_, "app");
  std::filesystem::path config;
  ASSERT_NO_FATAL_FAILURE(RunKilledAt("snapshot:rows", &config));
  ASSERT_TRUE(
      src_->Exec("ALTER TABLE customers ADD COLUMN tier int NOT NULL DEFAULT 1", "app").ok());
  CommandResult resumed = RunDbRelocate({"run", "--config", config.string()});
  EXPECT_EQ(resumed.exit_code, 1) << resumed.err;
  EXPECT_NE(resumed.err.find("the source's schema changed while the run was down"),
            std::string::npos)
      << resumed.err;
  EXPECT_NE(resumed.err.find("on the destination: ALTER TABLE \"public\".\"customers\" ADD "
                             "COLUMN \"tier\" integer"),
            std::string::npos)
      << resumed.err;
  EXPECT_EQ(resumed.err.find("handed to the subscription's table synchronisation"),
            std::string::npos)
      << resumed.err;
  ASSERT_TRUE(
      dst_->Exec("ALTER TABLE customers ADD COLUMN tier int NOT NULL DEFAULT 1", "app").ok());
  CommandResult fixed = RunDbRelocate({"run", "--config", config.string()});
  ASSERT_EQ(fixed.exit_code, 0) << fixed.err;
  EXPECT_EQ(fixed.err.find("handed to the subscription's table synchronisation"), std::string::npos)
      << fixed.err;
  ExpectSynced(&writer);
}

// kill -9 at each step, then `run` again: the end state equals an uninterrupted run.
class ResumeTest : public RunTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(ResumeTest, KilledRunResumesToAnEqualDestination) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair(15, 17));
  ASSERT_TRUE(LoadRichSchema(*src_, "app", 3000).ok());
  LiveWriter writer(*src_, "app");
  std::filesystem::path config;
  ASSERT_NO_FATAL_FAILURE(RunKilledAt(GetParam(), &config));
  // `check` meanwhile reads the state as `run` does: the tables it restored are its own.
  const std::string point = GetParam();
  if (!point.starts_with("before:") && point != "after:publication") {
    CommandResult check = RunDbRelocate({"check", "--config", config.string()});
    EXPECT_NE(check.out.find("the schema was restored by this relocation"), std::string::npos)
        << check.out << check.err;
  }
  CommandResult resumed = RunDbRelocate({"run", "--config", config.string()});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("resuming"), std::string::npos) << resumed.err;
  if (std::string(GetParam()) == "copy:table-done") {
    // The exported snapshot died with the process: the tables not yet copied go through the
    // subscription's own table synchronisation.
    EXPECT_NE(resumed.err.find("handed to the subscription's table synchronisation"),
              std::string::npos)
        << resumed.err;
  }
  ExpectSynced(&writer);
  // No slot left behind but the relocation's own.
  EXPECT_EQ(*src_->QueryValue("SELECT string_agg(slot_name, ',') FROM pg_replication_slots", "app"),
            "db_relocate_slot_app");
}

INSTANTIATE_TEST_SUITE_P(AtEveryStep, ResumeTest,
                         ::testing::Values("before:heartbeat", "before:publication",
                                           "after:publication", "snapshot:rows", "copy:table-done",
                                           "snapshot:indexes", "after:snapshot",
                                           "after:subscription", "after:catchup",
                                           "after:heartbeat_verify", "after:sequences",
                                           "after:verify"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (auto& c : name)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

}  // namespace
}  // namespace dbr::test
