#include "config/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "config/config_text.h"
#include "unit/test_support.h"

namespace dbr {
namespace {

namespace fs = std::filesystem;

constexpr const char* kOrigin = "/etc/dbr/config.yaml";

using unit_test::TempDir;

// Sets an environment variable for the life of the object.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (value == nullptr) {
      ::unsetenv(name);
    } else {
      ::setenv(name, value, 1);
    }
  }
  ~ScopedEnv() { ::unsetenv(name_.c_str()); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
};

Config MustParse(const std::string& yaml) {
  auto r = ParseConfig(yaml, kOrigin);
  EXPECT_TRUE(r.ok()) << r.message();
  return r.ok() ? r.value() : Config{};
}

std::string ParseError(const std::string& yaml) {
  auto r = ParseConfig(yaml, kOrigin);
  EXPECT_FALSE(r.ok()) << "expected an error for:\n" << yaml;
  return r.ok() ? std::string() : r.message();
}

void ExpectAllDefaults(const Config& c) {
  EXPECT_EQ(c.provider, Provider::kRds);
  EXPECT_FALSE(c.force);
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.aws.profile, "");
  EXPECT_EQ(c.aws.region, "us-east-1");
  EXPECT_EQ(c.aws.endpoint_url, "");
  for (const ServerConfig* s : {&c.src, &c.dst}) {
    EXPECT_EQ(s->user, "ops");
    EXPECT_EQ(s->password, "secret");
    EXPECT_EQ(s->schemas, std::vector<std::string>{"public"});
    EXPECT_EQ(s->name, "postgres");
    EXPECT_EQ(s->port, 5432);
    EXPECT_EQ(s->host, "127.0.0.1");
    EXPECT_EQ(s->instance_id, "");
  }
  EXPECT_EQ(c.upgrade.subnet_group, "");
  EXPECT_EQ(c.upgrade.engine_version, "");
  EXPECT_EQ(c.upgrade.kms_id, "");
  EXPECT_TRUE(c.upgrade.security_groups.empty());
  EXPECT_EQ(c.upgrade.parameter_group, "");
  EXPECT_EQ(c.upgrade.instance_class, "");
  EXPECT_EQ(c.upgrade.storage_type, "");
  EXPECT_EQ(c.upgrade.storage_size, 0);
  EXPECT_EQ(c.upgrade.storage_iops, 0);
  EXPECT_EQ(c.upgrade.storage_throughput, 0);
  EXPECT_EQ(c.upgrade.user, "upgrade");
  EXPECT_EQ(c.upgrade.password, "");
  EXPECT_EQ(c.upgrade.vpc_id, "");
  EXPECT_EQ(c.upgrade.ca_identifier, "");
  EXPECT_FALSE(c.upgrade.keep_snapshots);
  EXPECT_FALSE(c.upgrade.allow_source_reboot);
  EXPECT_EQ(c.upgrade.wait_timeout, 86400);
  EXPECT_EQ(c.jobs, 0);
  EXPECT_EQ(c.sequence_gap, 1000);
  EXPECT_DOUBLE_EQ(c.heartbeat_interval, 1.0);
  EXPECT_EQ(c.catchup_lag_bytes, 16 * 1024 * 1024);
  EXPECT_EQ(c.catchup_timeout, 3600);
  EXPECT_EQ(c.split_tables_larger_than, 256LL * 1024 * 1024);
  EXPECT_EQ(c.pg_bin_dir, "");
  EXPECT_EQ(c.state_dir, "/etc/dbr/db_relocate.state");
  EXPECT_TRUE(c.literal_password_fields.empty());
}

// ---------------------------------------------------------------------------------------------
// Values.

TEST(Config, EmptyOrCommentOnlyDocumentsGiveAllDefaults) {
  for (const char* yaml : {"", "\n\n", "# nothing here\n  # still nothing\n", "---\n", "~\n",
                           "src:\ndst:\naws:\nupgrade:\nprovider:\njobs: ~\n"}) {
    SCOPED_TRACE(yaml);
    ExpectAllDefaults(MustParse(yaml));
  }
}

TEST(Config, ReadsEveryField) {
  Config c = MustParse(R"(
provider: rds
force: true
log_level: debug
aws:
  profile: prod
  region: eu-west-1
  endpoint_url: http://localhost:4566
src:
  user: alice
  password: pw1
  schema: [app, audit]
  name: shop
  port: 5433
  host: db1.internal
  instance_id: shop-db
dst:
  user: bob
  password: pw2
  schema: app
  name: shop2
  port: 5434
  host: db2.internal
  instance_id: shop-db-2
upgrade:
  subnet_group: sn
  engine_version: "17.2"
  kms_id: kms-1
  security_groups: [sg-1, sg-2]
  parameter_group: pg17
  instance_class: db.r6g.large
  storage_type: gp3
  storage_size: 100
  storage_iops: 3000
  storage_throughput: 125
  user: up
  password: pw3
  vpc_id: vpc-1
  ca_identifier: rds-ca-rsa2048-g1
  keep_snapshots: true
  allow_source_reboot: true
  wait_timeout: 7200
jobs: 8
sequence_gap: 50
heartbeat_interval: 0.5
catchup_lag_bytes: 1024
catchup_timeout: 60
split_tables_larger_than: 0
pg_bin_dir: /usr/lib/postgresql/17/bin
state_dir: /var/lib/dbr
)");
  EXPECT_EQ(c.provider, Provider::kRds);
  EXPECT_TRUE(c.force);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.aws.profile, "prod");
  EXPECT_EQ(c.aws.region, "eu-west-1");
  EXPECT_EQ(c.aws.endpoint_url, "http://localhost:4566");
  EXPECT_EQ(c.src.user, "alice");
  EXPECT_EQ(c.src.password, "pw1");
  EXPECT_EQ(c.src.schemas, (std::vector<std::string>{"app", "audit"}));
  EXPECT_EQ(c.src.name, "shop");
  EXPECT_EQ(c.src.port, 5433);
  EXPECT_EQ(c.src.host, "db1.internal");
  EXPECT_EQ(c.src.instance_id, "shop-db");
  EXPECT_EQ(c.dst.user, "bob");
  EXPECT_EQ(c.dst.password, "pw2");
  EXPECT_EQ(c.dst.schemas, std::vector<std::string>{"app"});
  EXPECT_EQ(c.dst.name, "shop2");
  EXPECT_EQ(c.dst.port, 5434);
  EXPECT_EQ(c.dst.host, "db2.internal");
  EXPECT_EQ(c.dst.instance_id, "shop-db-2");
  EXPECT_EQ(c.upgrade.subnet_group, "sn");
  EXPECT_EQ(c.upgrade.engine_version, "17.2");
  EXPECT_EQ(c.upgrade.kms_id, "kms-1");
  EXPECT_EQ(c.upgrade.security_groups, (std::vector<std::string>{"sg-1", "sg-2"}));
  EXPECT_EQ(c.upgrade.parameter_group, "pg17");
  EXPECT_EQ(c.upgrade.instance_class, "db.r6g.large");
  EXPECT_EQ(c.upgrade.storage_type, "gp3");
  EXPECT_EQ(c.upgrade.storage_size, 100);
  EXPECT_EQ(c.upgrade.storage_iops, 3000);
  EXPECT_EQ(c.upgrade.storage_throughput, 125);
  EXPECT_EQ(c.upgrade.user, "up");
  EXPECT_EQ(c.upgrade.password, "pw3");
  EXPECT_EQ(c.upgrade.vpc_id, "vpc-1");
  EXPECT_EQ(c.upgrade.ca_identifier, "rds-ca-rsa2048-g1");
  EXPECT_TRUE(c.upgrade.keep_snapshots);
  EXPECT_TRUE(c.upgrade.allow_source_reboot);
  EXPECT_EQ(c.upgrade.wait_timeout, 7200);
  EXPECT_EQ(c.jobs, 8);
  EXPECT_EQ(c.sequence_gap, 50);
  EXPECT_DOUBLE_EQ(c.heartbeat_interval, 0.5);
  EXPECT_EQ(c.catchup_lag_bytes, 1024);
  EXPECT_EQ(c.catchup_timeout, 60);
  EXPECT_EQ(c.split_tables_larger_than, 0);
  EXPECT_EQ(c.pg_bin_dir, "/usr/lib/postgresql/17/bin");
  EXPECT_EQ(c.state_dir, "/var/lib/dbr");
  EXPECT_EQ(c.literal_password_fields,
            (std::vector<std::string>{"src.password", "dst.password", "upgrade.password"}));
}

TEST(Config, CloudSqlReadsItsBlockAndDefaultsToTheLogicalMethod) {
  auto cfg = ParseConfig(R"(
provider: cloudsql
gcp:
  project: shop
  credentials_file: keys/sa.json
src: {instance_id: orders-pg13, host: 10.1.2.3}
upgrade: {engine_version: "17", tier: db-custom-4-16384, allow_source_restart: true}
)",
                         "/etc/dbr/c.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.message();
  EXPECT_EQ(cfg->provider, Provider::kCloudSql);
  EXPECT_EQ(cfg->gcp.project, "shop");
  EXPECT_EQ(cfg->gcp.region, "");
  EXPECT_EQ(cfg->gcp.credentials_file, "/etc/dbr/keys/sa.json");
  EXPECT_EQ(cfg->upgrade.method, UpgradeMethod::kLogical);
  EXPECT_EQ(cfg->upgrade.tier, "db-custom-4-16384");
  EXPECT_TRUE(cfg->upgrade.allow_source_restart);
  auto rds = ParseConfig("provider: rds\n", "/etc/dbr/c.yaml");
  ASSERT_TRUE(rds.ok()) << rds.message();
  EXPECT_EQ(rds->upgrade.method, UpgradeMethod::kInstance);
  auto clone = ParseConfig(
      "provider: cloudsql\ngcp: {project: p}\nsrc: {instance_id: a}\nupgrade: {method: clone}\n",
      "/etc/dbr/c.yaml");
  ASSERT_TRUE(clone.ok()) << clone.message();
  EXPECT_EQ(clone->upgrade.method, UpgradeMethod::kClone);
}

TEST(Config, DstCopiesConnectionSettingsFromSrcButNotWhereItLives) {
  Config c = MustParse(R"(
src:
  user: alice
  password: pw
  schema: [a, b]
  name: shop
  port: 6000
  host: db1
  instance_id: i-1
)");
  EXPECT_EQ(c.dst.user, "alice");
  EXPECT_EQ(c.dst.password, "pw");
  EXPECT_EQ(c.dst.schemas, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c.dst.name, "shop");
  EXPECT_EQ(c.dst.port, 6000);
  EXPECT_EQ(c.dst.host, "127.0.0.1");
  EXPECT_EQ(c.dst.instance_id, "");
}

TEST(Config, TlsSettingsDefaultToPreferAndDstTakesSrcs) {
  Config d = MustParse("");
  EXPECT_EQ(d.src.sslmode, "prefer");
  EXPECT_EQ(d.src.sslrootcert, "");
  Config c = MustParse(R"(
src:
  sslmode: verify-full
  sslrootcert: certs/rds-ca.pem
dst:
  sslmode: require
)");
  EXPECT_EQ(c.src.sslmode, "verify-full");
  EXPECT_EQ(c.dst.sslmode, "require");
  // Relative to the config file's folder, like state_dir; dst inherits it.
  EXPECT_EQ(c.src.sslrootcert, "/etc/dbr/certs/rds-ca.pem");
  EXPECT_EQ(c.dst.sslrootcert, "/etc/dbr/certs/rds-ca.pem");
  std::string msg = ParseError("src:\n  sslmode: verify\n");
  EXPECT_NE(msg.find("src.sslmode: expected one of disable, allow, prefer, require"),
            std::string::npos)
      << msg;
}

TEST(Config, DstOverridesOnlyWhatItSets) {
  Config c = MustParse(R"(
src: {user: alice, password: pw, name: shop, port: 6000}
dst:
  user: bob
  port: 6001
  name: ~        # null: not set, copied from src
)");
  EXPECT_EQ(c.dst.user, "bob");
  EXPECT_EQ(c.dst.port, 6001);
  EXPECT_EQ(c.dst.password, "pw");
  EXPECT_EQ(c.dst.name, "shop");
  EXPECT_EQ(c.src.user, "alice");
  EXPECT_EQ(c.src.port, 6000);
}

TEST(Config, SchemaIsANameOrAList) {
  EXPECT_EQ(MustParse("src: {schema: app}").src.schemas, std::vector<std::string>{"app"});
  EXPECT_EQ(MustParse("src: {schema: [app, Audit]}").src.schemas,
            (std::vector<std::string>{"app", "Audit"}));
  EXPECT_EQ(MustParse("src:\n  schema:\n    - x\n    - y\n").src.schemas,
            (std::vector<std::string>{"x", "y"}));
}

TEST(Config, ScalarsOfAnyYamlTypeAreAcceptedAsStrings) {
  Config c = MustParse("src: {password: 12345, user: true}\nforce: Yes\njobs: +3\n");
  EXPECT_EQ(c.src.password, "12345");
  EXPECT_EQ(c.src.user, "true");
  EXPECT_TRUE(c.force);
  EXPECT_EQ(c.jobs, 3);
  EXPECT_FALSE(MustParse("force: off").force);
}

TEST(Config, AnchorsAndAliasesWork) {
  Config c = MustParse(R"(
src: &conn {user: u, port: 7000, host: a}
dst: *conn
)");
  EXPECT_EQ(c.dst.user, "u");
  EXPECT_EQ(c.dst.port, 7000);
  EXPECT_EQ(c.dst.host, "a");
}

TEST(Config, EngineVersionShapes) {
  for (const char* v : {"17", "16.4", "17.2", "\"\""}) {
    SCOPED_TRACE(v);
    MustParse(std::string("upgrade: {engine_version: ") + v + "}");
  }
}

// ---------------------------------------------------------------------------------------------
// Errors: each case lists substrings the message must contain.

struct ErrorCase {
  const char* name;
  const char* yaml;
  std::vector<std::string> want;
};

class ConfigErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ConfigErrors, MessageNamesFileFieldAndFact) {
  const ErrorCase& c = GetParam();
  std::string msg = ParseError(c.yaml);
  EXPECT_EQ(msg.rfind(kOrigin, 0), 0u) << "not prefixed with the origin: " << msg;
  for (const auto& w : c.want) EXPECT_NE(msg.find(w), std::string::npos) << w << "\nin: " << msg;
}

const ErrorCase kErrorCases[] = {
    // Syntax.
    {"SyntaxUnclosedFlow",
     "src:\n  port: 1\n  schema: [a, b\n",
     {"YAML syntax error", "end of sequence flow not found"}},
    {"SyntaxBadIndent", "src:\n  port: 1\n\thost: x\n", {"/etc/dbr/config.yaml:3:", "YAML syntax"}},
    {"SyntaxUnterminatedQuote",
     "a: 1\nsrc:\n  user: \"abc",
     {":3:9: YAML syntax error", "not closed"}},
    {"SyntaxEnvInFlowHint", "src: {user: ${U}}\n", {"YAML syntax error", "in quotes"}},
    // Shape of the document.
    {"TopLevelList", "- a\n- b\n", {":1:1: expected a map of settings at the top level", "a list"}},
    {"TopLevelScalar", "hello\n", {"expected a map of settings at the top level", "\"hello\""}},
    {"TwoDocuments", "a: 1\n---\nb: 2\n", {"more than one YAML document"}},
    {"StalledParser", "src:\n  port: 1\n,x: 2\n", {":3:1: YAML syntax error"}},
    {"StalledParserFirstLine", ",src: 1\n", {":1:1: YAML syntax error: unexpected \",\""}},
    {"NonScalarKey", "? [a]\n: 1\n", {":1:3: keys must be plain names"}},
    {"DuplicateKey", "src:\n  port: 1\n  port: 2\n", {":3:3: src.port: duplicate key", "line 2"}},
    {"MergeKey", "dst:\n  <<: {a: 1}\n", {"unknown key \"dst.<<\"", "merge keys"}},
    // Unknown keys.
    {"UnknownKeyTypo",
     "src:\n  hots: x\n",
     {":2:3: unknown key \"src.hots\" (did you mean \"src.host\"?)"}},
    {"UnknownKeyTypoUpgrade",
     "upgrade:\n  securty_groups: [a]\n",
     {"unknown key \"upgrade.securty_groups\"", "did you mean \"upgrade.security_groups\"?"}},
    {"UnknownKeyTopTypo",
     "log-level: info\n",
     {"unknown key \"log-level\" (did you mean \"log_level\"?)"}},
    {"UnknownKeyAlias",
     "dst:\n  database: x\n",
     {"unknown key \"dst.database\" (did you mean \"dst.name\"?)"}},
    {"UnknownKeyPrefix", "heartbeat: 2\n", {"did you mean \"heartbeat_interval\"?"}},
    {"UnknownKeyWrongBlock",
     "region: eu-west-1\n",
     {"did you mean \"aws.region\" or \"gcp.region\"?"}},
    {"UnknownKeyBelongsAtTop", "src:\n  jobs: 4\n", {"\"jobs\" belongs at the top level"}},
    {"UnknownKeyListsValidKeys",
     "aws:\n  zzz: 1\n",
     {"unknown key \"aws.zzz\"", "valid keys in \"aws\": profile, region, endpoint_url"}},
    {"UnknownKeyDeep", "upgrade:\n  foo: 1\n", {"unknown key \"upgrade.foo\"", "subnet_group"}},
    // Types.
    {"PortNotInteger", "src:\n  port: abc\n", {":2:9: src.port: expected an integer, got \"abc\""}},
    {"PortFloat", "dst:\n  port: 54.32\n", {"dst.port: expected an integer, got \"54.32\""}},
    {"PortList", "src: {port: [1]}\n", {"src.port: expected an integer, got a list"}},
    {"BlockNotMap", "src: 5\n", {":1:6: src: expected a map of settings", "got \"5\""}},
    {"BlockIsList", "aws: [a]\n", {"aws: expected a map of settings", "got a list"}},
    {"ForceNotBool", "force: maybe\n", {"force: expected true or false, got \"maybe\""}},
    {"SecurityGroupsScalar",
     "upgrade:\n  security_groups: sg-1\n",
     {"upgrade.security_groups: expected a list of strings"}},
    {"SecurityGroupsNested",
     "upgrade:\n  security_groups: [[a]]\n",
     {"upgrade.security_groups: expected a list of strings", "item [0] is a list"}},
    {"SecurityGroupsMap",
     "upgrade:\n  security_groups: {a: 1}\n",
     {"upgrade.security_groups: expected a list of strings, got a map"}},
    {"SchemaMap",
     "src:\n  schema: {a: 1}\n",
     {"src.schema: expected a schema name or a list of names, got a map"}},
    {"StringGotMap", "aws:\n  region: {a: 1}\n", {"aws.region: expected a string, got a map"}},
    {"HeartbeatNotNumber",
     "heartbeat_interval: soon\n",
     {"heartbeat_interval: expected a number of seconds, got \"soon\""}},
    {"HeartbeatZero", "heartbeat_interval: 0\n", {"heartbeat_interval: must be greater than 0"}},
    {"HeartbeatTiny",
     "heartbeat_interval: 1e-320\n",
     {"heartbeat_interval: must be at least 0.001 (a millisecond), got \"1e-320\""}},
    {"PauseTimeoutHuge",
     "cutover: {type: pgbouncer, listen: 127.0.0.1:6432, pause_timeout: 1e300}\n",
     {"cutover.pause_timeout: must be at most 31536000 (a year)"}},
    {"NulInAName", "src:\n  name: \"caf\\u00e9\\u0000x\"\n", {"src.name: holds a NUL character"}},
    {"NulInASchema",
     "src:\n  schema: [app, \"a\\u0000b\"]\n",
     {"src.schema[1]: holds a NUL character"}},
    {"HugeInt",
     "sequence_gap: 99999999999999999999999\n",
     {"sequence_gap: must be at most 9223372036854775807"}},
    // Ranges.
    {"SrcPortHigh",
     "src:\n  port: 65536\n",
     {"src.port: must be between 1 and 65535, got \"65536\""}},
    {"DstPortZero", "dst:\n  port: 0\n", {"dst.port: must be between 1 and 65535"}},
    {"NegativeJobs", "jobs: -1\n", {":1:7: jobs: must be 0 or more, got \"-1\""}},
    {"NegativeGap", "sequence_gap: -5\n", {"sequence_gap: must be 0 or more"}},
    {"NegativeStorageSize", "upgrade: {storage_size: -1}\n", {"upgrade.storage_size: must be 0"}},
    {"NegativeStorageIops", "upgrade: {storage_iops: -1}\n", {"upgrade.storage_iops: must be 0"}},
    {"NegativeThroughput",
     "upgrade: {storage_throughput: -9}\n",
     {"upgrade.storage_throughput: must be 0"}},
    {"CatchupLagZero", "catchup_lag_bytes: 0\n", {"catchup_lag_bytes: must be greater than 0"}},
    {"WaitTimeoutZero",
     "upgrade: {wait_timeout: 0}\n",
     {"upgrade.wait_timeout: must be greater than 0"}},
    {"KeepSnapshotsNotBool",
     "upgrade:\n  keep_snapshots: maybe\n",
     {"upgrade.keep_snapshots: expected true or false", "\"maybe\""}},
    {"RebootNotBool",
     "upgrade:\n  allow_source_reboot: 3\n",
     {"upgrade.allow_source_reboot: expected true or false"}},
    {"CatchupTimeoutZero", "catchup_timeout: 0\n", {"catchup_timeout: must be greater than 0"}},
    {"SplitNegative", "split_tables_larger_than: -1\n", {"split_tables_larger_than: must be 0"}},
    // Enumerations and shapes.
    {"BadProvider",
     "provider: mysql\n",
     {"provider: expected one of \"rds\", \"postgres\", \"self_managed\", \"cloudsql\"; got "
      "\"mysql\""}},
    {"CloudSqlWithoutProject",
     "provider: cloudsql\nsrc: {instance_id: orders-pg13}\n",
     {"gcp.project: required with provider cloudsql"}},
    {"CloudSqlWithoutSourceInstance",
     "provider: cloudsql\ngcp: {project: shop}\n",
     {"src.instance_id: required with provider cloudsql"}},
    {"CloudSqlWithAnRdsMethod",
     "provider: cloudsql\ngcp: {project: shop}\nsrc: {instance_id: a}\nupgrade: {method: "
     "snapshot}\n",
     {"upgrade.method: \"snapshot\" is not a method of provider cloudsql: use logical or clone"}},
    {"RdsWithACloudSqlMethod",
     "upgrade: {method: clone}\n",
     {"upgrade.method: \"clone\" is not a method of provider rds: use instance or snapshot"}},
    {"RestartNotBool",
     "upgrade:\n  allow_source_restart: later\n",
     {"upgrade.allow_source_restart: expected true or false"}},
    {"BadLogLevel",
     "log_level: verbose\n",
     {"log_level: expected one of debug, info, warn, error, fatal", "\"verbose\""}},
    {"BadEngineVersion",
     "upgrade:\n  engine_version: latest\n",
     {"upgrade.engine_version: expected a PostgreSQL version", "\"latest\""}},
    {"BadEngineVersion3Parts",
     "upgrade: {engine_version: 16.4.1}\n",
     {"upgrade.engine_version: expected a PostgreSQL version"}},
    // Required values.
    {"EmptySchemaList", "src:\n  schema: []\n", {"src.schema: the list is empty"}},
    {"EmptySchemaName", "src:\n  schema: \"\"\n", {"src.schema: must not be empty"}},
    {"EmptySchemaItem", "src:\n  schema: [a, \"\"]\n", {"src.schema[1]: must not be empty"}},
    {"NullSchemaItem", "dst:\n  schema: [a, ~]\n", {"dst.schema", "item [1] is nothing"}},
    {"DuplicateSchema", "src:\n  schema: [a, a]\n", {"src.schema[1]: \"a\" is listed twice"}},
    {"EmptySrcName", "src:\n  name: \"\"\n", {"src.name: must not be empty"}},
    {"EmptySrcUser", "src:\n  user: ''\n", {"src.user: must not be empty"}},
    {"EmptyDstUser", "dst:\n  user: ''\n", {"dst.user: must not be empty"}},
    // provider postgres.
    {"PostgresNeedsDst",
     "provider: postgres\n",
     {"provider \"postgres\" needs a destination: set dst.host"}},
    {"PostgresDstWithoutHost",
     "provider: postgres\ndst:\n  port: 5433\n",
     {"provider \"postgres\" needs a destination: set dst.host"}},
    {"PostgresSameDatabase",
     "provider: postgres\ndst:\n  host: 127.0.0.1\n",
     {"dst: the destination is the same database as the source", "port 5432", "postgres"}},
    {"PostgresWithAMethod",
     "provider: postgres\ndst: {host: b}\nupgrade: {method: snapshot}\n",
     {"upgrade.method: is for providers rds and cloudsql", "remove it"}},
    {"PostgresWithAnInstanceClass",
     "provider: self_managed\ndst: {host: b}\nupgrade: {instance_class: db.r6g.large, tier: x}\n",
     {"upgrade.instance_class: is for provider rds, which make the destination instance",
      "upgrade.tier: is for provider cloudsql"}},
    {"RdsWithACloudSqlTier",
     "upgrade: {tier: db-custom-4-16384}\n",
     {"upgrade.tier: is for provider cloudsql; provider rds does not read it: remove it"}},
    {"CloudSqlWithAnRdsInstanceClass",
     "provider: cloudsql\ngcp: {project: shop}\nsrc: {instance_id: a}\n"
     "upgrade: {instance_class: db.r6g.large, keep_snapshots: true}\n",
     {"upgrade.instance_class: is for provider rds; provider cloudsql does not read it",
      "upgrade.keep_snapshots: is for provider rds"}},
    // engine mysql: MySQL's port and servers the user runs, before the servers are compared.
    {"MysqlSameDatabaseOnMysqlsPort",
     "engine: mysql\nsrc: {host: db1, name: app}\ndst: {host: db1, port: 3306}\n",
     {"dst: the destination is the same database as the source (host db1, port 3306, name app)"}},
    {"MysqlNeedsDst",
     "engine: mysql\nsrc: {name: app}\n",
     {"engine mysql needs a destination: set dst.host"}},
    {"MysqlWithAMethod",
     "engine: mysql\nsrc: {name: app}\ndst: {host: b}\nupgrade: {method: clone}\n",
     {"upgrade.method: is for providers rds and cloudsql"}},
    {"MysqlOnRds",
     "engine: mysql\nprovider: rds\nsrc: {name: app}\ndst: {host: b}\n",
     {"provider: must be self_managed with engine: mysql"}},
    {"PostgresSameDatabaseLocalhost",
     "provider: postgres\nsrc: {host: localhost, name: app, port: 6000}\n"
     "dst: {host: 127.0.0.1}\n",
     {"same database as the source"}},
};

INSTANTIATE_TEST_SUITE_P(All, ConfigErrors, ::testing::ValuesIn(kErrorCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Config, SyntaxErrorPositionIsOneBased) {
  // The second ":" is line 2, column 5 counting from 1 (yaml-cpp's Mark says 1 and 4).
  EXPECT_EQ(ParseError("a: 1\nb: c: d\n"),
            "/etc/dbr/config.yaml:2:5: YAML syntax error: illegal map value");
}

// What the file holds reaches the terminal only as printable text: no escape sequence, no byte
// that is not UTF-8; a password with a NUL is refused without being shown.
TEST(Config, MessagesShowNoControlCharactersNorSecrets) {
  const std::string syntax = ParseError("src:\n  host: \"a\\\x1b[31mRED\"\n");
  EXPECT_NE(syntax.find("YAML syntax error"), std::string::npos) << syntax;
  EXPECT_EQ(syntax.find('\x1b'), std::string::npos) << syntax;
  EXPECT_EQ(Printable("caf\xc3\xa9 \x1b[0m \xff\xfe ok"), "caf\xc3\xa9 ?[0m ?? ok");
  // 表 and 🚀 kept; a C1 control (U+009B, CSI), an overlong '/', a surrogate and a truncated
  // sequence replaced.
  EXPECT_EQ(Printable("\xe8\xa1\xa8\xf0\x9f\x9a\x80"), "\xe8\xa1\xa8\xf0\x9f\x9a\x80");
  EXPECT_EQ(Printable("a\xc2\x9b"
                      "b\xc0\xaf"
                      "c\xed\xa0\x80"
                      "d\xe8\xa1"),
            "a?b??c???d??");
  const std::string secret = ParseError("src:\n  password: \"S3cr3t\\u0000Pa55\"\n");
  EXPECT_NE(secret.find("src.password: holds a NUL character"), std::string::npos) << secret;
  EXPECT_EQ(secret.find("S3cr3t"), std::string::npos) << secret;
}

// A state_dir that is a file is named as the key at fault, before any command uses it.
TEST(Config, StateDirThatIsAFileIsRefused) {
  TempDir dir;
  std::ofstream(dir.path() / "afile") << "x";
  auto c = ParseConfig("state_dir: afile\n", (dir.path() / "c.yaml").string());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.message().find("state_dir: \"" + (dir.path() / "afile").string() +
                             "\" exists and is not a folder"),
            std::string::npos)
      << c.message();
  EXPECT_TRUE(ParseConfig("state_dir: elsewhere\n", (dir.path() / "c.yaml").string()).ok());
}

// A config read from a pipe or a device (`--config /dev/stdin`) keeps its state in the working
// folder, not in /dev.
TEST(Config, AConfigFromADeviceIsRelativeToTheWorkingFolder) {
  auto c = ParseConfig("", "/dev/null");
  ASSERT_TRUE(c.ok()) << c.message();
  EXPECT_EQ(c->state_dir, (fs::current_path() / "db_relocate.state").string());
}

TEST(Config, ReportsEveryProblemInFileOrder) {
  std::string msg = ParseError("jobs: -1\nsrc:\n  port: x\n  hots: y\nforce: 3\n");
  EXPECT_EQ(msg,
            "/etc/dbr/config.yaml:1:7: jobs: must be 0 or more, got \"-1\"\n"
            "/etc/dbr/config.yaml:3:9: src.port: expected an integer, got \"x\"\n"
            "/etc/dbr/config.yaml:4:3: unknown key \"src.hots\" (did you mean \"src.host\"?)\n"
            "/etc/dbr/config.yaml:5:8: force: expected true or false, got \"3\"");
}

TEST(Config, PostgresWithDistinctDestinationIsFine) {
  Config c = MustParse("provider: postgres\ndst:\n  host: 127.0.0.1\n  port: 5433\n");
  EXPECT_EQ(c.dst.port, 5433);
  MustParse("provider: postgres\ndst: {host: localhost, name: other}\n");
  MustParse("provider: postgres\ndst: {host: db2}\n");
}

TEST(Config, PasswordsNeverAppearInErrors) {
  const std::string pw = "Hunter2Secret";
  const std::vector<std::string> docs = {
      "src:\n  password: [" + pw + "]\n",
      "dst:\n  password: {" + pw + ": 1}\n",
      "upgrade:\n  password: [" + pw + ", x]\n",
      "src:\n  password: " + pw + "${oops\n",
      "src:\n  password: \"" + pw + "${not valid}\"\n",
      "src:\n  password: " + pw + "\n  port: nope\n",
      "src:\n  password: \"" + pw,
      "provider: postgres\nsrc:\n  password: " + pw + "\n",
      "provider: postgres\nsrc: {password: " + pw + "}\ndst: {host: 127.0.0.1}\n",
  };
  for (const auto& doc : docs) {
    std::string msg = ParseError(doc);
    EXPECT_EQ(msg.find(pw), std::string::npos) << msg;
    EXPECT_EQ(msg.find("Hunter"), std::string::npos) << msg;
  }
  EXPECT_NE(ParseError(docs[0]).find("src.password: expected a string, got a list"),
            std::string::npos);
}

TEST(Config, NeverThrowsOrCrashesOnOddInput) {
  const std::vector<std::string> docs = {
      std::string("a:\0b", 4),
      "\xff\xfe\x00\x01",
      "[[[[[[[[[[",
      std::string(10000, '[') + std::string(10000, ']'),
      "a: &x [*x]\n",
      "src: &x {host: *x}\n",
      "src:\n  port: !!binary aGVsbG8=\n",
      "src:\n  password: !!binary aGVsbG8=\n",
      "src: !!map {}\n",
      "!!str x",
      "? \n: \n",
      "\"\": 1\n",
      "src:\n  ? {a: b}\n  : c\n",
      "jobs: 0x10\n",
      "jobs: .inf\n",
      "heartbeat_interval: .nan\n",
      "heartbeat_interval: nan\n",
      "heartbeat_interval: inf\n",
      "heartbeat_interval: 1e999\n",
      "jobs: 99999999999\n",
      "src: {port: -99999999999999999999999}\n",
      "%YAML 1.2\n---\nsrc: {}\n",
      "%BAD\n",
      "a: *undefined\n",
      "'",
      "{",
      ":",
      "-",
      "---\n---\n---\n",
  };
  for (const auto& doc : docs) {
    SCOPED_TRACE(doc.substr(0, 40));
    auto r = ParseConfig(doc, kOrigin);
    if (!r.ok()) {
      EXPECT_EQ(r.message().rfind(kOrigin, 0), 0u) << r.message();
    }
  }
  // A few of those have a definite answer.
  EXPECT_FALSE(ParseConfig("jobs: 0x10\n", kOrigin).ok());
  EXPECT_FALSE(ParseConfig("heartbeat_interval: inf\n", kOrigin).ok());
  EXPECT_FALSE(ParseConfig("heartbeat_interval: nan\n", kOrigin).ok());
  EXPECT_FALSE(ParseConfig("jobs: 99999999999\n", kOrigin).ok());
  EXPECT_TRUE(ParseConfig("%YAML 1.2\n---\nsrc: {}\n", kOrigin).ok());
}

// ---------------------------------------------------------------------------------------------
// What every key gets from its row in the schema table (src/config/schema.cpp).

TEST(ConfigTable, UnknownKeyInAnyBlockIsSuggestedFromTheTable) {
  EXPECT_EQ(ParseError("cutover:\n  type: pgbouncer\n  pool_mod: session\n"),
            "/etc/dbr/config.yaml:3:3: unknown key \"cutover.pool_mod\" (did you mean "
            "\"cutover.pool_mode\"?)");
  EXPECT_EQ(ParseError("upgrade:\n  wait_timout: 60\n"),
            "/etc/dbr/config.yaml:2:3: unknown key \"upgrade.wait_timout\" (did you mean "
            "\"upgrade.wait_timeout\"?)");
  EXPECT_EQ(ParseError("sslmode: require\n"),
            "/etc/dbr/config.yaml:1:1: unknown key \"sslmode\" (did you mean \"src.sslmode\" or "
            "\"dst.sslmode\"?)");
}

TEST(ConfigTable, TypeErrorsNameLineAndColumnForEveryKind) {
  const std::string at = "/etc/dbr/config.yaml:";
  EXPECT_EQ(ParseError("cutover:\n  type: haproxy\n  drain_timeout: soon\n"),
            at + "3:18: cutover.drain_timeout: expected a number of seconds, got \"soon\"");
  EXPECT_EQ(ParseError("verify: sometimes\n"),
            at + "1:9: verify: expected true or false, got \"sometimes\"");
  EXPECT_EQ(ParseError("cutover:\n  type: haproxy\n  fence_roles: app\n"),
            at + "3:16: cutover.fence_roles: expected a list of role names, got \"app\" (write a "
                 "YAML list: [a, b])");
  EXPECT_EQ(ParseError("aws:\n  profile: [a]\n"),
            at + "2:12: aws.profile: expected a string, got a list");
  EXPECT_EQ(ParseError("upgrade:\n  storage_iops: 1.5\n"),
            at + "2:17: upgrade.storage_iops: expected an integer, got \"1.5\"");
  EXPECT_EQ(
      ParseError("cutover:\n  type: haproxy\n  pool_mode: none\n"),
      at + "3:14: cutover.pool_mode: expected transaction, session or statement, got \"none\"");
  EXPECT_EQ(ParseError("metrics:\n  listen: 9187\n"),
            at + "2:11: metrics.listen: expected host:port such as 127.0.0.1:9187, got \"9187\"");
}

TEST(ConfigTable, DefaultsApplyInABlockThatSetsOnlySomeKeys) {
  Config c = MustParse("cutover:\n  type: haproxy\naws:\n  profile: p\nupgrade: {}\n");
  EXPECT_EQ(c.aws.profile, "p");
  EXPECT_EQ(c.aws.region, "us-east-1");
  EXPECT_EQ(c.cutover.listen, "127.0.0.1:6432");
  EXPECT_EQ(c.cutover.pool_mode, "transaction");
  EXPECT_EQ(c.cutover.run_as, "postgres");
  EXPECT_DOUBLE_EQ(c.cutover.drain_timeout, 10);
  EXPECT_EQ(c.upgrade.wait_timeout, 86400);
  EXPECT_EQ(c.reconnect_timeout, 300);
  EXPECT_TRUE(c.verify);
}

TEST(ConfigTable, DstTakesSrcsValueOnlyForKeysItLeavesUnset) {
  Config c = MustParse("src: {password: pw, sslmode: require}\ndst: {password: \"\"}\n");
  EXPECT_EQ(c.dst.password, "");  // set, even to nothing: not taken from src
  EXPECT_EQ(c.dst.sslmode, "require");
}

TEST(ConfigTable, EnvironmentVariablesWorkForEveryKind) {
  ScopedEnv jobs("DBR_TEST_JOBS", "6");
  ScopedEnv off("DBR_TEST_OFF", "off");
  ScopedEnv seconds("DBR_TEST_SECONDS", "2.5");
  ScopedEnv mode("DBR_TEST_MODE", "session");
  ScopedEnv listen("DBR_TEST_LISTEN", "127.0.0.1:7000");
  Config c = MustParse(
      "jobs: ${DBR_TEST_JOBS}\nverify: ${DBR_TEST_OFF}\ncutover:\n  type: pgbouncer\n"
      "  pause_timeout: ${DBR_TEST_SECONDS}\n  pool_mode: ${DBR_TEST_MODE}\n"
      "  listen: \"${DBR_TEST_LISTEN}\"\n  fence_roles: [\"${DBR_TEST_MODE}\"]\n");
  EXPECT_EQ(c.jobs, 6);
  EXPECT_FALSE(c.verify);
  EXPECT_DOUBLE_EQ(c.cutover.pause_timeout, 2.5);
  EXPECT_EQ(c.cutover.pool_mode, "session");
  EXPECT_EQ(c.cutover.listen, "127.0.0.1:7000");
  EXPECT_EQ(c.cutover.fence_roles, std::vector<std::string>{"session"});

  ScopedEnv none("DBR_TEST_NONE", "none");  // the expanded value is what is checked
  EXPECT_NE(
      ParseError("cutover:\n  type: pgbouncer\n  pool_mode: ${DBR_TEST_NONE}\n")
          .find("cutover.pool_mode: expected transaction, session or statement, got \"none\""),
      std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// ${ENV_VAR}.

TEST(ConfigEnv, ExpandsVariablesAnywhereInStrings) {
  ScopedEnv a("DBR_TEST_A", "alpha");
  ScopedEnv b("DBR_TEST_B", "beta");
  ScopedEnv port("DBR_TEST_PORT", "6543");
  ScopedEnv force("DBR_TEST_FORCE", "true");
  ScopedEnv empty("DBR_TEST_EMPTY", "");
  Config c = MustParse(R"(
force: ${DBR_TEST_FORCE}
aws:
  profile: ${DBR_TEST_A}
  region: "pre-${DBR_TEST_A}-mid-${DBR_TEST_B}-post"
src:
  port: ${DBR_TEST_PORT}
  password: ${DBR_TEST_B}
  schema: [app, "${DBR_TEST_A}"]
  host: x${DBR_TEST_EMPTY}y
upgrade:
  security_groups:
    - sg-${DBR_TEST_B}
)");
  EXPECT_TRUE(c.force);
  EXPECT_EQ(c.aws.profile, "alpha");
  EXPECT_EQ(c.aws.region, "pre-alpha-mid-beta-post");
  EXPECT_EQ(c.src.port, 6543);
  EXPECT_EQ(c.src.password, "beta");
  EXPECT_EQ(c.src.schemas, (std::vector<std::string>{"app", "alpha"}));
  EXPECT_EQ(c.src.host, "xy");
  EXPECT_EQ(c.upgrade.security_groups, std::vector<std::string>{"sg-beta"});
  EXPECT_TRUE(c.literal_password_fields.empty());  // the password came from the environment
}

TEST(ConfigEnv, DollarSignsWithoutBraceStayAsTheyAre) {
  ScopedEnv a("DBR_TEST_A", "alpha");
  Config c = MustParse(R"(
src:
  password: "a$$b$c$"
  user: "$${DBR_TEST_A}"
  host: "$"
)");
  EXPECT_EQ(c.src.password, "a$$b$c$");
  EXPECT_EQ(c.src.user, "$${DBR_TEST_A}");
  EXPECT_EQ(c.src.host, "$");
}

TEST(ConfigEnv, ExpandedValuesAreTypeChecked) {
  ScopedEnv port("DBR_TEST_PORT", "abc");
  EXPECT_NE(ParseError("src:\n  port: ${DBR_TEST_PORT}\n")
                .find("src.port: expected an integer, got \"abc\""),
            std::string::npos);
}

TEST(ConfigEnv, UnsetVariableNamesVariableAndField) {
  ScopedEnv unset("PGPASS_SRC", nullptr);
  ScopedEnv unset2("DBR_TEST_UNSET", nullptr);
  EXPECT_EQ(ParseError("src:\n  password: ${PGPASS_SRC}\n"),
            "/etc/dbr/config.yaml:2:13: src.password: environment variable PGPASS_SRC is not set");
  EXPECT_NE(ParseError("src:\n  schema: [a, \"${DBR_TEST_UNSET}\"]\n")
                .find("src.schema[1]: environment variable DBR_TEST_UNSET is not set"),
            std::string::npos);
  EXPECT_NE(ParseError("aws:\n  region: \"x-${DBR_TEST_UNSET}\"\n")
                .find("aws.region: environment variable DBR_TEST_UNSET is not set"),
            std::string::npos);
  EXPECT_NE(ParseError("src: {port: \"${DBR_TEST_UNSET}\"}\n")
                .find("src.port: environment variable DBR_TEST_UNSET is not set"),
            std::string::npos);
}

TEST(ConfigEnv, MalformedReferencesAreErrors) {
  EXPECT_NE(ParseError("aws:\n  region: \"a${\"\n").find("aws.region: unterminated \"${\""),
            std::string::npos);
  EXPECT_NE(ParseError("aws:\n  region: \"${1X}\"\n")
                .find("aws.region: invalid environment variable reference \"${1X}\""),
            std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Files.

TEST(ConfigFile, ReadsAFileAndResolvesStateDirBesideIt) {
  TempDir dir;
  fs::path file = dir.Write("conf/my.yaml", "src:\n  name: shop\n");
  auto r = LoadConfig(file);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->src.name, "shop");
  EXPECT_EQ(r->config_file, file);
  EXPECT_TRUE(r->config_file.is_absolute());
  EXPECT_EQ(r->state_dir, (dir.path() / "conf" / "db_relocate.state").string());
}

TEST(ConfigFile, DirectoryMeansConfigYamlInside) {
  TempDir dir;
  dir.Write("config.yaml", "jobs: 3\n");
  auto r = LoadConfig(dir.path());
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->jobs, 3);
  EXPECT_EQ(r->config_file, dir.path() / "config.yaml");
}

TEST(ConfigFile, RelativeStateDirAndPgBinDirAreRelativeToTheFile) {
  TempDir dir;
  fs::path file = dir.Write("a/config.yaml", "state_dir: ../state\npg_bin_dir: bin\n");
  auto r = LoadConfig(file);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->state_dir, (dir.path() / "state").string());
  EXPECT_EQ(r->pg_bin_dir, (dir.path() / "a" / "bin").string());

  fs::path abs = dir.Write("b/config.yaml", "state_dir: /var/tmp/dbr-state\n");
  auto r2 = LoadConfig(abs);
  ASSERT_TRUE(r2.ok()) << r2.message();
  EXPECT_EQ(r2->state_dir, "/var/tmp/dbr-state");
}

TEST(ConfigFile, RelativeConfigPathIsMadeAbsolute) {
  TempDir dir;
  dir.Write("config.yaml", "");
  const fs::path old = fs::current_path();
  fs::current_path(dir.path());
  auto r = LoadConfig("config.yaml");
  auto r2 = LoadConfig(".");
  fs::current_path(old);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r->config_file, dir.path() / "config.yaml");
  EXPECT_EQ(r->state_dir, (dir.path() / "db_relocate.state").string());
  ASSERT_TRUE(r2.ok()) << r2.message();
  EXPECT_EQ(r2->config_file, dir.path() / "config.yaml");
}

TEST(ConfigFile, MissingFile) {
  TempDir dir;
  auto r = LoadConfig(dir.path() / "nope.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(), "cannot read config file " + (dir.path() / "nope.yaml").string() +
                             ": No such file or directory");
  auto r2 = LoadConfig(dir.path());  // a directory without config.yaml
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.message(), "cannot read config file " + (dir.path() / "config.yaml").string() +
                              ": No such file or directory");
}

TEST(ConfigFile, ErrorsNameTheAbsolutePath) {
  TempDir dir;
  fs::path file = dir.Write("config.yaml", "src:\n  hots: x\n");
  auto r = LoadConfig(file);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.message(),
            file.string() + ":2:3: unknown key \"src.hots\" (did you mean \"src.host\"?)");
}

TEST(ConfigFile, WarnsAboutLiteralPasswordInReadableFile) {
  TempDir dir;
  fs::path file = dir.Write("config.yaml", "src:\n  password: hunter2\n");
  fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                            fs::perms::others_read);
  auto r = LoadConfig(file);
  ASSERT_TRUE(r.ok()) << r.message();
  auto warnings = ConfigWarnings(*r);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find(file.string()), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("src.password"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("0644"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("chmod 600"), std::string::npos) << warnings[0];
  EXPECT_EQ(warnings[0].find("hunter2"), std::string::npos) << warnings[0];

  fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_TRUE(ConfigWarnings(*r).empty());
}

TEST(ConfigFile, NoWarningWithoutLiteralPassword) {
  TempDir dir;
  ScopedEnv pw("DBR_TEST_PW", "hunter2");
  fs::path file = dir.Write("config.yaml", "src:\n  password: ${DBR_TEST_PW}\n");
  fs::permissions(file, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
  auto r = LoadConfig(file);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_TRUE(ConfigWarnings(*r).empty());
  // The built-in default password is not "in the file" either.
  fs::path file2 = dir.Write("b/config.yaml", "src:\n  name: x\n");
  fs::permissions(file2, fs::perms::owner_all | fs::perms::others_read);
  auto r2 = LoadConfig(file2);
  ASSERT_TRUE(r2.ok()) << r2.message();
  EXPECT_TRUE(ConfigWarnings(*r2).empty());
}

TEST(Config, ReplicationUserMustNotBeALoginDbRelocateUses) {
  std::string err = ParseError("src:\n  user: repl\nupgrade:\n  user: repl\n");
  EXPECT_NE(err.find("upgrade.user: must differ from src.user and dst.user"), std::string::npos)
      << err;
  EXPECT_NE(ParseError("dst:\n  user: upgrade\n").find("upgrade.user"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// The cutover block: defaults that follow the rest of the config, errors naming the field.

TEST(CutoverConfig, AbsentBlockIsNotConfigured) {
  EXPECT_FALSE(MustParse("provider: rds\n").cutover.configured);
}

TEST(CutoverConfig, PgBouncerDefaultsFollowTheSourceAndStateDir) {
  Config c = MustParse(
      "src:\n  name: shop\n  user: admin\n  password: pw\n"
      "cutover:\n  type: pgbouncer\n  manage: true\n");
  const CutoverConfig& co = c.cutover;
  EXPECT_TRUE(co.configured);
  EXPECT_TRUE(co.manage);
  EXPECT_EQ(co.listen, "127.0.0.1:6432");
  EXPECT_EQ(co.admin, "127.0.0.1:6432");  // PgBouncer's console is on its listen address
  EXPECT_EQ(co.admin_user, "admin");
  EXPECT_EQ(co.admin_password, "pw");
  EXPECT_EQ(co.database, "shop");
  EXPECT_EQ(co.config_file, "/etc/dbr/db_relocate.state/proxy/pgbouncer.ini");
  EXPECT_EQ(co.auth_file, "/etc/dbr/db_relocate.state/proxy/userlist.txt");
  EXPECT_TRUE(co.generate_auth_file);
  EXPECT_EQ(co.pool_mode, "transaction");
  EXPECT_EQ(co.fence, FenceMode::kReadOnly);
  EXPECT_DOUBLE_EQ(co.pause_timeout, 5);
  EXPECT_DOUBLE_EQ(co.drain_timeout, 10);
  EXPECT_EQ(co.max_lag_bytes, 1024 * 1024);
}

TEST(CutoverConfig, HAProxyDefaultsToASocketInTheStateDir) {
  Config c = MustParse("cutover:\n  type: haproxy\n  listen: 0.0.0.0:5432\n  backend: pg\n");
  EXPECT_EQ(c.cutover.admin, "/etc/dbr/db_relocate.state/proxy/haproxy.sock");
  EXPECT_EQ(c.cutover.config_file, "/etc/dbr/db_relocate.state/proxy/haproxy.cfg");
  EXPECT_EQ(c.cutover.backend, "pg");
}

TEST(CutoverConfig, RelativePathsAreRelativeToTheConfigFile) {
  Config c = MustParse(
      "cutover:\n  type: pgbouncer\n  config_file: proxy/pgb.ini\n  auth_file: users.txt\n");
  EXPECT_EQ(c.cutover.config_file, "/etc/dbr/proxy/pgb.ini");
  EXPECT_EQ(c.cutover.auth_file, "/etc/dbr/users.txt");
  EXPECT_FALSE(c.cutover.generate_auth_file);
}

// PgBouncer's admin console is host:port; a bad one is a config error, not a refused connection.
TEST(CutoverConfig, APgBouncerAdminThatIsNotHostPortIsAConfigErrorNamingTheField) {
  for (const char* admin : {"6433", "127.0.0.1", "h:0", "\"::1:6433\""}) {
    const std::string error =
        ParseError(std::string("cutover:\n  type: pgbouncer\n  admin: ") + admin + "\n");
    EXPECT_NE(error.find("cutover.admin: PgBouncer's admin console: "), std::string::npos)
        << admin << ": " << error;
    EXPECT_NE(error.find("is not host:port"), std::string::npos) << error;
  }
  EXPECT_EQ(MustParse("cutover:\n  type: pgbouncer\n  admin: \"[::1]:6433\"\n").cutover.admin,
            "[::1]:6433");
  // HAProxy's is a socket path.
  EXPECT_NE(MustParse("cutover:\n  type: haproxy\n  admin: /run/haproxy.sock\n  backend: pg\n")
                .cutover.admin,
            "");
}

// HAProxy forwards bytes: the application's database name reaches the new side unchanged.
TEST(CutoverConfig, AnotherDatabaseNameBehindHAProxyIsRefused) {
  const std::string names = "src: {name: shop}\ndst: {name: shop_new}\n";
  const std::string error = ParseError(names + "cutover:\n  type: haproxy\n  backend: pg\n");
  EXPECT_NE(error.find("dst.name: must be src.name (\"shop\") with cutover.type haproxy"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("PgBouncer can map the name"), std::string::npos) << error;
  EXPECT_EQ(MustParse(names + "cutover:\n  type: pgbouncer\n").dst.name, "shop_new");
  EXPECT_EQ(MustParse(names).dst.name, "shop_new");
}

// HAProxy cannot hold a statement in flight: only the fence keeps a long write from committing on
// the old side after the switch's marker.
TEST(CutoverConfig, FenceNoneWithHAProxyIsRefusedWithTheReason) {
  const std::string error = ParseError("cutover:\n  type: haproxy\n  backend: pg\n  fence: none\n");
  EXPECT_NE(error.find("cutover.fence: \"none\" cannot go with cutover.type haproxy"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("commit on the old side after the switch"), std::string::npos) << error;
  EXPECT_EQ(MustParse("cutover:\n  type: pgbouncer\n  fence: none\n").cutover.fence,
            FenceMode::kNone);
  EXPECT_EQ(MustParse("cutover:\n  type: haproxy\n  backend: pg\n").cutover.fence,
            FenceMode::kReadOnly);
}

TEST(CutoverConfig, BadValuesNameTheField) {
  EXPECT_NE(ParseError("cutover:\n  manage: true\n").find("cutover.type: missing"),
            std::string::npos);
  EXPECT_NE(
      ParseError("cutover:\n  type: nginx\n").find("cutover.type: expected pgbouncer or haproxy"),
      std::string::npos);
  EXPECT_NE(ParseError("cutover:\n  type: pgbouncer\n  listen: 6432\n").find("cutover.listen"),
            std::string::npos);
  EXPECT_NE(ParseError("cutover:\n  type: pgbouncer\n  listen: h:70000\n").find("cutover.listen"),
            std::string::npos);
  EXPECT_NE(
      ParseError("cutover:\n  type: pgbouncer\n  listen: \"::1:6432\"\n").find("cutover.listen"),
      std::string::npos);
  EXPECT_NE(ParseError("cutover:\n  type: pgbouncer\n  fence: lock\n").find("cutover.fence"),
            std::string::npos);
  EXPECT_NE(ParseError("cutover:\n  type: pgbouncer\n  pause_timeout: 0\n")
                .find("cutover.pause_timeout: must be greater than 0"),
            std::string::npos);
  EXPECT_NE(
      ParseError("cutover:\n  type: pgbouncer\n  pool_mode: none\n").find("cutover.pool_mode"),
      std::string::npos);
  EXPECT_NE(
      ParseError("cutover:\n  type: pgbouncer\n  fence_roles: app\n").find("cutover.fence_roles"),
      std::string::npos);
  EXPECT_NE(ParseError("cutover: pgbouncer\n").find("cutover: expected a map"), std::string::npos);
  EXPECT_NE(ParseError("cutover:\n  type: pgbouncer\n  lisen: x:1\n")
                .find("did you mean \"cutover.listen\""),
            std::string::npos);
}

TEST(MetricsConfig, OffUnlessTheBlockIsThere) {
  EXPECT_EQ(MustParse("provider: rds\n").metrics.listen, "");
  EXPECT_EQ(MustParse("metrics:\n").metrics.listen, "");
  EXPECT_EQ(MustParse("metrics:\n  listen: 127.0.0.1:9187\n").metrics.listen, "127.0.0.1:9187");
  EXPECT_EQ(MustParse("metrics: {listen: \"[::1]:9187\"}\n").metrics.listen, "[::1]:9187");
}

TEST(MetricsConfig, BadValuesNameTheField) {
  EXPECT_NE(ParseError("metrics: {}\n").find("metrics.listen: missing"), std::string::npos);
  EXPECT_NE(ParseError("metrics:\n  listen: 9187\n").find("metrics.listen: expected host:port"),
            std::string::npos);
  EXPECT_NE(ParseError("metrics:\n  listen: localhost:0\n").find("metrics.listen"),
            std::string::npos);
  EXPECT_NE(ParseError("metrics: 127.0.0.1:9187\n").find("metrics: expected a map"),
            std::string::npos);
  EXPECT_NE(
      ParseError("metrics:\n  lisen: 127.0.0.1:9187\n").find("did you mean \"metrics.listen\""),
      std::string::npos);
}

TEST(CutoverConfig, AdminPasswordIsNeverEchoed) {
  std::string err = ParseError("cutover:\n  type: pgbouncer\n  admin_password: [hunter2]\n");
  EXPECT_NE(err.find("cutover.admin_password"), std::string::npos) << err;
  EXPECT_EQ(err.find("hunter2"), std::string::npos) << err;
}

}  // namespace
}  // namespace dbr
