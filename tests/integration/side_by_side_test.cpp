// Several databases of one server relocated side by side, one config each: replication slots
// and roles are cluster-wide, subscriptions are seen from every database, so each relocation must
// keep to its own and leave the other running, whatever it does (run, status, cleanup).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

#include "harness/check_run.h"
#include "harness/cluster.h"
#include "harness/relocation.h"
#include "util/files.h"

namespace dbr::test {
namespace {

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
    // A managed PgBouncer outlives the test's folder unless stopped.
    if (!proxy_config_.empty())
      (void)RunDbRelocate({"proxy", "--stop", "--config", proxy_config_.string()});
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
  std::filesystem::path proxy_config_;  // a config whose managed proxy TearDown stops
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
                               dst_->Params("alpha"), kRichSchemas);
    StopWritersAndExpectSynced(&write_beta, StateDir("beta"), *src_, "beta", dst_->Params("beta"),
                               kRichSchemas);
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
  CheckRun check = RunCheck(beta);
  EXPECT_EQ(check.result.exit_code, 1) << check.Dump();
  auto c = check.Find("replication user");
  ASSERT_TRUE(c) << check.Dump();
  EXPECT_EQ((*c)["result"], "FAIL") << c->dump();
  EXPECT_NE((*c)["detail"].get<std::string>().find("db_relocate_slot_alpha"), std::string::npos)
      << c->dump();
  EXPECT_NE((*c)["hint"].get<std::string>().find("upgrade.user"), std::string::npos) << c->dump();
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

// A database relocated into another database of the same server (a rename, or a move between
// schemas' owners): the replication user serves both ends of one relocation, and a cut-over and
// a rollback find it theirs. After the cut-over only the way back is left on the source server
// (the forward slot is gone): another relocation naming the same user is still refused.
TEST_F(SideBySideTest, ADatabaseRelocatedIntoAnotherOfTheSameServerCutsOverAndRollsBack) {
  ASSERT_TRUE(src_->CreateDatabase("alpha_new").ok());
  ASSERT_TRUE(src_->Exec("CREATE ROLE app LOGIN PASSWORD 'apppw';"
                         "GRANT USAGE ON SCHEMA \"Sales Ops\" TO app;"
                         "GRANT SELECT, INSERT ON big TO app;"
                         "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO app",
                         "alpha")
                  .ok());
  auto port = PickFreePort();
  ASSERT_TRUE(port.ok());
  // PgBouncer runs as postgres (it refuses root) and must reach its files in the state folder.
  std::filesystem::permissions(
      tmp_.path(), std::filesystem::perms::others_exec | std::filesystem::perms::group_exec,
      std::filesystem::perm_options::add);
  const std::filesystem::path dir = tmp_.path() / "alpha";
  const std::filesystem::path config = dir / "relocate.yaml";
  proxy_config_ = config;
  std::ofstream(config) << fmt::format(
      "provider: postgres\n"
      "src:\n  host: 127.0.0.1\n  port: {0}\n  name: alpha\n  password: secret\n"
      "  schema: [public, \"Sales Ops\"]\n"
      "dst:\n  host: localhost\n  port: {0}\n  name: alpha_new\n"
      "jobs: 2\nheartbeat_interval: 0.2\ncatchup_timeout: 120\nstate_dir: state\n"
      "cutover:\n  type: pgbouncer\n  manage: true\n  listen: 127.0.0.1:{1}\n"
      "  database: alpha_entry\n  fence_roles: [app]\n",
      src_->port(), *port);
  auto write_through_proxy = [&](const std::string& note) {
    pg::ConnParams p;
    p.port = *port;
    p.dbname = "alpha_entry";
    p.user = "app";
    p.password = "apppw";
    auto conn = pg::Connection::Open(p);
    if (!conn.ok()) return conn.status();
    return conn->Exec("INSERT INTO big (payload) VALUES ($1)", {note});
  };
  auto count = [&](const std::string& db, const std::string& note) {
    return Src("SELECT count(*) FROM big WHERE payload = '" + note + "'", db);
  };
  auto arrives = [&](const std::string& db, const std::string& note) {
    for (int i = 0; i < 150; ++i) {
      if (count(db, note) == "1") return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  };

  CommandResult run = Dbr("run", config);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  ASSERT_TRUE(write_through_proxy("before").ok());
  EXPECT_TRUE(arrives("alpha_new", "before"));

  CommandResult cut = Dbr("cutover", config);
  ASSERT_EQ(cut.exit_code, 0) << cut.out << cut.err;
  ASSERT_TRUE(write_through_proxy("after cutover").ok());
  EXPECT_EQ(count("alpha_new", "after cutover"), "1");
  EXPECT_TRUE(arrives("alpha", "after cutover")) << "the way back does not replicate";

  // The forward slot is gone from the source server; the way back is there.
  auto beta = Config("beta");
  CheckRun check = RunCheck(beta);
  EXPECT_EQ(check.result.exit_code, 1) << check.Dump();
  EXPECT_EQ(check.Result("replication user"), "FAIL") << check.Dump();
  EXPECT_TRUE(
      check.HasObject("replication user", "subscription db_relocate_rev_sub in database alpha"))
      << check.Dump();
  // Nor does a relocation with the same two database names from another server: the mark names
  // the source server too.
  const std::filesystem::path other_dir = tmp_.path() / "other";
  std::filesystem::create_directories(other_dir);
  std::ofstream(other_dir / "relocate.yaml") << fmt::format(
      "provider: postgres\nsrc:\n  host: 127.0.0.1\n  port: {}\n  name: alpha\n"
      "  password: secret\ndst:\n  host: 127.0.0.1\n  port: {}\n  name: alpha_new\n"
      "state_dir: state\n",
      dst_->port(), src_->port());
  CheckRun other = RunCheck(other_dir / "relocate.yaml");
  EXPECT_EQ(other.result.exit_code, 1) << other.Dump();
  EXPECT_EQ(other.Result("replication user"), "FAIL") << other.Dump();
  auto on = other.Find("replication user");
  ASSERT_TRUE(on) << other.Dump();
  EXPECT_TRUE((*on)["detail"].get<std::string>().starts_with("on the destination: ")) << on->dump();

  CommandResult back = Dbr("rollback", config);
  ASSERT_EQ(back.exit_code, 0) << back.out << back.err;
  ASSERT_TRUE(write_through_proxy("after rollback").ok());
  EXPECT_EQ(count("alpha", "after rollback"), "1");
  EXPECT_TRUE(arrives("alpha_new", "after rollback"));

  CommandResult clean = Dbr("cleanup", config);
  ASSERT_EQ(clean.exit_code, 0) << clean.err;
  EXPECT_EQ(Src("SELECT count(*) FROM pg_replication_slots"), "0");
  EXPECT_EQ(Src("SELECT count(*) FROM pg_subscription"), "0");
  EXPECT_EQ(Src("SELECT count(*) FROM pg_roles WHERE rolname = 'upgrade'"), "0");
  CommandResult stopped = RunDbRelocate({"proxy", "--stop", "--config", config.string()});
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
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

  // The same relocation with its source spelled another way is still the same relocation.
  auto text = ReadFile(alpha);
  ASSERT_TRUE(text.ok());
  std::string respelled = std::regex_replace(*text, std::regex("src:\n  host: 127\\.0\\.0\\.1"),
                                             "src:\n  host: localhost");
  ASSERT_NE(respelled, *text);
  std::ofstream(alpha) << respelled;
  CommandResult again = Dbr("run", alpha);
  EXPECT_EQ(again.exit_code, 0) << again.err;
}

// Two relocations started at the same instant with one upgrade.user: each pauses once it has
// set the role up (its mark written, no slot yet), the window in which the other used to find
// the role free too. The claim makes the second wait for the first's slot, then refuse, having
// changed nothing on the source.
TEST_F(SideBySideTest, TwoRelocationsStartedAtOnceWithOneReplicationUserOnlyOneProceeds) {
  auto alpha = Config("alpha");
  auto beta = Config("beta");  // the same default upgrade.user
  const std::map<std::string, std::string> pause = {
      {"DBR_PAUSE_AT", "publication:user-ready:3000"}};
  auto start = [&](const std::filesystem::path& config) {
    return std::async(std::launch::async, [config, &pause] {
      return RunDbRelocate({"run", "--config", config.string()}, pause);
    });
  };
  auto run_alpha = start(alpha);
  auto run_beta = start(beta);
  CommandResult a = run_alpha.get(), b = run_beta.get();
  ASSERT_TRUE((a.exit_code == 0) != (b.exit_code == 0))
      << "alpha " << a.exit_code << ": " << a.err << "\nbeta " << b.exit_code << ": " << b.err;
  const bool alpha_won = a.exit_code == 0;
  const std::string winner = alpha_won ? "alpha" : "beta", loser = alpha_won ? "beta" : "alpha";
  const CommandResult& lost = alpha_won ? b : a;
  EXPECT_EQ(lost.exit_code, 1) << lost.err;
  EXPECT_NE(
      lost.err.find("is the replication user of the relocation of database \"" + winner + "\""),
      std::string::npos)
      << lost.err;
  EXPECT_NE(lost.err.find("db_relocate_slot_" + winner), std::string::npos) << lost.err;

  // Nothing of the loser on the source: no slot, publication or heartbeat of its own, and no
  // claim left behind; the role still serves the winner, whose replication runs.
  EXPECT_EQ(Src("SELECT string_agg(slot_name, ',') FROM pg_replication_slots"),
            "db_relocate_slot_" + winner);
  EXPECT_EQ(Src("SELECT count(*) FROM pg_publication", loser), "0");
  EXPECT_EQ(Src("SELECT count(*) FROM pg_namespace WHERE nspname = 'db_relocate'", loser), "0");
  EXPECT_NE(Src("SELECT shobj_description(oid, 'pg_authid') FROM pg_roles "
                "WHERE rolname = 'upgrade'")
                .find("\"source_database\":\"" + winner + "\""),
            std::string::npos);
  ExpectStillReplicating(winner);
}

// A run that crashed while it held the claim (its mark written, no slot yet) does not hold the
// role: the server let the claim go with its session, and a mark with nothing of its relocation
// left on the server does not count.
TEST_F(SideBySideTest, AClaimDiesWithTheRunThatHeldIt) {
  auto alpha = Config("alpha");
  CommandResult crashed = RunDbRelocate({"run", "--config", alpha.string()},
                                        {{"DBR_CRASH_AT", "publication:user-ready"}});
  ASSERT_NE(crashed.exit_code, 0) << crashed.err;

  auto beta = Config("beta");
  CommandResult b = Dbr("run", beta);
  ASSERT_EQ(b.exit_code, 0) << b.err;
  ExpectStillReplicating("beta");
}

}  // namespace
}  // namespace dbr::test
