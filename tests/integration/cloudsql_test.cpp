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
#include "harness/pgbench.h"
#include "harness/relocation.h"
#include "harness/rsa_key.h"
#include "harness/wait.h"
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
        {"authorized_users", nlohmann::json::array({AuthorizedUser("1//current")})},
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

  // What the double needs to copy and restart the test's own source cluster (clone, flags).
  void AddClusterFacts(nlohmann::json& instance, int major) const {
    instance["port"] = src_->port();
    instance["data_dir"] = src_->data_dir().string();
    instance["bin_dir"] = src_->bin_dir().string();
    instance["log_file"] = src_->log_file().string();
    instance["major"] = major;
    instance["admin_user"] = "ops";
    instance["admin_password"] = "secret";
  }

  // gcloud's application-default credentials of a user, as the double knows them and as
  // `gcloud auth application-default login` writes them (file `name`).
  static nlohmann::json AuthorizedUser(const std::string& refresh_token) {
    return {{"client_id", "cid.apps.googleusercontent.com"},
            {"client_secret", "csecret"},
            {"refresh_token", refresh_token}};
  }
  void WriteAuthorizedUserFile(const std::string& name, const std::string& refresh_token) {
    nlohmann::json file = AuthorizedUser(refresh_token);
    file["type"] = "authorized_user";
    std::ofstream(tmp_.path() / name) << file.dump();
  }

  void StartDouble(const nlohmann::json& seed) {
    auto d = DoubleProcess::Launch("tests/gcp_double/gcp_double.py", seed, "the Google double");
    ASSERT_TRUE(d.ok()) << d.message();
    double_ = std::move(*d);
  }

  // What a config of these tests names; the defaults are the logical relocation's.
  struct ConfigFile {
    std::string source = "orders-pg15";          // src.instance_id
    std::string credentials = "key.json";        // gcp.credentials_file
    std::string login = "  password: secret\n";  // src's user lines (two spaces in)
    std::string dst = "  user: postgres\n  password: \"n3w'root\"\n";  // the dst block's lines
    std::string extra;                                                 // more top-level YAML
  };

  std::filesystem::path WriteConfig(const ConfigFile& file,
                                    const std::string& name = "relocate.yaml") {
    auto path = tmp_.path() / name;
    std::ofstream(path) << fmt::format(
        "provider: cloudsql\n"
        "gcp:\n  project: shop\n  credentials_file: {}\n  endpoint_url: {}\n"
        "src:\n  instance_id: {}\n  host: 127.0.0.1\n  port: {}\n  name: app\n"
        "{}  schema: [public, \"Sales Ops\"]\n"
        "dst:\n{}"
        "jobs: 2\nheartbeat_interval: 0.2\ncatchup_timeout: 120\nstate_dir: state\n{}",
        file.credentials, double_->endpoint(), file.source, src_->port(), file.login, file.dst,
        file.extra);
    return path;
  }

  // `extra`: more top-level YAML; `dst_extra`: more lines of the dst block (two spaces in).
  std::filesystem::path Config(const std::string& extra = "", const std::string& dst_extra = "") {
    ConfigFile file{.extra = extra};
    file.dst += dst_extra;
    return WriteConfig(file);
  }

  CommandResult Run(const std::string& command, const std::filesystem::path& config,
                    std::map<std::string, std::string> env = {},
                    const std::vector<std::string>& options = {}) {
    env.emplace("HOME", tmp_.path().string());
    env.emplace("GCE_METADATA_HOST", "127.0.0.1:9");
    std::vector<std::string> args = {command, "--config", config.string()};
    args.insert(args.end(), options.begin(), options.end());
    return RunDbRelocate(args, env);
  }

  // How many times the double's log has `text`.
  size_t InDoubleLog(const std::string& text) const {
    const std::string log = DoubleLog();
    size_t n = 0;
    for (size_t at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) ++n;
    return n;
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

// The application moves through PgBouncer onto the new instance and back, under pgbench.
TEST_F(CloudSqlTest, LogicalMethodMovesALiveFifteenOntoANewSeventeenInstance) {
  ASSERT_TRUE(LoadRichSchema(*src_, "app", 20000).ok());
  ASSERT_TRUE(src_->Exec(kLedgerForApp, "app").ok());
  ASSERT_NO_FATAL_FAILURE(StartDouble(Seed()));
  LiveWriter writer(*src_, "app");
  int proxy_port = 0;
  std::string proxy;
  ASSERT_NO_FATAL_FAILURE(ManagedPgBouncerBlock(tmp_.path(), &proxy_port, &proxy));
  auto config = Config("upgrade:\n  engine_version: \"17\"\n" + proxy);
  // The managed PgBouncer `run` starts is stopped at the end, whatever happened.
  std::shared_ptr<void> stop_proxy(nullptr, [&](void*) {
    CommandResult stopped = RunDbRelocate({"proxy", "--stop", "--config", config.string()},
                                          {{"HOME", tmp_.path().string()}});
    EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  });

  CommandResult check = Run("check", config);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("POSTGRES_15 -> POSTGRES_17"), std::string::npos) << check.out;
  EXPECT_NE(
      check.out.find(std::string(kDestination) + " (17, tier db-custom-2-7680): to be created"),
      std::string::npos)
      << check.out;

  CommandResult plan = Run("plan", config);
  EXPECT_EQ(plan.exit_code, 0) << plan.out << plan.err;
  EXPECT_NE(plan.out.find("to a new Google Cloud SQL instance (see cloud)"), std::string::npos)
      << plan.out;
  EXPECT_NE(plan.out.find("POSTGRES_15 -> POSTGRES_17"), std::string::npos) << plan.out;

  CommandResult run = Run("run", config);
  ASSERT_EQ(run.exit_code, 0) << run.err << "\n" << DoubleLog();
  EXPECT_NE(run.err.find("heartbeat verified"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("starts at the snapshot's LSN"), std::string::npos) << run.err;
  auto state = State();
  EXPECT_EQ(state["cloudsql"]["instance"], kDestination) << state.dump();
  // status and report find the new instance from the state.
  CommandResult status = Run("status", config);
  EXPECT_EQ(status.exit_code, 0) << status.out << status.err;
  EXPECT_NE(status.out.find("primary:         source"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("subscription:    present, enabled yes"), std::string::npos)
      << status.out;
  CommandResult report = Run("report", config);
  EXPECT_EQ(report.exit_code, 0) << report.err;
  EXPECT_EQ(state["cloudsql"]["phase"], "done") << state.dump();

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

  writer.Stop();
  ASSERT_TRUE(writer.error().empty()) << writer.error();
  ASSERT_GT(writer.operations(), 0);
  auto source = src_->Connect("app");
  ASSERT_TRUE(source.ok()) << source.message();
  int64_t committed = 0;
  ASSERT_NO_FATAL_FAILURE(MoveTheApplicationThereAndBack(
      tmp_.path(), proxy_port, "app", *source, *dst,
      [&](const std::string& command) { return Run(command, config); }, &committed));
  // Every row pgbench committed, each once, on the primary.
  EXPECT_EQ(*source->QueryValue("SELECT count(*) FROM ledger"), std::to_string(committed));
  StopWritersAndExpectSynced(&writer, state_dir(), *src_, "app", DestinationParams(), kRichSchemas,
                             12);
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

// A LATIN1 source: the database made on the new instance (whose template1 is UTF8) takes the
// source's encoding and locale, so the copy's text keeps its value there.
TEST_F(CloudSqlTest, TheNewInstancesDatabaseIsMadeInTheSourcesEncoding) {
  ASSERT_TRUE(src_->Exec("DROP DATABASE app", "postgres").ok());
  ASSERT_TRUE(src_->Exec("CREATE DATABASE app TEMPLATE template0 ENCODING 'LATIN1' "
                         "LC_COLLATE 'C' LC_CTYPE 'C'",
                         "postgres")
                  .ok());
  // E'\xe9' is one byte in the database's encoding: é in LATIN1.
  ASSERT_TRUE(src_->Exec("CREATE SCHEMA \"Sales Ops\"; "
                         "CREATE TABLE words (id int PRIMARY KEY, w text); "
                         "INSERT INTO words VALUES (1, E'caf\\xe9')",
                         "app")
                  .ok());
  ASSERT_NO_FATAL_FAILURE(StartDouble(Seed()));
  auto config = Config("upgrade:\n  engine_version: \"17\"\n");
  CommandResult run = Run("run", config);
  ASSERT_EQ(run.exit_code, 0) << run.err << "\n" << DoubleLog();
  EXPECT_NE(run.err.find("created database app on the new instance TEMPLATE template0 ENCODING "
                         "'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'"),
            std::string::npos)
      << run.err;
  auto dst = pg::Connection::Open(DestinationParams());
  ASSERT_TRUE(dst.ok()) << dst.message();
  EXPECT_EQ(dst->server_encoding(), "LATIN1");
  ASSERT_TRUE(src_->Exec("INSERT INTO words VALUES (2, E'na\\xefve')", "app").ok());
  StopWritersAndExpectSynced(nullptr, state_dir(), *src_, "app", DestinationParams(), {"public"},
                             1);
  const char* kWords =
      "SELECT string_agg(length(w) || ' ' || encode(convert_to(w, 'UTF8'), 'hex'), ', ' "
      "ORDER BY id) FROM words";
  EXPECT_EQ(*dst->QueryValue(kWords), "4 636166c3a9, 5 6e61c3af7665");
  EXPECT_EQ(*src_->QueryValue(kWords, "app"), "4 636166c3a9, 5 6e61c3af7665");
  CommandResult verify = Run("verify", config);
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

// The destination's checks can run only once the new instance exists: one that fails there
// says the instance stays, and the next `run` goes on with it rather than asking for another.
TEST_F(CloudSqlTest, ACheckTheNewInstanceFailsKeepsItForTheNextRun) {
  // adminpack, in PostgreSQL 15's contrib, was removed in 17.
  ASSERT_TRUE(src_->Exec("CREATE SCHEMA \"Sales Ops\"; CREATE TABLE t (id int PRIMARY KEY); "
                         "CREATE EXTENSION adminpack",
                         "app")
                  .ok());
  ASSERT_NO_FATAL_FAILURE(StartDouble(Seed()));
  auto config = Config("upgrade:\n  engine_version: \"17\"\n");
  CommandResult failed = Run("run", config);
  EXPECT_EQ(failed.exit_code, 1) << failed.err;
  EXPECT_NE(failed.err.find("installed on the source but not available on the destination"),
            std::string::npos)
      << failed.err;
  EXPECT_NE(failed.err.find("pre-flight checks failed (see the FAIL lines above); the new "
                            "instance stays, and `run` goes on with it once the cause is fixed"),
            std::string::npos)
      << failed.err;
  EXPECT_EQ(failed.err.find("nothing was changed"), std::string::npos) << failed.err;

  ASSERT_TRUE(src_->Exec("DROP EXTENSION adminpack", "app").ok());
  CommandResult again = Run("run", config);
  ASSERT_EQ(again.exit_code, 0) << again.err << "\n" << DoubleLog();
  EXPECT_EQ(InDoubleLog("sqladmin POST /v1/projects/shop/instances 200"), 1u) << DoubleLog();
}

// Method clone, 13 -> 15, with gcloud's authorized-user credentials: the source cloned
// physically, the clone's end read from its crash recovery through Cloud Logging, its copied
// slot dropped (Google refuses the upgrade while one exists), the clone upgraded in place, then
// subscribed at that LSN.
TEST_F(CloudSqlTest, CloneMethodUpgradesAClonedThirteenToFifteenInPlace) {
  auto old = TestCluster::Start(13);
  ASSERT_TRUE(old.ok()) << old.message();
  src_ = std::move(*old);
  ASSERT_TRUE(src_->CreateDatabase("app").ok());
  ASSERT_TRUE(LoadRichSchema(*src_, "app", 20000).ok());
  nlohmann::json seed = Seed();
  seed["service_port"] = src_->port();
  auto bin15 = PgBinDir(15);
  ASSERT_TRUE(bin15.ok()) << bin15.message();
  seed["bin_dirs"] = {{"15", bin15->string()}};
  nlohmann::json& source = seed["instances"][0];
  source["name"] = "orders-pg13";
  source["database_version"] = "POSTGRES_13";
  AddClusterFacts(source, 13);
  ASSERT_NO_FATAL_FAILURE(StartDouble(seed));
  WriteAuthorizedUserFile("adc.json", "1//current");
  LiveWriter writer(*src_, "app");
  // The clone keeps the source's roles: dst is the source's user.
  auto path = WriteConfig({.source = "orders-pg13",
                           .credentials = "adc.json",
                           .dst = "",
                           .extra = "upgrade:\n  method: clone\n  engine_version: \"15\"\n"},
                          "clone.yaml");

  CommandResult check = Run("check", path);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("orders-pg13-pg15"), std::string::npos) << check.out;
  // Killed once the clone is made: the rerun keeps the slot the clone's data was taken after.
  CommandResult killed = Run("run", path, {{"DBR_CRASH_AT", "cloudsql:lsn"}});
  ASSERT_EQ(killed.exit_code, 137) << killed.err << "\n" << DoubleLog();
  CommandResult run = Run("run", path);
  ASSERT_EQ(run.exit_code, 0) << run.err << "\n" << DoubleLog();
  EXPECT_NE(run.err.find("heartbeat verified"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("the clone's data ends at"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("replication origin"), std::string::npos) << run.err;
  EXPECT_EQ(InDoubleLog("sqladmin POST /v1/projects/shop/instances/orders-pg13/clone 200"), 1u)
      << DoubleLog();
  EXPECT_GE(InDoubleLog("POST /v2/entries:list 200"), 1u) << DoubleLog();

  auto state = State();
  EXPECT_EQ(state["cloudsql"]["phase"], "done") << state.dump();
  pg::ConnParams clone;
  clone.host = state["cloudsql"]["dst_host"];
  clone.port = src_->port();
  clone.user = "ops";
  clone.password = "secret";
  clone.dbname = "app";
  auto dst = pg::Connection::Open(clone);
  ASSERT_TRUE(dst.ok()) << dst.message();
  EXPECT_EQ(dst->server_major(), 15);
  StopWritersAndExpectSynced(&writer, state_dir(), *src_, "app", clone, kRichSchemas);
  CommandResult verify = Run("verify", path);
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  CommandResult cleanup = Run("cleanup", path);
  ASSERT_EQ(cleanup.exit_code, 0) << cleanup.err;
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_replication_slots", "app"), "0");
  EXPECT_EQ(*dst->QueryValue("SELECT count(*) FROM pg_replication_slots"), "0");
  EXPECT_EQ(*dst->QueryValue("SELECT count(*) FROM pg_subscription"), "0");
}

// Only with upgrade.allow_source_restart does db_relocate set the source's flag, which Cloud SQL
// applies by restarting it (downtime), then carry on.
TEST_F(CloudSqlTest, AllowedSourceRestartTurnsLogicalDecodingOn) {
  auto plain = TestCluster::Start(15, {.wal_level = "replica"});
  ASSERT_TRUE(plain.ok()) << plain.message();
  src_ = std::move(*plain);
  ASSERT_TRUE(src_->CreateDatabase("app").ok());
  nlohmann::json seed = Seed("off");
  seed["service_port"] = src_->port();
  nlohmann::json& source = seed["instances"][0];
  AddClusterFacts(source, 15);
  source["flags"]["max_replication_slots"] = "17";  // the harness starts it with 20
  ASSERT_NO_FATAL_FAILURE(StartDouble(seed));
  auto config = Config("upgrade:\n  engine_version: \"17\"\n  allow_source_restart: true\n");
  CommandResult check = Run("check", config);
  EXPECT_NE(check.out.find("upgrade.allow_source_restart: db_relocate sets it now"),
            std::string::npos)
      << check.out;
  CommandResult r = Run("run", config, {{"DBR_CRASH_AT", "before:heartbeat"}});
  EXPECT_EQ(r.exit_code, 137) << r.err << "\n" << DoubleLog();
  EXPECT_NE(r.err.find("setting cloudsql.logical_decoding = on for orders-pg15"), std::string::npos)
      << r.err;
  EXPECT_EQ(InDoubleLog("sqladmin PATCH /v1/projects/shop/instances/orders-pg15 200"), 1u)
      << DoubleLog();
  EXPECT_EQ(*src_->QueryValue("SHOW wal_level"), "logical");
  // The patch kept the source's other flags: Cloud SQL applies them all at the restart.
  EXPECT_EQ(*src_->QueryValue("SHOW max_replication_slots"), "17");
}

// A run killed before it asks for the instance, then while Google makes it: the next run asks
// once, waits for the operation it recorded, and finishes (a config naming another destination
// meanwhile is refused).
TEST_F(CloudSqlTest, ResumesAfterKillWhileTheInstanceIsMade) {
  ASSERT_TRUE(LoadRichSchema(*src_, "app", 5000).ok());
  ASSERT_NO_FATAL_FAILURE(StartDouble(Seed()));
  LiveWriter writer(*src_, "app");
  auto config = Config("upgrade:\n  engine_version: \"17\"\n");
  for (const char* point : {"cloudsql:instance-named", "cloudsql:operation-recorded"}) {
    CommandResult r = Run("run", config, {{"DBR_CRASH_AT", point}});
    ASSERT_EQ(r.exit_code, 137) << point << ": " << r.err;
  }
  EXPECT_EQ(State()["cloudsql"]["instance"], kDestination) << State().dump();
  // Named in the state, the instance is the relocation's: a config naming another is refused.
  ConfigFile elsewhere{.extra = "upgrade:\n  engine_version: \"17\"\n"};
  elsewhere.dst += "  instance_id: orders-new\n";
  CommandResult moved = Run("run", WriteConfig(elsewhere, "moved.yaml"));
  EXPECT_EQ(moved.exit_code, 2) << moved.out << moved.err;
  EXPECT_NE(moved.err.find("dst.instance_id is orders-new, and the relocation in state_dir"),
            std::string::npos)
      << moved.err;
  EXPECT_NE(moved.err.find("has orders-pg15-pg17 as its destination: put back dst.instance_id: "
                           "orders-pg15-pg17 to go on with it; to give it up instead, run "
                           "`db_relocate cleanup --delete-instance orders-pg15-pg17`"),
            std::string::npos)
      << moved.err;
  CommandResult r = Run("run", config);
  ASSERT_EQ(r.exit_code, 0) << r.err << "\n" << DoubleLog();
  EXPECT_NE(r.err.find("heartbeat verified"), std::string::npos) << r.err;
  EXPECT_EQ(InDoubleLog("sqladmin POST /v1/projects/shop/instances 200"), 1u) << DoubleLog();
  StopWritersAndExpectSynced(&writer, state_dir(), *src_, "app", DestinationParams(), kRichSchemas);
  // Abandoned: cleanup deletes the instance it made, named, and no other.
  const pg::ConnParams destination = DestinationParams();
  CommandResult other = Run("cleanup", config, {}, {"--delete-instance", "orders-pg15"});
  EXPECT_EQ(other.exit_code, 2) << other.err;
  EXPECT_NE(other.err.find("this relocation made orders-pg15-pg17 and deletes no other instance"),
            std::string::npos)
      << other.err;
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_replication_slots", "app"), "1");
  CommandResult cleanup = Run("cleanup", config, {}, {"--delete-instance", kDestination});
  ASSERT_EQ(cleanup.exit_code, 0) << cleanup.err;
  EXPECT_NE(cleanup.out.find("delete the Cloud SQL instance orders-pg15-pg17"), std::string::npos)
      << cleanup.out;
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_replication_slots", "app"), "0");
  EXPECT_EQ(InDoubleLog("sqladmin DELETE /v1/projects/shop/instances/orders-pg15-pg17 200"), 1u)
      << DoubleLog();
  EXPECT_EQ(InDoubleLog("sqladmin DELETE /v1/projects/shop/instances/orders-pg15 "), 0u);
  EXPECT_FALSE(pg::Connection::Open(destination).ok());
}

// Google's refusals reach the user in Google's words; its quota answers are waited out.
TEST_F(CloudSqlTest, CredentialsGoogleRefusesAndQuotaAnswersAreTold) {
  nlohmann::json seed = Seed();
  seed["sqladmin_failures"] = 2;
  seed["sqladmin_failure_status"] = 429;
  ASSERT_NO_FATAL_FAILURE(StartDouble(seed));
  auto config = Config("upgrade:\n  engine_version: \"17\"\n");
  CommandResult check = Run("check", config);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_EQ(InDoubleLog(" 429 (injected)"), 2u) << DoubleLog();

  // A revoked refresh token (gcloud's authorized-user file): exit 1, Google's error, no secret.
  WriteAuthorizedUserFile("user.json", "1//revoked");
  const std::string upgrade = "upgrade:\n  engine_version: \"17\"\n";
  CommandResult revoked = Run("check", WriteConfig({.credentials = "user.json", .extra = upgrade}));
  EXPECT_EQ(revoked.exit_code, 1) << revoked.out << revoked.err;
  EXPECT_NE((revoked.out + revoked.err).find("invalid_grant"), std::string::npos)
      << revoked.out << revoked.err;
  EXPECT_EQ((revoked.out + revoked.err).find("1//revoked"), std::string::npos);
  EXPECT_EQ((revoked.out + revoked.err).find("csecret"), std::string::npos);

  // An instance the project does not have: the config is at fault (exit 2).
  CommandResult unknown = Run("check", WriteConfig({.source = "orders-pg16", .extra = upgrade}));
  EXPECT_EQ(unknown.exit_code, 2) << unknown.out << unknown.err;
  EXPECT_NE(unknown.out.find("no instance orders-pg16 in project shop"), std::string::npos)
      << unknown.out;
  EXPECT_EQ(InDoubleLog("sqladmin POST"), 0u) << DoubleLog();
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

  CommandResult older =
      Run("check", Config("upgrade:\n  method: clone\n  engine_version: \"14\"\n"));
  EXPECT_EQ(older.exit_code, 2) << older.out << older.err;
  EXPECT_NE(older.out.find("upgrade.engine_version 14 is older than the source's 15"),
            std::string::npos)
      << older.out;

  // A source user that is not Cloud SQL's admin: it could not create the replication user.
  ASSERT_TRUE(src_->Exec("CREATE ROLE plain LOGIN REPLICATION CREATEROLE PASSWORD 'plainpw'").ok());
  CommandResult not_admin =
      Run("check", WriteConfig({.login = "  user: plain\n  password: plainpw\n",
                                .extra = "upgrade:\n  engine_version: \"17\"\n"}));
  EXPECT_EQ(not_admin.exit_code, 1) << not_admin.out << not_admin.err;
  EXPECT_NE(not_admin.out.find("cloudsqlsuperuser (Cloud SQL's admin role"), std::string::npos)
      << not_admin.out;

  EXPECT_EQ(DoubleLog().find("sqladmin POST /v1/projects/shop/instances"), std::string::npos);
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_replication_slots", "app"), "0");
}

}  // namespace
}  // namespace dbr::test
