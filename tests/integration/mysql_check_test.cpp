// `db_relocate check` with engine: mysql against real MariaDB servers (issue #25): each check
// passing on a pair set up as the relocation needs, and failing, with the fix, on a server
// arranged to trip it. Two servers are shared by the suite (each test works in its own
// database); the tests that need a server-wide setting start their own.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <future>
#include <memory>
#include <string>

#include "harness/check_run.h"
#include "harness/cluster.h"
#include "harness/mariadb.h"

namespace fs = std::filesystem;

namespace dbr::test {
namespace {

class MysqlCheckTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto pair = StartMariaDbPair();
    ASSERT_TRUE(pair.ok()) << pair.message();
    src_ = pair->src.release();
    dst_ = pair->dst.release();
  }
  static void TearDownTestSuite() {
    delete src_;
    delete dst_;
    src_ = dst_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(src_, nullptr) << "the shared MariaDB servers did not start"; }

  // A database name unique in this process, created on the source with one table.
  static std::string NewDatabase() {
    static std::atomic<int> counter{0};
    std::string name = "shop_" + std::to_string(++counter);
    Status st = src_->Exec({"CREATE DATABASE " + name,
                            "CREATE TABLE " + name + ".items (id INT PRIMARY KEY, v TEXT)"});
    EXPECT_TRUE(st.ok()) << st.message();
    return name;
  }

  static void ExecOk(TestMariaDb& db, const std::vector<std::string>& statements) {
    Status st = db.Exec(statements);
    ASSERT_TRUE(st.ok()) << st.message();
  }

  fs::path WriteConfig(const std::string& yaml) {
    fs::path path = dir_.path() / ("config" + std::to_string(++configs_) + ".yaml");
    std::ofstream(path) << yaml;
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
    return path;
  }

  // engine mysql from `src` to `dst`, database `name` on both, ops/secret unless `user` says.
  fs::path Config(const std::string& name, TestMariaDb& src, TestMariaDb& dst,
                  const std::string& extra = "", const std::string& user = "ops",
                  const std::string& password = "secret") {
    return WriteConfig("engine: mysql\n" + extra +
                       "src:\n  host: 127.0.0.1\n  port: " + std::to_string(src.port()) +
                       "\n  name: " + name + "\n  user: " + user + "\n  password: \"" + password +
                       "\"\ndst:\n  host: 127.0.0.1\n  port: " + std::to_string(dst.port()) +
                       "\n  user: ops\n  password: secret\n");
  }

  static TestMariaDb* src_;
  static TestMariaDb* dst_;
  TempDir dir_{"dbr-mysql-check"};
  int configs_ = 0;
};

TestMariaDb* MysqlCheckTest::src_ = nullptr;
TestMariaDb* MysqlCheckTest::dst_ = nullptr;

// A database with what the issue names (a BLOB and a JSON column, a composite key, an
// AUTO_INCREMENT table, a trigger, a view, a routine) passes every check: exit 0.
TEST_F(MysqlCheckTest, PairSetUpForTheRelocationPasses) {
  const std::string db = NewDatabase();
  ExecOk(*src_, {"CREATE TABLE " + db +
                     ".docs (id BIGINT AUTO_INCREMENT PRIMARY KEY, body JSON, "
                     "photo BLOB)",
                 "CREATE TABLE " + db +
                     ".lines (order_id INT, line INT, qty INT, PRIMARY KEY "
                     "(order_id, line))",
                 "CREATE VIEW " + db + ".big AS SELECT * FROM " + db + ".lines WHERE qty > 10",
                 "CREATE TRIGGER " + db + ".docs_touch BEFORE INSERT ON " + db +
                     ".docs FOR EACH ROW SET NEW.body = COALESCE(NEW.body, '{}')",
                 "CREATE PROCEDURE " + db + ".count_docs() SELECT COUNT(*) FROM " + db + ".docs"});
  CheckRun run = RunCheck(Config(db, *src_, *dst_));
  ASSERT_EQ(run.result.exit_code, 0) << run.Dump();
  ASSERT_TRUE(run.report.is_object()) << run.parse_error << run.Dump();
  for (const auto& c : run.report["checks"]) EXPECT_EQ(c["result"], "PASS") << c.dump();
  for (const char* name : {"versions", "binary log", "server_id", "source privileges",
                           "destination privileges", "binary log retention", "primary keys",
                           "storage engines", "definers", "destination is empty"})
    EXPECT_EQ(run.Result(name), "PASS") << name << "\n" << run.Dump();
  auto objects = run.Find("schema objects");
  ASSERT_TRUE(objects) << run.Dump();
  EXPECT_EQ((*objects)["detail"], "1 views, 1 routines, 1 triggers, 0 events move with the tables")
      << run.Dump();
  EXPECT_NE(run.Detail("versions").find("MariaDB 10."), std::string::npos) << run.Dump();
  EXPECT_NE(run.Detail("GTID").find("the replication starts at the snapshot's GTID position"),
            std::string::npos)
      << run.Dump();
}

TEST_F(MysqlCheckTest, TableWithoutPrimaryKeyFailsUnlessForced) {
  const std::string db = NewDatabase();
  ExecOk(*src_, {"CREATE TABLE " + db + ".events_log (at DATETIME, what TEXT)"});
  CheckRun run = RunCheck(Config(db, *src_, *dst_));
  EXPECT_EQ(run.result.exit_code, 1) << run.Dump();
  EXPECT_EQ(run.Result("primary keys"), "FAIL") << run.Dump();
  EXPECT_EQ(run.Objects("primary keys"), std::vector<std::string>{"events_log"}) << run.Dump();

  CheckRun forced = RunCheck(Config(db, *src_, *dst_, "force: true\n"));
  EXPECT_EQ(forced.result.exit_code, 0) << forced.Dump();
  EXPECT_EQ(forced.Result("primary keys"), "FAIL") << forced.Dump();
  EXPECT_TRUE(forced.Find("primary keys")->value("overridable", false)) << forced.Dump();
  EXPECT_TRUE(forced.report.value("ok", false)) << forced.Dump();
}

TEST_F(MysqlCheckTest, TableOfAnotherEngineWarns) {
  const std::string db = NewDatabase();
  ExecOk(*src_, {"CREATE TABLE " + db + ".counters (id INT PRIMARY KEY, n INT) ENGINE=MyISAM"});
  CheckRun run = RunCheck(Config(db, *src_, *dst_));
  EXPECT_EQ(run.result.exit_code, 0) << run.Dump();
  EXPECT_EQ(run.Result("storage engines"), "WARN") << run.Dump();
  EXPECT_TRUE(run.HasObject("storage engines", "counters (MyISAM)")) << run.Dump();
}

TEST_F(MysqlCheckTest, DestinationDatabaseWithTablesFails) {
  const std::string db = NewDatabase();
  ExecOk(*dst_, {"CREATE DATABASE " + db, "CREATE TABLE " + db + ".old_stuff (id INT)"});
  CheckRun run = RunCheck(Config(db, *src_, *dst_));
  EXPECT_EQ(run.result.exit_code, 1) << run.Dump();
  EXPECT_EQ(run.Result("destination is empty"), "FAIL") << run.Dump();
  EXPECT_EQ(run.Objects("destination is empty"), std::vector<std::string>{"old_stuff"})
      << run.Dump();
}

// dst.name other than src.name is a warning (schema changes must not name the database); a
// table named as its database makes every "shop.x" in a text ambiguous: FAIL.
TEST_F(MysqlCheckTest, AnotherDestinationNameWarnsAndATableOfTheDatabasesNameFails) {
  const std::string db = NewDatabase();
  const fs::path config = Config(db, *src_, *dst_);
  std::ofstream(config, std::ios::app) << "  name: " << db << "_new\n";
  CheckRun run = RunCheck(config);
  EXPECT_EQ(run.result.exit_code, 0) << run.Dump();
  EXPECT_EQ(run.Result("database renamed"), "WARN") << run.Dump();
  EXPECT_NE(run.Detail("database renamed")
                .find("must name its tables without "
                      "the database"),
            std::string::npos)
      << run.Dump();

  ExecOk(*src_, {"CREATE TABLE " + db + "." + db + " (id INT PRIMARY KEY)"});
  CheckRun ambiguous = RunCheck(config);
  EXPECT_EQ(ambiguous.result.exit_code, 1) << ambiguous.Dump();
  EXPECT_EQ(ambiguous.Result("database renamed"), "FAIL") << ambiguous.Dump();
  EXPECT_EQ(ambiguous.Objects("database renamed"), std::vector<std::string>{db})
      << ambiguous.Dump();
}

TEST_F(MysqlCheckTest, DefinerMissingOnTheDestinationWarns) {
  const std::string db = NewDatabase();
  ExecOk(*src_, {"CREATE USER IF NOT EXISTS reporter@'%' IDENTIFIED BY 'r'",
                 "CREATE DEFINER = reporter@'%' VIEW " + db + ".report AS SELECT id FROM " + db +
                     ".items"});
  CheckRun run = RunCheck(Config(db, *src_, *dst_));
  EXPECT_EQ(run.result.exit_code, 0) << run.Dump();
  EXPECT_EQ(run.Result("definers"), "WARN") << run.Dump();
  EXPECT_EQ(run.Objects("definers"), std::vector<std::string>{"reporter@%"}) << run.Dump();
}

// Wrong password: exit 1, the side named, the password nowhere in the output.
TEST_F(MysqlCheckTest, WrongPasswordFailsNamingTheSide) {
  const std::string db = NewDatabase();
  CheckRun run = RunCheck(Config(db, *src_, *dst_, "", "ops", "not-the-Pa55word"));
  EXPECT_EQ(run.result.exit_code, 1) << run.Dump();
  EXPECT_EQ(run.Result("source connection"), "FAIL") << run.Dump();
  EXPECT_NE(run.Detail("source connection").find("Access denied"), std::string::npos) << run.Dump();
  EXPECT_EQ(run.result.out.find("not-the-Pa55word"), std::string::npos) << run.Dump();
  EXPECT_EQ(run.result.err.find("not-the-Pa55word"), std::string::npos) << run.Dump();
}

TEST_F(MysqlCheckTest, MissingSourceDatabaseIsABadConfig) {
  CheckRun run = RunCheck(Config("no_such_db", *src_, *dst_));
  EXPECT_EQ(run.result.exit_code, 2) << run.Dump();
  EXPECT_EQ(run.Result("source database"), "FAIL") << run.Dump();
}

// A user with only SELECT: each missing privilege named, with the GRANTs that give them.
TEST_F(MysqlCheckTest, MissingPrivilegesAreNamedWithTheGrants) {
  const std::string db = NewDatabase();
  ExecOk(*src_, {"CREATE USER IF NOT EXISTS reader@'%' IDENTIFIED BY 'pw'",
                 "GRANT SELECT ON " + db + ".* TO reader@'%'"});
  CheckRun run = RunCheck(Config(db, *src_, *dst_, "", "reader", "pw"));
  EXPECT_EQ(run.result.exit_code, 1) << run.Dump();
  EXPECT_EQ(run.Result("source privileges"), "FAIL") << run.Dump();
  EXPECT_TRUE(run.HasObject("source privileges", "BINLOG MONITOR")) << run.Dump();
  EXPECT_TRUE(run.HasObject("source privileges", "REPLICATION SLAVE")) << run.Dump();
  EXPECT_FALSE(run.HasObject("source privileges", "SELECT")) << run.Dump();
  const std::string hint = run.Find("source privileges")->value("hint", "");
  EXPECT_NE(hint.find("GRANT"), std::string::npos) << hint;
  EXPECT_NE(hint.find("TO 'reader'@'%'"), std::string::npos) << hint;
  EXPECT_NE(hint.find("WITH GRANT OPTION"), std::string::npos) << hint;
  EXPECT_EQ(run.Result("destination privileges"), "PASS") << run.Dump();
  // Its replications unread: said, and the destination's checked all the same.
  EXPECT_EQ(run.Result("other replications"), "WARN") << run.Dump();
  EXPECT_NE(run.Detail("other replications")
                .find("none from the source nor sharing its GTID domains; the source's could not "
                      "be read (a cut-over reads them): "),
            std::string::npos)
      << run.Dump();

  // The GRANTs the hint gives are enough.
  auto grants = src_->Connect();
  ASSERT_TRUE(grants.ok()) << grants.message();
  for (size_t start = 0, end; (end = hint.find(';', start)) != std::string::npos; start = end + 1) {
    std::string statement = hint.substr(start, end - start);
    statement = statement.substr(statement.find("GRANT"));
    Status st = grants->Exec(statement);
    ASSERT_TRUE(st.ok()) << statement << ": " << st.message();
  }
  CheckRun again = RunCheck(Config(db, *src_, *dst_, "", "reader", "pw"));
  EXPECT_EQ(again.Result("source privileges"), "PASS") << again.Dump();
  EXPECT_EQ(again.Result("other replications"), "PASS") << again.Dump();
}

// Server-wide settings, each on a source of its own: the binary log off; statement-based, kept
// a minute, and with the destination's server_id.
TEST_F(MysqlCheckTest, ServerSettingsReplicationCannotUseFail) {
  MariaDbOptions no_binlog;
  no_binlog.log_bin = false;
  MariaDbOptions statements;
  statements.settings = {{"binlog_format", "STATEMENT"},
                         {"binlog_expire_logs_seconds", "60"},
                         {"server_id", std::to_string(dst_->server_id())}};
  auto a = std::async(std::launch::async, [&] { return TestMariaDb::Start(no_binlog); });
  auto b = std::async(std::launch::async, [&] { return TestMariaDb::Start(statements); });
  auto off = a.get();
  auto stmt = b.get();
  ASSERT_TRUE(off.ok()) << off.message();
  ASSERT_TRUE(stmt.ok()) << stmt.message();
  for (TestMariaDb* s : {off->get(), stmt->get()})
    ExecOk(*s, {"CREATE DATABASE app", "CREATE TABLE app.t (id INT PRIMARY KEY)"});

  CheckRun run = RunCheck(Config("app", **off, *dst_));
  EXPECT_EQ(run.result.exit_code, 1) << run.Dump();
  EXPECT_EQ(run.Result("binary log"), "FAIL") << run.Dump();
  EXPECT_TRUE(run.HasObject("binary log", "source log_bin = OFF")) << run.Dump();
  EXPECT_FALSE(run.HasObject("binary log", "destination")) << run.Dump();

  run = RunCheck(Config("app", **stmt, *dst_));
  EXPECT_EQ(run.result.exit_code, 1) << run.Dump();
  EXPECT_TRUE(run.HasObject("binary log", "source binlog_format = STATEMENT")) << run.Dump();
  EXPECT_FALSE(run.HasObject("binary log", "log_bin")) << run.Dump();
  EXPECT_EQ(run.Result("server_id"), "FAIL") << run.Dump();
  EXPECT_EQ(run.Result("binary log retention"), "FAIL") << run.Dump();
  EXPECT_NE(run.Find("binary log retention")->value("hint", "").find("binlog_expire_logs_seconds"),
            std::string::npos)
      << run.Dump();
}

// Config errors engine mysql refuses before connecting: exit 2, the field named.
TEST_F(MysqlCheckTest, PostgresOnlySettingsAreRefused) {
  const std::string base =
      "engine: mysql\nsrc: {host: 127.0.0.1, name: shop}\n"
      "dst: {host: 127.0.0.2}\n";
  struct Case {
    std::string yaml, field;
  };
  const Case cases[] = {
      {base, ""},  // the control: accepted (provider self_managed by default)
      {"provider: self_managed\nengine: mysql\nsrc: {host: 127.0.0.1, name: shop, schema: "
       "public}\ndst: {host: 127.0.0.2}\n",
       "src.schema"},
      {"provider: rds\n" + base, "provider"},
      {"provider: self_managed\nengine: mysql\nsrc: {host: 127.0.0.1}\ndst: {host: 127.0.0.2}\n",
       "src.name"},
      {"provider: postgres\napply_workers: 2\n" + base, "apply_workers"},
      {"provider: self_managed\ncutover: {type: pgbouncer}\n" + base, "cutover.type"},
      {"cutover: {type: haproxy, fence_roles: [app]}\n" + base, "cutover.fence_roles"},
  };
  for (const Case& c : cases) {
    CommandResult r = RunDbRelocate({"check", "--config", WriteConfig(c.yaml).string()});
    if (c.field.empty()) {
      EXPECT_NE(r.exit_code, 2) << c.yaml << r.err;  // it tries the servers (none there)
      continue;
    }
    EXPECT_EQ(r.exit_code, 2) << c.yaml << r.out << r.err;
    EXPECT_NE(r.err.find(c.field), std::string::npos) << c.yaml << r.err;
  }
}

}  // namespace
}  // namespace dbr::test
