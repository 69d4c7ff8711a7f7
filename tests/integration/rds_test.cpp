// Provider rds end to end, against the RDS test double (tests/aws_double): a real PostgreSQL 15
// source registered as RDS instance "shop-db", a snapshot that is a physical copy taken while it
// runs, a restore that starts a new cluster from it (its log holds PostgreSQL's own recovery
// lines), and a live writer throughout. db_relocate talks to the double as it would to AWS.
#include "aws/rds.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cloud/rds_plan.h"
#include "harness/aws_double.h"
#include "harness/cluster.h"
#include "harness/loop_writer.h"
#include "harness/pgbench.h"
#include "harness/relocation.h"
#include "harness/wait.h"
#include "pg/lsn.h"
#include "util/files.h"
#include "util/text.h"

namespace dbr::test {
namespace {

constexpr const char* kKey = "AKIDRELOCATETEST";
constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYTESTSECRET";

class RdsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(StartSource(15)); }

  void StartSource(int major) {
    auto src = TestCluster::Start(major);
    ASSERT_TRUE(src.ok()) << src.message();
    src_ = std::move(*src);
    ASSERT_TRUE(src_->CreateDatabase("app").ok());
  }

  void TearDown() override { StopHeartbeatWriter(state_dir()); }

  std::filesystem::path state_dir() const { return tmp_.path() / "state"; }

  // The AWS account the double plays: the source instance, its network, keys and versions.
  nlohmann::json Seed() const {
    nlohmann::json source = {{"id", "shop-db"},
                             {"host", "127.0.0.1"},
                             {"port", src_->port()},
                             {"data_dir", src_->data_dir().string()},
                             {"bin_dir", src_->bin_dir().string()},
                             {"log_file", src_->log_file().string()},
                             {"major", 15},
                             {"admin_user", "ops"},
                             {"admin_password", "secret"},
                             {"engine_version", "15.18"},
                             {"instance_class", "db.r6g.large"},
                             {"storage_type", "gp3"},
                             {"allocated_storage", 100},
                             {"parameter_group", "shop-params"},
                             {"subnet_group", "shop-private"},
                             {"vpc_id", "vpc-1"},
                             {"security_groups", {"sg-1"}},
                             {"encrypted", false},
                             {"ca_identifier", "rds-ca-rsa2048-g1"}};
    return {{"region", "us-east-1"},
            {"credentials", {{{"access_key", kKey}, {"secret", kSecret}}}},
            {"instances", {source}},
            {"parameter_groups",
             {{{"name", "shop-params"},
               {"family", "postgres15"},
               {"parameters", {{"rds.logical_replication", "1"}}}},
              {{"name", "plain-params"},
               {"family", "postgres15"},
               {"parameters", nlohmann::json::object()}}}},
            {"subnet_groups", {{{"name", "shop-private"}, {"vpc_id", "vpc-1"}}}},
            {"vpcs", {{{"id", "vpc-1"}}}},
            {"security_groups", {{{"id", "sg-1"}, {"vpc_id", "vpc-1"}}}},
            {"kms_keys",
             {{{"id", "key-rds"},
               {"arn", "arn:aws:kms:us-east-1:123456789012:key/key-rds"},
               {"aliases", {"alias/aws/rds"}}}}},
            {"engine_versions",
             {{{"version", "15.18"},
               {"family", "postgres15"},
               {"valid_upgrade_targets",
                {{{"version", "15.19"}, {"is_major", false}},
                 {{"version", "16.9"}, {"is_major", true}}}}},
              {{"version", "15.19"},
               {"family", "postgres15"},
               {"valid_upgrade_targets", nlohmann::json::array()}},
              {{"version", "16.9"},
               {"family", "postgres16"},
               {"valid_upgrade_targets", nlohmann::json::array()}}}},
            {"orderable_options",
             {{{"engine_version", "15.18"}, {"instance_class", "db.r6g.large"}},
              {{"engine_version", "15.19"}, {"instance_class", "db.r6g.large"}},
              {{"engine_version", "16.9"}, {"instance_class", "db.r6g.large"}}}}};
  }

  // The account of Seed() with a source of the major `src_` runs, the engine versions of 13 to 17
  // (13.20 reaches 15 only through 14.17: two hops), a logical-replication parameter group per
  // family (shop<major>-params; 15's is shop-params) and the binaries of each major, with which
  // the double upgrades an instance for real.
  nlohmann::json MajorSeed() const {
    nlohmann::json seed = Seed();
    const int major = src_->major();
    const std::map<int, std::string> version = {
        {13, "13.20"}, {14, "14.17"}, {15, "15.18"}, {17, "17.5"}};
    seed["instances"][0]["major"] = major;
    seed["instances"][0]["engine_version"] = version.at(major);
    auto group = [](int m) {
      return m == 15 ? std::string("shop-params") : fmt::format("shop{}-params", m);
    };
    seed["instances"][0]["parameter_group"] = group(major);
    for (int m : {13, 14, 17})
      seed["parameter_groups"].push_back({{"name", group(m)},
                                          {"family", fmt::format("postgres{}", m)},
                                          {"parameters", {{"rds.logical_replication", "1"}}}});
    auto target = [](const char* v, bool major_upgrade) {
      return nlohmann::json{{"version", v}, {"is_major", major_upgrade}};
    };
    seed["engine_versions"] = {
        {{"version", "13.20"},
         {"family", "postgres13"},
         {"valid_upgrade_targets", {target("14.17", true)}}},
        {{"version", "14.17"},
         {"family", "postgres14"},
         {"valid_upgrade_targets", {target("15.19", true)}}},
        {{"version", "15.18"},
         {"family", "postgres15"},
         {"valid_upgrade_targets", {target("15.19", false), target("17.5", true)}}},
        {{"version", "15.19"},
         {"family", "postgres15"},
         {"valid_upgrade_targets", {target("17.5", true)}}},
        {{"version", "17.5"},
         {"family", "postgres17"},
         {"valid_upgrade_targets", nlohmann::json::array()}}};
    seed["orderable_options"] = nlohmann::json::array();
    for (const char* v : {"13.20", "14.17", "15.18", "15.19", "17.5"})
      seed["orderable_options"].push_back(
          {{"engine_version", v}, {"instance_class", "db.r6g.large"}});
    for (int m : {13, 14, 15, 17}) {
      auto bin = PgBinDir(m);
      if (bin.ok()) seed["bin_dirs"][std::to_string(m)] = bin->string();
    }
    return seed;
  }

  void StartDouble(const nlohmann::json& seed) {
    auto d = AwsDouble::Start(seed);
    ASSERT_TRUE(d.ok()) << d.message();
    double_ = std::move(*d);
  }

  std::filesystem::path Config(const std::string& extra = "") {
    auto path = tmp_.path() / "relocate.yaml";
    std::ofstream(path) << fmt::format(
        "provider: rds\n"
        "aws:\n  region: us-east-1\n  endpoint_url: {}\n"
        "src:\n  instance_id: shop-db\n  host: 127.0.0.1\n  port: {}\n  name: app\n"
        "  password: secret\n  schema: [public, \"Sales Ops\"]\n"
        "jobs: 2\nheartbeat_interval: 0.2\ncatchup_timeout: 120\nstate_dir: state\n{}",
        double_->endpoint(), src_->port(), extra);
    return path;
  }

  std::map<std::string, std::string> Env() const {
    return {{"AWS_ACCESS_KEY_ID", kKey},
            {"AWS_SECRET_ACCESS_KEY", kSecret},
            {"AWS_EC2_METADATA_DISABLED", "true"},
            {"AWS_SHARED_CREDENTIALS_FILE", (tmp_.path() / "no-credentials").string()},
            {"AWS_CONFIG_FILE", (tmp_.path() / "no-config").string()}};
  }

  CommandResult Run(const std::string& command, const std::filesystem::path& config,
                    std::map<std::string, std::string> extra_env = {}) {
    auto env = Env();
    for (auto& [k, v] : extra_env) env[k] = v;
    return RunDbRelocate({command, "--config", config.string()}, env);
  }

  nlohmann::json State() const {
    auto text = ReadFile(state_dir() / "state.json");
    return text.ok() ? nlohmann::json::parse(*text) : nlohmann::json::object();
  }

  // The test's own view of the account, through the same client db_relocate uses.
  aws::Rds& Aws() {
    if (!rds_) {
      AwsConfig c;
      c.endpoint_url = double_->endpoint();
      auto env = Env();
      client_ = std::make_unique<aws::AwsClient>(
          c, aws::MakeDefaultCredentialChain(c, [env](const std::string& name) {
            auto it = env.find(name);
            return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
          }));
      rds_ = std::make_unique<aws::Rds>(*client_);
    }
    return *rds_;
  }

  pg::ConnParams DestinationParams() const {
    auto state = State();
    pg::ConnParams p;
    p.host = state["rds"]["dst_host"];
    p.port = state["rds"]["dst_port"];
    p.user = "ops";
    p.password = "secret";
    p.dbname = "app";
    return p;
  }

  // Stops the writers, waits until the destination applied everything, compares every table.
  void ExpectSynced(LiveWriter* writer) {
    StopWritersAndExpectSynced(writer, state_dir(), *src_, "app", DestinationParams(),
                               kRichSchemas);
  }

  // No trace on the source and in AWS of a run that was refused.
  void ExpectNothingCreated() {
    EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_replication_slots", "app"), "0");
    EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_publication", "app"), "0");
    auto state = State();
    EXPECT_TRUE(!state.contains("rds") || state["rds"].value("snapshot", "").empty())
        << state.dump();
  }

  TempDir tmp_;
  std::unique_ptr<TestCluster> src_;
  std::unique_ptr<AwsDouble> double_;
  std::unique_ptr<aws::AwsClient> client_;
  std::unique_ptr<aws::Rds> rds_;
};

TEST_F(RdsTest, RelocatesALiveSourceThroughAnUpgradedEncryptedSnapshot) {
  ASSERT_TRUE(LoadRichSchema(*src_, "app", 20000).ok());
  // The source has a read replica (of another class): the new instance gets one too. Only its
  // description matters to the plan, so a plain cluster stands in for it.
  auto replica = TestCluster::Start(15);
  ASSERT_TRUE(replica.ok()) << replica.message();
  nlohmann::json seed = Seed();
  seed["instances"][0]["read_replica_ids"] = {"shop-db-ro"};
  seed["instances"].push_back({{"id", "shop-db-ro"},
                               {"port", (*replica)->port()},
                               {"data_dir", (*replica)->data_dir().string()},
                               {"bin_dir", (*replica)->bin_dir().string()},
                               {"log_file", (*replica)->log_file().string()},
                               {"major", 15},
                               {"engine_version", "15.18"},
                               {"instance_class", "db.r6g.xlarge"},
                               {"parameter_group", "shop-params"},
                               {"subnet_group", "shop-private"},
                               {"vpc_id", "vpc-1"},
                               {"security_groups", {"sg-1"}},
                               {"read_replica_source", "shop-db"}});
  // Another subscriber on the source server (database `other`, fed from `pub`): the new
  // instance's copy of its subscription must not take what its slot holds for the real one.
  ASSERT_TRUE(src_->CreateDatabase("pub").ok());
  ASSERT_TRUE(src_->CreateDatabase("other").ok());
  for (const char* db : {"pub", "other"})
    ASSERT_TRUE(src_->Exec("CREATE TABLE feed (id int PRIMARY KEY)", db).ok());
  ASSERT_TRUE(src_->Exec("CREATE PUBLICATION feed_pub FOR TABLE feed", "pub").ok());
  ASSERT_TRUE(
      src_->Exec("SELECT pg_create_logical_replication_slot('feed_slot', 'pgoutput')", "pub").ok());
  ASSERT_TRUE(src_->Exec(fmt::format("CREATE SUBSCRIPTION feed_sub CONNECTION 'host=127.0.0.1 "
                                     "port={} dbname=pub user=ops password=secret' PUBLICATION "
                                     "feed_pub WITH (create_slot = false, slot_name = feed_slot)",
                                     src_->port()),
                         "other")
                  .ok());
  StartDouble(seed);
  LiveWriter writer(*src_, "app");
  auto config = Config("upgrade:\n  engine_version: \"15.19\"\n");

  CommandResult check = Run("check", config);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("15.18 -> 15.19"), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("copied encrypted"), std::string::npos) << check.out;
  // plan shows the same steps from AWS, and the RDS copy.
  CommandResult plan = Run("plan", config);
  EXPECT_EQ(plan.exit_code, 0) << plan.out << plan.err;
  EXPECT_NE(plan.out.find("15.18 -> 15.19"), std::string::npos) << plan.out;
  EXPECT_NE(plan.out.find("Copy: RDS snapshot of the source instance"), std::string::npos)
      << plan.out;

  auto orderability_checks = [&] {
    auto read = ReadFile(double_->log_file());
    const std::string log = read.ok() ? *read : "";
    size_t n = 0;
    for (size_t at = log.find("DescribeOrderableDBInstanceOptions"); at != std::string::npos;
         at = log.find("DescribeOrderableDBInstanceOptions", at + 1))
      ++n;
    return n;
  };
  const size_t checks_before_run = orderability_checks();
  CommandResult r = Run("run", config);
  ASSERT_EQ(r.exit_code, 0) << r.err << "\n" << double_->LogTail();
  EXPECT_NE(r.err.find("heartbeat verified"), std::string::npos) << r.err;
  // The plan is made once per run (by its pre-flight): the class checked once at 15.18 (the
  // restore) and once at 15.19.
  EXPECT_EQ(orderability_checks() - checks_before_run, 2u);
  EXPECT_EQ(r.err.find(kSecret), std::string::npos);
  EXPECT_EQ(r.out.find(kSecret), std::string::npos);

  // The LSN found in the new instance's log lies between the source positions around the
  // snapshot, and the origin was advanced exactly there.
  auto state = State();
  auto lsn = pg::Lsn::Parse(state["snapshot_lsn"].get<std::string>());
  auto before = pg::Lsn::Parse(state["rds"]["lsn_before"].get<std::string>());
  auto after = pg::Lsn::Parse(state["rds"]["lsn_after"].get<std::string>());
  ASSERT_TRUE(lsn && before && after) << state.dump(2);
  EXPECT_LE(*before, *lsn);
  EXPECT_LE(*lsn, *after);
  EXPECT_EQ(state["rds"]["phase"], "done");
  EXPECT_EQ(state["rds"]["instance"], "shop-db-v15");

  // What AWS holds now: the new instance, upgraded and encrypted; no intermediate snapshot.
  auto instance = Aws().DescribeInstance("shop-db-v15");
  ASSERT_TRUE(instance.ok()) << instance.message();
  EXPECT_EQ(instance->engine_version, "15.19");
  EXPECT_TRUE(instance->encrypted);
  EXPECT_EQ(instance->parameter_group, "shop-params");
  EXPECT_EQ(instance->instance_class, "db.r6g.large");
  EXPECT_EQ(instance->ca_identifier, "rds-ca-rsa2048-g1");
  for (const std::string& id : {state["rds"]["snapshot"].get<std::string>(),
                                state["rds"]["encrypted_snapshot"].get<std::string>()}) {
    auto snap = Aws().FindSnapshot(id);
    ASSERT_TRUE(snap.ok()) << snap.message();
    EXPECT_FALSE(snap->has_value()) << id << " was not deleted";
  }
  // The copied slot does not linger on the new instance; the source's slot streams to it.
  auto dst = pg::Connection::Open(DestinationParams());
  ASSERT_TRUE(dst.ok()) << dst.message();
  EXPECT_EQ(*dst->QueryValue("SELECT count(*) FROM pg_replication_slots"), "0");
  EXPECT_EQ(*dst->QueryValue("SELECT count(*) FROM pg_subscription WHERE subenabled"), "1");
  EXPECT_EQ(*dst->QueryValue("SELECT subenabled::text || ',' || COALESCE(subslotname, '-') FROM "
                             "pg_subscription WHERE subname = 'feed_sub'"),
            "false,-");
  EXPECT_NE(r.err.find("copied subscription feed_sub in database other is disabled"),
            std::string::npos)
      << r.err;
  // The real subscriber still gets every row.
  ASSERT_TRUE(src_->Exec("INSERT INTO feed SELECT generate_series(1, 100)", "pub").ok());
  std::string fed;
  for (int i = 0; i < 150 && fed != "100"; ++i) {
    fed = *src_->QueryValue("SELECT count(*) FROM feed", "other");
    if (fed != "100") std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(fed, "100");

  ExpectSynced(&writer);

  // Its read replica streams from it: a real standby holding the same rows.
  ASSERT_EQ(state["rds"]["replicas"].size(), 1u) << state.dump(2);
  auto ro = Aws().DescribeInstance("shop-db-v15-replica-1");
  ASSERT_TRUE(ro.ok()) << ro.message();
  EXPECT_EQ(ro->instance_class, "db.r6g.xlarge");
  EXPECT_EQ(ro->replica_source, "shop-db-v15");
  pg::ConnParams ro_params = DestinationParams();
  ro_params.port = ro->endpoint_port;
  auto ro_conn = pg::Connection::Open(ro_params);
  ASSERT_TRUE(ro_conn.ok()) << ro_conn.message();
  EXPECT_EQ(*ro_conn->QueryValue("SELECT pg_is_in_recovery()"), "t");
  EXPECT_EQ(*ro_conn->QueryValue("SELECT count(*) > 0 FROM db_relocate.heartbeat"), "t");

  CommandResult status = Run("status", config);
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("RDS destination: shop-db-v15"), std::string::npos) << status.out;

  CommandResult cleanup = Run("cleanup", config);
  ASSERT_EQ(cleanup.exit_code, 0) << cleanup.err;
  // Only the other subscriber's slot is left.
  EXPECT_EQ(*src_->QueryValue("SELECT string_agg(slot_name, ',') FROM pg_replication_slots", "app"),
            "feed_slot");
  EXPECT_EQ(*dst->QueryValue("SELECT count(*) FROM pg_publication"), "0");
  EXPECT_EQ(*dst->QueryValue("SELECT count(*) FROM pg_roles WHERE rolname = 'upgrade'"), "0");
}

// Killed at each wait, the same command again picks the AWS resources up where they are; a config
// that names another destination instance meanwhile is refused.
TEST_F(RdsTest, ResumesAfterKillDuringEveryAwsWait) {
  ASSERT_TRUE(LoadRichSchema(*src_, "app", 5000).ok());
  StartDouble(Seed());
  LiveWriter writer(*src_, "app");
  auto config = Config();
  for (const char* point :
       {"rds:snapshot-requested", "rds:encrypt", "rds:restore-requested", "rds:lsn", "rds:warm"}) {
    CommandResult r = Run("run", config, {{"DBR_CRASH_AT", point}});
    ASSERT_EQ(r.exit_code, 137) << point << ": " << r.err;
    if (std::string(point) != "rds:restore-requested" && std::string(point) != "rds:warm") continue;
    // The restore recorded (then restored): a config naming another destination is refused, and
    // nothing is made for it.
    CommandResult moved = Run("run", Config("dst:\n  instance_id: shop-db-elsewhere\n"));
    EXPECT_EQ(moved.exit_code, 2) << point << ": " << moved.out << moved.err;
    for (const char* part :
         {"dst.instance_id is shop-db-elsewhere, and the relocation in state_dir",
          "has shop-db-v15 as its destination: put back dst.instance_id: shop-db-v15",
          "aws rds delete-db-instance --skip-final-snapshot --db-instance-identifier shop-db-v15"})
      EXPECT_NE(moved.err.find(part), std::string::npos) << point << ": " << part << " in\n"
                                                         << moved.err;
    auto elsewhere = Aws().FindInstance("shop-db-elsewhere");
    ASSERT_TRUE(elsewhere.ok()) << elsewhere.message();
    EXPECT_FALSE(elsewhere->has_value());
    config = Config();
  }
  CommandResult r = Run("run", config);
  ASSERT_EQ(r.exit_code, 0) << r.err << "\n" << double_->LogTail();
  EXPECT_NE(r.err.find("heartbeat verified"), std::string::npos) << r.err;
  ExpectSynced(&writer);
}

// A run killed while AWS still works on its snapshot: cleanup finds the snapshot through the run
// state, deletes it, and leaves no slot retaining WAL on the source.
TEST_F(RdsTest, CleanupAfterAnInterruptedRunFindsItsSnapshot) {
  ASSERT_TRUE(LoadRichSchema(*src_, "app", 1000).ok());
  StartDouble(Seed());
  auto config = Config();
  CommandResult r = Run("run", config, {{"DBR_CRASH_AT", "rds:snapshot-requested"}});
  ASSERT_EQ(r.exit_code, 137) << r.err;
  const std::string snapshot = State()["rds"]["snapshot"];
  auto found = Aws().FindSnapshot(snapshot);
  ASSERT_TRUE(found.ok() && found->has_value()) << snapshot;

  CommandResult dry = RunDbRelocate({"cleanup", "--config", config.string(), "--dry-run"}, Env());
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_NE(dry.out.find("delete the RDS snapshot " + snapshot), std::string::npos) << dry.out;

  CommandResult cleanup = Run("cleanup", config);
  ASSERT_EQ(cleanup.exit_code, 0) << cleanup.err;
  found = Aws().FindSnapshot(snapshot);
  ASSERT_TRUE(found.ok()) << found.message();
  EXPECT_FALSE(found->has_value()) << snapshot << " is still there";
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_replication_slots", "app"), "0");
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_publication", "app"), "0");
}

// The LSN logic is what the heartbeat verification proves: an origin advanced past the real end
// of the restored data (here: to where the source is after the restore) loses the rows written in
// between, and the run says so instead of declaring success. Run with upgrade.method snapshot,
// whose LSN rests on more assumptions about AWS than method instance's.
TEST_F(RdsTest, AnLsnFromTheWrongMomentIsCaught) {
  ASSERT_TRUE(LoadRichSchema(*src_, "app", 2000).ok());
  StartDouble(Seed());
  auto config = Config("upgrade:\n  method: snapshot\n");
  CommandResult r = Run("run", config, {{"DBR_CRASH_AT", "rds:prepare"}});
  ASSERT_EQ(r.exit_code, 137) << r.err;
  // Heartbeats land after the true LSN: a few more from the heartbeat writer.
  auto latest_beat = [&] {
    auto seq = src_->QueryValue("SELECT COALESCE(max(seq), 0) FROM db_relocate.heartbeat", "app");
    return seq.ok() ? std::stoll(*seq) : int64_t{0};
  };
  const int64_t beat_at_crash = latest_beat();
  ASSERT_TRUE(WaitFor([&] { return latest_beat() >= beat_at_crash + 3; }, std::chrono::seconds(60)))
      << "the heartbeat writer wrote no 3 heartbeats after " << beat_at_crash;
  auto state = State();
  auto late = src_->QueryValue("SELECT pg_current_wal_insert_lsn()::text", "app");
  ASSERT_TRUE(late.ok());
  ASSERT_LT(*pg::Lsn::Parse(state["snapshot_lsn"].get<std::string>()), *pg::Lsn::Parse(*late));
  state["snapshot_lsn"] = *late;
  ASSERT_TRUE(WriteFileAtomic(state_dir() / "state.json", state.dump(2)).ok());

  r = Run("run", config);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("missing on the destination"), std::string::npos) << r.err;
}

TEST_F(RdsTest, BadInputIsRefusedBeforeAnythingIsCreated) {
  nlohmann::json seed = Seed();
  seed["credentials"].push_back(
      {{"access_key", "AKIDEXPIRED"}, {"secret", "x"}, {"expired", true}});
  seed["faults"] = {{{"action", "DescribeDBParameters"},
                     {"code", "Throttling"},
                     {"status", 400},
                     {"message", "Rate exceeded"},
                     {"times", 2}}};
  StartDouble(seed);

  // Throttled twice, then answered: retried with backoff, and the check passes.
  CommandResult ok = Run("check", Config());
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;

  struct Case {
    const char* name;
    std::string extra;
    std::map<std::string, std::string> env;
    int exit_code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"unknown instance", "", {}, 2, "no DB instance shop-xx"},
      {"unreachable upgrade target",
       "upgrade:\n  engine_version: \"17\"\n",
       {},
       2,
       "15.18 cannot be upgraded to 17"},
      {"parameter group of the wrong family",
       "upgrade:\n  engine_version: \"16\"\n  parameter_group: plain-params\n",
       {},
       2,
       "plain-params is of family postgres15, the new instance needs postgres16"},
      {"expired credentials",
       "",
       {{"AWS_ACCESS_KEY_ID", "AKIDEXPIRED"}, {"AWS_SECRET_ACCESS_KEY", "x"}},
       1,
       "expired"},
      {"unknown KMS key",
       "upgrade:\n  kms_id: alias/nope\n",
       {},
       2,
       "KMS key alias/nope not found"},
      {"destination identifier RDS refuses",
       "dst:\n  instance_id: " + std::string(64, 'x') + "\n",
       {},
       2,
       "a DB instance identifier has 1 to 63 characters, this one 64"},
      {"destination that exists",
       "dst:\n  instance_id: shop-db\n",
       {},
       2,
       "DB instance shop-db already exists"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto config = Config(c.extra);
    if (std::string(c.name) == "unknown instance") {
      std::string text = *ReadFile(config);
      text.replace(text.find("instance_id: shop-db"), 20, "instance_id: shop-xx");
      std::ofstream(config) << text;
    }
    CommandResult r = Run("run", config, c.env);
    EXPECT_EQ(r.exit_code, c.exit_code) << r.out << r.err;
    EXPECT_NE((r.out + r.err).find(c.message), std::string::npos) << r.out << r.err;
    ExpectNothingCreated();
  }
}

TEST_F(RdsTest, SourceWithoutLogicalReplicationGetsTheExactFix) {
  nlohmann::json seed = Seed();
  seed["instances"][0]["parameter_group"] = "plain-params";
  StartDouble(seed);
  CommandResult r = Run("run", Config());
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const std::string said = r.out + r.err;
  EXPECT_NE(said.find("rds.logical_replication is not set in parameter group plain-params"),
            std::string::npos)
      << said;
  EXPECT_NE(said.find("ParameterName=rds.logical_replication,ParameterValue=1"), std::string::npos)
      << said;
  ExpectNothingCreated();
}

// Only with upgrade.allow_source_reboot does db_relocate change the source's parameter group and
// reboot it (downtime), then carry on.
TEST_F(RdsTest, AllowedSourceRebootTurnsLogicalReplicationOn) {
  nlohmann::json seed = Seed();
  seed["instances"][0]["parameter_group"] = "plain-params";
  // Another instance on the same group gets the change too, at its next reboot: said first. (Its
  // description is all that matters; it stands on the same cluster.)
  nlohmann::json other = seed["instances"][0];
  other["id"] = "billing-db";
  seed["instances"].push_back(other);
  StartDouble(seed);
  // The source runs as that group says: without logical replication.
  ASSERT_TRUE(src_->Restart({{"wal_level", "replica"}}).ok());
  auto config = Config("upgrade:\n  allow_source_reboot: true\n");
  CommandResult check = Run("check", config);
  EXPECT_NE(check.out.find("the group is shared: the change also reaches billing-db"),
            std::string::npos)
      << check.out;
  CommandResult r = Run("run", config, {{"DBR_CRASH_AT", "before:heartbeat"}});
  EXPECT_EQ(r.exit_code, 137) << r.err;
  EXPECT_NE(r.err.find("rebooting the source instance shop-db"), std::string::npos) << r.err;
  auto params = Aws().Parameters("plain-params");
  ASSERT_TRUE(params.ok()) << params.message();
  EXPECT_EQ((*params)["rds.logical_replication"], "1");
  auto source = Aws().DescribeInstance("shop-db");
  ASSERT_TRUE(source.ok()) << source.message();
  EXPECT_EQ(source->status, "available");
  EXPECT_EQ(*src_->QueryValue("SHOW wal_level"), "logical");
}

// AWS says "pending-reboot" of a whole group: here another static parameter waits for the
// source's next reboot while logical replication is in effect. Nothing to reboot for; the check
// passes without allow_source_reboot, and with it the production source is not rebooted.
TEST_F(RdsTest, AnotherParameterWaitingForARebootDoesNotRebootTheSource) {
  StartDouble(Seed());
  ASSERT_TRUE(Aws().SetParameter("shop-params", "max_wal_senders", "25").ok());
  auto source = Aws().DescribeInstance("shop-db");
  ASSERT_TRUE(source.ok()) << source.message();
  ASSERT_EQ(source->parameter_apply_status, "pending-reboot");
  auto started = src_->QueryValue("SELECT pg_postmaster_start_time()");
  ASSERT_TRUE(started.ok()) << started.message();

  CommandResult check = Run("check", Config());
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("the group has changes waiting for a reboot of the source"),
            std::string::npos)
      << check.out;
  CommandResult r = Run("run", Config("upgrade:\n  allow_source_reboot: true\n"),
                        {{"DBR_CRASH_AT", "before:heartbeat"}});
  EXPECT_EQ(r.exit_code, 137) << r.err;
  EXPECT_EQ(r.err.find("rebooting the source"), std::string::npos) << r.err;
  EXPECT_EQ(*src_->QueryValue("SELECT pg_postmaster_start_time()"), *started);
}

// Restored at the source's major, the instance keeps the snapshot's logical slot: a group
// without logical replication would leave it unable to start, hours into the run. Refused first.
TEST_F(RdsTest, SameMajorGroupWithoutLogicalReplicationIsRefusedBeforeAnySnapshot) {
  StartDouble(Seed());
  CommandResult r = Run("run", Config("upgrade:\n  parameter_group: plain-params\n"));
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("plain-params (postgres15) has rds.logical_replication off: the instance "
                       "restored with it would not start"),
            std::string::npos)
      << r.err;
  ExpectNothingCreated();
}

// upgrade.method instance (the default) across majors: the snapshot is restored at the source's
// version, its LSN read from that restore's own recovery, and ModifyDBInstance upgrades the
// restored instance hop by hop. The double upgrades for real (a cluster of each new major with
// the same rows, no logical slot, fresh WAL).
class RdsMajorTest : public RdsTest {
 protected:
  void SetUp() override {}

  // The destination's server major, through its own connection.
  std::string DestinationMajor() {
    auto dst = pg::Connection::Open(DestinationParams());
    if (!dst.ok()) return dst.message();
    auto v = dst->QueryValue("SELECT current_setting('server_version_num')::int / 10000");
    return v.ok() ? *v : v.message();
  }

  // After a successful run: instance `id` at `version` in `group`, its server of that major,
  // every table equal once the writers stop, and `cleanup` leaving no slot on the source.
  void ExpectRelocatedTo(const std::string& id, const std::string& version,
                         const std::string& group, LiveWriter* writer,
                         const std::filesystem::path& config) {
    auto instance = Aws().DescribeInstance(id);
    ASSERT_TRUE(instance.ok()) << instance.message();
    EXPECT_EQ(instance->engine_version, version);
    EXPECT_EQ(instance->parameter_group, group);
    EXPECT_EQ(DestinationMajor(), MajorOf(version));
    ExpectSynced(writer);
    const nlohmann::json rds = State()["rds"];
    CommandResult cleanup = Run("cleanup", config);
    ASSERT_EQ(cleanup.exit_code, 0) << cleanup.err;
    EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_replication_slots", "app"), "0");
    for (const char* key : {"snapshot", "encrypted_snapshot"}) {
      const std::string snapshot = rds.value(key, "");
      if (snapshot.empty()) continue;
      auto found = Aws().FindSnapshot(snapshot);
      ASSERT_TRUE(found.ok()) << found.message();
      EXPECT_FALSE(found->has_value()) << snapshot << " is left in AWS";
    }
  }
};

// 13 -> 15 in two hops (13.20 -> 14.17 -> 15.19), killed once before the upgrades and once inside
// each ModifyDBInstance wait: each rerun resumes the wait, then requests the next hop, and the
// run ends equal.
TEST_F(RdsMajorTest, ThirteenToFifteenInTwoInstanceHopsSurvivesAKillInEach) {
  ASSERT_NO_FATAL_FAILURE(StartSource(13));
  ASSERT_TRUE(LoadRichSchema(*src_, "app", 3000).ok());
  StartDouble(MajorSeed());
  LiveWriter writer(*src_, "app");
  auto config = Config("upgrade:\n  engine_version: \"15\"\n  parameter_group: shop-params\n");

  CommandResult check = Run("check", config);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("13.20 -> 15.19 (14.17, 15.19)"), std::string::npos) << check.out;
  EXPECT_NE(check.out.find("instance: the snapshot is restored at 13.20"), std::string::npos)
      << check.out;

  // Killed with the restored instance reachable: the rerun sees its server before the upgrades
  // replace it, and follows it through them.
  CommandResult restored = Run("run", config, {{"DBR_CRASH_AT", "rds:prepare"}});
  ASSERT_EQ(restored.exit_code, 137) << restored.err;
  EXPECT_NE(restored.err.find("(rule: "), std::string::npos) << restored.err;  // which gave the LSN
  CommandResult midway = Run("check", config);  // knows the instance as the relocation's
  EXPECT_NE(midway.out.find("shop-db-v15 (restored by this relocation)"), std::string::npos)
      << midway.out << midway.err;
  for (const char* hop : {"14.17", "15.19"}) {
    CommandResult r = Run("run", config,
                          {{"DBR_CRASH_AT", std::string("rds:instance-upgrade-requested:") + hop}});
    ASSERT_EQ(r.exit_code, 137) << hop << ": " << r.err << "\n" << double_->LogTail();
    EXPECT_NE(r.err.find(std::string("to ") + hop + " (ModifyDBInstance, parameter group "),
              std::string::npos)
        << r.err;
  }
  CommandResult r = Run("run", config);
  ASSERT_EQ(r.exit_code, 0) << r.err << "\n" << double_->LogTail();
  EXPECT_NE(r.err.find("instance shop-db-v15 runs PostgreSQL 15.19"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("heartbeat verified"), std::string::npos) << r.err;

  auto state = State();
  ASSERT_EQ(state["rds"]["instance_hops"].size(), 2u) << state.dump(2);
  for (const auto& hop : state["rds"]["instance_hops"])
    EXPECT_GT(hop["seconds"].get<double>(), 0) << state.dump(2);
  ExpectRelocatedTo("shop-db-v15", "15.19", "shop-params", &writer, config);
}

// RDS's master user is no superuser: it holds rds_superuser (AWS keeps the superuser, rdsadmin:
// here the double's own ops). On PostgreSQL 16+ such a user creates the replication user itself.
// The whole run, verify and cleanup as that user, its tables its own, under a live writer.
TEST_F(RdsMajorTest, AMasterUserWithoutSuperuserRelocatesALiveSource) {
  ASSERT_NO_FATAL_FAILURE(StartSource(17));
  ASSERT_TRUE(src_->Exec("CREATE ROLE admin LOGIN PASSWORD 'adminpw' CREATEDB CREATEROLE "
                         "REPLICATION; GRANT pg_monitor, pg_signal_backend, pg_read_all_settings, "
                         "pg_create_subscription TO admin; ALTER DATABASE app OWNER TO admin")
                  .ok());
  ASSERT_TRUE(src_->Exec("GRANT EXECUTE ON FUNCTION pg_replication_origin_advance(text, pg_lsn), "
                         "pg_replication_origin_progress(text, boolean) TO admin",
                         "app")
                  .ok());
  const pg::ConnParams admin = src_->Params("app", "admin", "adminpw");
  {
    auto conn = pg::Connection::Open(admin);
    ASSERT_TRUE(conn.ok()) << conn.message();
    ASSERT_TRUE(conn->Exec("CREATE ROLE app LOGIN PASSWORD 'apppw'; "
                           "CREATE TABLE ledger (id bigserial PRIMARY KEY, client int, note text); "
                           "INSERT INTO ledger (note) SELECT md5(g::text) "
                           "FROM generate_series(1, 20000) g; "
                           "GRANT SELECT, INSERT, UPDATE ON ledger TO app; "
                           "GRANT USAGE ON SEQUENCE ledger_id_seq TO app")
                    .ok());
  }
  nlohmann::json seed = MajorSeed();
  seed["instances"][0]["master_username"] = "admin";
  StartDouble(seed);
  auto writer = std::make_unique<LoopWriter>(admin, [](int64_t i) {
    return fmt::format(
        "INSERT INTO ledger (note) VALUES ('w{0}'); "
        "UPDATE ledger SET note = note || '+' WHERE id = {0} % 20000 + 1",
        i);
  });
  std::filesystem::permissions(
      tmp_.path(), std::filesystem::perms::others_exec | std::filesystem::perms::group_exec,
      std::filesystem::perm_options::add);
  auto proxy_port = PickFreePort();
  ASSERT_TRUE(proxy_port.ok());
  const auto config = tmp_.path() / "admin.yaml";
  auto write_config = [&](const std::string& auth_file) {
    std::string text = *ReadFile(Config(
        fmt::format("cutover:\n  type: pgbouncer\n  manage: true\n  listen: 127.0.0.1:{}\n{}",
                    *proxy_port, auth_file.empty() ? "" : "  auth_file: " + auth_file + "\n")));
    const std::string password = "  password: secret\n";
    text.replace(text.find(password), password.size(), "  user: admin\n  password: adminpw\n");
    std::ofstream(config) << text;
  };
  // The master user cannot read pg_authid: PgBouncer's userlist is the user's to write, with a
  // line for the admin console's user (check says so before anything is made).
  write_config("");
  CommandResult no_userlist = Run("check", config);
  EXPECT_EQ(no_userlist.exit_code, 2) << no_userlist.out;
  EXPECT_NE(no_userlist.out.find("cannot read pg_authid"), std::string::npos) << no_userlist.out;
  const auto users = tmp_.path() / "users.txt";
  std::ofstream(users) << "\"app\" \"apppw\"\n";
  write_config(users.string());
  CommandResult no_admin = Run("check", config);
  EXPECT_EQ(no_admin.exit_code, 2) << no_admin.out;
  EXPECT_NE(no_admin.out.find("no line for cutover.admin_user admin"), std::string::npos)
      << no_admin.out;
  std::ofstream(users) << "\"admin\" \"adminpw\"\n\"app\" \"apppw\"\n";
  // The return replication at the cut-over subscribes on the source: without
  // pg_create_subscription there, check says so before anything is made.
  ASSERT_TRUE(src_->Exec("REVOKE pg_create_subscription FROM admin").ok());
  CommandResult no_subscription = Run("check", config);
  EXPECT_EQ(no_subscription.exit_code, 1) << no_subscription.out;
  EXPECT_NE(no_subscription.out.find("pg_create_subscription (the return replication"),
            std::string::npos)
      << no_subscription.out;
  ASSERT_TRUE(src_->Exec("GRANT pg_create_subscription TO admin").ok());
  // The managed PgBouncer `run` starts is stopped at the end, whatever happened.
  std::shared_ptr<void> stop_proxy(nullptr, [&](void*) {
    CommandResult stopped = RunDbRelocate({"proxy", "--stop", "--config", config.string()}, Env());
    EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  });

  CommandResult check = Run("check", config);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("admin can replicate and create roles"), std::string::npos) << check.out;
  CommandResult r = Run("run", config);
  ASSERT_EQ(r.exit_code, 0) << r.err << "\n" << double_->LogTail();
  EXPECT_NE(r.err.find("heartbeat verified"), std::string::npos) << r.err;
  auto dst = pg::Connection::Open(DestinationParams());
  ASSERT_TRUE(dst.ok()) << dst.message();
  EXPECT_EQ(*dst->QueryValue("SELECT subowner::regrole::text FROM pg_subscription"), "admin");
  EXPECT_EQ(*src_->QueryValue("SELECT rolsuper FROM pg_roles WHERE rolname = 'admin'"), "f");
  writer->Stop();
  ASSERT_TRUE(writer->error().empty()) << writer->error();
  const int64_t written = writer->rounds();
  ASSERT_GT(written, 0);
  writer.reset();

  // The application, through PgBouncer, there and back.
  auto source = src_->Connect("app");
  ASSERT_TRUE(source.ok());
  int64_t committed = 0;
  ASSERT_NO_FATAL_FAILURE(MoveTheApplicationThereAndBack(
      tmp_.path(), *proxy_port, "app", *source, *dst,
      [&](const std::string& command) { return Run(command, config); }, &committed));
  // Every row committed, each once, on the primary.
  EXPECT_EQ(*source->QueryValue("SELECT count(*) FROM ledger"),
            std::to_string(20000 + written + committed));
  StopWritersAndExpectSynced(nullptr, state_dir(), *src_, "app", DestinationParams(),
                             {"public", "db_relocate"}, 2);
  CommandResult verified = Run("verify", config);
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  CommandResult cleanup = Run("cleanup", config);
  ASSERT_EQ(cleanup.exit_code, 0) << cleanup.err;
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_replication_slots"), "0");
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_roles WHERE rolreplication AND NOT "
                              "rolsuper AND rolname <> 'admin'"),
            "0");
}

// 15 -> 17 in one hop, from a snapshot that is a base backup. A logical slot left on the restored
// instance makes AWS refuse the upgrade at its pre-check: the run stops with AWS's own words (its
// event and pg_upgrade_precheck.log), having subscribed nothing; once the slot is gone, the same
// command finishes the relocation.
TEST_F(RdsMajorTest, FifteenToSeventeenReportsAwsPrecheckRefusalThenFinishes) {
  ASSERT_NO_FATAL_FAILURE(StartSource(15));
  ASSERT_TRUE(LoadRichSchema(*src_, "app", 3000).ok());
  // The snapshot an online base backup (the other tests: crash-consistent, as RDS's are), so
  // that both forms of the restore's recovery log run end to end.
  nlohmann::json seed = MajorSeed();
  seed["snapshot_mode"] = "backup";
  StartDouble(seed);
  LiveWriter writer(*src_, "app");
  auto config = Config("upgrade:\n  engine_version: \"17\"\n  parameter_group: shop17-params\n");

  CommandResult first = Run("run", config, {{"DBR_CRASH_AT", "rds:upgrade-instance"}});
  ASSERT_EQ(first.exit_code, 137) << first.err << "\n" << double_->LogTail();
  EXPECT_NE(first.err.find("(rule: "), std::string::npos) << first.err;
  {
    auto dst = pg::Connection::Open(DestinationParams());
    ASSERT_TRUE(dst.ok()) << dst.message();
    EXPECT_EQ(*dst->QueryValue("SELECT current_setting('server_version_num')::int / 10000"), "15");
    ASSERT_TRUE(
        dst->Exec("SELECT pg_create_logical_replication_slot('left_behind', 'pgoutput')").ok());
  }
  CommandResult refused = Run("run", config);
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  for (const char* part :
       {"AWS did not upgrade instance shop-db-v17 from PostgreSQL 15.18 to 17.5",
        "The instance could not be upgraded because it has one or more logical replication slots",
        "pg_upgrade_precheck", "left_behind", "Nothing was subscribed"})
    EXPECT_NE(refused.err.find(part), std::string::npos) << part << " in:\n" << refused.err;
  auto instance = Aws().DescribeInstance("shop-db-v17");
  ASSERT_TRUE(instance.ok()) << instance.message();
  EXPECT_EQ(instance->engine_version, "15.18");
  EXPECT_EQ(instance->status, "available");
  {
    auto dst = pg::Connection::Open(DestinationParams());
    ASSERT_TRUE(dst.ok()) << dst.message();
    EXPECT_EQ(*dst->QueryValue("SELECT count(*) FROM pg_subscription"), "0");
    ASSERT_TRUE(dst->Exec("SELECT pg_drop_replication_slot('left_behind')").ok());
  }

  CommandResult r = Run("run", config);
  ASSERT_EQ(r.exit_code, 0) << r.err << "\n" << double_->LogTail();
  EXPECT_NE(r.err.find("heartbeat verified"), std::string::npos) << r.err;
  ExpectRelocatedTo("shop-db-v17", "17.5", "shop17-params", &writer, config);
}

// A transaction prepared on the source after the slot and before the snapshot is copied prepared:
// on the restored instance it would hold its locks and make AWS refuse the upgrade (pre-check).
// The run rolls it back there; committed on the source later, its rows arrive by replication.
TEST_F(RdsMajorTest, APreparedTransactionCopiedByTheSnapshotIsRolledBackOnTheCopy) {
  ASSERT_NO_FATAL_FAILURE(StartSource(15));
  ASSERT_TRUE(src_->Restart({{"max_prepared_transactions", "4"}}).ok());
  ASSERT_TRUE(LoadRichSchema(*src_, "app", 3000).ok());
  ASSERT_TRUE(src_->Exec("CREATE TABLE held (id int PRIMARY KEY, note text); "
                         "INSERT INTO held VALUES (1, 'before')",
                         "app")
                  .ok());
  nlohmann::json seed = MajorSeed();
  for (auto& group : seed["parameter_groups"])
    group["parameters"]["max_prepared_transactions"] = "4";  // the copy can hold what it finds
  StartDouble(seed);
  LiveWriter writer(*src_, "app");
  auto config = Config("upgrade:\n  engine_version: \"17\"\n  parameter_group: shop17-params\n");

  // Paused with the slot made and the snapshot not yet asked for.
  auto env = Env();
  PauseWindow window("rds:snapshot", tmp_.path() / "release");
  env.merge(window.Env());
  BackgroundDbRelocate run({"run", "--config", config.string()}, tmp_.path() / "run.log", env);
  ASSERT_TRUE(run.WaitForLog("step snapshot: ")) << run.Log();
  auto app = src_->Connect("app");
  ASSERT_TRUE(app.ok()) << app.message();
  ASSERT_TRUE(app->Exec("BEGIN").ok());
  ASSERT_TRUE(app->Exec("INSERT INTO held VALUES (2, 'prepared')").ok());
  ASSERT_TRUE(app->Exec("UPDATE held SET note = 'changed by the prepared one' WHERE id = 1").ok());
  ASSERT_TRUE(app->Exec("PREPARE TRANSACTION 'in-flight'").ok());
  EXPECT_EQ(run.Log().find("creating snapshot"), std::string::npos) << "too late: " << run.Log();
  window.Release();

  // Synced, the run's verify waits for the transaction to end on the source, and says so.
  ASSERT_TRUE(run.WaitForLog("waits until these transactions end: 'in-flight' in database app",
                             std::chrono::minutes(5)))
      << run.Log() << "\n"
      << double_->LogTail();
  EXPECT_NE(run.Log().find("rolled back the prepared transaction 'in-flight' (owner ops) in "
                           "database app, copied to the new instance"),
            std::string::npos)
      << run.Log();
  {
    auto dst = pg::Connection::Open(DestinationParams());
    ASSERT_TRUE(dst.ok()) << dst.message();
    EXPECT_EQ(*dst->QueryValue("SELECT count(*) FROM pg_prepared_xacts"), "0");
    EXPECT_EQ(*dst->QueryValue("SELECT string_agg(id || ' ' || note, ', ' ORDER BY id) FROM held"),
              "1 before");
  }
  ASSERT_TRUE(app->Exec("COMMIT PREPARED 'in-flight'").ok());
  CommandResult r = run.Wait();
  ASSERT_EQ(r.exit_code, 0) << r.err << "\n" << double_->LogTail();
  EXPECT_NE(r.err.find("step verify done"), std::string::npos) << r.err;
  const pg::ConnParams destination = DestinationParams();  // cleanup forgets it
  ExpectRelocatedTo("shop-db-v17", "17.5", "shop17-params", &writer, config);
  auto dst = pg::Connection::Open(destination);
  ASSERT_TRUE(dst.ok()) << dst.message();
  EXPECT_EQ(*dst->QueryValue("SELECT string_agg(id || ' ' || note, ', ' ORDER BY id) FROM held"),
            "1 changed by the prepared one, 2 prepared");
}

// AWS does not let anyone modify a default parameter group: with one, logical replication cannot
// be turned on in it (by the user's command or by allow_source_reboot), and the run says what to
// do instead before changing anything.
TEST_F(RdsTest, ADefaultParameterGroupGetsAnotherFix) {
  nlohmann::json seed = Seed();
  seed["instances"][0]["parameter_group"] = "default.postgres15";
  StartDouble(seed);
  for (const char* extra : {"", "upgrade:\n  allow_source_reboot: true\n"}) {
    SCOPED_TRACE(extra);
    CommandResult r = Run("run", Config(extra));
    EXPECT_EQ(r.exit_code, 1) << r.err;
    const std::string said = r.out + r.err;
    EXPECT_NE(said.find("a default parameter group, which AWS does not let anyone modify"),
              std::string::npos)
        << said;
    EXPECT_NE(said.find("create a DB parameter group of family postgres15"), std::string::npos)
        << said;
    EXPECT_EQ(said.find("aws rds modify-db-parameter-group"), std::string::npos) << said;
    ExpectNothingCreated();
  }
  auto source = Aws().DescribeInstance("shop-db");
  ASSERT_TRUE(source.ok()) << source.message();
  EXPECT_EQ(source->status, "available");
}

// upgrade.method snapshot across majors: ModifyDBSnapshot upgrades the snapshot (the double: its
// data started on 14, so its crash recovery is logged by 14, then dumped into a 15 cluster), and
// the LSN is read only from the lines 14 logged.
TEST_F(RdsMajorTest, FourteenToFifteenWithMethodSnapshot) {
  ASSERT_NO_FATAL_FAILURE(StartSource(14));
  ASSERT_TRUE(LoadRichSchema(*src_, "app", 3000).ok());
  StartDouble(MajorSeed());
  LiveWriter writer(*src_, "app");
  auto config = Config(
      "upgrade:\n  engine_version: \"15\"\n  method: snapshot\n  parameter_group: shop-params\n");
  CommandResult r = Run("run", config);
  ASSERT_EQ(r.exit_code, 0) << r.err << "\n" << double_->LogTail();
  EXPECT_NE(r.err.find("upgrading snapshot"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(rule: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("heartbeat verified"), std::string::npos) << r.err;
  ExpectRelocatedTo("shop-db-v15", "15.19", "shop-params", &writer, config);
}

// The two ways method snapshot can go wrong without AWS failing a call, each stopped before
// anything is subscribed, naming what is missing: the upgrade host's log not kept (only the new
// major's lines, whose positions lie past the data), and an upgrade AWS silently rolled back.
TEST_F(RdsMajorTest, MethodSnapshotStopsWhereAwsLeavesItBlind) {
  ASSERT_NO_FATAL_FAILURE(StartSource(14));
  ASSERT_TRUE(LoadRichSchema(*src_, "app", 1000).ok());
  const auto config_text =
      "upgrade:\n  engine_version: \"15\"\n  method: snapshot\n  parameter_group: shop-params\n";
  {
    nlohmann::json seed = MajorSeed();
    seed["snapshot_upgrade_faults"] = {{"logs_not_kept", true}};
    StartDouble(seed);
    auto config = Config(config_text);
    CommandResult r = Run("run", config);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("hold no line written by PostgreSQL 14"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("use upgrade.method: instance"), std::string::npos) << r.err;
    auto dst = pg::Connection::Open(DestinationParams());
    ASSERT_TRUE(dst.ok()) << dst.message();
    EXPECT_EQ(*dst->QueryValue("SELECT count(*) FROM pg_subscription"), "0");
    EXPECT_FALSE(State()["steps"].contains("subscription")) << State().dump(2);
    CommandResult cleanup = Run("cleanup", config);
    ASSERT_EQ(cleanup.exit_code, 0) << cleanup.err;
    rds_.reset();
    client_.reset();
    double_.reset();
    std::filesystem::remove_all(state_dir());
  }
  {
    nlohmann::json seed = MajorSeed();
    seed["snapshot_upgrade_faults"] = {{"upgrade_fails", true}};
    StartDouble(seed);
    CommandResult r = Run("run", Config(config_text));
    EXPECT_EQ(r.exit_code, 1) << r.err;
    for (const char* part : {"AWS did not upgrade snapshot", "from PostgreSQL 14.17 to 15.19",
                             "it is available at 14.17", "AWS said:", "failed"})
      EXPECT_NE(r.err.find(part), std::string::npos) << part << " in:\n" << r.err;
    auto restored = Aws().FindInstance("shop-db-v15");
    ASSERT_TRUE(restored.ok()) << restored.message();
    EXPECT_FALSE(restored->has_value())
        << "nothing is restored from a snapshot AWS did not upgrade";
  }
}

}  // namespace
}  // namespace dbr::test
