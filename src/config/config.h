// The configuration schema. Names and defaults of `provider`, `force`, `log_level` and the
// `aws`, `gcp`, `src`, `dst` and `upgrade` blocks are fixed (see docs/configuration.md); the
// engine's own knobs (`jobs`, `sequence_gap`, ...) sit at the top level beside them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "aws/aws_config.h"
#include "gcp/gcp_config.h"
#include "util/enum_names.h"
#include "util/status.h"

namespace dbr {

// The config's choices, written in the file by the names of their EnumNames tables below.
// postgres: PostgreSQL; mysql: MySQL or MariaDB (only pre-flight `check` so far, issue #25)
enum class EngineKind { kPostgres, kMysql };
// rds: Amazon RDS instances; cloudsql: Google Cloud SQL instances; postgres (or self_managed):
// servers you run
enum class Provider { kRds, kPostgres, kCloudSql };
enum class DdlMode { kDetect, kReplicate };
// How the destination is made. rds: `instance` restores the snapshot at the source's version,
// then upgrades that instance (ModifyDBInstance); `snapshot` upgrades the snapshot
// (ModifyDBSnapshot), then restores it. cloudsql: `logical` creates a new instance at the target
// version and copies logically; `clone` clones the source, then upgrades the clone in place.
enum class UpgradeMethod { kInstance, kSnapshot, kLogical, kClone };
enum class ProxyType { kPgBouncer, kHaproxy };
// read_only: the old side's application roles become read-only at a switch; none: nothing.
enum class FenceMode { kReadOnly, kNone };

template <>
struct EnumNames<EngineKind> {
  static constexpr std::string_view kWhat = "engine";
  static constexpr std::pair<EngineKind, std::string_view> kTable[] = {
      {EngineKind::kPostgres, "postgres"}, {EngineKind::kMysql, "mysql"}};
};
template <>
struct EnumNames<Provider> {
  static constexpr std::string_view kWhat = "provider";
  static constexpr std::pair<Provider, std::string_view> kTable[] = {
      {Provider::kRds, "rds"},
      {Provider::kPostgres, "postgres"},
      {Provider::kPostgres, "self_managed"},  // the same, in words that fit every engine
      {Provider::kCloudSql, "cloudsql"}};
};
template <>
struct EnumNames<DdlMode> {
  static constexpr std::string_view kWhat = "ddl";
  static constexpr std::pair<DdlMode, std::string_view> kTable[] = {
      {DdlMode::kDetect, "detect"}, {DdlMode::kReplicate, "replicate"}};
};
template <>
struct EnumNames<UpgradeMethod> {
  static constexpr std::string_view kWhat = "upgrade.method";
  static constexpr std::pair<UpgradeMethod, std::string_view> kTable[] = {
      {UpgradeMethod::kInstance, "instance"},
      {UpgradeMethod::kSnapshot, "snapshot"},
      {UpgradeMethod::kLogical, "logical"},
      {UpgradeMethod::kClone, "clone"}};
};
template <>
struct EnumNames<ProxyType> {
  static constexpr std::string_view kWhat = "cutover.type";
  static constexpr std::pair<ProxyType, std::string_view> kTable[] = {
      {ProxyType::kPgBouncer, "pgbouncer"}, {ProxyType::kHaproxy, "haproxy"}};
};
template <>
struct EnumNames<FenceMode> {
  static constexpr std::string_view kWhat = "cutover.fence";
  static constexpr std::pair<FenceMode, std::string_view> kTable[] = {
      {FenceMode::kReadOnly, "read_only"}, {FenceMode::kNone, "none"}};
};

struct ServerConfig {
  std::string user = "ops";
  std::string password = "secret";
  // YAML key `schema`: a name or a list; names or glob patterns (`app_*`)
  std::vector<std::string> schemas = {"public"};
  std::string name = "postgres";  // database name
  int port = 5432;
  std::string host = "127.0.0.1";
  std::string instance_id;
  std::string sslmode = "prefer";  // libpq's sslmode; dst takes src's when unset
  std::string sslrootcert;         // CA bundle for verify-ca / verify-full (e.g. RDS's)

  // host:port, with the host lower-cased and the spellings of loopback made one, so that two
  // configs naming one server the same compare equal.
  std::string Address() const;
};

struct UpgradeConfig {
  std::string subnet_group;
  std::string engine_version;
  UpgradeMethod method = UpgradeMethod::kInstance;  // unset: the provider's first (DeriveDefaults)
  std::string kms_id;
  std::vector<std::string> security_groups;
  std::string parameter_group;
  std::string instance_class;
  std::string storage_type;
  int64_t storage_size = 0;
  int64_t storage_iops = 0;
  int64_t storage_throughput = 0;
  std::string user = "upgrade";
  std::string password;  // empty: generated per run, kept in the 0600 state file
  std::string vpc_id;
  std::string ca_identifier;
  bool keep_snapshots = false;        // keep the intermediate snapshots after a successful run
  bool allow_source_reboot = false;   // may turn on rds.logical_replication and reboot the source
  bool allow_source_restart = false;  // cloudsql: may turn on cloudsql.logical_decoding (restart)
  std::string tier;                   // cloudsql: machine tier; empty: the source's
  int64_t wait_timeout = 86400;       // seconds any one AWS wait (snapshot, restore) may take
};

// The proxy the application connects through, and how cut-over and rollback move it (issue #4).
struct CutoverConfig {
  bool configured = false;                 // the block is present
  ProxyType type = ProxyType::kPgBouncer;  // required when the block is there
  bool manage = false;  // db_relocate writes the proxy's config and starts or reloads it
  std::string listen = "127.0.0.1:6432";  // host:port the application connects to
  // PgBouncer: admin console host:port (default: listen). HAProxy: runtime API unix socket
  // (default: <state_dir>/proxy/haproxy.sock).
  std::string admin;
  std::string admin_user;      // PgBouncer admin console user (default: src.user)
  std::string admin_password;  // (default: src.password)
  std::string config_file;     // default: <state_dir>/proxy/pgbouncer.ini or haproxy.cfg
  std::string
      auth_file;         // PgBouncer userlist (default: userlist.txt beside config_file, generated)
  std::string database;  // PgBouncer database clients use (default: src.name)
  std::string backend = "postgres";  // HAProxy backend; its servers are named src and dst
  std::string pool_mode = "transaction";
  std::string run_as = "postgres";         // user a managed proxy runs as when started by root
  double pause_timeout = 5;                // seconds PAUSE may take before the cut-over gives up
  double drain_timeout = 10;               // seconds the new side may take to apply the last writes
  int64_t max_lag_bytes = 1024 * 1024;     // cut-over refuses above this replication lag
  FenceMode fence = FenceMode::kReadOnly;  // keep the old side from taking writes
  std::vector<std::string> fence_roles;    // default: every login role but db_relocate's own
  bool generate_auth_file = false;         // auth_file unset: written from the source's pg_authid
};

// Which relations of the schemas in scope move (`tables:` and `schemas:` blocks,
// `exclude_table_data`): shell glob patterns, matched by model/scope.h.
struct ScopeConfig {
  std::vector<std::string> include_tables;      // tables.include; empty: every relation
  std::vector<std::string> exclude_tables;      // tables.exclude
  std::vector<std::string> exclude_table_data;  // definition moves, rows do not
  std::vector<std::string> exclude_schemas;     // schemas.exclude (src.schema includes)
};

// The optional Prometheus endpoint (`metrics:` block).
struct MetricsConfig {
  std::string listen;  // host:port, e.g. 127.0.0.1:9187; empty: no endpoint
};

struct Config {
  EngineKind engine = EngineKind::kPostgres;
  Provider provider = Provider::kRds;
  bool force = false;
  std::string log_level = "info";
  AwsConfig aws;
  GcpConfig gcp;
  ServerConfig src;
  ServerConfig dst;
  UpgradeConfig upgrade;
  CutoverConfig cutover;
  MetricsConfig metrics;
  ScopeConfig scope;

  // Engine settings.
  int jobs = 0;  // 0: number of cores
  int64_t sequence_gap = 1000;
  double heartbeat_interval = 1.0;               // seconds between heartbeat rows
  int64_t catchup_lag_bytes = 16 * 1024 * 1024;  // catch-up is done below this slot lag
  int64_t catchup_timeout = 3600;                // seconds
  // Subscriptions the tables in scope are split across (engine/lanes.h); 1: one.
  int apply_workers = 1;
  static constexpr int kMaxApplyWorkers = 32;
  int64_t reconnect_timeout = 300;  // seconds a lost server is retried before a step fails
  int64_t split_tables_larger_than = 256LL * 1024 * 1024;  // bytes; 0 never splits
  std::string pg_bin_dir;  // where to look first for pg_dump/pg_restore
  std::string state_dir;   // default: beside the config file
  bool verify = true;      // `run` ends with `verify`
  // detect: a schema change on the source is found and explained; replicate: it is recorded by
  // an event trigger and replayed on the destination in stream order (engine/ddl_replication.h)
  DdlMode ddl = DdlMode::kDetect;

  // Where the file was read from; relative paths in it are relative to its folder.
  std::filesystem::path config_file;

  // Dotted names of the password keys the file sets literally (not through ${ENV_VAR}), e.g.
  // "src.password"; ConfigWarnings() reports them when the file is readable by group/others.
  std::vector<std::string> literal_password_fields;
};

// Reads and validates a config. `path` is a YAML file, or a directory holding config.yaml.
// Every failure names the file, the field and (for YAML errors) the line and column.
Result<Config> LoadConfig(const std::filesystem::path& path);

// The same from YAML text already in memory (`origin` names it in messages). Relative paths
// (state_dir, pg_bin_dir) are resolved against the folder of `origin` made absolute, i.e. the
// current directory when `origin` is a bare name such as "<stdin>". config_file stays empty.
Result<Config> ParseConfig(const std::string& yaml_text, const std::string& origin);

// Human-readable warnings about a loaded config, for the caller to log: a password written
// literally in a config file that group or others can read. Empty when all is well.
std::vector<std::string> ConfigWarnings(const Config& config);

}  // namespace dbr
