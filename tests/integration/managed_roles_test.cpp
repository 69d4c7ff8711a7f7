// Managed PostgreSQL gives no superuser: the administrator holds what the provider's admin role
// grants (rds_superuser, cloudsqlsuperuser, azure_pg_admin). Here the destination's user holds
// what vanilla PostgreSQL can grant of that: LOGIN, CREATEDB, CREATEROLE, pg_create_subscription,
// pg_monitor, pg_signal_backend, pg_read_all_settings, and the database's ownership. (The source
// side needs PostgreSQL 16+ for such a user to create the replication user, and the copy of a
// 16+ source needs a pg_dump this machine does not have: see issue #23, item 7.)
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "harness/app_pair.h"
#include "harness/cluster.h"
#include "harness/relocation.h"
#include "snapshot/schema_dump.h"

namespace dbr::test {
namespace {

class ManagedRolesTest : public AppPairTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartAppPair(15, 17));
    ASSERT_TRUE(dst_->Exec("CREATE ROLE admin LOGIN PASSWORD 'adminpw' CREATEDB CREATEROLE; "
                           "GRANT pg_create_subscription, pg_monitor, pg_signal_backend, "
                           "pg_read_all_settings TO admin; ALTER DATABASE app OWNER TO admin")
                    .ok());
    ASSERT_TRUE(src_->Exec("CREATE ROLE app_owner NOLOGIN").ok());
    // An owner needs CREATE on the schema of what it owns unless a superuser gave it.
    ASSERT_TRUE(src_->Exec("GRANT CREATE ON SCHEMA public TO app_owner; "
                           "CREATE TABLE ledger (id bigserial PRIMARY KEY, note text); "
                           "ALTER TABLE ledger OWNER TO app_owner",
                           "app")
                    .ok());
  }
};

// The restore gives db_relocate's own schema to the source's user (a superuser here), which the
// destination's administrator cannot become: check says so, naming it, and run changes nothing.
TEST_F(ManagedRolesTest, OwnersTheDestinationAdministratorCannotBecomeFailThePreflight) {
  auto config = tmp_.path() / "relocate.yaml";
  std::ofstream(config) << "provider: postgres\n"
                        << "src:\n  host: 127.0.0.1\n  port: " << src_->port()
                        << "\n  name: app\n  user: ops\n  password: secret\n"
                        << "dst:\n  host: 127.0.0.1\n  port: " << dst_->port()
                        << "\n  name: app\n  user: admin\n  password: adminpw\n"
                        << "state_dir: state\n";
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

}  // namespace
}  // namespace dbr::test
