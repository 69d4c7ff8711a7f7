// Provider cloudsql end to end against the Google double (tests/gcp_double): a real PostgreSQL 15
// source registered as Cloud SQL instance "orders-pg15", a destination that is a real PostgreSQL
// 17 cluster the double starts for instances.insert (its `postgres` user no superuser, as Cloud
// SQL makes it), a service-account key whose every JWT the double verifies, and a live writer
// throughout. db_relocate talks to the double as it would to Google.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "harness/cluster.h"
#include "harness/double_process.h"
#include "harness/relocation.h"
#include "harness/rsa_key.h"
#include "util/files.h"

namespace dbr::test {
namespace {

constexpr const char* kEmail = "relocator@shop.iam.gserviceaccount.com";
constexpr const char* kDestination = "orders-pg15-pg17";

class CloudSqlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto src = TestCluster::Start(15);
    ASSERT_TRUE(src.ok()) << src.message();
    src_ = std::move(*src);
    ASSERT_TRUE(src_->CreateDatabase("app").ok());
    key_ = NewRsaKeyPair();
    std::ofstream(tmp_.path() / "key.json")
        << nlohmann::json{{"type", "service_account"},
                          {"project_id", "shop"},
                          {"private_key_id", "k1"},
                          {"private_key", key_.private_pem},
                          {"client_email", kEmail},
                          {"token_uri", "https://oauth2.googleapis.com/token"}}
               .dump();
  }

  void TearDown() override { StopHeartbeatWriter(state_dir()); }

  std::filesystem::path state_dir() const { return tmp_.path() / "state"; }

  // The Google project the double plays: the source instance, the versions it can create, and
  // the service account. Every instance serves on the source's port, each at its own address.
  nlohmann::json Seed(const std::string& logical_decoding = "on") const {
    nlohmann::json seed = {
        {"sqladmin_model", std::string(DBR_SOURCE_DIR) + "/.cache/sqladmin/v1.ts"},
        {"service_accounts",
         {{{"client_email", kEmail},
           {"private_key_id", "k1"},
           {"public_key_pem", key_.public_pem}}}},
        {"required_scopes",
         {"https://www.googleapis.com/auth/sqlservice.admin",
          "https://www.googleapis.com/auth/logging.read"}},
        {"service_port", src_->port()},
        {"instances",
         {{{"project", "shop"},
           {"name", "orders-pg15"},
           {"region", "europe-west1"},
           {"database_version", "POSTGRES_15"},
           {"state", "RUNNABLE"},
           {"tier", "db-custom-2-7680"},
           {"flags",
            {{"cloudsql.logical_decoding", logical_decoding}, {"max_replication_slots", "20"}}},
           {"host", "127.0.0.1"}}}}};
    auto bin = PgBinDir(17);
    if (bin.ok()) seed["bin_dirs"]["17"] = bin->string();
    return seed;
  }

  void StartDouble(const nlohmann::json& seed) {
    auto d = DoubleProcess::Launch("tests/gcp_double/gcp_double.py", seed, "the Google double");
    ASSERT_TRUE(d.ok()) << d.message();
    double_ = std::move(*d);
  }

  // `dst_extra`: lines of the dst block (two spaces in); `extra`: more top-level YAML.
  std::filesystem::path Config(const std::string& extra = "", const std::string& dst_extra = "") {
    auto path = tmp_.path() / "relocate.yaml";
    std::ofstream(path) << fmt::format(
        "provider: cloudsql\n"
        "gcp:\n  project: shop\n  credentials_file: key.json\n  endpoint_url: {}\n"
        "src:\n  instance_id: orders-pg15\n  host: 127.0.0.1\n  port: {}\n  name: app\n"
        "  password: secret\n  schema: [public, \"Sales Ops\"]\n"
        "dst:\n  user: postgres\n  password: \"n3w'root\"\n{}"
        "jobs: 2\nheartbeat_interval: 0.2\ncatchup_timeout: 120\nstate_dir: state\n{}",
        double_->endpoint(), src_->port(), dst_extra, extra);
    return path;
  }

  CommandResult Run(const std::string& command, const std::filesystem::path& config) {
    return RunDbRelocate({command, "--config", config.string()},
                         {{"HOME", tmp_.path().string()}, {"GCE_METADATA_HOST", "127.0.0.1:9"}});
  }

  nlohmann::json State() const {
    auto text = ReadFile(state_dir() / "state.json");
    return text.ok() ? nlohmann::json::parse(*text) : nlohmann::json::object();
  }

  std::string DoubleLog() const {
    auto text = ReadFile(double_->work_dir() / "double.log");
    return text.ok() ? *text : "";
  }

  pg::ConnParams DestinationParams() const {
    pg::ConnParams p;
    p.host = State()["cloudsql"]["dst_host"];
    p.port = src_->port();
    p.user = "postgres";
    p.password = "n3w'root";
    p.dbname = "app";
    return p;
  }

  TempDir tmp_;
  RsaKeyPair key_;
  std::unique_ptr<TestCluster> src_;
  std::unique_ptr<DoubleProcess> double_;
};

TEST_F(CloudSqlTest, LogicalMethodMovesALiveFifteenOntoANewSeventeenInstance) {
  ASSERT_TRUE(LoadRichSchema(*src_, "app", 20000).ok());
  ASSERT_NO_FATAL_FAILURE(StartDouble(Seed()));
  LiveWriter writer(*src_, "app");
  auto config = Config("upgrade:\n  engine_version: \"17\"\n");

  CommandResult check = Run("check", config);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("POSTGRES_15 -> POSTGRES_17"), std::string::npos) << check.out;
  EXPECT_NE(
      check.out.find(std::string(kDestination) + " (17, tier db-custom-2-7680): to be created"),
      std::string::npos)
      << check.out;

  CommandResult run = Run("run", config);
  ASSERT_EQ(run.exit_code, 0) << run.err << "\n" << DoubleLog();
  EXPECT_NE(run.err.find("heartbeat verified"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("starts at the snapshot's LSN"), std::string::npos) << run.err;
  auto state = State();
  EXPECT_EQ(state["cloudsql"]["instance"], kDestination) << state.dump();
  EXPECT_TRUE(state["cloudsql"]["instance_ready"].get<bool>()) << state.dump();

  // The new instance as Google made it: version 17, logical decoding on, its user no superuser.
  auto dst = pg::Connection::Open(DestinationParams());
  ASSERT_TRUE(dst.ok()) << dst.message();
  EXPECT_EQ(dst->server_major(), 17);
  EXPECT_EQ(*dst->QueryValue("SHOW wal_level"), "logical");
  EXPECT_EQ(*dst->QueryValue("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"), "f");
  // The instance was asked for with the source's tier and flags, logical decoding added.
  const std::string log = DoubleLog();
  EXPECT_NE(log.find("sqladmin POST /v1/projects/shop/instances 200"), std::string::npos) << log;
  EXPECT_EQ(log.find("n3w'root"), std::string::npos) << "a password in the double's log";

  StopWritersAndExpectSynced(&writer, state_dir(), *src_, "app", DestinationParams(), kRichSchemas);
  CommandResult verify = Run("verify", config);
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;

  CommandResult cleanup = Run("cleanup", config);
  ASSERT_EQ(cleanup.exit_code, 0) << cleanup.err;
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_replication_slots", "app"), "0");
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_publication", "app"), "0");
  EXPECT_EQ(*dst->QueryValue("SELECT count(*) FROM pg_subscription"), "0");
  // The destination stays: cleanup never deletes an instance.
  EXPECT_EQ(*dst->QueryValue("SELECT count(*) FROM events"),
            *src_->QueryValue("SELECT count(*) FROM events", "app"));
}

// Each refusal names its fix, and nothing is created: no instance, no slot.
TEST_F(CloudSqlTest, WhatCloudSqlCannotDoIsRefusedBeforeAnythingIsCreated) {
  nlohmann::json seed = Seed("off");
  seed["instances"].push_back({{"project", "shop"},
                               {"name", "taken-pg17"},
                               {"database_version", "POSTGRES_17"},
                               {"host", "127.0.0.1"}});
  ASSERT_NO_FATAL_FAILURE(StartDouble(seed));
  CommandResult off = Run("run", Config("upgrade:\n  engine_version: \"17\"\n"));
  EXPECT_NE(off.exit_code, 0);
  EXPECT_NE(off.err.find("gcloud sql instances patch orders-pg15 --project=shop "
                         "--database-flags=max_replication_slots=20,cloudsql.logical_decoding=on"),
            std::string::npos)
      << off.err;

  CommandResult taken = Run("check", Config("", "  instance_id: taken-pg17\n"));
  EXPECT_EQ(taken.exit_code, 2) << taken.out << taken.err;
  EXPECT_NE(taken.out.find("Cloud SQL destination instance"), std::string::npos) << taken.out;
  EXPECT_NE(taken.out.find("an instance taken-pg17 exists already"), std::string::npos)
      << taken.out;

  CommandResult version = Run("check", Config("upgrade:\n  engine_version: \"9\"\n"));
  EXPECT_EQ(version.exit_code, 2) << version.out << version.err;
  EXPECT_NE(version.out.find("Cloud SQL offers PostgreSQL"), std::string::npos) << version.out;

  CommandResult clone = Run("check", Config("upgrade:\n  method: clone\n"));
  EXPECT_EQ(clone.exit_code, 2) << clone.out << clone.err;
  EXPECT_NE(clone.out.find("clone is not built yet"), std::string::npos) << clone.out;

  EXPECT_EQ(DoubleLog().find("sqladmin POST /v1/projects/shop/instances"), std::string::npos);
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_replication_slots", "app"), "0");
}

}  // namespace
}  // namespace dbr::test
