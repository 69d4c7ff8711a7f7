// `db_relocate check` against real servers: each pre-flight check passing, and failing (or
// warning) on a server arranged to trip it. A PG 15 source and a PG 17 destination are shared by
// the suite; each test works in its own fresh pair of databases. Tests that need a server-wide
// setting (wal_level, slots, prepared transactions, other majors) start their own cluster.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness/check_run.h"
#include "harness/cluster.h"
#include "harness/shared_pair.h"
#include "model/names.h"
#include "pg/quote.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace dbr::test {
namespace {

// Where `check` connects and with which credentials.
struct Endpoint {
  int port = 0;
  std::string name = "postgres";
  std::string user = "ops";
  std::string password = "secret";
};

class CheckTest : public SharedPairTest {
 protected:
  // A database name unique in this process; created on each cluster given.
  static std::string NewDatabase(const std::vector<TestCluster*>& clusters) {
    static std::atomic<int> counter{0};
    std::string name = "t_" + std::to_string(++counter);
    for (TestCluster* c : clusters) {
      Status st = c->CreateDatabase(name);
      EXPECT_TRUE(st.ok()) << "CREATE DATABASE " << name << " on PostgreSQL " << c->major() << ": "
                           << st.message();
    }
    return name;
  }

  // A fresh database on the shared source and destination.
  std::string NewPair() { return NewDatabase({src_.get(), dst_.get()}); }

  static void ExecOk(TestCluster& c, const std::string& sql, const std::string& db) {
    Status st = c.Exec(sql, db);
    ASSERT_TRUE(st.ok()) << sql << "\n-> " << st.message();
  }

  // Writes config.yaml into dir_ and returns its path.
  fs::path WriteConfig(const Endpoint& src, const Endpoint& dst, const std::string& extra = "") {
    fs::path path = dir_.path() / ("config" + std::to_string(++configs_) + ".yaml");
    std::ofstream f(path);
    f << "provider: postgres\n"
      << "src:\n"
      << "  host: 127.0.0.1\n"
      << "  port: " << src.port << "\n"
      << "  name: " << src.name << "\n"
      << "  user: " << src.user << "\n"
      << "  password: \"" << src.password << "\"\n"
      << "dst:\n"
      << "  host: 127.0.0.1\n"
      << "  port: " << dst.port << "\n"
      << "  name: " << dst.name << "\n"
      << "  user: " << dst.user << "\n"
      << "  password: \"" << dst.password << "\"\n"
      << extra;
    return path;
  }

  // The usual config: `db` on the shared source and destination.
  fs::path WriteConfig(const std::string& db, const std::string& extra = "") {
    return WriteConfig(Endpoint{src_->port(), db}, Endpoint{dst_->port(), db}, extra);
  }

  // Runs check --output json and insists on well-formed JSON with the documented fields.
  static CheckRun RunJson(const fs::path& config) {
    CheckRun run = RunCheck(config, "json");
    EXPECT_TRUE(run.parse_error.empty()) << run.parse_error << "\n" << run.Dump();
    EXPECT_TRUE(run.report.is_object() && run.report.contains("checks") &&
                run.report["checks"].is_array() && run.report.contains("ok") &&
                run.report["ok"].is_boolean())
        << run.Dump();
    if (run.report.is_object() && run.report.contains("checks")) {
      for (const auto& c : run.report["checks"]) {
        for (const char* field : {"name", "result", "detail", "objects", "hint", "overridable"})
          EXPECT_TRUE(c.contains(field)) << "check lacks \"" << field << "\": " << c.dump();
        std::string result = c.value("result", "");
        EXPECT_TRUE(result == "PASS" || result == "WARN" || result == "FAIL") << c.dump();
      }
    }
    return run;
  }

  static std::unique_ptr<TestCluster> StartOrFail(int major, const ClusterOptions& options = {}) {
    auto c = TestCluster::Start(major, options);
    EXPECT_TRUE(c.ok()) << c.message();
    return c.ok() ? std::move(c).value() : nullptr;
  }

  TempDir dir_{"dbr-check-test"};
  int configs_ = 0;
};

// 1. ------------------------------------------------------------------------------------------

TEST_F(CheckTest, HealthyPairPassesEveryCheck) {
  const std::string db = NewPair();
  ExecOk(*src_, "CREATE TABLE items (id bigint PRIMARY KEY, v text)", db);
  fs::path config = WriteConfig(db);

  CheckRun run = RunJson(config);
  EXPECT_EQ(run.result.exit_code, 0) << run.Dump();
  EXPECT_EQ(run.report.value("ok", false), true) << run.Dump();
  ASSERT_TRUE(run.report.contains("checks")) << run.Dump();
  EXPECT_GE(run.report["checks"].size(), 10u) << run.Dump();
  for (const auto& c : run.report["checks"]) {
    std::string result = c.value("result", "");
    EXPECT_TRUE(result == "PASS" || result == "WARN") << c.dump();
  }
  for (const char* name :
       {"source connection", "destination connection", "server versions",
        "logical replication enabled", "replication slots and WAL senders", "source privileges",
        "tables in scope", "replica identity", "prepared transactions",
        "leftovers of an earlier run", "destination privileges", "database encoding", "extensions",
        "destination is empty", "objects logical replication does not carry"}) {
    EXPECT_EQ(run.Result(name), "PASS") << name << "\n" << run.Dump();
  }

  // The default text output: a header line, one line per check, and a summary.
  auto text = RunDbRelocate({"check", "--config", config.string()});
  EXPECT_EQ(text.exit_code, 0) << text.out << text.err;
  EXPECT_EQ(text.out.rfind("CHECK", 0), 0u) << "no header line:\n" << text.out;
  EXPECT_NE(text.out.find("RESULT"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("replica identity"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("passed"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("0 failed"), std::string::npos) << text.out;
}

// A role that owns objects is someone's (an application's login): a new password would lock it
// out, and cleanup's DROP OWNED of a replication user it made would take them.
TEST_F(CheckTest, ReplicationUserThatOwnsObjectsFailsNamingOne) {
  const std::string db = NewPair();
  const std::string role = "etl_" + db;
  ExecOk(*src_,
         "CREATE ROLE " + role +
             "; CREATE TABLE staging (id int PRIMARY KEY); ALTER TABLE staging "
             "OWNER TO " +
             role,
         db);
  CheckRun run = RunJson(WriteConfig(db, "upgrade:\n  user: " + role + "\n"));
  EXPECT_NE(run.result.exit_code, 0) << run.Dump();
  EXPECT_EQ(run.Result("replication user"), "FAIL") << run.Dump();
  auto c = run.Find("replication user");
  ASSERT_TRUE(c.has_value()) << run.Dump();
  EXPECT_NE(c->value("detail", "").find(role + " owns 1 object(s) there, e.g. table staging"),
            std::string::npos)
      << c->dump();
  EXPECT_NE(c->value("hint", "").find("upgrade.user"), std::string::npos) << c->dump();
}

// 2. ------------------------------------------------------------------------------------------

TEST_F(CheckTest, TableWithoutPrimaryKeyFailsReplicaIdentity) {
  const std::string db = NewPair();
  ExecOk(*src_, "CREATE TABLE nokey (a int, b text); CREATE TABLE haskey (id int PRIMARY KEY)", db);

  CheckRun run = RunJson(WriteConfig(db));
  EXPECT_EQ(run.result.exit_code, 1) << run.Dump();
  EXPECT_EQ(run.report.value("ok", true), false) << run.Dump();
  EXPECT_EQ(run.Result("replica identity"), "FAIL") << run.Dump();
  EXPECT_TRUE(run.HasObject("replica identity", "public.nokey")) << run.Dump();
  EXPECT_FALSE(run.HasObject("replica identity", "haskey")) << run.Dump();

  // force: true lets it through, but it is still reported as an overridable FAIL.
  CheckRun forced = RunJson(WriteConfig(db, "force: true\n"));
  EXPECT_EQ(forced.result.exit_code, 0) << forced.Dump();
  EXPECT_EQ(forced.report.value("ok", false), true) << forced.Dump();
  EXPECT_EQ(forced.Result("replica identity"), "FAIL") << forced.Dump();
  auto c = forced.Find("replica identity");
  ASSERT_TRUE(c.has_value()) << forced.Dump();
  EXPECT_EQ(c->value("overridable", false), true) << c->dump();
  EXPECT_TRUE(forced.HasObject("replica identity", "public.nokey")) << forced.Dump();
}

TEST_F(CheckTest, ReplicaIdentityUsingIndexOrFullPasses) {
  const std::string db = NewPair();
  ExecOk(*src_,
         "CREATE TABLE by_index (a int NOT NULL, b text);"
         "CREATE UNIQUE INDEX by_index_a ON by_index (a);"
         "ALTER TABLE by_index REPLICA IDENTITY USING INDEX by_index_a;"
         "CREATE TABLE by_full (a int, b text);"
         "ALTER TABLE by_full REPLICA IDENTITY FULL",
         db);
  CheckRun run = RunJson(WriteConfig(db));
  EXPECT_EQ(run.Result("replica identity"), "PASS") << run.Dump();
  EXPECT_TRUE(run.Objects("replica identity").empty()) << run.Dump();
  EXPECT_EQ(run.result.exit_code, 0) << run.Dump();
}

// 3. ------------------------------------------------------------------------------------------

TEST_F(CheckTest, WalLevelReplicaFailsLogicalReplicationEnabled) {
  ClusterOptions options;
  options.wal_level = "replica";
  auto replica = StartOrFail(15, options);
  ASSERT_NE(replica, nullptr);
  const std::string db = NewDatabase({replica.get(), dst_.get()});
  ExecOk(*replica, "CREATE TABLE items (id int PRIMARY KEY)", db);

  CheckRun run = RunJson(WriteConfig(Endpoint{replica->port(), db}, Endpoint{dst_->port(), db}));
  EXPECT_EQ(run.result.exit_code, 1) << run.Dump();
  EXPECT_EQ(run.Result("logical replication enabled"), "FAIL") << run.Dump();
  auto c = run.Find("logical replication enabled");
  ASSERT_TRUE(c.has_value());
  EXPECT_NE(c->value("detail", "").find("replica"), std::string::npos) << c->dump();
  EXPECT_NE(c->value("hint", "").find("wal_level"), std::string::npos) << c->dump();
  EXPECT_EQ(c->value("overridable", true), false) << c->dump();
}

// 4. ------------------------------------------------------------------------------------------

TEST_F(CheckTest, ReplicationSlotsExhaustedFailsThenOneFreeWarns) {
  ClusterOptions options;
  options.settings["max_replication_slots"] = "1";
  auto small = StartOrFail(15, options);
  ASSERT_NE(small, nullptr);
  const std::string db = NewDatabase({small.get(), dst_.get()});
  ExecOk(*small, "CREATE TABLE items (id int PRIMARY KEY)", db);
  ExecOk(*small, "SELECT pg_create_logical_replication_slot('x', 'pgoutput')", db);
  fs::path config = WriteConfig(Endpoint{small->port(), db}, Endpoint{dst_->port(), db});

  CheckRun full = RunJson(config);
  EXPECT_EQ(full.result.exit_code, 1) << full.Dump();
  EXPECT_EQ(full.Result("replication slots and WAL senders"), "FAIL") << full.Dump();
  auto c = full.Find("replication slots and WAL senders");
  ASSERT_TRUE(c.has_value());
  EXPECT_NE(c->value("detail", "").find("1/1"), std::string::npos) << c->dump();

  Status st = small->Restart({{"max_replication_slots", "2"}});
  ASSERT_TRUE(st.ok()) << st.message();
  CheckRun one_free = RunJson(config);
  EXPECT_EQ(one_free.Result("replication slots and WAL senders"), "WARN") << one_free.Dump();
  EXPECT_EQ(one_free.result.exit_code, 0) << one_free.Dump();

  // db_relocate's own slot left by an earlier run is a leftover, not a slot taken from it.
  const std::string slot = names::SlotName(names::kSlotBase, db);
  ExecOk(*small,
         "SELECT pg_drop_replication_slot('x');"
         "SELECT pg_create_logical_replication_slot(" +
             pg::QuoteLiteral(slot) + ", 'pgoutput')",
         db);
  CheckRun ours = RunJson(config);
  EXPECT_EQ(ours.Result("replication slots and WAL senders"), "PASS") << ours.Dump();
  EXPECT_EQ(ours.Result("leftovers of an earlier run"), "WARN") << ours.Dump();
  EXPECT_TRUE(ours.HasObject("leftovers of an earlier run", slot)) << ours.Dump();
}

// 5. ------------------------------------------------------------------------------------------

TEST_F(CheckTest, WeakSourceUserFailsPrivilegesAndOwnership) {
  const std::string db = NewPair();
  ExecOk(*src_,
         "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'weak') THEN "
         "CREATE ROLE weak LOGIN PASSWORD 'weak' NOSUPERUSER NOREPLICATION NOCREATEROLE; "
         "END IF; END $$",
         "postgres");
  ExecOk(*src_,
         "CREATE TABLE mine (id int PRIMARY KEY); ALTER TABLE mine OWNER TO weak;"
         "CREATE TABLE theirs (id int PRIMARY KEY)",  // owned by ops
         db);
  Endpoint src{src_->port(), db, "weak", "weak"};
  CheckRun run = RunJson(WriteConfig(src, Endpoint{dst_->port(), db}));
  EXPECT_EQ(run.result.exit_code, 1) << run.Dump();
  EXPECT_EQ(run.Result("source connection"), "PASS") << run.Dump();

  EXPECT_EQ(run.Result("source privileges"), "FAIL") << run.Dump();
  EXPECT_EQ(run.Objects("source privileges"), std::vector<std::string>{"weak"}) << run.Dump();
  auto priv = run.Find("source privileges");
  ASSERT_TRUE(priv.has_value());
  EXPECT_NE(priv->value("detail", "").find("REPLICATION"), std::string::npos) << priv->dump();
  EXPECT_NE(priv->value("detail", "").find("CREATEROLE"), std::string::npos) << priv->dump();

  EXPECT_EQ(run.Result("table ownership"), "FAIL") << run.Dump();
  EXPECT_TRUE(run.HasObject("table ownership", "public.theirs")) << run.Dump();
  EXPECT_FALSE(run.HasObject("table ownership", "public.mine")) << run.Dump();
}

// Runs `sql` in `db` as `user` (password = user name): proves on the server what a check
// predicts the relocation will be able to do.
Status ProbeAs(TestCluster& c, const std::string& db, const std::string& user,
               const std::string& sql) {
  auto conn = c.Connect(db, user, user);
  if (!conn.ok()) return conn.status();
  return conn->Exec(sql);
}

// Creates the role if it does not exist yet (roles are cluster-wide; databases are per test).
void EnsureRole(TestCluster& c, const std::string& name, const std::string& attributes) {
  Status st = c.Exec("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" + name +
                     "') THEN CREATE ROLE " + name + " LOGIN PASSWORD '" + name + "' " +
                     attributes + "; END IF; END $$");
  ASSERT_TRUE(st.ok()) << st.message();
}

// What `run` does as the source user (core/publication.cpp, core/heartbeat.cpp): create the
// replication user, the heartbeat schema and a publication of the tables.
constexpr const char* kCreateReplicationUser =
    "CREATE ROLE probe_repl LOGIN REPLICATION; DROP ROLE probe_repl";
std::string PublishProbe(const std::string& table) {
  return "CREATE PUBLICATION probe_pub FOR TABLE " + table + "; DROP PUBLICATION probe_pub";
}

// PostgreSQL 16+ lets a REPLICATION CREATEROLE role create replication users, so these run on a
// 17 source (the shared 17 cluster, relocating one of its databases into another).
TEST_F(CheckTest, SourceUserWithoutCreateOnDatabaseFailsPrivileges) {
  // REPLICATION, CREATEROLE and owning every table are not enough: CREATE PUBLICATION and
  // CREATE SCHEMA need the CREATE privilege on the database, which PUBLIC lacks by default.
  const std::string db = NewDatabase({dst_.get()});
  const std::string target = NewDatabase({dst_.get()});
  EnsureRole(*dst_, "nocreate", "NOSUPERUSER REPLICATION CREATEROLE");
  ExecOk(*dst_, "CREATE TABLE mine (id int PRIMARY KEY); ALTER TABLE mine OWNER TO nocreate", db);
  ASSERT_TRUE(ProbeAs(*dst_, db, "nocreate", kCreateReplicationUser).ok());
  Status probe = ProbeAs(*dst_, db, "nocreate", PublishProbe("mine"));
  ASSERT_FALSE(probe.ok()) << "premise: without CREATE on the database, publishing fails";
  EXPECT_NE(probe.message().find("permission denied for database"), std::string::npos)
      << probe.message();

  CheckRun run = RunJson(WriteConfig(Endpoint{dst_->port(), db, "nocreate", "nocreate"},
                                     Endpoint{dst_->port(), target}));
  EXPECT_EQ(run.Result("source privileges"), "FAIL") << run.Dump();
  EXPECT_TRUE(run.HasObject("source privileges", "nocreate")) << run.Dump();
  EXPECT_EQ(run.result.exit_code, 1) << run.Dump();
}

TEST_F(CheckTest, SourceUserWithReplicationCreateroleAndCreatePassesOn17) {
  const std::string db = NewDatabase({dst_.get()});
  const std::string target = NewDatabase({dst_.get()});
  EnsureRole(*dst_, "migrator", "NOSUPERUSER REPLICATION CREATEROLE");
  ExecOk(*dst_, "GRANT CREATE ON DATABASE " + db + " TO migrator", "postgres");
  ExecOk(*dst_, "CREATE TABLE mine (id int PRIMARY KEY); ALTER TABLE mine OWNER TO migrator", db);
  Status probe = ProbeAs(*dst_, db, "migrator", kCreateReplicationUser);
  ASSERT_TRUE(probe.ok()) << probe.message();
  probe = ProbeAs(*dst_, db, "migrator", PublishProbe("mine"));
  ASSERT_TRUE(probe.ok()) << probe.message();

  CheckRun run = RunJson(WriteConfig(Endpoint{dst_->port(), db, "migrator", "migrator"},
                                     Endpoint{dst_->port(), target}));
  EXPECT_EQ(run.Result("source privileges"), "PASS") << run.Dump();
  EXPECT_FALSE(run.Find("table ownership").has_value()) << run.Dump();

  // ddl: replicate creates event triggers, which this role may not.
  probe = ProbeAs(*dst_, db, "migrator",
                  "CREATE FUNCTION f() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;"
                  "CREATE EVENT TRIGGER probe ON ddl_command_end EXECUTE FUNCTION f()");
  ASSERT_FALSE(probe.ok()) << "premise: only superusers create event triggers";
  CheckRun ddl = RunJson(WriteConfig(Endpoint{dst_->port(), db, "migrator", "migrator"},
                                     Endpoint{dst_->port(), target}, "ddl: replicate\n"));
  EXPECT_EQ(ddl.Result("source privileges"), "FAIL") << ddl.Dump();
  EXPECT_NE(ddl.Detail("source privileges").find("ddl: replicate"), std::string::npos)
      << ddl.Dump();
  EXPECT_EQ(ddl.result.exit_code, 1) << ddl.Dump();
}

TEST_F(CheckTest, TablesOwnedByARoleTheSourceUserBelongsToPass) {
  // PostgreSQL lets a member of the owning role publish a table (ownership checks follow role
  // membership), so tables owned by the application's group role are not a problem.
  const std::string db = NewDatabase({dst_.get()});
  const std::string target = NewDatabase({dst_.get()});
  ExecOk(*dst_,
         "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app_owner') THEN "
         "CREATE ROLE app_owner NOLOGIN; END IF; END $$",
         "postgres");
  EnsureRole(*dst_, "member_user", "NOSUPERUSER REPLICATION CREATEROLE IN ROLE app_owner");
  ExecOk(*dst_, "GRANT CREATE ON DATABASE " + db + " TO member_user", "postgres");
  ExecOk(*dst_, "CREATE TABLE shared (id int PRIMARY KEY); ALTER TABLE shared OWNER TO app_owner",
         db);
  Status probe = ProbeAs(*dst_, db, "member_user", PublishProbe("shared"));
  ASSERT_TRUE(probe.ok()) << "premise: a member of the owner can publish: " << probe.message();

  CheckRun run = RunJson(WriteConfig(Endpoint{dst_->port(), db, "member_user", "member_user"},
                                     Endpoint{dst_->port(), target}));
  EXPECT_EQ(run.Result("source privileges"), "PASS") << run.Dump();
  EXPECT_NE(run.Result("table ownership"), "FAIL") << run.Dump();
}

TEST_F(CheckTest, NonSuperuserOn15CannotCreateTheReplicationUserFailsPrivileges) {
  // Up to PostgreSQL 15 only a superuser may create a role WITH REPLICATION, which `run` does
  // (CREATE ROLE upgrade ... LOGIN REPLICATION): REPLICATION + CREATEROLE is not enough there.
  const std::string db = NewPair();
  EnsureRole(*src_, "repl15", "NOSUPERUSER REPLICATION CREATEROLE");
  ExecOk(*src_, "GRANT CREATE ON DATABASE " + db + " TO repl15", "postgres");
  ExecOk(*src_, "CREATE TABLE mine (id int PRIMARY KEY); ALTER TABLE mine OWNER TO repl15", db);
  ASSERT_TRUE(ProbeAs(*src_, db, "repl15", PublishProbe("mine")).ok());
  Status probe = ProbeAs(*src_, db, "repl15", kCreateReplicationUser);
  ASSERT_FALSE(probe.ok()) << "premise: PostgreSQL 15 refuses to let a non-superuser create a "
                              "replication user";

  CheckRun run = RunJson(
      WriteConfig(Endpoint{src_->port(), db, "repl15", "repl15"}, Endpoint{dst_->port(), db}));
  EXPECT_EQ(run.Result("source privileges"), "FAIL") << run.Dump();
  EXPECT_EQ(run.result.exit_code, 1) << run.Dump();
}

// 6. ------------------------------------------------------------------------------------------

TEST_F(CheckTest, NonSuperuserDestinationFailsDestinationPrivileges) {
  const std::string db = NewPair();
  ExecOk(*src_, "CREATE TABLE items (id int PRIMARY KEY)", db);
  ExecOk(*dst_,
         "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dstweak') THEN "
         "CREATE ROLE dstweak LOGIN PASSWORD 'dstweak' NOSUPERUSER; END IF; END $$",
         "postgres");
  Endpoint dst{dst_->port(), db, "dstweak", "dstweak"};
  CheckRun run = RunJson(WriteConfig(Endpoint{src_->port(), db}, dst));
  EXPECT_EQ(run.result.exit_code, 1) << run.Dump();
  EXPECT_EQ(run.Result("destination connection"), "PASS") << run.Dump();
  EXPECT_EQ(run.Result("destination privileges"), "FAIL") << run.Dump();
  EXPECT_TRUE(run.HasObject("destination privileges", "dstweak")) << run.Dump();
  EXPECT_EQ(run.Result("source privileges"), "PASS") << run.Dump();
}

// Such a user passes the privileges, but cannot take the objects of the source's superuser (ops
// owns db_relocate's own schema there): the restore would stop on them.
TEST_F(CheckTest, DestinationUserWithCreateSubscriptionPassesPrivilegesButNotASuperusersObjects) {
  const std::string db = NewPair();
  ExecOk(*src_, "CREATE TABLE items (id int PRIMARY KEY)", db);
  ExecOk(*dst_,
         "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dstok') THEN "
         "CREATE ROLE dstok LOGIN PASSWORD 'dstok' NOSUPERUSER CREATEROLE REPLICATION IN ROLE "
         "pg_create_subscription; END IF; END $$",
         "postgres");
  ExecOk(*dst_, "GRANT CREATE ON DATABASE " + db + " TO dstok", "postgres");
  Endpoint dst{dst_->port(), db, "dstok", "dstok"};
  CheckRun run = RunJson(WriteConfig(Endpoint{src_->port(), db}, dst));
  EXPECT_EQ(run.Result("destination privileges"), "PASS") << run.Dump();
  EXPECT_EQ(run.Result("destination ownership"), "FAIL") << run.Dump();
  EXPECT_EQ(run.Objects("destination ownership"), std::vector<std::string>{"ops"}) << run.Dump();
  EXPECT_EQ(run.result.exit_code, 1) << run.Dump();
}

// 7. ------------------------------------------------------------------------------------------

TEST_F(CheckTest, ExtensionMissingOnDestinationFailsExtensions) {
  // Contrib extensions PG 15 offers that this PG 17 build does not (adminpack, old_snapshot
  // were removed in 17): found at run time, the first one that installs is used.
  auto src_conn = src_->Connect();
  ASSERT_TRUE(src_conn.ok()) << src_conn.message();
  auto dst_conn = dst_->Connect();
  ASSERT_TRUE(dst_conn.ok()) << dst_conn.message();
  auto on15 = src_conn->Query("SELECT name FROM pg_available_extensions ORDER BY 1");
  ASSERT_TRUE(on15.ok()) << on15.message();
  auto on17 = dst_conn->Query("SELECT name FROM pg_available_extensions");
  ASSERT_TRUE(on17.ok()) << on17.message();
  std::set<std::string> have17;
  for (int i = 0; i < on17->rows(); ++i) have17.insert(on17->Get(i, 0));
  std::vector<std::string> candidates;
  for (int i = 0; i < on15->rows(); ++i)
    if (!have17.count(on15->Get(i, 0))) candidates.push_back(on15->Get(i, 0));
  if (candidates.empty())
    GTEST_SKIP() << "every extension available on PostgreSQL 15 is also available on this "
                    "PostgreSQL 17 build: no extension to make the destination lack";

  const std::string db = NewPair();
  ExecOk(*src_, "CREATE TABLE items (id int PRIMARY KEY)", db);
  std::string installed;
  std::string failures;
  for (const auto& ext : candidates) {
    Status st = src_->Exec("CREATE EXTENSION \"" + ext + "\"", db);
    if (st.ok()) {
      installed = ext;
      break;
    }
    failures += "\n" + ext + ": " + st.message();
  }
  ASSERT_FALSE(installed.empty()) << "none of the extensions missing on 17 installs on 15:"
                                  << failures;

  CheckRun run = RunJson(WriteConfig(db));
  EXPECT_EQ(run.result.exit_code, 1) << run.Dump();
  EXPECT_EQ(run.Result("extensions"), "FAIL") << run.Dump();
  EXPECT_EQ(run.Objects("extensions"), std::vector<std::string>{installed}) << run.Dump();
}

TEST_F(CheckTest, ExtensionAvailableOnDestinationPasses) {
  const std::string db = NewPair();
  ExecOk(*src_, "CREATE TABLE items (id int PRIMARY KEY); CREATE EXTENSION pg_trgm", db);
  CheckRun run = RunJson(WriteConfig(db));
  EXPECT_EQ(run.Result("extensions"), "PASS") << run.Dump();
  EXPECT_EQ(run.result.exit_code, 0) << run.Dump();
}

// 8. ------------------------------------------------------------------------------------------

TEST_F(CheckTest, PreparedTransactionFailsOverridably) {
  ClusterOptions options;
  options.settings["max_prepared_transactions"] = "4";
  auto prep = StartOrFail(15, options);
  ASSERT_NE(prep, nullptr);
  const std::string db = NewDatabase({prep.get(), dst_.get()});
  ExecOk(*prep, "CREATE TABLE items (id int PRIMARY KEY)", db);
  ExecOk(*prep, "BEGIN; INSERT INTO items VALUES (1); PREPARE TRANSACTION 'dbr_test_gid'", db);

  CheckRun run = RunJson(WriteConfig(Endpoint{prep->port(), db}, Endpoint{dst_->port(), db}));
  EXPECT_EQ(run.result.exit_code, 1) << run.Dump();
  EXPECT_EQ(run.Result("prepared transactions"), "FAIL") << run.Dump();
  EXPECT_TRUE(run.HasObject("prepared transactions", "dbr_test_gid")) << run.Dump();
  auto c = run.Find("prepared transactions");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->value("overridable", false), true) << c->dump();

  CheckRun forced =
      RunJson(WriteConfig(Endpoint{prep->port(), db}, Endpoint{dst_->port(), db}, "force: true\n"));
  EXPECT_EQ(forced.Result("prepared transactions"), "FAIL") << forced.Dump();
  EXPECT_EQ(forced.result.exit_code, 0) << forced.Dump();

  ExecOk(*prep, "ROLLBACK PREPARED 'dbr_test_gid'", db);
  // One in another database holds the slot up as well.
  ExecOk(*prep, "BEGIN; SELECT txid_current(); PREPARE TRANSACTION 'elsewhere_gid'", "postgres");
  CheckRun other = RunJson(WriteConfig(Endpoint{prep->port(), db}, Endpoint{dst_->port(), db}));
  EXPECT_EQ(other.Result("prepared transactions"), "FAIL") << other.Dump();
  EXPECT_TRUE(other.HasObject("prepared transactions", "'elsewhere_gid' in database postgres"))
      << other.Dump();
  ExecOk(*prep, "ROLLBACK PREPARED 'elsewhere_gid'", "postgres");
  CheckRun after = RunJson(WriteConfig(Endpoint{prep->port(), db}, Endpoint{dst_->port(), db}));
  EXPECT_EQ(after.Result("prepared transactions"), "PASS") << after.Dump();
}

// 9. ------------------------------------------------------------------------------------------

TEST_F(CheckTest, UnsupportedObjectsWarn) {
  const std::string db = NewPair();
  ExecOk(*src_,
         "CREATE TABLE base (id int PRIMARY KEY, v int);"
         "CREATE MATERIALIZED VIEW totals AS SELECT count(*) AS n FROM base;"
         "CREATE UNLOGGED TABLE scratch (id int PRIMARY KEY);"
         "SELECT lo_create(0)",
         db);
  CheckRun run = RunJson(WriteConfig(db));
  const std::string name = "objects logical replication does not carry";
  EXPECT_EQ(run.Result(name), "WARN") << run.Dump();
  EXPECT_TRUE(run.HasObject(name, "public.totals")) << run.Dump();
  EXPECT_TRUE(run.HasObject(name, "public.scratch")) << run.Dump();
  EXPECT_TRUE(run.HasObject(name, "large object")) << run.Dump();
  EXPECT_FALSE(run.HasObject(name, "public.base")) << run.Dump();
  EXPECT_EQ(run.Objects(name).size(), 3u) << run.Dump();
  EXPECT_EQ(run.result.exit_code, 0) << "a WARN does not block\n" << run.Dump();
}

// 10. -----------------------------------------------------------------------------------------

TEST_F(CheckTest, LeftoverPublicationWarns) {
  const std::string db = NewPair();
  ExecOk(*src_,
         "CREATE TABLE items (id int PRIMARY KEY);"
         "CREATE PUBLICATION db_relocate_pub FOR TABLE items",
         db);
  CheckRun run = RunJson(WriteConfig(db));
  EXPECT_EQ(run.Result("leftovers of an earlier run"), "WARN") << run.Dump();
  EXPECT_TRUE(run.HasObject("leftovers of an earlier run", "db_relocate_pub")) << run.Dump();
  EXPECT_EQ(run.result.exit_code, 0) << run.Dump();
}

// 11. -----------------------------------------------------------------------------------------

TEST_F(CheckTest, DestinationHoldingSameTableFails) {
  const std::string db = NewPair();
  ExecOk(*src_, "CREATE TABLE clash (id int PRIMARY KEY); CREATE TABLE fine (id int PRIMARY KEY)",
         db);
  ExecOk(*dst_, "CREATE TABLE clash (id int PRIMARY KEY); CREATE TABLE other (id int)", db);
  CheckRun run = RunJson(WriteConfig(db));
  EXPECT_EQ(run.result.exit_code, 1) << run.Dump();
  EXPECT_EQ(run.Result("destination is empty"), "FAIL") << run.Dump();
  EXPECT_EQ(run.Objects("destination is empty"), std::vector<std::string>{"public.clash"})
      << run.Dump();
  // Large objects there would be replaced by the source's.
  ExecOk(*dst_, "DROP TABLE clash; SELECT lo_from_bytea(0, 'theirs')", db);
  CheckRun objects = RunJson(WriteConfig(db));
  EXPECT_EQ(objects.Result("destination is empty"), "FAIL") << objects.Dump();
  EXPECT_EQ(objects.Objects("destination is empty"), std::vector<std::string>{"1 large objects"})
      << objects.Dump();
}

// 12. -----------------------------------------------------------------------------------------

TEST_F(CheckTest, NewerSourceThanDestinationFailsServerVersions) {
  // The shared clusters the other way round: source 17, destination 15.
  const std::string db = NewPair();
  ExecOk(*dst_, "CREATE TABLE items (id int PRIMARY KEY)", db);
  CheckRun run = RunJson(WriteConfig(Endpoint{dst_->port(), db}, Endpoint{src_->port(), db}));
  EXPECT_EQ(run.result.exit_code, 1) << run.Dump();
  EXPECT_EQ(run.Result("server versions"), "FAIL") << run.Dump();
  auto c = run.Find("server versions");
  ASSERT_TRUE(c.has_value());
  EXPECT_NE(c->value("detail", "").find("older"), std::string::npos) << c->dump();
}

TEST_F(CheckTest, EngineVersionNotAboveSourceFails) {
  const std::string db = NewPair();
  ExecOk(*src_, "CREATE TABLE items (id int PRIMARY KEY)", db);
  CheckRun run = RunJson(WriteConfig(db, "upgrade:\n  engine_version: \"15\"\n"));
  EXPECT_EQ(run.result.exit_code, 2) << run.Dump();  // a bad config, found against the server
  EXPECT_EQ(run.Result("server versions"), "FAIL") << run.Dump();
  auto c = run.Find("server versions");
  ASSERT_TRUE(c.has_value());
  EXPECT_NE(c->value("detail", "").find("not higher"), std::string::npos) << c->dump();

  // The destination's own major is accepted.
  CheckRun ok = RunJson(WriteConfig(db, "upgrade:\n  engine_version: \"17\"\n"));
  EXPECT_EQ(ok.Result("server versions"), "PASS") << ok.Dump();
}

TEST_F(CheckTest, CrossMajor13To16PassesServerVersions) {
  auto f13 = std::async(std::launch::async, [] { return TestCluster::Start(13); });
  auto f16 = std::async(std::launch::async, [] { return TestCluster::Start(16); });
  auto r13 = f13.get();
  auto r16 = f16.get();
  ASSERT_TRUE(r13.ok()) << r13.message();
  ASSERT_TRUE(r16.ok()) << r16.message();
  auto pg13 = std::move(r13).value();
  auto pg16 = std::move(r16).value();
  const std::string db = NewDatabase({pg13.get(), pg16.get()});
  ExecOk(*pg13, "CREATE TABLE items (id int PRIMARY KEY)", db);

  CheckRun run = RunJson(WriteConfig(Endpoint{pg13->port(), db}, Endpoint{pg16->port(), db}));
  EXPECT_EQ(run.Result("server versions"), "PASS") << run.Dump();
  auto c = run.Find("server versions");
  ASSERT_TRUE(c.has_value());
  EXPECT_NE(c->value("detail", "").find("source 13"), std::string::npos) << c->dump();
  EXPECT_NE(c->value("detail", "").find("destination 16"), std::string::npos) << c->dump();
  EXPECT_EQ(run.result.exit_code, 0) << run.Dump();
}

// 13. -----------------------------------------------------------------------------------------

TEST_F(CheckTest, UnreachableDestinationFailsDestinationConnection) {
  const std::string db = NewPair();
  ExecOk(*src_, "CREATE TABLE items (id int PRIMARY KEY)", db);
  CheckRun run = RunJson(WriteConfig(Endpoint{src_->port(), db}, Endpoint{ClosedPort(), db}));
  EXPECT_EQ(run.result.exit_code, 1) << run.Dump();
  EXPECT_EQ(run.Result("source connection"), "PASS") << run.Dump();
  EXPECT_EQ(run.Result("destination connection"), "FAIL") << run.Dump();
  EXPECT_EQ(run.report.value("ok", true), false) << run.Dump();
}

TEST_F(CheckTest, WrongSourcePasswordFailsWithoutShowingIt) {
  const std::string db = NewPair();
  const std::string wrong = "Wr0ng-Pa55-q7";
  fs::path config =
      WriteConfig(Endpoint{src_->port(), db, "ops", wrong}, Endpoint{dst_->port(), db});
  CheckRun run = RunJson(config);
  EXPECT_EQ(run.result.exit_code, 1) << run.Dump();
  EXPECT_EQ(run.Result("source connection"), "FAIL") << run.Dump();
  auto c = run.Find("source connection");
  ASSERT_TRUE(c.has_value()) << run.Dump();
  EXPECT_NE(c->value("detail", "").find("password authentication"), std::string::npos) << c->dump();

  auto text = RunDbRelocate({"check", "--config", config.string(), "--log-level", "debug"});
  EXPECT_EQ(text.exit_code, 1) << text.out << text.err;
  EXPECT_NE(text.out.find("source connection"), std::string::npos) << text.out;
  for (const auto* r : {&run.result, &text}) {
    EXPECT_EQ(r->out.find(wrong), std::string::npos) << "password on stdout:\n" << r->out;
    EXPECT_EQ(r->err.find(wrong), std::string::npos) << "password on stderr:\n" << r->err;
  }
}

// 14. -----------------------------------------------------------------------------------------

TEST_F(CheckTest, MaxSlotWalKeepSizeWarns) {
  const std::string db = NewPair();
  ExecOk(*src_, "CREATE TABLE items (id int PRIMARY KEY)", db);
  fs::path config = WriteConfig(db);
  CheckRun before = RunJson(config);
  EXPECT_EQ(before.Result("database size and WAL retention"), "PASS") << before.Dump();

  // A server-wide setting on the shared source: set it, wait until new sessions see it, and
  // reset it whatever happens.
  struct Reset {
    TestCluster* c;
    ~Reset() {
      (void)c->Exec("ALTER SYSTEM RESET max_slot_wal_keep_size");
      (void)c->Exec("SELECT pg_reload_conf()");
    }
  } reset{src_.get()};
  ExecOk(*src_, "ALTER SYSTEM SET max_slot_wal_keep_size = '1GB'", "postgres");
  ExecOk(*src_, "SELECT pg_reload_conf()", "postgres");
  std::string seen;
  for (int i = 0; i < 100 && seen != "1GB"; ++i) {
    auto v = src_->QueryValue("SHOW max_slot_wal_keep_size");
    seen = v.ok() ? *v : v.message();
    if (seen != "1GB") std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(seen, "1GB");

  CheckRun run = RunJson(config);
  EXPECT_EQ(run.Result("database size and WAL retention"), "WARN") << run.Dump();
  auto c = run.Find("database size and WAL retention");
  ASSERT_TRUE(c.has_value());
  EXPECT_NE(c->value("detail", "").find("max_slot_wal_keep_size"), std::string::npos) << c->dump();
  EXPECT_EQ(run.result.exit_code, 0) << run.Dump();
}

}  // namespace
}  // namespace dbr::test
