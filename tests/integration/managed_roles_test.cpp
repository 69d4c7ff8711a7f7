// Managed PostgreSQL gives no superuser: the administrator holds what the provider's admin role
// grants (rds_superuser, cloudsqlsuperuser, azure_pg_admin). Here the destination's user holds
// what vanilla PostgreSQL can grant of that: LOGIN, CREATEDB, CREATEROLE, REPLICATION (RDS:
// rds_replication), pg_create_subscription, pg_monitor, pg_signal_backend, pg_read_all_settings,
// and the database's ownership; not the replication origin functions, which Cloud SQL does not
// say it grants (the subscription starts from the slot's own start). (The source
// side needs PostgreSQL 16+ for such a user to create the replication user, and the copy of a
// 16+ source needs a pg_dump this machine does not have: see issue #23, item 7.)
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "harness/app_pair.h"
#include "harness/check_run.h"
#include "harness/cluster.h"
#include "harness/pgbench.h"
#include "harness/relocation.h"
#include "harness/wait.h"
#include "snapshot/schema_dump.h"

namespace dbr::test {
namespace {

class ManagedRolesTest : public AppPairTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartAppPair(15, 17));
    ASSERT_TRUE(dst_->Exec("CREATE ROLE admin LOGIN PASSWORD 'adminpw' CREATEDB CREATEROLE "
                           "REPLICATION; GRANT pg_create_subscription, pg_monitor, "
                           "pg_signal_backend, pg_read_all_settings TO admin; "
                           "ALTER DATABASE app OWNER TO admin")
                    .ok());
    ASSERT_TRUE(src_->Exec("CREATE ROLE app_owner NOLOGIN").ok());
    // An owner needs CREATE on the schema of what it owns unless a superuser gave it.
    ASSERT_TRUE(src_->Exec("GRANT CREATE ON SCHEMA public TO app_owner; "
                           "CREATE TABLE ledger (id bigserial PRIMARY KEY, note text); "
                           "ALTER TABLE ledger OWNER TO app_owner",
                           "app")
                    .ok());
  }

  // Source user `src_user`, destination user admin, then `extra` YAML lines.
  std::filesystem::path AdminConfig(const std::string& src_user, const std::string& src_password,
                                    const std::string& extra = "") {
    auto config = tmp_.path() / "relocate.yaml";
    std::ofstream(config) << "provider: postgres\n"
                          << "src:\n  host: 127.0.0.1\n  port: " << src_->port()
                          << "\n  name: app\n  user: " << src_user
                          << "\n  password: " << src_password << "\n"
                          << "dst:\n  host: 127.0.0.1\n  port: " << dst_->port()
                          << "\n  name: app\n  user: admin\n  password: adminpw\n"
                          << "state_dir: state\n"
                          << extra;
    return config;
  }
};

// The restore gives db_relocate's own schema to the source's user (a superuser here), which the
// destination's administrator cannot become: check says so, naming it, and run changes nothing.
TEST_F(ManagedRolesTest, OwnersTheDestinationAdministratorCannotBecomeFailThePreflight) {
  auto config = AdminConfig("ops", "secret");
  CommandResult check = RunDbRelocate({"check", "--config", config.string(), "--output", "json"});
  EXPECT_NE(check.exit_code, 0) << check.out;
  auto report = nlohmann::json::parse(check.out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << check.out;
  bool found = false;
  for (const auto& c : report["checks"]) {
    if (c["name"] == "destination privileges") EXPECT_EQ(c["result"], "PASS") << c;
    if (c["name"] != "destination ownership") continue;
    found = true;
    EXPECT_EQ(c["result"], "FAIL") << c;
    // app_owner does not exist there yet: the copy creates it, granted to admin.
    EXPECT_EQ(c["objects"], nlohmann::json::array({"ops"})) << c;
    EXPECT_NE(c["hint"].get<std::string>().find("WITH SET TRUE"), std::string::npos) << c;
  }
  EXPECT_TRUE(found) << check.out;
  CommandResult run = RunDbRelocate({"run", "--config", config.string()});
  EXPECT_NE(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("destination ownership"), std::string::npos) << run.err;
  EXPECT_EQ(*dst_->QueryValue("SELECT count(*) FROM pg_class WHERE relname = 'ledger'", "app"),
            "0");
}

// Each privilege the administrator lacks is named, with the statement that gives it.
TEST_F(ManagedRolesTest, MissingPrivilegesOfTheDestinationAdministratorAreNamedWithTheirGrant) {
  ASSERT_TRUE(dst_->Exec("ALTER ROLE admin NOREPLICATION").ok());
  CheckRun check = RunCheck(AdminConfig("ops", "secret"));
  auto c = check.Find("destination privileges");
  ASSERT_TRUE(c) << check.Dump();
  EXPECT_EQ((*c)["result"], "FAIL") << *c;
  const std::string detail = (*c)["detail"], hint = (*c)["hint"];
  EXPECT_NE(detail.find("REPLICATION"), std::string::npos) << detail;
  EXPECT_EQ(detail.find("pg_create_subscription;"), std::string::npos) << detail;
  EXPECT_NE(hint.find("ALTER ROLE \"admin\" WITH REPLICATION"), std::string::npos) << hint;
  EXPECT_EQ(detail.find("pg_replication_origin_advance"), std::string::npos) << detail;
}

// A role the copy creates on the destination is granted to the administrator that created it,
// so that the restore can give it its objects (PostgreSQL 16+ asks for SET ROLE for that).
TEST_F(ManagedRolesTest, RolesTheCopyCreatesCanBeGivenTheirObjectsByTheAdministrator) {
  auto source = src_->Connect("app");
  auto admin = pg::Connection::Open(dst_->Params("app", "admin", "adminpw"));
  ASSERT_TRUE(source.ok() && admin.ok()) << admin.message();
  std::vector<std::string> created;
  Status ensured = EnsureRoles(*source, *admin, {"public"}, &created);
  ASSERT_TRUE(ensured.ok()) << ensured.message();
  EXPECT_EQ(created, std::vector<std::string>{"app_owner"});
  EXPECT_EQ(*dst_->QueryValue("SELECT pg_has_role('admin', 'app_owner', 'SET')"), "t");
  ASSERT_TRUE(admin
                  ->Exec("GRANT CREATE ON SCHEMA public TO app_owner; "
                         "CREATE TABLE ledger (id bigint PRIMARY KEY)")
                  .ok());
  Status owned = admin->Exec("ALTER TABLE ledger OWNER TO app_owner");
  EXPECT_TRUE(owned.ok()) << owned.message();
}

// The whole relocation with the destination's administrator holding only what a managed admin
// role can be given (the fixture's): run, cut-over and rollback through PgBouncer under pgbench,
// verify and cleanup, nothing lost. The source's user is a superuser under another name
// (PostgreSQL 15 lets only superusers create the replication user): a self-hosted source moving
// onto a managed server.
TEST_F(ManagedRolesTest, AnAdministratorWithoutSuperuserTakesTheApplicationThereAndBack) {
  ASSERT_TRUE(src_->Exec("CREATE ROLE relocator LOGIN SUPERUSER PASSWORD 'relocpw'; "
                         "CREATE ROLE app LOGIN PASSWORD 'apppw'")
                  .ok());
  ASSERT_TRUE(
      src_->Exec("ALTER TABLE ledger ADD COLUMN client int; GRANT SELECT, INSERT ON ledger TO app; "
                 "GRANT USAGE ON SEQUENCE ledger_id_seq TO app; "
                 "INSERT INTO ledger (note) SELECT md5(g::text) FROM generate_series(1, 1000) g",
                 "app")
          .ok());
  // What the administrator must also carry for the application's owner: an unlogged table (copied
  // inside each write pause), a materialized view (refreshed), a partitioned table and a large
  // object (written by lo_put, given its owner).
  ASSERT_TRUE(
      src_->Exec("SET ROLE app_owner; "
                 "CREATE UNLOGGED TABLE scratch (id int PRIMARY KEY, v text); "
                 "INSERT INTO scratch SELECT g, md5(g::text) FROM generate_series(1, 50) g; "
                 "CREATE MATERIALIZED VIEW ledger_total AS SELECT count(*) AS n FROM ledger; "
                 "CREATE TABLE events (id int, at date, PRIMARY KEY (id, at)) "
                 "PARTITION BY RANGE (at); CREATE TABLE events_2026 PARTITION OF events "
                 "FOR VALUES FROM ('2026-01-01') TO ('2027-01-01'); "
                 "INSERT INTO events SELECT g, '2026-06-01' FROM generate_series(1, 100) g; "
                 "SELECT lo_from_bytea(424242, convert_to(repeat('lo', 5000), 'UTF8'))",
                 "app")
          .ok());
  std::filesystem::permissions(
      tmp_.path(), std::filesystem::perms::others_exec | std::filesystem::perms::group_exec,
      std::filesystem::perm_options::add);
  auto proxy_port = PickFreePort();
  ASSERT_TRUE(proxy_port.ok());
  auto config = AdminConfig("relocator", "relocpw",
                            fmt::format("heartbeat_interval: 0.2\ncutover:\n  type: pgbouncer\n"
                                        "  manage: true\n  listen: 127.0.0.1:{}\n",
                                        *proxy_port));
  // The managed PgBouncer `run` starts is stopped at the end, whatever happened.
  std::shared_ptr<void> stop_proxy(nullptr, [&](void*) {
    CommandResult stopped = RunDbRelocate({"proxy", "--stop", "--config", config.string()});
    EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  });
  auto dbr = [&](const std::string& command) {
    return RunDbRelocate({command, "--config", config.string()});
  };
  CommandResult run = dbr("run");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(*dst_->QueryValue("SELECT rolsuper FROM pg_roles WHERE rolname = 'admin'"), "f");

  PgBench bench = PgBench::LedgerInserts(tmp_.path(), *proxy_port, "app", 100);
  auto count = [](TestCluster& c) {
    return std::stoll(*c.QueryValue("SELECT count(*) FROM ledger", "app"));
  };
  auto grows = [&](TestCluster& c) {
    const int64_t from = count(c);
    return WaitFor([&] { return count(c) >= from + 100; }, std::chrono::seconds(60));
  };
  ASSERT_TRUE(grows(*src_));
  ASSERT_TRUE(src_->Exec("INSERT INTO scratch VALUES (51, 'before the cut-over'); "
                         "SELECT lo_put(424242, 0, '\\x4142'::bytea)",
                         "app")
                  .ok());
  CommandResult cut = dbr("cutover");
  ASSERT_EQ(cut.exit_code, 0) << cut.out << cut.err;
  ASSERT_TRUE(grows(*dst_));
  EXPECT_EQ(*dst_->QueryValue("SELECT count(*) FROM scratch", "app"), "51");
  EXPECT_EQ(*dst_->QueryValue("SELECT n > 1000 FROM ledger_total", "app"), "t");
  EXPECT_EQ(*dst_->QueryValue("SELECT lomowner::regrole::text || ' ' || "
                              "encode(substr(lo_get(424242), 1, 4), 'escape') "
                              "FROM pg_largeobject_metadata WHERE oid = 424242",
                              "app"),
            "app_owner ABlo");
  CommandResult verified = dbr("verify");
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  CommandResult status = dbr("status");
  EXPECT_EQ(status.exit_code, 0) << status.out << status.err;
  EXPECT_NE(status.out.find("primary:         destination"), std::string::npos) << status.out;
  CommandResult report = dbr("report");
  EXPECT_EQ(report.exit_code, 0) << report.err;
  CommandResult back = dbr("rollback");
  ASSERT_EQ(back.exit_code, 0) << back.out << back.err;
  ASSERT_TRUE(grows(*src_));
  const ProcessOutput& out = bench.Wait();
  ASSERT_EQ(out.exit_code, 0) << out.out << out.err;
  const int64_t committed = PgBench::Processed(out);
  EXPECT_EQ(count(*src_), 1000 + committed);
  ASSERT_TRUE(WaitUntilApplied(*src_, "app").ok());
  ExpectSameTables(src_->Params("app"), dst_->Params("app"), {"public"}, 3);

  CommandResult cleaned = dbr("cleanup");
  EXPECT_EQ(cleaned.exit_code, 0) << cleaned.out << cleaned.err;
  EXPECT_EQ(*dst_->QueryValue("SELECT count(*) FROM pg_subscription"), "0");
  EXPECT_EQ(*dst_->QueryValue("SELECT count(*) FROM pg_replication_slots"), "0");
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_replication_slots"), "0");
}

}  // namespace
}  // namespace dbr::test
