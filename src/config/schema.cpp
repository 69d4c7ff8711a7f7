// db_relocate's config schema as one table: adding a key is one row here (and its member in
// config.h); parsing, messages, `db_relocate help config` and the docs check follow from it.
#include "config/schema.h"

#include <cstdint>
#include <limits>
#include <string_view>

#include "config/config_text.h"
#include "util/host_port.h"

namespace dbr {
namespace {

namespace fs = std::filesystem;
using fields::Block;
using fields::Bool;
using fields::From;
using fields::Int;
using fields::List;
using fields::Password;
using fields::Seconds;
using fields::Text;
using fields::TextFormat;

constexpr int64_t kNoMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kIntMax = std::numeric_limits<int>::max();

bool IsHostPort(const std::string& s) {
  return ParseHostPort(s).ok();
}

// "17", "16.4": a major version, optionally a minor one; or nothing (the source's version).
bool IsVersionOrEmpty(const std::string& v) {
  auto digits = [](std::string_view s) { return s.size() <= 6 && IsDigits(s); };
  if (v.empty()) return true;
  const size_t dot = v.find('.');
  if (dot == std::string::npos) return digits(v);
  return digits(std::string_view(v).substr(0, dot)) && digits(std::string_view(v).substr(dot + 1));
}

const TextFormat kProxyListen = {"host:port", "host:port such as 127.0.0.1:6432", IsHostPort};
const TextFormat kMetricsListen = {"host:port", "host:port such as 127.0.0.1:9187", IsHostPort};
const TextFormat kVersion = {"version", "a PostgreSQL version such as \"17\" or \"16.4\"",
                             IsVersionOrEmpty};
const std::vector<std::string_view> kSslModes = {"disable", "allow",     "prefer",
                                                 "require", "verify-ca", "verify-full"};
const ListShape kSchemaList = {
    .single_ok = true, .empty_ok = false, .expected = "a schema name or a list of names"};
const ListShape kPatternList = {.single_ok = true, .expected = "a pattern or a list of patterns"};

// clang-format off
const std::vector<FieldSpec> kFields = {
  {"engine", Text<&Config::engine>(), {}, "postgres: PostgreSQL; mysql: MySQL or MariaDB (check, run, verify and cleanup so far)"},
  {"provider", Text<&Config::provider>({.quote_choices = true}), "rds (self_managed with engine mysql)", "rds: Amazon RDS instances; cloudsql: Google Cloud SQL instances; postgres or self_managed (the same): servers you run (dst.host required)"},
  {"force", Bool<&Config::force>(), {}, "Let overridable pre-flight FAILs through (REPLICA IDENTITY FULL, ...)"},
  {"log_level", Text<&Config::log_level>({.choices = {"debug", "info", "warn", "error", "fatal"}}), {}, "Log detail; --log-level overrides it"},

  {"aws", Block(), {}, "AWS access"},
  {"aws.profile", Text<&Config::aws, &AwsConfig::profile>(), {}, "AWS profile; empty: the default credential chain"},
  {"aws.region", Text<&Config::aws, &AwsConfig::region>(), {}, "AWS region"},
  {"aws.endpoint_url", Text<&Config::aws, &AwsConfig::endpoint_url>(), {}, "Alternative API endpoint (an emulator); empty: AWS"},

  {"gcp", Block(), {}, "Google Cloud access (provider cloudsql)"},
  {"gcp.project", Text<&Config::gcp, &GcpConfig::project>(), {}, "Google Cloud project of the instances; required with provider cloudsql"},
  {"gcp.region", Text<&Config::gcp, &GcpConfig::region>(), "the source instance's region", "Region of the new instance"},
  {"gcp.credentials_file", Text<&Config::gcp, &GcpConfig::credentials_file>({.path = true}), "$GOOGLE_APPLICATION_CREDENTIALS, then gcloud's application_default_credentials.json, then the metadata server", "Service-account key or authorized-user JSON"},
  {"gcp.endpoint_url", Text<&Config::gcp, &GcpConfig::endpoint_url>(), {}, "One base URL for the Admin API, OAuth2 and Logging (an emulator); empty: Google"},

  {"src", Block(), {}, "The source database"},
  {"src.user", Text<&Config::src, &ServerConfig::user>({.non_empty = true}), {}, "User to connect as"},
  {"src.password", Password<&Config::src, &ServerConfig::password>(), {}, "Password of src.user; prefer ${ENV_VAR}"},
  {"src.schema", List<&Config::src, &ServerConfig::schemas>(kSchemaList), {}, "Schema(s) to relocate: a name or a list of names; glob patterns (app_*) allowed"},
  {"src.name", Text<&Config::src, &ServerConfig::name>({.non_empty = true}), {}, "Database name"},
  {"src.port", Int<&Config::src, &ServerConfig::port>(1, 65535), "5432 (3306 with engine mysql)", "Server port"},
  {"src.host", Text<&Config::src, &ServerConfig::host>(), {}, "Server host name or address"},
  {"src.instance_id", Text<&Config::src, &ServerConfig::instance_id>(), {}, "RDS DB instance identifier or Cloud SQL instance name; required with provider rds and cloudsql"},
  {"src.sslmode", Text<&Config::src, &ServerConfig::sslmode>({.choices = kSslModes}), {}, "libpq's sslmode, for db_relocate, pg_dump and the subscription"},
  {"src.sslrootcert", Text<&Config::src, &ServerConfig::sslrootcert>({.path = true}), {}, "CA bundle for verify-ca/verify-full (the destination must read it too)"},

  {"dst", Block(), {}, "The destination database; takes src's settings but host and instance_id"},
  {"dst.user", Text<&Config::dst, &ServerConfig::user>({.non_empty = true}), From("src.user"), "As for src"},
  {"dst.password", Password<&Config::dst, &ServerConfig::password>(), From("src.password"), "As for src"},
  {"dst.schema", List<&Config::dst, &ServerConfig::schemas>(kSchemaList), From("src.schema"), "As for src"},
  {"dst.name", Text<&Config::dst, &ServerConfig::name>({.non_empty = true}), From("src.name"), "As for src"},
  {"dst.port", Int<&Config::dst, &ServerConfig::port>(1, 65535), From("src.port"), "As for src"},
  {"dst.host", Text<&Config::dst, &ServerConfig::host>(), {}, "Destination host; required with provider postgres"},
  {"dst.instance_id", Text<&Config::dst, &ServerConfig::instance_id>(), {}, "RDS DB instance identifier, or Cloud SQL instance name (default <src.instance_id>-pg<major>), of the destination"},
  {"dst.sslmode", Text<&Config::dst, &ServerConfig::sslmode>({.choices = kSslModes}), From("src.sslmode"), "As for src"},
  {"dst.sslrootcert", Text<&Config::dst, &ServerConfig::sslrootcert>({.path = true}), From("src.sslrootcert"), "As for src"},

  {"upgrade", Block(), {}, "The instance to create (provider rds and cloudsql)"},
  {"upgrade.subnet_group", Text<&Config::upgrade, &UpgradeConfig::subnet_group>(), {}, "DB subnet group of the new instance"},
  {"upgrade.engine_version", Text<&Config::upgrade, &UpgradeConfig::engine_version>({.format = &kVersion}), {}, "Target PostgreSQL version, e.g. \"17\" or \"16.4\""},
  {"upgrade.method", Text<&Config::upgrade, &UpgradeConfig::method>(), "instance (rds), logical (cloudsql)", "How the destination is made. rds: instance (the restored instance is upgraded by ModifyDBInstance) or snapshot (the snapshot by ModifyDBSnapshot); cloudsql: logical (a new instance, copied logically) or clone (a clone of the source, upgraded in place)"},
  {"upgrade.kms_id", Text<&Config::upgrade, &UpgradeConfig::kms_id>(), {}, "KMS key for storage encryption"},
  {"upgrade.security_groups", List<&Config::upgrade, &UpgradeConfig::security_groups>(), {}, "VPC security group IDs (a list even for one)"},
  {"upgrade.parameter_group", Text<&Config::upgrade, &UpgradeConfig::parameter_group>(), {}, "DB parameter group"},
  {"upgrade.instance_class", Text<&Config::upgrade, &UpgradeConfig::instance_class>(), {}, "Instance class, e.g. db.r6g.large"},
  {"upgrade.storage_type", Text<&Config::upgrade, &UpgradeConfig::storage_type>(), {}, "Storage type, e.g. gp3"},
  {"upgrade.storage_size", Int<&Config::upgrade, &UpgradeConfig::storage_size>(0, kNoMax), {}, "Allocated storage in GiB"},
  {"upgrade.storage_iops", Int<&Config::upgrade, &UpgradeConfig::storage_iops>(0, kNoMax), {}, "Provisioned IOPS"},
  {"upgrade.storage_throughput", Int<&Config::upgrade, &UpgradeConfig::storage_throughput>(0, kNoMax), {}, "Storage throughput in MiB/s"},
  {"upgrade.user", Text<&Config::upgrade, &UpgradeConfig::user>({.non_empty = true}), {}, "Replication user db_relocate creates or uses (cleanup drops it if it created it)"},
  {"upgrade.password", Password<&Config::upgrade, &UpgradeConfig::password>(), {}, "Its password; empty: generated, kept in the state file"},
  {"upgrade.vpc_id", Text<&Config::upgrade, &UpgradeConfig::vpc_id>(), {}, "VPC of the new instance"},
  {"upgrade.ca_identifier", Text<&Config::upgrade, &UpgradeConfig::ca_identifier>(), {}, "RDS certificate authority, e.g. rds-ca-rsa2048-g1"},
  {"upgrade.keep_snapshots", Bool<&Config::upgrade, &UpgradeConfig::keep_snapshots>(), {}, "Keep the intermediate snapshots after a successful run"},
  {"upgrade.allow_source_reboot", Bool<&Config::upgrade, &UpgradeConfig::allow_source_reboot>(), {}, "May turn on rds.logical_replication and reboot the source"},
  {"upgrade.allow_source_restart", Bool<&Config::upgrade, &UpgradeConfig::allow_source_restart>(), {}, "cloudsql: may turn on cloudsql.logical_decoding, which restarts the source"},
  {"upgrade.tier", Text<&Config::upgrade, &UpgradeConfig::tier>(), "the source's", "cloudsql: machine tier of the new instance, e.g. db-custom-4-16384"},
  {"upgrade.wait_timeout", Int<&Config::upgrade, &UpgradeConfig::wait_timeout>(1, kNoMax), {}, "Seconds any one AWS or Google wait may take"},

  {"cutover", Block<&Config::cutover, &CutoverConfig::configured>(), {}, "The proxy the application connects through (cutover, rollback, proxy)"},
  {"cutover.type", Text<&Config::cutover, &CutoverConfig::type>({.required = true}), "(required)", "The proxy"},
  {"cutover.manage", Bool<&Config::cutover, &CutoverConfig::manage>(), {}, "db_relocate writes the proxy's config and starts or reloads it"},
  {"cutover.listen", Text<&Config::cutover, &CutoverConfig::listen>({.format = &kProxyListen}), {}, "Where the application connects"},
  {"cutover.admin", Text<&Config::cutover, &CutoverConfig::admin>(), "PgBouncer: listen; HAProxy: <state_dir>/proxy/haproxy.sock", "PgBouncer's admin console or HAProxy's runtime API socket"},
  {"cutover.admin_user", Text<&Config::cutover, &CutoverConfig::admin_user>(), "src.user", "PgBouncer admin console user"},
  {"cutover.admin_password", Password<&Config::cutover, &CutoverConfig::admin_password>(), "src.password", "Password of cutover.admin_user"},
  {"cutover.config_file", Text<&Config::cutover, &CutoverConfig::config_file>({.path = true}), "<state_dir>/proxy/pgbouncer.ini or haproxy.cfg", "The proxy's config file"},
  {"cutover.auth_file", Text<&Config::cutover, &CutoverConfig::auth_file>({.path = true}), "userlist.txt beside config_file", "PgBouncer's userlist; unset: generated from the source"},
  {"cutover.database", Text<&Config::cutover, &CutoverConfig::database>(), "src.name", "The PgBouncer database the application uses"},
  {"cutover.backend", Text<&Config::cutover, &CutoverConfig::backend>({.non_empty = true}), {}, "The HAProxy backend; its servers are named src and dst"},
  {"cutover.pool_mode", Text<&Config::cutover, &CutoverConfig::pool_mode>({.choices = {"transaction", "session", "statement"}}), {}, "PgBouncer pool mode written when managed"},
  {"cutover.run_as", Text<&Config::cutover, &CutoverConfig::run_as>({.non_empty = true}), {}, "OS user a managed proxy runs as when db_relocate runs as root"},
  {"cutover.pause_timeout", Seconds<&Config::cutover, &CutoverConfig::pause_timeout>(), {}, "Seconds PAUSE may wait before the switch is abandoned"},
  {"cutover.drain_timeout", Seconds<&Config::cutover, &CutoverConfig::drain_timeout>(), {}, "Seconds the new side may take to apply the last writes"},
  {"cutover.max_lag_bytes", Int<&Config::cutover, &CutoverConfig::max_lag_bytes>(0, kNoMax), {}, "The switch refuses to start above this replication lag"},
  {"cutover.fence", Text<&Config::cutover, &CutoverConfig::fence>(), {}, "Keep the old side's application roles from writing"},
  {"cutover.fence_roles", List<&Config::cutover, &CutoverConfig::fence_roles>({.expected = "a list of role names"}), "every login role but src.user, dst.user, upgrade.user, pg_*, rds*", "The application's roles"},

  {"schemas", Block(), {}, "Schemas left out of those src.schema names"},
  {"schemas.exclude", List<&Config::scope, &ScopeConfig::exclude_schemas>(kPatternList), {}, "Schema names or glob patterns that do not move"},
  {"tables", Block(), {}, "Which tables, views and sequences of the schemas in scope move"},
  {"tables.include", List<&Config::scope, &ScopeConfig::include_tables>(kPatternList), "every relation", "Only these move: schema.name or name, glob patterns allowed"},
  {"tables.exclude", List<&Config::scope, &ScopeConfig::exclude_tables>(kPatternList), {}, "These do not move (after tables.include)"},
  {"exclude_table_data", List<&Config::scope, &ScopeConfig::exclude_table_data>(kPatternList), {}, "Tables whose definition moves but whose rows do not"},

  {"metrics", Block(), {}, "The Prometheus endpoint; none without the block"},
  {"metrics.listen", Text<&Config::metrics, &MetricsConfig::listen>({.required = true, .format = &kMetricsListen}), "(required in the block)", "Where the endpoint listens; no authentication: keep it private"},

  {"jobs", Int<&Config::jobs>(0, kIntMax), {}, "Parallel workers; 0: the number of CPU cores"},
  {"sequence_gap", Int<&Config::sequence_gap>(0, kNoMax), {}, "Increments each destination sequence is set ahead of the source's"},
  {"heartbeat_interval", Seconds<&Config::heartbeat_interval>(), {}, "Seconds between heartbeat rows"},
  {"catchup_lag_bytes", Int<&Config::catchup_lag_bytes>(1, kNoMax), {}, "Catch-up is done below this replication slot lag"},
  {"catchup_timeout", Int<&Config::catchup_timeout>(1, kNoMax), {}, "Seconds to wait for catch-up"},
  {"apply_workers", Int<&Config::apply_workers>(1, Config::kMaxApplyWorkers), {}, "Subscriptions (apply workers) the tables are split across, each on its own slot"},
  {"reconnect_timeout", Int<&Config::reconnect_timeout>(1, kNoMax), {}, "Seconds a lost server is retried before the run stops"},
  {"split_tables_larger_than", Int<&Config::split_tables_larger_than>(0, kNoMax), {}, "Bytes above which a table may be copied in parts (engine postgres: only where, whole, it would not fit an even share of the work); 0 never splits"},
  {"pg_bin_dir", Text<&Config::pg_bin_dir>({.path = true}), {}, "Folder searched first for pg_dump and pg_restore"},
  {"state_dir", Text<&Config::state_dir>({.path = true}), "<config folder>/db_relocate.state", "Where run state is kept; one per relocation"},
  {"verify", Bool<&Config::verify>(), {}, "run ends with verify"},
  {"ddl", Text<&Config::ddl>(), {}, "Schema changes on the source while replicating: detect (explained, fixed by hand) or replicate (replayed on the destination)"},
};
// clang-format on

const std::map<std::string, std::string> kAliases = {
    {"database", "name"},  {"dbname", "name"},        {"db", "name"},
    {"username", "user"},  {"hostname", "host"},      {"pass", "password"},
    {"schemas", "schema"}, {"loglevel", "log_level"}, {"security_group", "security_groups"}};

// The replication user gets a password of its own: it must not be one of the accounts db_relocate
// logs in as.
void ReplicationUserIsNotALogin(const Config& config, const FieldReader& file, Problems& problems) {
  if (config.upgrade.user == config.src.user || config.upgrade.user == config.dst.user)
    problems.Add(
        file.MarkOf("upgrade.user"), "upgrade.user",
        "must differ from src.user and dst.user (\"" + Printable(config.upgrade.user) +
            "\"): it is the replication user db_relocate sets up, with a password of its own");
}

// PgBouncer's admin console is a host:port (HAProxy's runtime API is a socket path).
void PgBouncerAdminIsHostPort(const Config& config, const FieldReader& file, Problems& problems) {
  if (!config.cutover.configured || config.cutover.type != ProxyType::kPgBouncer ||
      config.cutover.admin.empty())
    return;
  auto admin = ParseHostPort(config.cutover.admin);
  if (!admin.ok())
    problems.Add(file.MarkOf("cutover.admin"), "cutover.admin",
                 "PgBouncer's admin console: " + admin.message());
}

// HAProxy ends the application's connections to the old side, but not the statements they
// started there: a long autocommit write runs on, and without the fence, which ends those
// sessions, it could commit after the switch's marker and never reach the new side. (PgBouncer's
// PAUSE waits for them.)
void HAProxyNeedsTheFence(const Config& config, const FieldReader& file, Problems& problems) {
  if (!config.cutover.configured || config.cutover.type != ProxyType::kHaproxy ||
      config.cutover.fence != FenceMode::kNone)
    return;
  problems.Add(file.MarkOf("cutover.fence"), "cutover.fence",
               "\"none\" cannot go with cutover.type haproxy: HAProxy ends the application's "
               "connections but not the statements they started, and without the fence a long "
               "write could commit on the old side after the switch's last write was taken, and "
               "never reach the new side. Use fence: read_only (the default), or PgBouncer, whose "
               "PAUSE waits for them");
}

void PostgresNeedsADistinctDestination(const Config& config, const FieldReader& file,
                                       Problems& problems) {
  if (config.provider != Provider::kPostgres) return;
  if (!file.Has("dst.host") || config.dst.host.empty()) {
    problems.Add("", config.engine == EngineKind::kMysql
                         ? "engine mysql needs a destination: set dst.host"
                         : "provider \"postgres\" needs a destination: set dst.host");
  } else if (problems.empty() && config.src.Address() == config.dst.Address() &&
             config.src.name == config.dst.name) {
    problems.Add(file.MarkOf("dst.host"), "dst",
                 "the destination is the same database as the source (host " +
                     Printable(config.dst.host) + ", port " + std::to_string(config.dst.port) +
                     ", name " + Printable(config.dst.name) +
                     "); change dst.host, dst.port or dst.name");
  }
}

// A statement replayed by ddl: replicate must come before the rows that depend on it, and lanes
// apply independently of each other: only one lane keeps that order.
void ReplicatedDdlNeedsOneLane(const Config& config, const FieldReader& file, Problems& problems) {
  if (config.ddl != DdlMode::kReplicate || config.apply_workers == 1) return;
  problems.Add(file.MarkOf("apply_workers"), "apply_workers",
               "must be 1 with ddl: replicate (it is " + std::to_string(config.apply_workers) +
                   "): a replayed schema change must reach the destination before the rows that "
                   "depend on it, and separate subscriptions apply independently of each other");
}

// Keys that mean something only to PostgreSQL, refused with engine mysql rather than ignored.
constexpr std::pair<const char*, const char*> kPostgresOnlyKeys[] = {
    {"src.schema", "a MySQL database holds no schemas: name it with src.name"},
    {"dst.schema", "a MySQL database holds no schemas: name it with dst.name"},
    {"schemas", "a MySQL database holds no schemas"},
    {"ddl", "schema changes travel in MySQL's binary log with the rows"},
    {"apply_workers", "MySQL replication is one channel here"},
    {"pg_bin_dir", "it names PostgreSQL's tools"},
    {"src.sslmode", "it is libpq's setting"},
    {"dst.sslmode", "it is libpq's setting"},
    {"src.sslrootcert", "it is libpq's setting"},
    {"dst.sslrootcert", "it is libpq's setting"},
    {"cutover.fence_roles",
     "MySQL's fence is server-wide (read_only), and every client session is ended"},
};

// engine mysql relocates a database between servers the user runs, named by src.name.
void MysqlFields(const Config& config, const FieldReader& file, Problems& problems) {
  if (config.engine != EngineKind::kMysql) return;
  for (const auto& [key, why] : kPostgresOnlyKeys)
    if (file.Has(key))
      problems.Add(file.MarkOf(key), key,
                   std::string("is refused with engine: mysql (") + why + ")");
  if (file.Has("provider") && config.provider != Provider::kPostgres)
    problems.Add(file.MarkOf("provider"), "provider",
                 "must be self_managed with engine: mysql (RDS and Cloud SQL for MySQL are not "
                 "supported yet)");
  if (!file.Has("src.name"))
    problems.Add(file.MarkOf("src"), "src.name",
                 "required with engine: mysql: the database to relocate");
  if (config.cutover.configured && config.cutover.type == ProxyType::kPgBouncer)
    problems.Add(file.MarkOf("cutover.type"), "cutover.type",
                 "pgbouncer speaks PostgreSQL's protocol only: use haproxy with engine: mysql");
  // MariaDB's replicate_rewrite_db reads "from->to" pairs separated by commas.
  if (config.dst.name != config.src.name)
    for (const auto* name : {&config.src.name, &config.dst.name})
      if (name->find(',') != std::string::npos || name->find("->") != std::string::npos)
        problems.Add(file.MarkOf("dst.name"), "dst.name",
                     "cannot differ from src.name when either holds ',' or '->' (MariaDB's "
                     "replicate_rewrite_db, which renames the database, cannot carry them)");
}

// HAProxy passes the application's connections through as they are: on the new side they
// would ask for the source's database name. (PgBouncer maps the name: cutover.database.)
void HAProxyKeepsTheDatabaseName(const Config& config, const FieldReader& file,
                                 Problems& problems) {
  if (!config.cutover.configured || config.cutover.type != ProxyType::kHaproxy ||
      config.src.name == config.dst.name)
    return;
  const char* pgbouncer = config.engine == EngineKind::kMysql
                              ? ""
                              : " (PgBouncer can map the name: cutover.type pgbouncer)";
  problems.Add(file.MarkOf("dst.name"), "dst.name",
               fmt::format("must be src.name (\"{0}\") with cutover.type haproxy: HAProxy passes "
                           "the application's connections through unchanged, and after the "
                           "switch they would ask the destination for a database named {0}, "
                           "which it does not have{1}",
                           Printable(config.src.name), pgbouncer));
}

// The upgrade keys that describe the instance a provider makes, and the providers that read
// them: refused elsewhere rather than ignored.
struct InstanceKey {
  const char* key;
  bool rds;
  bool cloudsql;
};
constexpr InstanceKey kInstanceKeys[] = {
    {"upgrade.method", true, true},
    {"upgrade.wait_timeout", true, true},
    {"upgrade.subnet_group", true, false},
    {"upgrade.kms_id", true, false},
    {"upgrade.security_groups", true, false},
    {"upgrade.parameter_group", true, false},
    {"upgrade.instance_class", true, false},
    {"upgrade.storage_type", true, false},
    {"upgrade.storage_size", true, false},
    {"upgrade.storage_iops", true, false},
    {"upgrade.storage_throughput", true, false},
    {"upgrade.vpc_id", true, false},
    {"upgrade.ca_identifier", true, false},
    {"upgrade.keep_snapshots", true, false},
    {"upgrade.allow_source_reboot", true, false},
    {"upgrade.tier", false, true},
    {"upgrade.allow_source_restart", false, true},
};

void InstanceKeysFitTheProvider(const Config& config, const FieldReader& file, Problems& problems) {
  for (const InstanceKey& k : kInstanceKeys) {
    if (!file.Has(k.key) || ProviderReads(config.provider, k.key)) continue;
    const std::string owners = k.rds && k.cloudsql ? "providers rds and cloudsql"
                               : k.rds             ? "provider rds"
                                                   : "provider cloudsql";
    problems.Add(file.MarkOf(k.key), k.key,
                 config.provider == Provider::kPostgres
                     ? "is for " + owners +
                           ", which make the destination instance; the destination here is a "
                           "server you run (dst.host): remove it"
                     : "is for " + owners + "; provider " + std::string(NameOf(config.provider)) +
                           " does not read it: remove it");
  }
}

// Each provider makes its destination its own ways (upgrade.method).
constexpr std::pair<Provider, UpgradeMethod> kMethodsOf[] = {
    {Provider::kRds, UpgradeMethod::kInstance},
    {Provider::kRds, UpgradeMethod::kSnapshot},
    {Provider::kCloudSql, UpgradeMethod::kLogical},
    {Provider::kCloudSql, UpgradeMethod::kClone},
};

void MethodFitsProvider(const Config& config, const FieldReader& file, Problems& problems) {
  if (!file.Has("upgrade.method") || config.provider == Provider::kPostgres) return;
  std::vector<std::string> fits;
  for (const auto& [provider, method] : kMethodsOf) {
    if (provider != config.provider) continue;
    if (method == config.upgrade.method) return;
    fits.push_back(std::string(NameOf(method)));
  }
  problems.Add(file.MarkOf("upgrade.method"), "upgrade.method",
               "\"" + std::string(NameOf(config.upgrade.method)) +
                   "\" is not a method of provider " + std::string(NameOf(config.provider)) +
                   ": use " + Join(fits, " or "));
}

// A Cloud SQL source is named by its project and instance (RDS's check says so for its own).
void CloudSqlNamesItsSource(const Config& config, const FieldReader& file, Problems& problems) {
  if (config.provider != Provider::kCloudSql) return;
  if (config.src.instance_id.empty())
    problems.Add(file.MarkOf("src.instance_id"), "src.instance_id",
                 "required with provider cloudsql: the source instance's name");
  if (config.gcp.project.empty())
    problems.Add(file.MarkOf("gcp.project"), "gcp.project",
                 "required with provider cloudsql: the Google Cloud project of the instances");
}

void DefaultMethod(Config& config, const FieldReader& file) {
  if (file.Has("upgrade.method")) return;
  for (const auto& [provider, method] : kMethodsOf) {
    if (provider != config.provider) continue;
    config.upgrade.method = method;
    return;
  }
}

void DefaultStateDir(Config& config, const fs::path& base) {
  if (config.state_dir.empty()) config.state_dir = ResolveAgainst(base, "db_relocate.state");
}

// The proxy's admin address and login, database and files follow the source and state_dir.
void DefaultProxySettings(Config& config, const fs::path& base) {
  CutoverConfig& co = config.cutover;
  const bool pgbouncer = co.type == ProxyType::kPgBouncer;
  const fs::path proxy_dir = fs::path(config.state_dir) / "proxy";
  if (co.admin.empty())
    co.admin = pgbouncer ? co.listen : (proxy_dir / "haproxy.sock").string();
  else if (!pgbouncer)
    co.admin = ResolveAgainst(base, co.admin);  // a socket path; PgBouncer's is host:port
  if (co.admin_user.empty()) co.admin_user = config.src.user;
  if (co.admin_password.empty()) co.admin_password = config.src.password;
  if (co.database.empty()) co.database = config.src.name;
  if (co.config_file.empty())
    co.config_file = (proxy_dir / (pgbouncer ? "pgbouncer.ini" : "haproxy.cfg")).string();
  co.generate_auth_file = co.auth_file.empty();
  if (co.auth_file.empty())
    co.auth_file = (fs::path(co.config_file).parent_path() / "userlist.txt").string();
}

}  // namespace

bool ProviderReads(Provider provider, std::string_view key) {
  for (const InstanceKey& k : kInstanceKeys)
    if (key == k.key)
      return provider == Provider::kRds ? k.rds : provider == Provider::kCloudSql && k.cloudsql;
  return true;
}

const std::vector<FieldSpec>& ConfigFields() {
  return kFields;
}

const std::map<std::string, std::string>& ConfigKeyAliases() {
  return kAliases;
}

// engine mysql: servers the user runs (provider rds is PostgreSQL's), on MySQL's port, where the
// file says nothing else. Before CheckAcrossFields, whose checks compare the servers.
void DeriveEngineDefaults(Config& config, const FieldReader& file) {
  if (config.engine != EngineKind::kMysql) return;
  constexpr int kMysqlPort = 3306;
  if (!file.Has("provider")) config.provider = Provider::kPostgres;
  if (!file.Has("src.port")) config.src.port = kMysqlPort;
  if (!file.Has("dst.port")) config.dst.port = config.src.port;
}

void CheckAcrossFields(const Config& config, const FieldReader& file, Problems& problems) {
  ReplicationUserIsNotALogin(config, file, problems);
  PostgresNeedsADistinctDestination(config, file, problems);
  PgBouncerAdminIsHostPort(config, file, problems);
  HAProxyNeedsTheFence(config, file, problems);
  HAProxyKeepsTheDatabaseName(config, file, problems);
  MethodFitsProvider(config, file, problems);
  InstanceKeysFitTheProvider(config, file, problems);
  CloudSqlNamesItsSource(config, file, problems);
  ReplicatedDdlNeedsOneLane(config, file, problems);
  MysqlFields(config, file, problems);
}

void DeriveDefaults(Config& config, const FieldReader& file, const fs::path& base) {
  DefaultMethod(config, file);
  DefaultStateDir(config, base);
  DefaultProxySettings(config, base);
}

}  // namespace dbr
