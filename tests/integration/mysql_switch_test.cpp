// `cutover` and `rollback` with engine: mysql through a managed HAProxy (issue #25), on real
// MariaDB servers, with a client of the application that writes through the proxy all along and
// reconnects when its connection is ended: every row it saw committed is on the primary at the
// end, both sides are equal, the old side is read-only after each switch, and cleanup leaves
// nothing of the relocation's on either side.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "harness/cluster.h"
#include "harness/mariadb.h"
#include "harness/mariadb_workload.h"
#include "harness/wait.h"
#include "mysql/replication.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace dbr::test {
namespace {

// The application: inserts into shop.items through the proxy as `app`, reconnecting whenever
// its connection fails, and keeps the id of every insert whose commit it saw.
class ProxyClient {
 public:
  explicit ProxyClient(int proxy_port) : port_(proxy_port) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~ProxyClient() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // Waits until `more` further commits were seen.
  bool CommitsGoOn(int64_t more) {
    const int64_t from = commits_.load();
    return WaitFor([&] { return commits_.load() >= from + more; }, 60s);
  }
  const std::vector<int64_t>& committed() const { return committed_; }
  double longest_gap() const { return longest_gap_; }

 private:
  void Loop() {
    std::optional<mariadb::Connection> conn;
    auto last = std::chrono::steady_clock::now();
    while (!stop_) {
      if (!conn) {
        mariadb::ConnParams p;
        p.label = "the application";
        p.host = "127.0.0.1";
        p.port = port_;
        p.user = "app";
        p.password = "apppw";
        p.database = "shop";
        p.connect_timeout_s = 2;
        auto c = mariadb::Connection::Open(p);
        if (c.ok()) conn.emplace(std::move(*c));
      }
      Result<int64_t> id = Status::Error("not connected");
      if (conn &&
          conn->Exec("INSERT INTO items (name, price) VALUES ('through the proxy', 1)").ok())
        id = conn->QueryInt("SELECT LAST_INSERT_ID()");
      if (id.ok()) {
        committed_.push_back(*id);
        ++commits_;
        const auto now = std::chrono::steady_clock::now();
        longest_gap_ = std::max(longest_gap_, std::chrono::duration<double>(now - last).count());
        last = now;
      } else {
        conn.reset();
      }
      std::this_thread::sleep_for(5ms);
    }
  }

  const int port_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> commits_{0};
  std::vector<int64_t> committed_;
  double longest_gap_ = 0;
  std::thread thread_;
};

class MysqlSwitchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pair = StartMariaDbPair();
    ASSERT_TRUE(pair.ok()) << pair.message();
    pair_ = std::move(*pair);
    MakeShopDatabase(*pair_.src);
    auto src = pair_.src->Connect();
    ASSERT_TRUE(src.ok()) << src.message();
    // The application's account: no privilege that read_only would let through.
    // The scheduled event runs as the application (a switch that moves it keeps its definer).
    for (const char* sql : {"CREATE USER app@'%' IDENTIFIED BY 'apppw'",
                            "GRANT SELECT, INSERT, UPDATE, DELETE ON shop.* TO app@'%'",
                            "ALTER DEFINER = app@'%' EVENT shop.nightly COMMENT ''"})
      ASSERT_TRUE(src->Exec(sql).ok()) << sql;
    auto port = PickFreePort();
    ASSERT_TRUE(port.ok());
    proxy_port_ = *port;
    fs::permissions(dir_.path(), fs::perms::others_exec | fs::perms::group_exec,
                    fs::perm_options::add);
    config_ = dir_.path() / "relocate.yaml";
    std::ofstream(config_) << "engine: mysql\n"
                           << "src: {host: 127.0.0.1, port: " << pair_.src->port()
                           << ", name: shop, user: ops, password: secret}\n"
                           << "dst: {host: 127.0.0.1, port: " << pair_.dst->port() << "}\n"
                           << "upgrade: {user: dbr_repl}\n"
                           << "state_dir: " << (dir_.path() / "state").string() << "\n"
                           << "jobs: 2\nheartbeat_interval: 0.2\n"
                           << "cutover: {type: haproxy, manage: true, listen: 127.0.0.1:"
                           << proxy_port_ << "}\n";
    fs::permissions(config_, fs::perms::owner_read | fs::perms::owner_write);
  }

  void TearDown() override {
    if (config_.empty()) return;
    (void)Dbr("cleanup");
    CommandResult stopped = Dbr("proxy", "--stop");
    EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  }

  CommandResult Dbr(const std::string& command, const std::string& flag = "") {
    std::vector<std::string> args = {command, "--config", config_.string()};
    if (!flag.empty()) args.push_back(flag);
    return RunDbRelocate(args);
  }

  // The server new connections through the proxy reach, by its port.
  std::string ProxiedPort() {
    mariadb::ConnParams p = pair_.src->Params();
    p.port = proxy_port_;
    auto c = mariadb::Connection::Open(p);
    if (!c.ok()) return c.message();
    auto port = c->QueryValue("SELECT @@port");
    return port.ok() ? *port : port.message();
  }

  std::string ReadOnly(TestMariaDb& server) {
    auto c = server.Connect();
    if (!c.ok()) return c.message();
    auto value = c->QueryValue("SELECT @@GLOBAL.read_only");
    return value.ok() ? *value : value.message();
  }

  // The status and definer of the fixture's scheduled event shop.nightly on `server`.
  std::string EventStatus(TestMariaDb& server) {
    auto c = server.Connect();
    if (!c.ok()) return c.message();
    auto value = c->QueryValue(
        "SELECT CONCAT(STATUS, ' ', DEFINER) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = "
        "'shop' AND EVENT_NAME = 'nightly'");
    return value.ok() ? *value : value.message();
  }

  // EventStatus's status without the definer.
  static std::string StatusOnly(const std::string& status_and_definer) {
    return status_and_definer.substr(0, status_and_definer.find(' '));
  }

  // "yes" when `server`'s replication of ours is positioned by GTID, "no" when by file and offset.
  std::string ReplicationByGtid(TestMariaDb& server) {
    auto c = server.Connect();
    if (!c.ok()) return c.message();
    auto replica = mysql::ReadReplica(*c, "db_relocate_shop");
    if (!replica.ok()) return replica.message();
    if (!replica->exists) return "no replication";
    return replica->by_gtid ? "yes" : "no";
  }

  // The application's account, straight to `server` (not through the proxy): can it write?
  Status AppWritesDirectlyTo(TestMariaDb& server) {
    auto c = mariadb::Connection::Open(server.Params("app", "apppw"));
    if (!c.ok()) return c.status();
    return c->Exec("INSERT INTO shop.items (name) VALUES ('around the proxy')");
  }

  // `status` names the primary and shows the replication into the other side running, as text
  // and as JSON.
  void ExpectStatus(const std::string& primary, const std::string& follower) {
    CommandResult text = Dbr("status");
    EXPECT_EQ(text.exit_code, 0) << text.out << text.err;
    EXPECT_NE(text.out.find(primary + " (replication " + primary + " -> " + follower + ")"),
              std::string::npos)
        << text.out;
    EXPECT_NE(text.out.find("db_relocate_shop present, receiving yes, applying yes"),
              std::string::npos)
        << text.out;
    CommandResult json =
        RunDbRelocate({"status", "--config", config_.string(), "--output", "json"});
    ASSERT_EQ(json.exit_code, 0) << json.err;
    const auto j = nlohmann::json::parse(json.out);
    EXPECT_TRUE(j["replication"]["binlog"]["exists"].get<bool>()) << json.out;
    EXPECT_TRUE(j["replication"]["binlog"]["by_gtid"].get<bool>()) << json.out;
    EXPECT_NE(text.out.find("(positioned by GTID)"), std::string::npos) << text.out;
    EXPECT_GT(j["replication"]["heartbeat"]["destination_seq"].get<int64_t>(), 0) << json.out;
  }

  // `command` stops before changing anything: the old side (`old_side`, named `old_name`)
  // follows the new one already, through the replication 'theirs'. The proxy still points at
  // the old side, which still takes writes.
  void ExpectRefusedForTheirs(const std::string& command, TestMariaDb& old_side,
                              const std::string& old_name, const std::string& new_name) {
    CommandResult refused = Dbr(command);
    EXPECT_NE(refused.exit_code, 0);
    EXPECT_NE(refused.err.find(fmt::format("the {} replicates from the {} already, through theirs: "
                                           "a server follows a source once",
                                           old_name, new_name)),
              std::string::npos)
        << refused.out << refused.err;
    EXPECT_EQ(ProxiedPort(), std::to_string(old_side.port()));
    EXPECT_EQ(ReadOnly(old_side), "0");
  }

  // Every insert the application saw committed is on the source (the primary at the end) once,
  // by its key; a connection ended between COMMIT and its reply leaves a row it did not see: more
  // rows, never fewer. The destination follows the source and ends equal, table for table.
  void ExpectNothingLost(const ProxyClient& app) {
    auto src = pair_.src->Connect();
    auto dst = pair_.dst->Connect();
    ASSERT_TRUE(src.ok() && dst.ok());
    std::string ids;
    for (int64_t id : app.committed()) ids += (ids.empty() ? "" : ",") + std::to_string(id);
    EXPECT_EQ(src->QueryInt("SELECT COUNT(*) FROM shop.items WHERE id IN (" + ids + ")").value(),
              static_cast<int64_t>(app.committed().size()));
    auto end = mysql::SourcePositionNow(*src);
    ASSERT_TRUE(end.ok()) << end.message();
    Status applied = mysql::WaitApplied(*dst, "db_relocate_shop", *end, 60s);
    ASSERT_TRUE(applied.ok()) << applied.message();
    ExpectShopEqual(*src, *dst);
  }

  MariaDbPair pair_;
  TempDir dir_{"dbr-mysql-switch"};
  fs::path config_;
  int proxy_port_ = 0;
};

TEST_F(MysqlSwitchTest, CutoverAndRollbackThroughHAProxyLoseNothing) {
  // What run and cutover will do, from the source's catalog; nothing changes.
  CommandResult plan = Dbr("plan");
  ASSERT_EQ(plan.exit_code, 0) << plan.out << plan.err;
  for (const std::string& line :
       {std::string("Scope: database shop"), std::string("shop.docs"),
        std::string("shop.big_orders"), std::string("AUTO_INCREMENT counters"),
        std::string("Replication: the destination's replication db_relocate_shop"),
        "Switch: haproxy at 127.0.0.1:" + std::to_string(proxy_port_) + " (managed)",
        std::string("fence read_only (server-wide)"), std::string("Nothing was changed")})
    EXPECT_NE(plan.out.find(line), std::string::npos) << line << "\n" << plan.out;

  CommandResult run = Dbr("run");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  ASSERT_EQ(ProxiedPort(), std::to_string(pair_.src->port()));
  ExpectStatus("source", "destination");

  ProxyClient app(proxy_port_);
  ASSERT_TRUE(app.CommitsGoOn(50));
  // A source that follows the destination already, through another replication (not started
  // here), could not follow it back after the switch: pre-flight says so, and the cut-over stops
  // before it changes anything.
  ASSERT_TRUE(pair_.src
                  ->Exec({"CHANGE MASTER 'theirs' TO MASTER_HOST = '127.0.0.1', MASTER_PORT = " +
                          std::to_string(pair_.dst->port())})
                  .ok());
  CommandResult check = Dbr("check");
  EXPECT_EQ(check.exit_code, 1) << check.out;
  EXPECT_NE(check.out.find("FAIL   the source replicates from the destination already, through "
                           "theirs"),
            std::string::npos)
      << check.out;
  ExpectRefusedForTheirs("cutover", *pair_.src, "source", "destination");
  ASSERT_TRUE(app.CommitsGoOn(50));
  ASSERT_TRUE(pair_.src->Exec({"RESET SLAVE 'theirs' ALL"}).ok());

  CommandResult cut = Dbr("cutover");
  ASSERT_EQ(cut.exit_code, 0) << cut.out << cut.err;
  std::cerr << cut.out;
  EXPECT_NE(cut.out.find("Cut-over done: the application writes to the destination"),
            std::string::npos)
      << cut.out;
  EXPECT_NE(cut.out.find("replication db_relocate_shop on the source"), std::string::npos)
      << cut.out;
  EXPECT_EQ(ProxiedPort(), std::to_string(pair_.dst->port()));
  ASSERT_TRUE(app.CommitsGoOn(50));
  ExpectStatus("destination", "source");
  // The way back starts at the destination's GTID position there, as the forward replication
  // started at the snapshot's.
  EXPECT_EQ(ReplicationByGtid(*pair_.src), "yes");
  CommandResult verify_after = Dbr("verify");  // the destination against the source, which follows
  EXPECT_EQ(verify_after.exit_code, 0) << verify_after.out << verify_after.err;
  EXPECT_NE(verify_after.out.find("destination vs source at binlog."), std::string::npos)
      << verify_after.out;
  // The scheduled event runs where the application writes.
  EXPECT_EQ(EventStatus(*pair_.dst), "ENABLED app@%");
  EXPECT_EQ(EventStatus(*pair_.src), "SLAVESIDE_DISABLED app@%");
  // The old side is fenced: the application cannot write there even around the proxy.
  EXPECT_EQ(ReadOnly(*pair_.src), "1");
  EXPECT_EQ(ReadOnly(*pair_.dst), "0");
  Status around = AppWritesDirectlyTo(*pair_.src);
  EXPECT_FALSE(around.ok());
  EXPECT_NE(around.message().find("read-only"), std::string::npos) << around.message();

  // The same the other way: a destination that follows the source already, through another
  // replication, stops the rollback before it changes anything.
  ASSERT_TRUE(pair_.dst
                  ->Exec({"CHANGE MASTER 'theirs' TO MASTER_HOST = '127.0.0.1', MASTER_PORT = " +
                          std::to_string(pair_.src->port())})
                  .ok());
  ExpectRefusedForTheirs("rollback", *pair_.dst, "destination", "source");
  ASSERT_TRUE(pair_.dst->Exec({"RESET SLAVE 'theirs' ALL"}).ok());

  CommandResult back = Dbr("rollback");
  ASSERT_EQ(back.exit_code, 0) << back.out << back.err;
  EXPECT_NE(back.out.find("Rollback done: the application writes to the source"), std::string::npos)
      << back.out;
  ASSERT_TRUE(app.CommitsGoOn(50));
  app.Stop();
  EXPECT_EQ(ProxiedPort(), std::to_string(pair_.src->port()));
  EXPECT_EQ(ReadOnly(*pair_.src), "0");  // the fence of the cut-over, lifted
  EXPECT_EQ(ReadOnly(*pair_.dst), "1");
  EXPECT_EQ(ReplicationByGtid(*pair_.dst), "yes");
  EXPECT_EQ(EventStatus(*pair_.src), "ENABLED app@%");
  EXPECT_EQ(EventStatus(*pair_.dst), "SLAVESIDE_DISABLED app@%");
  EXPECT_LT(app.longest_gap(), 10.0);
  std::cerr << "longest gap between commits through HAProxy: " << app.longest_gap() << " s\n";

  ASSERT_GT(app.committed().size(), 150u);
  ASSERT_NO_FATAL_FAILURE(ExpectNothingLost(app));
  CommandResult verify = Dbr("verify");
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;

  // The report: the switches with their write pauses, and the lag the heartbeat writer samples
  // (every 5 s, so the test waits for one).
  auto file_text = [&](const char* name) {
    std::ifstream in(dir_.path() / "state" / name);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  EXPECT_TRUE(WaitFor(
      [&] { return file_text("samples.jsonl").find("\"kind\":\"lag\"") != std::string::npos; },
      20s))
      << file_text("samples.jsonl") << file_text("heartbeat.log");
  CommandResult report = Dbr("report");
  ASSERT_EQ(report.exit_code, 0) << report.out << report.err;
  const std::string html = file_text("report.html");
  EXPECT_NE(html.find("aria-label=\"Replication lag (bytes"), std::string::npos);
  EXPECT_NE(html.find("<td>cut-over (to the destination)</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>rollback (to the source)</td>"), std::string::npos);
  // The copy's throughput, sampled while it ran, and each table's copy time and rate.
  EXPECT_NE(html.find("Peak copy throughput: "), std::string::npos);
  const size_t tables_at = html.find("<table class=\"tables\">");
  ASSERT_NE(tables_at, std::string::npos);
  const std::string tables = html.substr(tables_at, html.find("</table>", tables_at) - tables_at);
  EXPECT_NE(tables.find("/s</td></tr>"), std::string::npos) << tables;
  EXPECT_EQ(tables.find("<td class=\"num\">-</td></tr>"), std::string::npos) << tables;

  // Cleanup: no replication, no database of db_relocate's and no replication user on either side
  // (the destination's was made by the cut-over for the way back).
  CommandResult clean = Dbr("cleanup");
  ASSERT_EQ(clean.exit_code, 0) << clean.out << clean.err;
  auto src = pair_.src->Connect();
  auto dst = pair_.dst->Connect();
  ASSERT_TRUE(src.ok() && dst.ok());
  for (auto* side : {&*src, &*dst}) {
    EXPECT_EQ(side->QueryInt("SELECT COUNT(*) FROM mysql.user WHERE User = 'dbr_repl'").value(), 0);
    EXPECT_EQ(side->QueryValue("SELECT GROUP_CONCAT(SCHEMA_NAME) FROM information_schema.SCHEMATA "
                               "WHERE SCHEMA_NAME LIKE 'db\\_relocate%'")
                  .value(),
              "");
    auto replicas = side->Query("SHOW ALL SLAVES STATUS");
    ASSERT_TRUE(replicas.ok()) << replicas.message();
    EXPECT_EQ(replicas->rows(), 0);
  }
}

// Killed (kill -9) right after each stage that records itself, the same command run again
// finishes or undoes the switch; the application, writing through the proxy all along, loses
// nothing, and the two sides end equal.
TEST_F(MysqlSwitchTest, KilledAtEachStageTheNextRunFinishesOrUndoesIt) {
  CommandResult run = Dbr("run");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  ProxyClient app(proxy_port_);
  ASSERT_TRUE(app.CommitsGoOn(20));
  struct Case {
    const char* command;
    const char* crash_at;
    const char* again_says;  // "": the command run again does the switch anew
  };
  // "switch:done": killed once the switch is recorded, before the scheduled event follows the
  // application; run again, the command moves it.
  for (const Case& c :
       {Case{"cutover", "switch:paused", ""}, Case{"rollback", "switch:pointing", ""},
        Case{"cutover", "switch:switched", "Finished the interrupted"},
        Case{"rollback", "switch:finishing", "Finished the interrupted"},
        Case{"cutover", "switch:done", "left to do after it is done now"},
        Case{"rollback", "switch:done", "left to do after it is done now"}}) {
    SCOPED_TRACE(std::string(c.command) + " killed at " + c.crash_at);
    const bool cutover = std::string(c.command) == "cutover";
    TestMariaDb& primary = cutover ? *pair_.dst : *pair_.src;
    TestMariaDb& follower = cutover ? *pair_.src : *pair_.dst;
    CommandResult killed =
        RunDbRelocate({c.command, "--config", config_.string()}, {{"DBR_CRASH_AT", c.crash_at}});
    EXPECT_EQ(killed.exit_code, 128 + 9) << killed.err;
    if (std::string(c.again_says).empty()) {
      CommandResult refused = Dbr("cleanup");  // half done: cleanup drops nothing now
      EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
      EXPECT_NE(refused.err.find("interrupted"), std::string::npos) << refused.err;
    }
    if (std::string(c.crash_at) == "switch:done") {
      EXPECT_EQ(StatusOnly(EventStatus(primary)), "SLAVESIDE_DISABLED");
      CommandResult status = Dbr("status");
      EXPECT_NE(
          status.out.find("is not done: run `db_relocate " + std::string(c.command) + "` again"),
          std::string::npos)
          << status.out;
    }
    CommandResult again = Dbr(c.command);
    ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
    EXPECT_NE(again.out.find(c.again_says), std::string::npos) << again.out;
    EXPECT_EQ(ProxiedPort(), std::to_string(primary.port()));
    EXPECT_EQ(ReadOnly(primary), "0");
    EXPECT_EQ(StatusOnly(EventStatus(primary)), "ENABLED");
    EXPECT_EQ(StatusOnly(EventStatus(follower)), "SLAVESIDE_DISABLED");
    EXPECT_TRUE(app.CommitsGoOn(20));
  }
  // A follow-up that fails (not killed): the event renamed on the destination (outside the
  // binary log), the cut-over is done, says what it left, and fails it again when run again;
  // the event back, the same command moves it.
  auto rename_event = [&](const char* from, const char* to) {
    return pair_.dst->Exec({"SET SESSION sql_log_bin = 0",
                            fmt::format("ALTER EVENT shop.{} RENAME TO shop.{}", from, to)});
  };
  ASSERT_TRUE(rename_event("nightly", "nightly_away").ok());
  CommandResult cut = Dbr("cutover");
  ASSERT_EQ(cut.exit_code, 0) << cut.out << cut.err;
  EXPECT_NE(cut.err.find("its scheduled events may not run there yet"), std::string::npos)
      << cut.err;
  EXPECT_NE(cut.err.find("run `db_relocate cutover` again to retry"), std::string::npos) << cut.err;
  EXPECT_EQ(ProxiedPort(), std::to_string(pair_.dst->port()));
  EXPECT_TRUE(app.CommitsGoOn(20));
  CommandResult status = Dbr("status");
  EXPECT_NE(status.out.find("is not done: run `db_relocate cutover` again"), std::string::npos)
      << status.out;
  CommandResult failed_again = Dbr("cutover");
  EXPECT_EQ(failed_again.exit_code, 0) << failed_again.out << failed_again.err;
  EXPECT_NE(failed_again.out.find("failed again (see the warning)"), std::string::npos)
      << failed_again.out;
  ASSERT_TRUE(rename_event("nightly_away", "nightly").ok());
  CommandResult done = Dbr("cutover");
  ASSERT_EQ(done.exit_code, 0) << done.out << done.err;
  EXPECT_NE(done.out.find("left to do after it is done now"), std::string::npos) << done.out;
  EXPECT_EQ(StatusOnly(EventStatus(*pair_.dst)), "ENABLED");
  EXPECT_EQ(StatusOnly(EventStatus(*pair_.src)), "SLAVESIDE_DISABLED");
  EXPECT_TRUE(app.CommitsGoOn(20));
  CommandResult back = Dbr("rollback");  // to end on the source, as ExpectNothingLost reads
  ASSERT_EQ(back.exit_code, 0) << back.out << back.err;
  EXPECT_TRUE(app.CommitsGoOn(20));
  app.Stop();
  ASSERT_NO_FATAL_FAILURE(ExpectNothingLost(app));
}

// A cut-over killed before the proxy pointed at the destination, then the destination down: the
// application goes back to the source at once. The destination restarted writes a new binary
// log file but no change of its own: the cut-over run again undoes the first and cuts over,
// rather than calling the two diverged.
TEST_F(MysqlSwitchTest, DestinationRestartedAfterTheApplicationWentBackIsUndoneNotDiverged) {
  CommandResult run = Dbr("run");
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  ProxyClient app(proxy_port_);
  ASSERT_TRUE(app.CommitsGoOn(20));
  CommandResult killed = RunDbRelocate({"cutover", "--config", config_.string()},
                                       {{"DBR_CRASH_AT", "switch:pointing"}});
  ASSERT_EQ(killed.exit_code, 128 + 9) << killed.err;
  pair_.dst->Kill();
  CommandResult back = Dbr("cutover");
  EXPECT_EQ(back.exit_code, 1) << back.out << back.err;
  EXPECT_NE(back.err.find("the application is back on the source"), std::string::npos) << back.err;
  EXPECT_TRUE(app.CommitsGoOn(20));
  ASSERT_TRUE(pair_.dst->StartAgain().ok());
  CommandResult done = Dbr("cutover");
  ASSERT_EQ(done.exit_code, 0) << done.out << done.err;
  EXPECT_EQ(ProxiedPort(), std::to_string(pair_.dst->port()));
  EXPECT_TRUE(app.CommitsGoOn(20));
  CommandResult rollback = Dbr("rollback");  // and back, as ExpectNothingLost expects
  ASSERT_EQ(rollback.exit_code, 0) << rollback.out << rollback.err;
  EXPECT_TRUE(app.CommitsGoOn(20));
  app.Stop();
  ASSERT_NO_FATAL_FAILURE(ExpectNothingLost(app));
}

}  // namespace
}  // namespace dbr::test
