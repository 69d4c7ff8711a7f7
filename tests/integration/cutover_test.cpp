// Cut-over and rollback through a real PgBouncer with pgbench writing through it: no failed
// transaction, every committed row on the new primary (and, through the return replication, on
// the old one), and failures that leave the application on a working database.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <fstream>
#include <future>
#include <optional>
#include <regex>
#include <thread>

#include "config/config.h"
#include "harness/cluster.h"
#include "harness/pgbench.h"
#include "harness/relocation.h"
#include "harness/shared_pair.h"
#include "harness/wait.h"
#include "proxy/proxy.h"
#include "util/files.h"
#include "util/process.h"
#include "util/text.h"

namespace dbr::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class CutoverTest : public SharedPairTest {
 protected:
  // A database with an application role and a ledger, relocated by `run` with a managed
  // PgBouncer in front.
  void Relocate(const std::string& db, const std::string& extra = "",
                const std::string& proxy = "pgbouncer", bool run = true) {
    db_ = db;
    ASSERT_TRUE(src_->CreateDatabase(db).ok());
    ASSERT_TRUE(dst_->CreateDatabase(db).ok());
    for (const char* sql : {
             "CREATE SCHEMA \"Sales Ops\"",
             "CREATE ROLE app LOGIN PASSWORD 'apppw'",
             "CREATE TABLE ledger (id bigserial PRIMARY KEY, client int NOT NULL, note text, "
             "at timestamptz NOT NULL DEFAULT clock_timestamp())",
             "GRANT SELECT, INSERT, UPDATE, DELETE ON ledger TO app",
             "GRANT USAGE ON SEQUENCE ledger_id_seq TO app",
             "INSERT INTO ledger (client, note) SELECT 0, md5(g::text) FROM "
             "generate_series(1, 1000) g",
         }) {
      Status st = src_->Exec(sql, db);
      // The role is cluster-wide: a second test in the suite finds it there.
      if (!st.ok() && st.message().find("already exists") != std::string::npos) continue;
      ASSERT_TRUE(st.ok()) << st.message();
    }
    auto port = PickFreePort();
    ASSERT_TRUE(port.ok());
    proxy_port_ = *port;
    // PgBouncer runs as postgres (it refuses root) and must reach its files in the state folder.
    fs::permissions(dir_.path(), fs::perms::others_exec | fs::perms::group_exec,
                    fs::perm_options::add);
    config_ = WriteConfig(dir_.path(), *src_, *dst_, db,
                          fmt::format("cutover:\n  type: {}\n  manage: true\n"
                                      "  listen: 127.0.0.1:{}\n{}",
                                      proxy, proxy_port_, extra));
    proxy_config_ = config_;
    if (!run) return;
    CommandResult r = RunDbRelocate({"run", "--config", config_.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  void TearDown() override {
    if (!config_.empty()) {
      (void)RunDbRelocate({"cleanup", "--config", config_.string()});
      StopHeartbeatWriter(dir_.path() / "state");
    }
    if (!proxy_config_.empty()) {
      CommandResult stopped =
          RunDbRelocate({"proxy", "--stop", "--config", proxy_config_.string()});
      EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
    }
  }

  CommandResult Dbr(const std::string& command,
                    const std::map<std::string, std::string>& env = {}) {
    return RunDbRelocate({command, "--config", config_.string()}, env);
  }

  // A copy of the config (same folder, so the same state) whose proxy admin console is where
  // nothing listens: the proxy cannot be read. The config itself stays good for TearDown.
  fs::path ConfigWithDeadAdmin() {
    auto dead = PickFreePort();
    EXPECT_TRUE(dead.ok());
    fs::path copy = config_.parent_path() / "dead_admin.yaml";
    fs::copy_file(config_, copy, fs::copy_options::overwrite_existing);
    // The cutover block ends the file.
    std::ofstream(copy, std::ios::app) << fmt::format("  admin: 127.0.0.1:{}\n", *dead);
    return copy;
  }

  // The application's login, through the proxy.
  pg::ConnParams AppThroughProxy() const {
    pg::ConnParams p;
    p.host = "127.0.0.1";
    p.port = proxy_port_;
    p.user = "app";
    p.password = "apppw";
    p.dbname = db_;
    p.sslmode = "disable";
    // Long enough for a loaded machine (2 s timed out at a load of 12); a proxy left paused
    // still fails it.
    p.connect_timeout_s = 10;
    return p;
  }

  Result<std::string> ThroughProxy(const std::string& sql) {
    auto conn = pg::Connection::Open(AppThroughProxy());
    if (!conn.ok()) return conn.status();
    return conn->QueryValue(sql);
  }

  Status ThroughProxyExec(const std::string& sql) {
    auto conn = pg::Connection::Open(AppThroughProxy());
    if (!conn.ok()) return conn.status();
    return conn->Exec(sql);
  }

  // The destination stopped and given up by hand, the second way on a cut-over that cannot go
  // on names: the proxy pointed back at the source, then the cut-over run again, which lifts
  // the source's fence and says the application is back there.
  void GiveUpTheDestinationByHand() {
    ASSERT_TRUE(dst_->Stop().ok());
    auto config = LoadConfig(config_);
    ASSERT_TRUE(config.ok()) << config.message();
    auto proxy = MakeProxy(*config);
    ASSERT_TRUE(proxy.ok()) << proxy.message();
    ASSERT_TRUE((*proxy)->PointTo(BackendOf(*config, Side::kSource)).ok());
    ASSERT_TRUE((*proxy)->Resume().ok());
    CommandResult back = Dbr("cutover");
    EXPECT_EQ(back.exit_code, 1) << back.out << back.err;
    EXPECT_NE(back.err.find("the application is back on the source"), std::string::npos)
        << back.err;
  }

  // The destination's apply worker stalls 4 s on the cut-over's last write (and only on it), so
  // everything looks healthy until the write pause has begun; dropping the trigger `stall` ends
  // it.
  void StallTheSwitchMarkerOnTheDestination() {
    for (const char* sql : {
             "CREATE FUNCTION public.stall() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF "
             "NEW.kind = 'switch' THEN PERFORM pg_sleep(4); END IF; RETURN NEW; END $$",
             "CREATE TRIGGER stall BEFORE INSERT ON db_relocate.heartbeat FOR EACH ROW EXECUTE "
             "FUNCTION public.stall()",
             "ALTER TABLE db_relocate.heartbeat ENABLE ALWAYS TRIGGER stall",
         })
      ASSERT_TRUE(dst_->Exec(sql, db_).ok()) << sql;
  }

  // The port of the server the proxy sends a new connection to, or the error.
  std::string ProxiedPort() {
    auto port = ThroughProxy("SELECT current_setting('port')");
    return port.ok() ? *port : port.message();
  }

  // New connections through the proxy land on `primary`, and the application can write there.
  void ExpectApplicationWritesTo(TestCluster& primary) {
    EXPECT_EQ(ProxiedPort(), std::to_string(primary.port()));
    auto id = ThroughProxy("INSERT INTO ledger (client) VALUES (7) RETURNING id");
    EXPECT_TRUE(id.ok()) << id.message();
  }

  int64_t Count(TestCluster& c) {
    auto n = c.QueryValue("SELECT count(*) FROM ledger", db_);
    return n.ok() ? std::stoll(*n) : -1;
  }

  // Waits until `primary` holds `more` rows of the ledger more than now: the application's
  // writes get there (in place of letting them go on for a fixed time).
  void ExpectWritesLandOn(TestCluster& primary, int64_t more) {
    const int64_t from = Count(primary);
    EXPECT_TRUE(WaitFor([&] { return Count(primary) >= from + more; }, 60s))
        << "the ledger on port " << primary.port() << " went from " << from << " rows to "
        << Count(primary) << ", not " << more << " more";
  }

  TempDir dir_{"dbr-cutover"};
  fs::path config_;
  fs::path proxy_config_;  // the managed proxy to stop at the end
  std::string db_;
  int proxy_port_ = 0;
};

TEST_F(CutoverTest, CutoverAndRollbackUnderPgbenchLoseNothing) {
  ASSERT_NO_FATAL_FAILURE(Relocate("cutover_ok"));
  ASSERT_EQ(ProxiedPort(), std::to_string(src_->port()));

  PgBench bench = PgBench::LedgerInserts(dir_.path(), proxy_port_, db_, 200);
  ExpectWritesLandOn(*src_, 500);
  CommandResult cut = Dbr("cutover");
  ASSERT_EQ(cut.exit_code, 0) << cut.out << cut.err;
  EXPECT_NE(cut.out.find("write pause"), std::string::npos) << cut.out;
  EXPECT_EQ(ProxiedPort(), std::to_string(dst_->port()));
  // The old primary is fenced: the application's role cannot write there any more.
  auto fenced = src_->Connect(db_, "app", "apppw");
  ASSERT_TRUE(fenced.ok());
  Status write = fenced->Exec("INSERT INTO ledger (client) VALUES (-1)");
  EXPECT_FALSE(write.ok());
  EXPECT_NE(write.message().find("read-only"), std::string::npos) << write.message();

  CommandResult status = Dbr("status");
  EXPECT_NE(status.out.find("primary:         destination (replication destination -> source)"),
            std::string::npos)
      << status.out;
  EXPECT_NE(status.out.find("cut-over at"), std::string::npos) << status.out;
  // verify follows the replication the other way, with the application writing.
  CommandResult verified = Dbr("verify");
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_NE(verified.out.find("Verify: destination vs source"), std::string::npos) << verified.out;
  EXPECT_NE(verified.out.find("every table is equal on both sides"), std::string::npos)
      << verified.out;
  // `run` again must not rebuild the forward replication the cut-over took down.
  CommandResult rerun = Dbr("run");
  EXPECT_EQ(rerun.exit_code, 1) << rerun.err;
  EXPECT_NE(rerun.err.find("nothing left to do"), std::string::npos) << rerun.err;
  ExpectWritesLandOn(*dst_, 300);
  CommandResult back = Dbr("rollback");
  ASSERT_EQ(back.exit_code, 0) << back.out << back.err;
  EXPECT_EQ(ProxiedPort(), std::to_string(src_->port()));
  ExpectWritesLandOn(*src_, 300);

  const ProcessOutput& out = bench.Wait();
  ASSERT_EQ(out.exit_code, 0) << out.out << out.err;  // no client aborted on an error
  const int64_t committed = PgBench::Processed(out);
  ASSERT_GT(committed, 1000);
  // Every committed row is on the primary, each once.
  EXPECT_EQ(Count(*src_), 1000 + committed);
  EXPECT_EQ(*src_->QueryValue("SELECT count(DISTINCT id) FROM ledger", db_),
            std::to_string(1000 + committed));
  // And the destination, replicated again from the source, has the same rows.
  ASSERT_TRUE(WaitUntilApplied(*src_, db_).ok());
  auto a = TableChecksums(*src_, db_, {"public"});
  auto b = TableChecksums(*dst_, db_, {"public"});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)["public.ledger"], (*b)["public.ledger"]);

  CommandResult proxy = RunDbRelocate({"proxy", "--config", config_.string()});
  EXPECT_EQ(proxy.exit_code, 0) << proxy.err;
  EXPECT_NE(proxy.out.find("sends traffic to: source"), std::string::npos) << proxy.out;
}

TEST_F(CutoverTest, CheckReportsTheProxyAndTheRolesItWillFence) {
  ASSERT_NO_FATAL_FAILURE(Relocate("cutover_check", "", "pgbouncer", /*run=*/false));
  CommandResult r = Dbr("check");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("cut-over proxy"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("pgbouncer will be started on 127.0.0.1:" + std::to_string(proxy_port_)),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("read-only on the old side at cut-over: app"), std::string::npos) << r.out;
  // An unmanaged proxy that is not there is a warning: cutover will refuse until it answers.
  std::string text;
  {
    std::ifstream in(config_);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  text.replace(text.find("manage: true"), 12, "manage: false");
  std::ofstream(config_) << text;
  CommandResult unmanaged = Dbr("check");
  EXPECT_EQ(unmanaged.exit_code, 0) << unmanaged.out << unmanaged.err;
  EXPECT_NE(unmanaged.out.find("does not answer"), std::string::npos) << unmanaged.out;
  config_.clear();
  proxy_config_.clear();
}

TEST_F(CutoverTest, PreparedTransactionOnTheSourceRefuses) {
  ASSERT_TRUE(src_->Restart({{"max_prepared_transactions", "4"}}).ok());
  ASSERT_NO_FATAL_FAILURE(Relocate("cutover_2pc"));
  auto app = src_->Connect(db_, "app", "apppw");
  ASSERT_TRUE(app.ok());
  ASSERT_TRUE(app->Exec("BEGIN").ok());
  ASSERT_TRUE(app->Exec("INSERT INTO ledger (client) VALUES (99)").ok());
  ASSERT_TRUE(app->Exec("PREPARE TRANSACTION 'dbr_2pc'").ok());
  CommandResult r = Dbr("cutover");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("prepared transactions"), std::string::npos) << r.err;
  EXPECT_EQ(ProxiedPort(), std::to_string(src_->port()));
  ASSERT_TRUE(src_->Exec("COMMIT PREPARED 'dbr_2pc'", db_).ok());
  ASSERT_TRUE(WaitUntilApplied(*src_, db_).ok());
  CommandResult again = Dbr("cutover");
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(*dst_->QueryValue("SELECT count(*) FROM ledger WHERE client = 99", db_), "1");
}

TEST_F(CutoverTest, KilledWhilePausedWithTheDestinationDownResumesOnTheSource) {
  ASSERT_NO_FATAL_FAILURE(Relocate("cutover_killed_dst_down"));
  CommandResult killed = Dbr("cutover", {{"DBR_CRASH_AT", "switch:paused"}});
  ASSERT_EQ(killed.exit_code, 128 + 9) << killed.err;
  // PgBouncer is paused now, and the destination goes away before anyone runs cutover again.
  ASSERT_TRUE(dst_->Stop().ok());
  CommandResult again = Dbr("cutover");
  EXPECT_EQ(again.exit_code, 1) << again.out << again.err;
  EXPECT_NE(again.err.find("the application is back on the source"), std::string::npos)
      << again.err;
  // The application is not left waiting: it writes to the source through the proxy.
  EXPECT_EQ(ProxiedPort(), std::to_string(src_->port()));
  auto id = ThroughProxy("INSERT INTO ledger (client) VALUES (5) RETURNING id");
  EXPECT_TRUE(id.ok()) << id.message();
  ASSERT_TRUE(dst_->StartAgain().ok());
  // With the destination back, the same command finishes the undo, then cuts over.
  CommandResult done = Dbr("cutover");
  EXPECT_EQ(done.exit_code, 0) << done.out << done.err;
  EXPECT_EQ(ProxiedPort(), std::to_string(dst_->port()));
  EXPECT_EQ(*dst_->QueryValue("SELECT count(*) FROM ledger WHERE client = 5", db_), "1");
}

// A rollback lifts the fence the cut-over put on the source. Killed after that, the rollback run
// again undoes itself: the source is a standby again and must be read-only as it was.
TEST_F(CutoverTest, RollbackKilledAfterLiftingTheFenceUndoneFencesTheSourceAgain) {
  ASSERT_NO_FATAL_FAILURE(Relocate("cutover_refence"));
  CommandResult cut = Dbr("cutover");
  ASSERT_EQ(cut.exit_code, 0) << cut.out << cut.err;
  auto source_is_read_only = [&]() -> std::string {
    auto app = src_->Connect(db_, "app", "apppw");
    if (!app.ok()) return app.message();
    Status write = app->Exec("INSERT INTO ledger (client) VALUES (-1)");
    return write.ok() ? "the app wrote to the source" : write.message();
  };
  EXPECT_NE(source_is_read_only().find("read-only"), std::string::npos);

  CommandResult killed = Dbr("rollback", {{"DBR_CRASH_AT", "switch:pointing"}});
  ASSERT_EQ(killed.exit_code, 128 + 9) << killed.err;
  // A column only the destination has: the rollback run again undoes the interrupted one, then
  // refuses to start a new one.
  ASSERT_TRUE(dst_->Exec("ALTER TABLE ledger ADD COLUMN coupon text", db_).ok());
  CommandResult again = Dbr("rollback");
  EXPECT_EQ(again.exit_code, 1) << again.out << again.err;
  EXPECT_NE(again.err.find("nothing was changed"), std::string::npos) << again.err;
  // (No write to the ledger there: the source could not apply it without the column.)
  EXPECT_EQ(ProxiedPort(), std::to_string(dst_->port()));
  EXPECT_NE(source_is_read_only().find("read-only"), std::string::npos);

  // And the fence is recorded again: the next rollback lifts it.
  ASSERT_TRUE(src_->Exec("ALTER TABLE ledger ADD COLUMN coupon text", db_).ok());
  CommandResult back = Dbr("rollback");
  ASSERT_EQ(back.exit_code, 0) << back.out << back.err;
  ExpectApplicationWritesTo(*src_);
}

// A cut-over killed once the application writes to the destination, and then the destination is
// down: the cut-over run again can neither finish nor undo it. It says so at once, with what it
// waits for and the ways on, and changes nothing.
TEST_F(CutoverTest, DestinationDownOnceTheApplicationWritesThereSaysWhatItWaitsFor) {
  ASSERT_NO_FATAL_FAILURE(Relocate("cutover_new_side_down"));
  CommandResult killed = Dbr("cutover", {{"DBR_CRASH_AT", "switch:switched"}});
  ASSERT_EQ(killed.exit_code, 128 + 9) << killed.err;
  ASSERT_TRUE(dst_->Stop().ok());
  const auto started = std::chrono::steady_clock::now();
  CommandResult waiting = Dbr("cutover");
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(waiting.exit_code, 1) << waiting.out << waiting.err;
  EXPECT_LT(took, 60s);
  const std::string& err = waiting.err;
  EXPECT_NE(err.find("the proxy already sends the application to the destination"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("waits for the destination at "), std::string::npos) << err;
  EXPECT_NE(err.find(":" + std::to_string(dst_->port()) + ":"), std::string::npos) << err;
  EXPECT_NE(err.find("bring the destination back"), std::string::npos) << err;
  EXPECT_NE(err.find("point the proxy back at the source by hand"), std::string::npos) << err;
  EXPECT_NE(err.find("RESUME " + db_), std::string::npos) << err;  // PgBouncer's steps
  EXPECT_NE(err.find("LOSES every write the application made on the destination"),
            std::string::npos)
      << err;

  // Nothing was changed: with the destination back, the same command finishes the cut-over.
  ASSERT_TRUE(dst_->StartAgain().ok());
  CommandResult done = Dbr("cutover");
  EXPECT_EQ(done.exit_code, 0) << done.out << done.err;
  EXPECT_NE(done.out.find("Finished the interrupted"), std::string::npos) << done.out;
  ExpectApplicationWritesTo(*dst_);
}

// The same, and the operator takes the second way on: the proxy pointed back at the source by
// hand, the cut-over run again to lift the source's fence. The application writes to the source
// again. When the destination comes back holding writes the source never got, finishing the
// cut-over would drop the source's new ones: it is neither finished nor undone, every time, the
// application stays on the source, and cleanup may go on.
TEST_F(CutoverTest, DestinationGivenUpByHandThenBackIsADivergenceNotARollForward) {
  ASSERT_NO_FATAL_FAILURE(Relocate("cutover_given_up"));
  CommandResult killed = Dbr("cutover", {{"DBR_CRASH_AT", "switch:switched"}});
  ASSERT_EQ(killed.exit_code, 128 + 9) << killed.err;
  ASSERT_TRUE(ThroughProxyExec("INSERT INTO ledger (client) VALUES (41)").ok());
  ASSERT_NO_FATAL_FAILURE(GiveUpTheDestinationByHand());
  ASSERT_TRUE(ThroughProxyExec("INSERT INTO ledger (client) VALUES (42)").ok());

  ASSERT_TRUE(dst_->StartAgain().ok());
  for (int attempt = 1; attempt <= 2; ++attempt) {
    SCOPED_TRACE(attempt);
    CommandResult again = Dbr("cutover");
    EXPECT_EQ(again.exit_code, 1) << again.out << again.err;
    EXPECT_NE(again.err.find("can be neither finished nor undone"), std::string::npos) << again.err;
    EXPECT_NE(again.err.find("The application writes to the source"), std::string::npos)
        << again.err;
    EXPECT_EQ(ProxiedPort(), std::to_string(src_->port()));
  }
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM ledger WHERE client = 42", db_), "1");
  EXPECT_EQ(*dst_->QueryValue("SELECT count(*) FROM ledger WHERE client = 41", db_), "1")
      << "the destination's own write is kept there";
  // `db_relocate proxy` leaves the proxy alone while the switch stays recorded.
  CommandResult shown = Dbr("proxy");
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.err.find("the proxy is left as it is"), std::string::npos) << shown.err;
  CommandResult cleaned = Dbr("cleanup");
  EXPECT_EQ(cleaned.exit_code, 0) << cleaned.out << cleaned.err;
  ExpectApplicationWritesTo(*src_);
}

// The same once the way back was built (killed while finishing: the source follows the
// destination): sent back to the source, the destination's writes must not follow it there,
// and the destination, the primary for a while, cannot be put back as a copy: a divergence.
TEST_F(CutoverTest, DestinationGivenUpByHandAfterTheWayBackWasBuiltIsStoppedThereAndDiverged) {
  ASSERT_NO_FATAL_FAILURE(Relocate("cutover_given_up_late"));
  CommandResult killed = Dbr("cutover", {{"DBR_CRASH_AT", "switch:finishing"}});
  ASSERT_EQ(killed.exit_code, 128 + 9) << killed.err;
  ASSERT_NO_FATAL_FAILURE(GiveUpTheDestinationByHand());
  EXPECT_EQ(*src_->QueryValue(
                "SELECT string_agg(subname || ':' || subenabled, ',') FROM "
                "pg_subscription WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = "
                "current_database())",
                db_),
            "db_relocate_rev_sub:false");
  ASSERT_TRUE(ThroughProxyExec("INSERT INTO ledger (client) VALUES (42)").ok());
  ASSERT_TRUE(dst_->StartAgain().ok());
  ASSERT_TRUE(dst_->Exec("INSERT INTO ledger (client) VALUES (41)", db_).ok());
  CommandResult again = Dbr("cutover");
  EXPECT_EQ(again.exit_code, 1) << again.out << again.err;
  EXPECT_NE(again.err.find("can be neither finished nor undone"), std::string::npos) << again.err;
  EXPECT_EQ(ProxiedPort(), std::to_string(src_->port()));
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM ledger WHERE client = 41", db_), "0")
      << "the destination's write reached the source";
  CommandResult cleaned = Dbr("cleanup");
  EXPECT_EQ(cleaned.exit_code, 0) << cleaned.out << cleaned.err;
  ExpectApplicationWritesTo(*src_);
}

// A managed proxy stopped while a switch is recorded: the switch's command cannot go on without
// it, and `proxy` starts it for the primary where the stage says the application may write there.
TEST_F(CutoverTest, ManagedProxyStoppedMidSwitchIsStartedForThePrimaryAndTheSwitchGoesOn) {
  ASSERT_NO_FATAL_FAILURE(Relocate("cutover_proxy_gone"));
  CommandResult killed = Dbr("cutover", {{"DBR_CRASH_AT", "switch:paused"}});
  ASSERT_EQ(killed.exit_code, 128 + 9) << killed.err;
  CommandResult stopped = RunDbRelocate({"proxy", "--stop", "--config", config_.string()});
  ASSERT_EQ(stopped.exit_code, 0) << stopped.err;
  CommandResult blind = Dbr("cutover");
  EXPECT_EQ(blind.exit_code, 1) << blind.out << blind.err;
  CommandResult started = Dbr("proxy");
  EXPECT_EQ(started.exit_code, 0) << started.err;
  EXPECT_NE(started.err.find("starting the managed proxy for the source"), std::string::npos)
      << started.err;
  ExpectApplicationWritesTo(*src_);
  CommandResult done = Dbr("cutover");
  EXPECT_EQ(done.exit_code, 0) << done.out << done.err;
  ExpectApplicationWritesTo(*dst_);
}

// After the cut-over the old source is decommissioned: cleanup cannot reach it, and the new
// primary's return slot would retain its WAL for good. Said with the way out; with
// --source-gone the destination is cleaned alone and what stays on the source is named.
TEST_F(CutoverTest, CleanupWithTheSourceGoneForGoodCleansTheDestinationAlone) {
  ASSERT_NO_FATAL_FAILURE(Relocate("cutover_source_gone"));
  CommandResult cut = Dbr("cutover");
  ASSERT_EQ(cut.exit_code, 0) << cut.err;
  const std::string slots_here =
      "SELECT count(*) FROM pg_replication_slots WHERE database = current_database()";
  ASSERT_EQ(*dst_->QueryValue(slots_here, db_), "1");  // the way back's
  ASSERT_TRUE(src_->Stop().ok());

  CommandResult refused = Dbr("cleanup");
  EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("`db_relocate cleanup --source-gone` cleans the destination alone"),
            std::string::npos)
      << refused.err;
  EXPECT_EQ(*dst_->QueryValue(slots_here, db_), "1");

  CommandResult done = RunDbRelocate({"cleanup", "--source-gone", "--config", config_.string()});
  Status back = src_->StartAgain();  // the suite's other tests share it
  ASSERT_EQ(done.exit_code, 0) << done.out << done.err;
  EXPECT_NE(done.err.find("left on the source, should it come back: replication slot "
                          "db_relocate_slot_cutover_source_gone"),
            std::string::npos)
      << done.err;
  EXPECT_EQ(*dst_->QueryValue(slots_here, db_), "0");
  EXPECT_EQ(*dst_->QueryValue("SELECT count(*) FROM pg_subscription s JOIN pg_database d ON "
                              "d.oid = s.subdbid WHERE d.datname = current_database()",
                              db_),
            "0");
  EXPECT_EQ(
      *dst_->QueryValue("SELECT count(*) FROM pg_namespace WHERE nspname = 'db_relocate'", db_),
      "0");
  ExpectApplicationWritesTo(*dst_);

  // What was named stays on the source: dropped by hand, as a DBA bringing it back would.
  ASSERT_TRUE(back.ok()) << back.message();
  auto subs = src_->QueryValue(
      "SELECT string_agg(quote_ident(subname), ',') FROM pg_subscription s JOIN pg_database d "
      "ON d.oid = s.subdbid WHERE d.datname = current_database()",
      db_);
  ASSERT_TRUE(subs.ok() && !subs->empty()) << subs.message();
  EXPECT_TRUE(src_->Exec("ALTER SUBSCRIPTION " + *subs + " DISABLE; ALTER SUBSCRIPTION " + *subs +
                             " SET (slot_name = NONE); DROP SUBSCRIPTION " + *subs,
                         db_)
                  .ok());
  EXPECT_TRUE(src_->Exec("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                         "WHERE database = current_database()",
                         db_)
                  .ok());
}

TEST_F(CutoverTest, DestinationDownRefusesAndLeavesTrafficOnTheSource) {
  ASSERT_NO_FATAL_FAILURE(Relocate("cutover_dst_down"));
  ASSERT_TRUE(dst_->Stop().ok());
  CommandResult r = Dbr("cutover");
  ASSERT_TRUE(dst_->StartAgain().ok());
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("destination"), std::string::npos) << r.err;
  ExpectApplicationWritesTo(*src_);
}

TEST_F(CutoverTest, ColumnAddedOnlyOnTheSourceRefusesUntilTheDestinationHasIt) {
  ASSERT_NO_FATAL_FAILURE(Relocate("cutover_ddl"));
  ASSERT_TRUE(src_->Exec("ALTER TABLE ledger ADD COLUMN coupon text", db_).ok());
  ASSERT_TRUE(
      ThroughProxy("INSERT INTO ledger (client, coupon) VALUES (5, 'X1') RETURNING id").ok());
  CommandResult refused = Dbr("cutover");
  EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("nothing was changed"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("table public.ledger: column coupon (text) exists on the source but "
                             "not on the destination; fix: on the destination: ALTER TABLE "
                             "\"public\".\"ledger\" ADD COLUMN \"coupon\" text"),
            std::string::npos)
      << refused.err;
  ExpectApplicationWritesTo(*src_);

  ASSERT_TRUE(dst_->Exec("ALTER TABLE ledger ADD COLUMN coupon text", db_).ok());
  CommandResult cut = Dbr("cutover");
  ASSERT_EQ(cut.exit_code, 0) << cut.out << cut.err;
  ExpectApplicationWritesTo(*dst_);
  EXPECT_EQ(*dst_->QueryValue("SELECT coupon FROM ledger WHERE client = 5", db_), "X1");
}

// ddl: replicate: a column added on the source reaches the destination before the rows that
// fill it, so the cut-over goes through; one added on the new primary after it reaches the old
// one, so the rollback loses nothing either.
TEST_F(CutoverTest, ReplicatedDdlFollowsTheApplicationThereAndBack) {
  ASSERT_NO_FATAL_FAILURE(Relocate("cutover_ddl_replicate", "ddl: replicate\n"));
  ASSERT_TRUE(src_->Exec("ALTER TABLE ledger ADD COLUMN coupon text", db_).ok());
  ASSERT_TRUE(
      ThroughProxy("INSERT INTO ledger (client, coupon) VALUES (5, 'X1') RETURNING id").ok());
  ASSERT_TRUE(WaitUntilApplied(*src_, db_).ok());
  CommandResult cut = Dbr("cutover");
  ASSERT_EQ(cut.exit_code, 0) << cut.out << cut.err;
  ExpectApplicationWritesTo(*dst_);
  EXPECT_EQ(*dst_->QueryValue("SELECT coupon FROM ledger WHERE client = 5", db_), "X1");

  ASSERT_TRUE(dst_->Exec("ALTER TABLE ledger ADD COLUMN region text DEFAULT 'eu'", db_).ok());
  ASSERT_TRUE(
      ThroughProxy("INSERT INTO ledger (client, region) VALUES (6, 'us') RETURNING id").ok());
  // The return replication carries it to the old primary.
  EXPECT_TRUE(WaitFor(
      [&] {
        auto n = src_->QueryValue("SELECT count(*) FROM ledger WHERE region = 'us'", db_);
        return n.ok() && *n == "1";
      },
      std::chrono::seconds(60)));
  CommandResult back = Dbr("rollback");
  ASSERT_EQ(back.exit_code, 0) << back.out << back.err;
  ExpectApplicationWritesTo(*src_);
  EXPECT_EQ(*src_->QueryValue("SELECT region FROM ledger WHERE client = 6", db_), "us");
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM ledger WHERE region = 'eu'", db_),
            *src_->QueryValue("SELECT count(*) FROM ledger WHERE client <> 6", db_));
}

// The function the test's materialized view calls, as the source has it.
constexpr const char* kRefreshAllowed =
    "CREATE OR REPLACE FUNCTION refresh_allowed() RETURNS boolean LANGUAGE sql AS 'SELECT true'";

// Unlogged tables write no WAL, so replication cannot carry them: their rows are copied inside
// the write pause, at cut-over and again at rollback, while pgbench writes through the proxy.
// Materialized views are refreshed on the side that takes the writes once it does: by the
// cut-over run again when the refresh failed (the switch done all the same), by the rollback run
// again when the first was killed before the refresh.
TEST_F(CutoverTest, UnloggedTablesAreCopiedInsideTheWritePauseBothWays) {
  ASSERT_NO_FATAL_FAILURE(Relocate("cutover_unlogged", "", "pgbouncer", false));
  for (const char* sql :
       {"CREATE UNLOGGED TABLE sessions (id int PRIMARY KEY, token text NOT NULL)",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON sessions TO app",
        "INSERT INTO sessions SELECT g, md5(g::text) FROM generate_series(1, 5000) g",
        kRefreshAllowed,
        "CREATE MATERIALIZED VIEW ledger_clients AS SELECT client, count(*) AS n FROM ledger "
        "WHERE refresh_allowed() GROUP BY client"})
    ASSERT_TRUE(src_->Exec(sql, db_).ok()) << sql;
  CommandResult run = RunDbRelocate({"run", "--config", config_.string()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  CommandResult plan = Dbr("plan");
  EXPECT_NE(plan.out.find("unlogged: rows copied inside the cut-over's write pause"),
            std::string::npos)
      << plan.out;
  PgBench bench = PgBench::LedgerInserts(dir_.path(), proxy_port_, db_, 100);
  ExpectWritesLandOn(*src_, 100);
  ASSERT_TRUE(ThroughProxy("WITH u AS (UPDATE sessions SET token = 'changed' WHERE id <= 10 "
                           "RETURNING 1) SELECT count(*) FROM u")
                  .ok());
  ASSERT_TRUE(ThroughProxy("INSERT INTO sessions VALUES (5001, 'late') RETURNING id").ok());
  ASSERT_TRUE(ThroughProxy("INSERT INTO ledger (client) VALUES (55) RETURNING id").ok());
  const std::string digest =
      "SELECT count(*) || ' ' || md5(string_agg(id || ':' || token, ',' ORDER BY id)) FROM "
      "sessions";
  const std::string on_source = *src_->QueryValue(digest, db_);
  // The view's refresh fails on the destination: the cut-over is done, says what it left, and
  // does it when run again once the refresh can run.
  ASSERT_TRUE(dst_->Exec("CREATE OR REPLACE FUNCTION refresh_allowed() RETURNS boolean LANGUAGE "
                         "plpgsql AS $$BEGIN RAISE EXCEPTION 'not on this side'; END$$",
                         db_)
                  .ok());
  CommandResult cut = Dbr("cutover");
  ASSERT_EQ(cut.exit_code, 0) << cut.out << cut.err;
  EXPECT_NE(cut.err.find("1 unlogged tables copied to the destination inside the write pause"),
            std::string::npos)
      << cut.err;
  EXPECT_NE(cut.err.find("its materialized views are not refreshed"), std::string::npos) << cut.err;
  EXPECT_NE(cut.err.find("not on this side"), std::string::npos) << cut.err;
  EXPECT_NE(cut.err.find("run `db_relocate cutover` again to retry"), std::string::npos) << cut.err;
  EXPECT_EQ(*dst_->QueryValue(digest, db_), on_source);
  EXPECT_TRUE(on_source.rfind("5001 ", 0) == 0) << on_source;
  EXPECT_EQ(*dst_->QueryValue("SELECT count(*) FROM ledger_clients WHERE client = 55", db_), "0");
  CommandResult status = Dbr("status");
  EXPECT_NE(status.out.find("is not done: run `db_relocate cutover` again"), std::string::npos)
      << status.out;
  ASSERT_TRUE(dst_->Exec(kRefreshAllowed, db_).ok());
  CommandResult again = Dbr("cutover");
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_NE(again.out.find("left to do after it is done now"), std::string::npos) << again.out;
  // The view counts the row written through the proxy after the copy.
  EXPECT_EQ(*dst_->QueryValue("SELECT n FROM ledger_clients WHERE client = 55", db_), "1");
  ASSERT_TRUE(ThroughProxy("INSERT INTO ledger (client) VALUES (77) RETURNING id").ok());

  ASSERT_TRUE(ThroughProxy("WITH d AS (DELETE FROM sessions WHERE id > 4000 RETURNING 1) "
                           "SELECT count(*) FROM d")
                  .ok());
  const std::string on_destination = *dst_->QueryValue(digest, db_);
  // Killed once the rollback is recorded done, before the view's refresh: the rollback run again
  // refreshes it.
  CommandResult killed = Dbr("rollback", {{"DBR_CRASH_AT", "switch:done"}});
  ASSERT_EQ(killed.exit_code, 128 + 9) << killed.err;
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM ledger_clients WHERE client = 77", db_), "0");
  CommandResult back = Dbr("rollback");
  ASSERT_EQ(back.exit_code, 0) << back.out << back.err;
  EXPECT_NE(back.out.find("what the rollback left to do after it is done now"), std::string::npos)
      << back.out;
  EXPECT_EQ(*src_->QueryValue(digest, db_), on_destination);
  EXPECT_TRUE(on_destination.rfind("4000 ", 0) == 0) << on_destination;
  EXPECT_EQ(*src_->QueryValue("SELECT n FROM ledger_clients WHERE client = 77", db_), "1");
  // The application wrote all along, through both switches, and lost nothing.
  const ProcessOutput& out = bench.Wait();
  EXPECT_EQ(out.exit_code, 0) << out.out << out.err;
  ASSERT_TRUE(WaitUntilApplied(*src_, db_).ok());
  EXPECT_EQ(Count(*src_), 1000 + PgBench::Processed(out) + 2);
  EXPECT_EQ(Count(*dst_), Count(*src_));
}

// Each large object as a user sees it: oid, owner, privileges and a digest of the content.
constexpr const char* kLargeObjects =
    "SELECT coalesce(string_agg(m.oid || ' ' || pg_get_userbyid(m.lomowner) || ' ' || "
    "coalesce(m.lomacl::text, '-') || ' ' || md5(lo_get(m.oid)), E'\n' ORDER BY m.oid), '') "
    "FROM pg_largeobject_metadata m";

// Large objects are not replicated: the copy takes them under the snapshot, and each switch
// compares them again, so that what the application changed during catch-up, and even in the
// moment before the write pause, is on the new side when it writes there.
TEST_F(CutoverTest, LargeObjectsChangedAtAnyTimeFollowTheApplicationThereAndBack) {
  ASSERT_NO_FATAL_FAILURE(Relocate("cutover_lo", "", "pgbouncer", false));
  Status reader = src_->Exec("CREATE ROLE lo_reader NOLOGIN");
  ASSERT_TRUE(reader.ok() || reader.message().find("already exists") != std::string::npos);
  // 900002 spans several of the copy's 1 MB pieces, of bytes that do not compress.
  for (const char* sql : {
           "SELECT lo_from_bytea(900001, 'first version')",
           "SELECT lo_from_bytea(900002, (SELECT decode(string_agg(md5(random()::text), ''), "
           "'hex') FROM generate_series(1, 196608)))",
           "SELECT lo_from_bytea(900003, 'dropped during catch-up')",
           "SELECT lo_from_bytea(900004, '')",
           "ALTER LARGE OBJECT 900001 OWNER TO app",
           "ALTER LARGE OBJECT 900002 OWNER TO app",
           "ALTER LARGE OBJECT 900003 OWNER TO app",
           "ALTER LARGE OBJECT 900004 OWNER TO app",
           "GRANT SELECT ON LARGE OBJECT 900002 TO lo_reader",
       })
    ASSERT_TRUE(src_->Exec(sql, db_).ok()) << sql;
  CommandResult run = RunDbRelocate({"run", "--config", config_.string()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("4 large objects compared, 4 copied (3.0 MB)"), std::string::npos)
      << run.err;
  EXPECT_EQ(*dst_->QueryValue(kLargeObjects, db_), *src_->QueryValue(kLargeObjects, db_));
  EXPECT_NE(Dbr("plan").out.find("4 large objects"), std::string::npos);

  // During catch-up the application changes one, makes one and drops one.
  PgBench bench = PgBench::LedgerInserts(dir_.path(), proxy_port_, db_, 100);
  ExpectWritesLandOn(*src_, 100);
  for (const char* sql :
       {"SELECT lo_put(900001, 0, 'second')",
        "SELECT lo_from_bytea(900005, 'made during catch-up')", "SELECT lo_unlink(900003)"})
    ASSERT_TRUE(ThroughProxyExec(sql).ok()) << sql;
  CommandResult verify = Dbr("verify");
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_NE(verify.out.find("3 large objects differ (4 compared)"), std::string::npos)
      << verify.out;
  EXPECT_NE(verify.out.find("large object 900003  only on the destination"), std::string::npos)
      << verify.out;

  // The cut-over brings the destination level before its write pause, then waits at a pause
  // point: what the application changes there is found inside the write pause.
  PauseWindow window("switch:large-objects-ahead", dir_.path() / "release");
  auto cut = std::async(std::launch::async, [&] { return Dbr("cutover", window.Env()); });
  EXPECT_TRUE(WaitFor(
      [&] {
        auto n = dst_->QueryValue("SELECT count(*) FROM pg_largeobject_metadata WHERE oid = 900005",
                                  db_);
        return n.ok() && *n == "1";
      },
      60s));
  for (const char* sql :
       {"SELECT lo_put(900002, 1048570, 'written in the window')",
        "SELECT lo_from_bytea(900006, 'made in the window')", "SELECT lo_unlink(900004)"})
    ASSERT_TRUE(ThroughProxyExec(sql).ok()) << sql;
  window.Release();
  CommandResult done = cut.get();
  ASSERT_EQ(done.exit_code, 0) << done.out << done.err;
  EXPECT_NE(done.out.find("large objects, inside the pause: 4 large objects compared, 2 copied"),
            std::string::npos)
      << done.out;
  EXPECT_NE(done.out.find(", 1 removed in "), std::string::npos) << done.out;
  const std::string at_cutover = *src_->QueryValue(kLargeObjects, db_);
  EXPECT_EQ(*dst_->QueryValue(kLargeObjects, db_), at_cutover);
  EXPECT_NE(at_cutover.find("900002 app {app=rw/app,lo_reader=r/app}"), std::string::npos)
      << at_cutover;
  EXPECT_NE(Dbr("status").out.find("comparing 4 large objects, 3 copied again"), std::string::npos);
  verify = Dbr("verify");
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_NE(verify.out.find("every large object is the same on both sides (4 compared)"),
            std::string::npos)
      << verify.out;

  // On the destination, then back.
  for (const char* sql : {"SELECT lo_put(900001, 0, 'third')", "SELECT lo_unlink(900005)",
                          "SELECT lo_from_bytea(900007, 'made on the destination')",
                          "GRANT SELECT ON LARGE OBJECT 900007 TO lo_reader"})
    ASSERT_TRUE(ThroughProxyExec(sql).ok()) << sql;
  const std::string on_destination = *dst_->QueryValue(kLargeObjects, db_);
  CommandResult back = Dbr("rollback");
  ASSERT_EQ(back.exit_code, 0) << back.out << back.err;
  EXPECT_EQ(*src_->QueryValue(kLargeObjects, db_), on_destination);
  EXPECT_NE(on_destination.find("900007 app {app=rw/app,lo_reader=r/app}"), std::string::npos)
      << on_destination;

  const ProcessOutput& out = bench.Wait();
  EXPECT_EQ(out.exit_code, 0) << out.out << out.err;
  ASSERT_TRUE(WaitUntilApplied(*src_, db_).ok());
  EXPECT_EQ(Count(*src_), 1000 + PgBench::Processed(out));
  EXPECT_EQ(Count(*dst_), Count(*src_));
  verify = Dbr("verify");
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_NE(verify.out.find("every large object is the same on both sides (4 compared)"),
            std::string::npos)
      << verify.out;
}

TEST_F(CutoverTest, ProxyAdminUnreachableRefusesBeforeAnythingChanges) {
  ASSERT_NO_FATAL_FAILURE(Relocate("cutover_admin"));
  CommandResult r = RunDbRelocate({"cutover", "--config", ConfigWithDeadAdmin().string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("PgBouncer admin console"), std::string::npos) << r.err;
  ExpectApplicationWritesTo(*src_);
}

// Were the proxy sending the application to the destination, dropping replication would strand
// the writes made there: a proxy that cannot be read is no answer.
TEST_F(CutoverTest, CleanupRefusesWhileTheProxyCannotBeReadAndDropsNothing) {
  ASSERT_NO_FATAL_FAILURE(Relocate("cleanup_blind"));
  const fs::path blind = ConfigWithDeadAdmin();
  for (bool dry : {true, false}) {
    std::vector<std::string> args = {"cleanup", "--config", blind.string()};
    if (dry) args.push_back("--dry-run");
    CommandResult r = RunDbRelocate(args);
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_NE(r.err.find("cannot read where PgBouncer sends the application"), std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("cutover.admin"), std::string::npos) << r.err;
  }
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_replication_slots WHERE slot_name = "
                              "'db_relocate_slot_cleanup_blind'"),
            "1");
  EXPECT_EQ(*dst_->QueryValue("SELECT count(*) FROM pg_subscription", db_), "1");
  ExpectApplicationWritesTo(*src_);
  // With the proxy readable again, cleanup goes ahead.
  CommandResult clean = Dbr("cleanup");
  EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_replication_slots WHERE slot_name = "
                              "'db_relocate_slot_cleanup_blind'"),
            "0");
}

// Makes `cluster` refuse the replication user's logins (or take them again): a rule ahead of
// the harness's in pg_hba.conf, and a reload.
void RefuseReplicationUser(TestCluster& cluster, bool refuse) {
  const fs::path hba = cluster.data_dir() / "pg_hba.conf";
  const std::string rule = "host all upgrade 127.0.0.1/32 reject\n";
  auto text = ReadFile(hba);
  ASSERT_TRUE(text.ok()) << text.message();
  std::string rest = text->starts_with(rule) ? text->substr(rule.size()) : *text;
  std::ofstream(hba, std::ios::trunc) << (refuse ? rule : "") << rest;
  ASSERT_TRUE(cluster.Exec("SELECT pg_reload_conf()").ok());
}

// The way back must carry the application's writes before a cut-over says it is done: a return
// subscription whose worker cannot log in is no way back. (CREATE SUBSCRIPTION checks the login
// itself, so the login is refused only once the subscription exists: after a kill at
// switch:finishing, which the command run again finishes.)
TEST_F(CutoverTest, CutoverIsNotDoneUntilTheReturnReplicationStreams) {
  ASSERT_NO_FATAL_FAILURE(Relocate("cutover_return"));
  CommandResult killed = Dbr("cutover", {{"DBR_CRASH_AT", "switch:finishing"}});
  ASSERT_EQ(killed.exit_code, 128 + 9) << killed.err;
  ASSERT_NO_FATAL_FAILURE(RefuseReplicationUser(*dst_, true));
  const std::string streaming =
      "SELECT count(*) FROM pg_stat_subscription WHERE subname = 'db_relocate_rev_sub' AND pid "
      "IS NOT NULL AND received_lsn IS NOT NULL";
  ASSERT_TRUE(src_->Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_subscription WHERE "
                         "subname = 'db_relocate_rev_sub' AND pid IS NOT NULL",
                         db_)
                  .ok());
  ASSERT_TRUE(WaitFor([&] { return *src_->QueryValue(streaming, db_) == "0"; }, 60s));

  CommandResult cut = Dbr("cutover");
  ASSERT_NO_FATAL_FAILURE(RefuseReplicationUser(*dst_, false));
  EXPECT_EQ(cut.exit_code, 1) << cut.out << cut.err;
  EXPECT_NE(cut.err.find("return subscription db_relocate_rev_sub on the source has no worker "
                         "streaming from the destination"),
            std::string::npos)
      << cut.err;
  EXPECT_NE(cut.err.find("run the same command again to finish"), std::string::npos) << cut.err;
  EXPECT_EQ(cut.out.find("Finished the interrupted"), std::string::npos) << cut.out;
  // The application is on the destination already; the command run again finishes the switch.
  ExpectApplicationWritesTo(*dst_);
  CommandResult again = Dbr("cutover");
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_NE(again.out.find("Finished the interrupted"), std::string::npos) << again.out;
  EXPECT_EQ(*src_->QueryValue(streaming, db_), "1");
  // What the application wrote on the destination reaches the source.
  EXPECT_TRUE(WaitFor([&] { return Count(*src_) == Count(*dst_); }, 30s))
      << Count(*src_) << " rows on the source, " << Count(*dst_) << " on the destination";
}

TEST_F(CutoverTest, PauseThatCannotCompleteResumesAndChangesNothing) {
  ASSERT_NO_FATAL_FAILURE(Relocate("cutover_pause", "  pause_timeout: 1\n"));
  // A transaction left open through the proxy holds its server connection: PAUSE waits for it.
  auto held = pg::Connection::Open(AppThroughProxy());
  ASSERT_TRUE(held.ok()) << held.message();
  ASSERT_TRUE(held->Exec("BEGIN").ok());
  ASSERT_TRUE(held->Exec("INSERT INTO ledger (client) VALUES (42)").ok());
  CommandResult r = Dbr("cutover");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("could not pause"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing changed"), std::string::npos) << r.err;
  // The held transaction commits, on the source, and new ones get through again.
  EXPECT_TRUE(held->Exec("COMMIT").ok());
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM ledger WHERE client = 42", db_), "1");
  ExpectApplicationWritesTo(*src_);
  CommandResult status = Dbr("status");
  EXPECT_NE(status.out.find("primary:         source"), std::string::npos) << status.out;
}

TEST_F(CutoverTest, LagThatNeverDrainsPutsTrafficBackOnTheSource) {
  ASSERT_NO_FATAL_FAILURE(Relocate("cutover_stall", "  drain_timeout: 1\n"));
  ASSERT_NO_FATAL_FAILURE(StallTheSwitchMarkerOnTheDestination());
  PgBench bench = PgBench::LedgerInserts(dir_.path(), proxy_port_, db_, 100);
  ExpectWritesLandOn(*src_, 100);
  CommandResult r = Dbr("cutover");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("drain_timeout"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("back on the source"), std::string::npos) << r.err;
  // pgbench's own writes land on the source again.
  ExpectWritesLandOn(*src_, 100);
  const ProcessOutput& out = bench.Wait();
  EXPECT_EQ(out.exit_code, 0) << out.out << out.err;
  // The source takes the application's writes again (the fence was lifted).
  ExpectApplicationWritesTo(*src_);
  EXPECT_EQ(Count(*src_), 1000 + PgBench::Processed(out) + 1);
  // Once the stall is gone, replication into the destination goes on and a cut-over succeeds.
  ASSERT_TRUE(dst_->Exec("DROP TRIGGER stall ON db_relocate.heartbeat", db_).ok());
  ASSERT_TRUE(WaitUntilApplied(*src_, db_).ok());
  CommandResult again = Dbr("cutover");
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(Count(*dst_), 1000 + PgBench::Processed(out) + 1);
}

// The put-back can fail too: here PgBouncer cannot be sent back (its file lost the database's
// entry; the running PgBouncer still has it). The proxy then holds the application's writes,
// sent to neither side, and the command says to run it again; run again, it puts the
// application back on the source, then cuts over, losing nothing.
TEST_F(CutoverTest, PutBackThatCannotPointTheProxyHoldsTheWritesUntilRunAgain) {
  ASSERT_NO_FATAL_FAILURE(Relocate("cutover_putback", "  drain_timeout: 1\n"));
  ASSERT_NO_FATAL_FAILURE(StallTheSwitchMarkerOnTheDestination());
  auto config = LoadConfig(config_);
  ASSERT_TRUE(config.ok()) << config.message();
  const fs::path ini = config->cutover.config_file;
  auto kept = ReadFile(ini);
  ASSERT_TRUE(kept.ok()) << kept.message();
  std::string without_entry;
  for (const std::string& line : SplitLines(*kept))
    if (line.rfind(db_ + " =", 0) != 0) without_entry += line + "\n";
  ASSERT_NE(without_entry, *kept) << "no entry for " << db_ << " in " << *kept;

  PgBench bench = PgBench::LedgerInserts(dir_.path(), proxy_port_, db_, 100);
  ExpectWritesLandOn(*src_, 100);
  // Rewritten in place: PgBouncer, which runs as postgres, must still be able to read it.
  std::ofstream(ini, std::ios::trunc) << without_entry;
  CommandResult r = Dbr("cutover");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("drain_timeout"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("putting things back failed too"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("no entry for database"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("run the same command again"), std::string::npos) << r.err;
  // The writes are held: once the destination has applied what the source took, none lands on
  // either side.
  EXPECT_TRUE(WaitFor([&] { return Count(*dst_) == Count(*src_); }, 60s))
      << Count(*src_) << " rows on the source, " << Count(*dst_) << " on the destination";
  const int64_t on_src = Count(*src_), on_dst = Count(*dst_);
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(Count(*src_), on_src);
  EXPECT_EQ(Count(*dst_), on_dst);

  std::ofstream(ini, std::ios::trunc) << *kept;
  ASSERT_TRUE(dst_->Exec("DROP TRIGGER stall ON db_relocate.heartbeat", db_).ok());
  CommandResult again = Dbr("cutover");
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_NE(again.err.find("the interrupted cut-over was undone"), std::string::npos) << again.err;
  const ProcessOutput& out = bench.Wait();
  EXPECT_EQ(out.exit_code, 0) << out.out << out.err;
  ExpectApplicationWritesTo(*dst_);
  EXPECT_EQ(Count(*dst_), 1000 + PgBench::Processed(out) + 1);
}

TEST_F(CutoverTest, KilledAtEachStageTheNextRunFinishesOrUndoesIt) {
  ASSERT_NO_FATAL_FAILURE(Relocate("cutover_crash"));
  PgBench bench = PgBench::LedgerInserts(dir_.path(), proxy_port_, db_, 100);
  ExpectWritesLandOn(*src_, 100);
  struct Case {
    const char* command;
    const char* crash_at;
    const char* lands_on;  // where the application writes once the command ran again
  };
  for (const Case& c :
       {Case{"cutover", "switch:paused", "dst"}, Case{"rollback", "switch:pointing", "src"},
        Case{"cutover", "switch:switched", "dst"}, Case{"rollback", "switch:finishing", "src"},
        Case{"cutover", "switch:pointing", "dst"}, Case{"rollback", "switch:paused", "src"},
        Case{"cutover", "switch:finishing", "dst"}, Case{"rollback", "switch:switched", "src"}}) {
    SCOPED_TRACE(std::string(c.command) + " killed at " + c.crash_at);
    CommandResult killed = Dbr(c.command, {{"DBR_CRASH_AT", c.crash_at}});
    EXPECT_EQ(killed.exit_code, 128 + 9) << killed.err;
    if (std::string(c.crash_at) == "switch:paused") {
      // Half done: cleanup must not drop anything now.
      CommandResult refused = Dbr("cleanup");
      EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
      EXPECT_NE(refused.err.find("interrupted"), std::string::npos) << refused.err;
    }
    CommandResult again = Dbr(c.command);
    ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
    const std::string at = c.crash_at;
    if (at == "switch:switched" || at == "switch:finishing") {
      EXPECT_NE(again.out.find("Finished the interrupted"), std::string::npos) << again.out;
    }
    TestCluster& primary = std::string(c.lands_on) == "dst" ? *dst_ : *src_;
    EXPECT_EQ(ProxiedPort(), std::to_string(primary.port()));
    // No pause before the next command: the subscription the last one created may not have its
    // worker yet, which the next one must wait out rather than refuse.
  }
  const ProcessOutput& out = bench.Wait();
  ASSERT_EQ(out.exit_code, 0) << out.out << out.err;
  const int64_t committed = PgBench::Processed(out);
  EXPECT_EQ(Count(*src_), 1000 + committed);
  EXPECT_EQ(*src_->QueryValue("SELECT count(DISTINCT id) FROM ledger", db_),
            std::to_string(1000 + committed));
  // The subscription only re-enabled after the last kill applied nothing twice.
  ASSERT_TRUE(WaitUntilApplied(*src_, db_).ok());
  auto a = TableChecksums(*src_, db_, {"public"});  // the heartbeat keeps beating
  auto b = TableChecksums(*dst_, db_, {"public"});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);

  // Cleanup after switches both ways removes what both directions left and the application's
  // data stays.
  CommandResult plan = RunDbRelocate({"cleanup", "--dry-run", "--config", config_.string()});
  EXPECT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_NE(plan.out.find("drop subscription db_relocate_sub on the destination"),
            std::string::npos)
      << plan.out;
  EXPECT_NE(plan.out.find("drop publication db_relocate_rev_pub on the destination"),
            std::string::npos)
      << plan.out;
  CommandResult clean = Dbr("cleanup");
  EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;
  for (TestCluster* c : {src_.get(), dst_.get()}) {
    EXPECT_EQ(*c->QueryValue("SELECT count(*) FROM pg_replication_slots", db_), "0");
    EXPECT_EQ(*c->QueryValue("SELECT count(*) FROM pg_subscription", db_), "0");
  }
  EXPECT_EQ(Count(*src_), 1000 + committed);
  config_.clear();
}

// HAProxy cannot hold a client: existing connections are ended and new ones refused until it
// points at the new side. Clients that reconnect lose nothing.
TEST_F(CutoverTest, HAProxyClientsReconnectAndLoseNothing) {
  ASSERT_NO_FATAL_FAILURE(Relocate("cutover_haproxy", "", "haproxy"));
  ASSERT_EQ(ProxiedPort(), std::to_string(src_->port()));
  std::atomic<bool> stop{false};
  std::vector<int64_t> committed;
  std::atomic<int64_t> commits{0};
  double longest_gap = 0;
  std::thread writer([&] {
    std::optional<pg::Connection> conn;
    auto last = std::chrono::steady_clock::now();
    while (!stop) {
      if (!conn || conn->IsBroken()) {
        auto c = pg::Connection::Open(AppThroughProxy());
        if (c.ok()) conn.emplace(std::move(*c));
      }
      auto id = conn ? conn->QueryValue("INSERT INTO ledger (client) VALUES (1) RETURNING id")
                     : Result<std::string>(Status::Error("not connected"));
      if (id.ok()) {
        committed.push_back(std::stoll(*id));
        ++commits;
        auto now = std::chrono::steady_clock::now();
        longest_gap = std::max(longest_gap, std::chrono::duration<double>(now - last).count());
        last = now;
      } else {
        conn.reset();
      }
      std::this_thread::sleep_for(5ms);
    }
  });
  // Commits before, between and after the two switches (the clients that reconnect).
  auto commits_go_on = [&](int64_t more) {
    const int64_t from = commits.load();
    EXPECT_TRUE(WaitFor([&] { return commits.load() >= from + more; }, 60s))
        << "the writer committed " << commits.load() - from << " rows, not " << more << " more";
  };
  commits_go_on(50);
  CommandResult cut = Dbr("cutover");
  commits_go_on(50);
  CommandResult back = Dbr("rollback");
  commits_go_on(50);
  stop = true;
  writer.join();
  ASSERT_EQ(cut.exit_code, 0) << cut.out << cut.err;
  ASSERT_EQ(back.exit_code, 0) << back.out << back.err;
  EXPECT_EQ(ProxiedPort(), std::to_string(src_->port()));
  ASSERT_GT(committed.size(), 100u);
  // Every row a client saw committed is on the primary. A connection ended between COMMIT and
  // its reply leaves a row the client did not see: more rows, never fewer.
  std::string ids = "{";
  for (int64_t id : committed) ids += (ids.size() > 1 ? "," : "") + std::to_string(id);
  auto conn = src_->Connect(db_);
  ASSERT_TRUE(conn.ok());
  auto present =
      conn->QueryValue("SELECT count(*) FROM ledger WHERE id = ANY($1::int8[])", {ids + "}"});
  ASSERT_TRUE(present.ok()) << present.message();
  EXPECT_EQ(*present, std::to_string(committed.size()));
  // The benchmark measures the reconnect time; here only that clients came back at all soon.
  EXPECT_LT(longest_gap, 10.0);
  std::cerr << "longest gap between commits through HAProxy: " << longest_gap << " s\n";

  // Cleanup takes the old database out of the proxy, which keeps serving the application.
  CommandResult clean = Dbr("cleanup");
  EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;
  std::ifstream in(dir_.path() / "state" / "proxy" / "haproxy.cfg");
  const std::string cfg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(cfg.find("server src"), std::string::npos) << cfg;
  EXPECT_EQ(cfg.find("server dst"), std::string::npos) << cfg;
  EXPECT_EQ(ProxiedPort(), std::to_string(src_->port()));
  config_.clear();
}

}  // namespace
}  // namespace dbr::test
