#include "core/preflight.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <set>

#include "cloud/cloud.h"
#include "cloud/rds_plan.h"
#include "engine/fence.h"
#include "engine/large_objects.h"
#include "engine/replication_link.h"
#include "engine/server_identity.h"
#include "model/catalog.h"
#include "model/names.h"
#include "model/scope.h"
#include "model/servers.h"
#include "mysql/preflight.h"
#include "pg/connection.h"
#include "pg/quote.h"
#include "pg/replication.h"
#include "pg/tools.h"
#include "proxy/pgbouncer_ini.h"
#include "proxy/proxy.h"
#include "util/files.h"
#include "util/parse.h"
#include "util/process.h"
#include "util/progress.h"
#include "util/text.h"

namespace dbr {
namespace {

// `name` cut to what PostgreSQL keeps of an identifier (63 bytes), on a character boundary.
std::string SuggestedRoleName(std::string name) {
  constexpr size_t kMaxIdentifierBytes = 63;
  if (name.size() <= kMaxIdentifierBytes) return name;
  size_t cut = kMaxIdentifierBytes;
  while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;
  name.resize(cut);
  return name;
}

// The relocation's copy reached the destination: its tables there are the relocation's own.
bool DestinationSchemaIsOurs(const RunState& state) {
  return state.snapshot_phase != SnapshotPhase::kNone || state.mysql.copy_started;
}

class Preflight {
 public:
  Preflight(const Config& config, const PreflightOptions& options)
      : config_(config), links_(LinksOf(config)), options_(options) {
    auto state = StateStore(config.state_dir).Load();
    if (state.ok()) state_ = std::move(*state);
    mark_ = MarkOf(config, state_);
  }

  PreflightReport Run() {
    auto src = Connect(SourceParams(config_), "source connection");
    std::optional<pg::Connection> dst;
    if (DestinationChecked()) {
      auto d = Connect(DestinationParams(config_), "destination connection");
      if (d) dst.emplace(std::move(*d));
    }
    if (!src) {  // the provider's own checks need no server: a config's faults all said at once
      CheckProvider();
      return std::move(report_);
    }
    CheckRunState(*src, dst ? &*dst : nullptr);
    if (dst) CheckDistinctDatabases(*src, *dst);
    CheckVersions(*src, dst ? &*dst : nullptr);
    CheckWalLevel(*src);
    CheckSourceCapacity(*src);
    CheckSourcePrivileges(*src);
    auto scope = ListScope(*src, config_);
    if (!scope.ok()) {
      Add("tables in scope", CheckLevel::kFail, scope.message());
    } else {
      CheckScope(*scope);
      CheckScopeEdges(*src, *scope);
      CheckReplicaIdentity(scope->tables);
      CheckUnsupported(*src, scope->tables);
    }
    CheckBlockingTransactions(*src);
    CheckLeftovers(*src, dst ? &*dst : nullptr);
    CheckReplicationUser(*src, dst ? &*dst : nullptr);
    CheckSize(*src);
    if (dst) {
      CheckDestinationWorkers(*dst);
      CheckDestinationPrivileges(*dst);
      CheckEncodings(*src, *dst);
      CheckExtensions(*src, *dst);
      if (scope.ok()) {
        CheckDestinationConflicts(*dst, *scope);
        CheckDestinationOwners(*src, *dst, *scope);
      }
      CheckPgDump(*src);
    }
    if (config_.cutover.configured) CheckCutover(*src, dst ? &*dst : nullptr);
    CheckProvider();
    return std::move(report_);
  }

 private:
  // The destination is checked where it is the user's server, or a new instance the run made
  // for the logical copy (a copy of the source, restored or cloned, holds the data already).
  bool DestinationChecked() const {
    if (config_.provider == Provider::kPostgres) return true;
    return config_.provider == Provider::kCloudSql &&
           config_.upgrade.method == UpgradeMethod::kLogical &&
           state_.cloudsql.phase == CloudSqlPhase::kDone;
  }

  // The relocation recorded in state_dir belongs to these servers, and the slot it needs is
  // there (engine/server_identity.h; every command that reads the state refuses otherwise).
  void CheckRunState(pg::Connection& src, pg::Connection* dst) {
    const char* name = "run state";
    auto state = StateStore(config_.state_dir).Load();
    if (!state.ok()) return (void)Add(name, CheckLevel::kFail, state.message());
    if (state->source.empty())
      return (void)Add(name, CheckLevel::kPass, "no relocation started in " + config_.state_dir);
    auto servers = CompareWithServers(*state, links_, &src, dst);
    if (!servers.ok()) return (void)Add(name, CheckLevel::kFail, servers.message());
    if (!servers->mismatches.empty()) {
      Add(name, CheckLevel::kFail, MismatchMessage(servers->mismatches, config_.state_dir),
          {config_.state_dir},
          "move the state folder aside, or point the config at the servers it belongs to")
          .bad_config = true;
      return;
    }
    if (servers->lost_slot)
      return (void)Add(name, CheckLevel::kFail, LostSlotMessage(*servers->lost_slot, *state),
                       {servers->lost_slot->slot}, "run `db_relocate cleanup`, then start over");
    std::vector<std::string> unrecorded;
    for (Side side : servers->Unrecorded(*state)) unrecorded.push_back(SideName(side));
    if (!unrecorded.empty())
      return (void)Add(
          name, CheckLevel::kWarn,
          "the relocation in " + config_.state_dir + " records no identity of the " +
              Join(unrecorded, " and ") +
              " (written by an older db_relocate): the next command that reads it records the "
              "servers it reaches then",
          {},
          "if a server was recreated since the relocation started, move the state folder aside");
    Add(name, CheckLevel::kPass,
        "the relocation started at " + state->started_at + " belongs to these servers");
  }

  // The config compares the two sides' addresses; one server named two ways (a DNS name and an
  // IP) is found here.
  void CheckDistinctDatabases(pg::Connection& src, pg::Connection& dst) {
    if (config_.src.name != config_.dst.name) return;
    auto one = OnOneServer(src, dst, false);
    if (one.ok() && *one)
      Add("destination is another database", CheckLevel::kFail,
          "dst (" + config_.dst.host + ") and src (" + config_.src.host +
              ") name the same server, and the same database " + config_.dst.name,
          {}, "change dst.host, dst.port or dst.name")
          .bad_config = true;
  }

  // The service's side (RDS: the source instance, the upgrade path, the new instance).
  // The cloud provider's checks (rds, cloudsql: credentials, instances); none for postgres.
  void CheckProvider() {
    std::unique_ptr<Cloud> made;
    Cloud* cloud = options_.cloud;
    if (cloud == nullptr) {
      made = MakeCloud(config_);
      cloud = made.get();
    }
    if (cloud == nullptr) return;
    for (auto& c : cloud->Check(config_, ProgressOf(config_, state_)))
      report_.checks.push_back(std::move(c));
  }

  // What `cutover` will need: the proxy (its program, or the running one), the return path's
  // wal_level on the destination, and the roles it will fence.
  void CheckCutover(pg::Connection& src, pg::Connection* dst) {
    const char* name = "cut-over proxy";
    const CutoverConfig& co = config_.cutover;
    std::vector<std::string> notes;
    auto proxy = MakeProxy(config_);
    if (!proxy.ok()) {
      Add(name, CheckLevel::kFail, proxy.message());
      return;
    }
    auto state = (*proxy)->Inspect();
    const bool running = state.ok() && state->running;
    if (co.manage && !running) {
      const std::string program(NameOf(co.type));
      ProcessSpec version{.argv = {program, co.type == ProxyType::kPgBouncer ? "--version" : "-v"}};
      auto out = RunProcess(version);
      if (!out.ok() || out->exit_code != 0) {
        Add(name, CheckLevel::kFail, program + " is not installed (cutover.manage needs it)", {},
            "apt-get install " + program);
        return;
      }
      notes.push_back(
          fmt::format("{} will be started on {} at the end of run", co.type, co.listen));
    } else if (!running) {
      Add(name, CheckLevel::kWarn,
          fmt::format("{} does not answer at {}: cutover will refuse until it does ({})", co.type,
                      co.admin, state.ok() ? state->detail : state.message()),
          {}, "start it, or set cutover.manage: true for db_relocate to run it");
      return;
    } else {
      notes.push_back(fmt::format("{} answers at {}", (*proxy)->name(), co.admin));
    }
    if (co.type == ProxyType::kPgBouncer && co.manage && !CheckUserlist(src)) return;
    if (dst != nullptr) {
      auto wal = dst->QueryValue("SHOW wal_level");
      if (wal.ok() && *wal != "logical") {
        Add(name, CheckLevel::kWarn,
            "the destination has wal_level = " + *wal +
                ": cutover needs logical there for the replication back to the source",
            {}, "ALTER SYSTEM SET wal_level = logical on the destination, then restart it");
        return;
      }
    }
    if (co.fence != FenceMode::kNone) {
      auto roles = RolesToFence(config_, src);
      if (roles.ok())
        notes.push_back("roles fenced read-only on the old side at cut-over: " +
                        (roles->empty() ? std::string("none") : Join(*roles)));
      else
        return (void)Add(name, CheckLevel::kFail, roles.message());
    }
    Add(name, CheckLevel::kPass, Join(notes, "; "));
  }

  // The managed PgBouncer's userlist: generated from the source's pg_authid (which a managed
  // server's administrator cannot read), or the user's, which must let the admin console in.
  bool CheckUserlist(pg::Connection& src) {
    const char* name = "cut-over proxy";
    const CutoverConfig& co = config_.cutover;
    if (co.generate_auth_file) {
      auto readable =
          src.QueryValue("SELECT has_table_privilege('pg_catalog.pg_authid', 'SELECT')");
      if (readable.ok() && *readable == "t") return true;
      Add(name, CheckLevel::kFail,
          "PgBouncer's userlist cannot be generated: " + config_.src.user +
              " cannot read pg_authid on the source",
          {"cutover.auth_file"},
          "write the userlist (lines \"user\" \"password or SCRAM secret\", one for "
          "cutover.admin_user " +
              co.admin_user + " and one per application role) and set cutover.auth_file")
          .bad_config = true;
      return false;
    }
    auto text = ReadFile(co.auth_file);
    if (!text.ok()) {
      Add(name, CheckLevel::kFail, "cutover.auth_file: " + text.message(), {co.auth_file})
          .bad_config = true;
      return false;
    }
    const auto users = UserlistUsers(*text);
    if (std::find(users.begin(), users.end(), co.admin_user) != users.end()) return true;
    Add(name, CheckLevel::kFail,
        "cutover.auth_file " + co.auth_file + " has no line for cutover.admin_user " +
            co.admin_user + ": PgBouncer's admin console would refuse db_relocate",
        {co.auth_file}, "add the line \"" + co.admin_user + "\" \"<its password>\"")
        .bad_config = true;
    return false;
  }

  CheckResult& Add(std::string name, CheckLevel level, std::string detail,
                   std::vector<std::string> objects = {}, std::string hint = "",
                   bool overridable = false) {
    report_.checks.push_back({std::move(name), level, std::move(detail), std::move(objects),
                              std::move(hint), overridable});
    return report_.checks.back();
  }

  std::optional<pg::Connection> Connect(const pg::ConnParams& params, const std::string& name) {
    auto conn = pg::Connection::Open(params);
    if (!conn.ok()) {
      Add(name, CheckLevel::kFail, conn.message(), {},
          "check host, port, database name, user and password in the config, and that the "
          "server accepts connections from this machine (pg_hba.conf)");
      return std::nullopt;
    }
    auto ssl = conn->QueryValue(
        "SELECT COALESCE((SELECT ssl::text FROM pg_stat_ssl WHERE pid = "
        "pg_backend_pid()), 'false')");
    auto version = conn->QueryValue("SHOW server_version");
    Add(name, CheckLevel::kPass,
        fmt::format("{}, PostgreSQL {}, TLS {}", params.Describe(), version.ok() ? *version : "?",
                    ssl.ok() && *ssl == "true" ? "on" : "off"));
    return std::move(conn).value();
  }

  void CheckVersions(pg::Connection& src, pg::Connection* dst) {
    int src_major = src.server_major();
    std::string detail = fmt::format("source {}", src_major);
    if (dst != nullptr) {
      int dst_major = dst->server_major();
      detail += fmt::format(", destination {}", dst_major);
      if (dst_major < src_major) {
        Add("server versions", CheckLevel::kFail, detail + ": the destination is older", {},
            "relocate to a server of the same or a newer major version");
        return;
      }
    }
    // With provider rds the RDS checks follow AWS's upgrade targets (a minor upgrade is one).
    if (!config_.upgrade.engine_version.empty() && config_.provider != Provider::kRds) {
      // Its major; the config's format rules out text that is not a version, which would read 0
      // and fail below.
      const int64_t target = ParseInt(MajorOf(config_.upgrade.engine_version)).value_or(0);
      detail += fmt::format(", upgrade.engine_version {}", config_.upgrade.engine_version);
      if (target <= src_major) {
        Add("server versions", CheckLevel::kFail,
            detail + ": upgrade.engine_version is not higher than the source's major", {},
            fmt::format("set upgrade.engine_version to a major above {}, or leave it empty",
                        src_major))
            .bad_config = true;
        return;
      }
      if (dst != nullptr && target != dst->server_major()) {
        Add("server versions", CheckLevel::kFail,
            detail + ": upgrade.engine_version does not match the destination server", {},
            "set upgrade.engine_version to the destination's major, or leave it empty")
            .bad_config = true;
        return;
      }
    }
    Add("server versions", CheckLevel::kPass, detail);
  }

  void CheckWalLevel(pg::Connection& src) {
    if (config_.provider == Provider::kRds) {
      auto v = src.QueryValue("SELECT current_setting('rds.logical_replication', true)");
      if (v.ok() && !v->empty() && *v != "on" && *v != "1") {
        Add(kLogicalReplicationCheck, CheckLevel::kFail, "rds.logical_replication = " + *v, {},
            "set rds.logical_replication = 1 in the source's DB parameter group and reboot "
            "the instance (a reboot is downtime: plan it)");
        return;
      }
    }
    auto wal = src.QueryValue("SHOW wal_level");
    if (!wal.ok()) {
      Add(kLogicalReplicationCheck, CheckLevel::kFail, wal.message()).unread = true;
    } else if (*wal != "logical") {
      Add(kLogicalReplicationCheck, CheckLevel::kFail, "wal_level = " + *wal, {},
          "set wal_level = logical on the source (ALTER SYSTEM SET wal_level = logical) and "
          "restart it");
    } else {
      Add(kLogicalReplicationCheck, CheckLevel::kPass, "wal_level = logical");
    }
  }

  void CheckSourceCapacity(pg::Connection& src) {
    auto r = src.Query(
        R"sql(
      SELECT current_setting('max_replication_slots')::int,
             (SELECT count(*) FROM pg_replication_slots WHERE slot_name <> ALL($1::text[])
                 AND NOT (temporary AND left(slot_name, length($2)) = $2)),
             current_setting('max_wal_senders')::int,
             (SELECT count(*) FROM pg_stat_replication
               WHERE application_name <> ALL($3::text[])))sql",
        {pg::TextArrayLiteral(names::SlotsOf(links_.forward)), std::string(kClaimSlotPrefix),
         pg::TextArrayLiteral(names::SubscriptionsOf(links_.forward))});
    if (!r.ok()) {
      Add("replication slots and WAL senders", CheckLevel::kFail, r.message());
      return;
    }
    int64_t slots = r->GetInt(0, 0), used = r->GetInt(0, 1);
    int64_t senders = r->GetInt(0, 2), active = r->GetInt(0, 3);
    std::string detail =
        fmt::format("slots {}/{} used, WAL senders {}/{} used", used, slots, active, senders);
    // One slot and sender per lane (apply_workers); one more lets a table be re-synchronised.
    // The temporary slots that claim an upgrade.user (ours included) are let go by the
    // publication step: not counted.
    const int64_t lanes = static_cast<int64_t>(links_.forward.size());
    if (slots - used < lanes || senders - active < lanes) {
      Add("replication slots and WAL senders", CheckLevel::kFail,
          fmt::format("{}: {} needed (one per apply_workers)", detail, lanes), {},
          "raise max_replication_slots and max_wal_senders on the source (restart needed), "
          "drop unused slots, or lower apply_workers");
    } else if (slots - used < lanes + 1 || senders - active < lanes + 1) {
      Add("replication slots and WAL senders", CheckLevel::kWarn,
          fmt::format("{}: only {} free; re-synchronising a table after a resume needs one more",
                      detail, lanes));
    } else {
      Add("replication slots and WAL senders", CheckLevel::kPass, detail);
    }
  }

  void CheckSourcePrivileges(pg::Connection& src) {
    auto r = src.Query(R"sql(
      SELECT rolsuper, rolreplication, rolcreaterole,
             EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_replication')
               AND pg_has_role(current_user, 'rds_replication', 'member'),
             EXISTS (SELECT 1 FROM pg_roles r
                      WHERE r.rolname IN ('rds_superuser', 'cloudsqlsuperuser')
                        AND pg_has_role(current_user, r.oid, 'member')),
             has_database_privilege(current_database(), 'CREATE'),
             EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pg_create_subscription')
               AND pg_has_role(current_user, 'pg_create_subscription', 'member')
        FROM pg_roles WHERE rolname = current_user)sql");
    if (!r.ok() || r->rows() == 0) {
      Add("source privileges", CheckLevel::kFail, r.ok() ? "current role not found" : r.message());
      return;
    }
    bool super = r->GetBool(0, 0), repl = r->GetBool(0, 1), createrole = r->GetBool(0, 2);
    bool rds_repl = r->GetBool(0, 3), managed_admin = r->GetBool(0, 4);
    bool create_db = r->GetBool(0, 5);
    source_is_superuser_ = super;
    std::vector<std::string> missing;
    if (!super && !repl && !rds_repl) missing.push_back("REPLICATION (or rds_replication)");
    if (!super && !createrole && !managed_admin)
      missing.push_back("CREATEROLE (to create the replication user " + config_.upgrade.user + ")");
    // Cloud SQL's user must hold its admin role, which may create replication users at any
    // version ("About PostgreSQL users and roles").
    const bool cloudsql = config_.provider == Provider::kCloudSql;
    if (cloudsql && !super && !managed_admin)
      missing.push_back(
          "cloudsqlsuperuser (Cloud SQL's admin role: the replication user "
          "is created with it)");
    // Before PostgreSQL 16 only a superuser may create a role WITH REPLICATION; on RDS the
    // replication user gets rds_replication instead.
    if (!super && !rds_repl && !cloudsql && src.server_major() < 16)
      missing.push_back("superuser (PostgreSQL " + std::to_string(src.server_major()) +
                        " lets only superusers create the replication user)");
    if (!super && !create_db)
      missing.push_back("CREATE on database " + config_.src.name +
                        " (for the publication and the db_relocate schema)");
    if (!super && config_.cutover.configured && !r->GetBool(0, 6))
      missing.push_back(
          "pg_create_subscription (the return replication at the cut-over subscribes here)");
    // Event triggers: superusers, and the admin roles of RDS and Cloud SQL.
    if (config_.ddl == DdlMode::kReplicate && !super && !managed_admin)
      missing.push_back(
          "superuser, rds_superuser or cloudsqlsuperuser (ddl: replicate creates event "
          "triggers)");
    if (!missing.empty()) {
      Add("source privileges", CheckLevel::kFail, config_.src.user + " lacks " + Join(missing),
          {config_.src.user},
          fmt::format("run as a superuser, or ALTER ROLE {0} WITH REPLICATION CREATEROLE and GRANT "
                      "CREATE ON DATABASE {1} TO {0}, GRANT pg_create_subscription TO {0} "
                      "(PostgreSQL 16+); "
                      "on RDS: GRANT rds_replication, rds_superuser TO {0}; on Cloud SQL: a user "
                      "made by Cloud SQL (cloudsqlsuperuser), then ALTER USER {0} WITH REPLICATION",
                      pg::QuoteIdent(config_.src.user), pg::QuoteIdent(config_.src.name)));
      return;
    }
    Add("source privileges", CheckLevel::kPass,
        super ? config_.src.user + " is a superuser"
              : config_.src.user + " can replicate and create roles");
  }

  void CheckScope(const ScopeListing& scope) {
    const auto& tables = scope.tables;
    std::vector<std::string> missing_schemas;
    for (const auto& pattern : config_.src.schemas) {
      auto in = [&](const TableInfo& t) { return MatchesPattern(pattern, t.schema); };
      if (std::none_of(tables.begin(), tables.end(), in) &&
          std::none_of(scope.without_rows.begin(), scope.without_rows.end(), in))
        missing_schemas.push_back(pattern);
    }
    size_t replicable = 0;
    for (const auto& t : tables) replicable += t.Replicable() && t.schema != names::kSchema;
    if (!missing_schemas.empty()) {
      Add("tables in scope", CheckLevel::kWarn,
          fmt::format("{} tables; no table found in schema {}", replicable, Join(missing_schemas)),
          missing_schemas, "check src.schema in the config");
    } else if (!ScopeFilter(config_).FiltersRelations() && config_.scope.exclude_schemas.empty()) {
      Add("tables in scope", CheckLevel::kPass,
          fmt::format("{} tables in schema {}", replicable, Join(ScopeSchemas(scope))));
    } else {
      std::vector<std::string> listed;
      for (const auto& t : tables)
        if (t.Replicable() && t.schema != names::kSchema) listed.push_back(t.Display());
      for (const auto& t : scope.without_rows) listed.push_back(t.Display() + " (definition only)");
      Add("tables in scope", CheckLevel::kPass,
          fmt::format("{} tables in schema {}, {} without their rows; {} relations left out "
                      "(`db_relocate plan` lists them)",
                      replicable, Join(ScopeSchemas(scope)), scope.without_rows.size(),
                      scope.ExcludedTablesAndSequences().size()),
          listed);
    }
    if (!scope.unmatched.empty())
      Add("scope patterns", CheckLevel::kWarn, "patterns that match nothing on the source",
          scope.unmatched, "check the spelling: names are matched as the catalog spells them");
    // Ownership: CREATE PUBLICATION ... FOR TABLE needs to own each table.
    if (source_is_superuser_) return;
    std::vector<std::string> not_owned;
    for (const auto& t : tables)
      if (t.Replicable() && !t.owned_by_current_user && t.schema != names::kSchema)
        not_owned.push_back(t.Display() + " (owner " + t.owner + ")");
    if (!not_owned.empty())
      Add("table ownership", CheckLevel::kFail,
          fmt::format("{} tables are not owned by {}: publishing a table requires owning it",
                      not_owned.size(), config_.src.user),
          not_owned, "run as a superuser (rds_superuser) or as the tables' owner");
  }

  static std::vector<std::string> ScopeSchemas(const ScopeListing& scope) {
    std::vector<std::string> out;
    for (const auto& s : scope.schemas)
      if (s != names::kSchema) out.push_back(s);
    return out;
  }

  // A filter that cuts a foreign key or a view in two: the restore or the constraint would fail
  // half-way through the copy, so it is found here.
  void CheckScopeEdges(pg::Connection& src, const ScopeListing& scope) {
    const char* name = "scope edges";
    auto problems = EdgeProblems(src, scope);
    if (!problems.ok()) return (void)Add(name, CheckLevel::kFail, problems.message());
    if (problems->empty()) {
      Add(name, CheckLevel::kPass, "no foreign key or view in scope needs what is left out");
      return;
    }
    std::vector<std::string> objects;
    std::string fix;
    for (const auto& p : *problems) {
      objects.push_back(p.object + ": " + p.detail + "; fix: " + p.fix);
      if (fix.empty()) fix = p.fix;
    }
    Add(name, CheckLevel::kFail,
        fmt::format("{} foreign keys or views in scope need what the filters leave out",
                    problems->size()),
        objects, "change the filters; for the first: " + fix)
        .bad_config = true;
  }

  void CheckReplicaIdentity(const std::vector<TableInfo>& tables) {
    std::vector<std::string> bad;
    for (const auto& t : tables)
      if (t.Replicable() && !t.HasUsableReplicaIdentity()) bad.push_back(t.Display());
    if (bad.empty()) {
      Add(checks::kReplicaIdentity, CheckLevel::kPass,
          "every table has a primary key or a replica identity");
      return;
    }
    Add(checks::kReplicaIdentity, CheckLevel::kFail,
        fmt::format("{} tables have no primary key and no usable REPLICA IDENTITY: once "
                    "published, UPDATE and DELETE on them would fail on the source",
                    bad.size()),
        bad,
        "add a primary key, or ALTER TABLE ... REPLICA IDENTITY USING INDEX <unique index>; "
        "with force: true db_relocate sets REPLICA IDENTITY FULL on them",
        true);
  }

  void CheckUnsupported(pg::Connection& src, const std::vector<TableInfo>& tables) {
    std::vector<std::string> objects;
    for (const auto& t : tables) {
      if (t.relkind == 'm') objects.push_back(t.Display() + " (materialized view: refreshed once)");
      if (t.relkind == 'f') objects.push_back(t.Display() + " (foreign table: definition only)");
      if (t.relkind == 'r' && t.persistence == 'u')
        objects.push_back(
            t.Display() + " (unlogged table, " + HumanBytes(static_cast<double>(t.bytes)) +
            ": not replicated; its rows are copied inside the cut-over's write pause)");
    }
    auto lo = MeasureLargeObjects(src);
    if (lo.ok() && lo->count > 0)
      objects.push_back(fmt::format(
          "{} large objects ({} on disk): copied with the snapshot, then compared again by each "
          "cut-over and rollback, the changed ones inside its write pause, which grows with "
          "their total size",
          lo->count, HumanBytes(static_cast<double>(lo->bytes_on_disk))));
    if (objects.empty()) {
      Add("objects logical replication does not carry", CheckLevel::kPass, "none");
    } else {
      Add("objects logical replication does not carry", CheckLevel::kWarn,
          fmt::format("{} objects are not kept in sync by logical replication", objects.size()),
          objects,
          "nothing to do if each one's behaviour suits you (README: \"What each kind of table "
          "becomes\"); otherwise leave it out with tables.exclude");
    }
  }

  void CheckBlockingTransactions(pg::Connection& src) {
    if (state_.DestinationDependsOnSlot()) {
      // Those prepared since are the copy's to handle (logical copy: invisible to its snapshot;
      // a cloud's copy: rolled back there), and replication carries each once committed.
      Add("prepared transactions", CheckLevel::kPass, "the replication slot is kept as it is");
      Add("long-running transactions", CheckLevel::kPass, "the replication slot is kept as it is");
      return;
    }
    auto waits = pg::WhatASlotWaitsFor(src, 5 * 60);
    if (!waits.ok()) {
      for (const char* name : {"prepared transactions", "long-running transactions"})
        Add(name, CheckLevel::kWarn, waits.message()).unread = true;
      return;
    }
    if (!waits->prepared.empty()) {
      Add("prepared transactions", CheckLevel::kFail,
          "prepared transactions make creating the replication slot wait until they end",
          waits->prepared, "COMMIT PREPARED or ROLLBACK PREPARED them", true);
    } else {
      Add("prepared transactions", CheckLevel::kPass, "none");
    }
    if (!waits->long_running.empty()) {
      Add("long-running transactions", CheckLevel::kWarn,
          "creating the replication slot waits until these transactions end", waits->long_running,
          "let them finish or end them (pg_terminate_backend)");
    } else {
      Add("long-running transactions", CheckLevel::kPass, "none older than 5 minutes");
    }
  }

  void CheckLeftovers(pg::Connection& src, pg::Connection* dst) {
    std::vector<std::string> found;
    auto lanes = LinksOnServers(config_, src, dst);
    for (const names::Link& lane : (lanes.ok() ? *lanes : links_).forward)
      FindLeftovers(src, dst, lane, found);
    if (!lanes.ok()) {
      Add("leftovers of an earlier run", CheckLevel::kWarn,
          "only the config's lanes were looked at: listing the servers' failed: " + lanes.message(),
          found, "check the privileges of the configured users on both servers");
    } else if (found.empty()) {
      Add("leftovers of an earlier run", CheckLevel::kPass, "none");
    } else {
      Add("leftovers of an earlier run", CheckLevel::kWarn,
          "objects of an earlier relocation exist: `run` resumes it", found,
          "to start afresh, remove them with `db_relocate cleanup`");
    }
  }

  static void FindLeftovers(pg::Connection& src, pg::Connection* dst, const names::Link& link,
                            std::vector<std::string>& found) {
    auto pub = src.QueryValue("SELECT count(*) FROM pg_publication WHERE pubname = $1",
                              {link.publication});
    if (pub.ok() && *pub != "0") found.push_back("publication " + link.publication);
    auto slot = src.Query(
        "SELECT active, pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)) "
        "FROM pg_replication_slots WHERE slot_name = $1",
        {link.slot});
    if (slot.ok() && slot->rows() > 0)
      found.push_back("replication slot " + link.slot + " (retaining " + slot->Get(0, 1) +
                      " of WAL)");
    if (dst != nullptr) {
      auto sub = dst->QueryValue(
          std::string("SELECT count(*) FROM pg_subscription WHERE subname = $1 AND ") +
              names::kSubscriptionInThisDatabase,
          {link.subscription});
      if (sub.ok() && *sub != "0")
        found.push_back("subscription " + link.subscription + " on the destination");
    }
  }

  // Roles belong to the whole server: the replication user of a relocation of another database
  // there must not get a new password from this one.
  void CheckReplicationUser(pg::Connection& src, pg::Connection* dst) {
    const std::string& user = config_.upgrade.user;
    for (pg::Connection* side : {&src, dst}) {
      if (side == nullptr) continue;
      auto owner = ReplicationUserInUse(*side, user, mark_);
      if (!owner.ok()) {
        Add("replication user", CheckLevel::kFail, owner.message());
        return;
      }
      if (*owner) {
        Add("replication user", CheckLevel::kFail,
            "on the " + side->params().label + ": " + (*owner)->Message(user),
            {user, (*owner)->evidence},
            "set upgrade.user to a role no other relocation uses, e.g. " +
                SuggestedRoleName(user + "_" + side->params().dbname));
        return;
      }
      auto owned = ObjectsOwnedBy(*side, user);
      if (!owned.ok()) {
        Add("replication user", CheckLevel::kFail, owned.message());
        return;
      }
      if (owned->count > 0) {
        Add("replication user", CheckLevel::kFail,
            fmt::format("on the {}: {} owns {} object(s) there, e.g. {}: a role someone uses. "
                        "The relocation gives its replication user a new password, and cleanup "
                        "drops that user where the relocation made it, with what it owns",
                        side->params().label, user, owned->count, owned->example),
            {user},
            "set upgrade.user to a role used for nothing else (made when missing), e.g. " +
                SuggestedRoleName("db_relocate_repl"));
        return;
      }
    }
    Add("replication user", CheckLevel::kPass, user + " is free for this relocation");
  }

  void CheckSize(pg::Connection& src) {
    auto r = src.Query(R"sql(
      SELECT pg_database_size(current_database()),
             COALESCE(current_setting('max_slot_wal_keep_size', true), '-1'))sql");
    if (!r.ok()) {
      Add("database size and WAL retention", CheckLevel::kWarn, r.message());
      return;
    }
    int64_t size = r->GetInt(0, 0);
    std::string keep = r->Get(0, 1);
    std::string detail =
        "database " + HumanBytes(static_cast<double>(size)) + "; max_slot_wal_keep_size " + keep;
    if (keep != "-1") {
      Add("database size and WAL retention", CheckLevel::kWarn,
          detail + ": the slot is invalidated if more WAL than that piles up before catch-up", {},
          "raise max_slot_wal_keep_size (or set -1) for the duration of the relocation");
    } else {
      Add("database size and WAL retention", CheckLevel::kPass,
          detail + ": WAL written during the copy is kept on the source until caught up");
    }
  }

  void CheckDestinationWorkers(pg::Connection& dst) {
    auto r = dst.Query(R"sql(
      SELECT current_setting('max_logical_replication_workers')::int,
             current_setting('max_worker_processes')::int,
             current_setting('max_replication_slots')::int,
             (SELECT count(*) FROM pg_subscription
               WHERE NOT (subname = ANY($1::text[]) AND )sql" +
                           std::string(names::kSubscriptionInThisDatabase) + R"sql()),
             (SELECT count(*) FROM pg_replication_origin))sql",
                       {pg::TextArrayLiteral(names::SubscriptionsOf(links_.forward))});
    if (!r.ok()) {
      Add("destination replication workers", CheckLevel::kFail, r.message());
      return;
    }
    int64_t lrw = r->GetInt(0, 0), wp = r->GetInt(0, 1), slots = r->GetInt(0, 2);
    int64_t subs = r->GetInt(0, 3), origins = r->GetInt(0, 4);
    std::string detail = fmt::format(
        "max_logical_replication_workers {}, max_worker_processes {}, max_replication_slots {} "
        "(replication origins), {} other subscriptions",
        lrw, wp, slots, subs);
    const int64_t lanes = static_cast<int64_t>(links_.forward.size());
    if (lrw < subs + lanes || slots < origins + lanes || wp < lrw + 1) {
      Add("destination replication workers", CheckLevel::kFail, detail + ": not enough", {},
          "raise max_logical_replication_workers, max_worker_processes and "
          "max_replication_slots on the destination (restart needed)");
    } else {
      Add("destination replication workers", CheckLevel::kPass, detail);
    }
  }

  // A destination user that is not a superuser (a managed server's administrator) needs what
  // rds_superuser, cloudsqlsuperuser and azure_pg_admin can be given: README, "Managed servers".
  void CheckDestinationPrivileges(pg::Connection& dst) {
    const char* name = "destination privileges";
    auto r = dst.Query(R"sql(
      SELECT rolsuper, rolcreaterole, has_database_privilege(current_database(), 'CREATE'),
             EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pg_create_subscription')
               AND pg_has_role(current_user, 'pg_create_subscription', 'member'),
             rolreplication OR (EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_replication')
               AND pg_has_role(current_user, 'rds_replication', 'member')),
             has_function_privilege('pg_replication_origin_advance(text, pg_lsn)', 'EXECUTE')
               AND has_function_privilege('pg_replication_origin_progress(text, boolean)',
                                          'EXECUTE')
        FROM pg_roles WHERE rolname = current_user)sql");
    if (!r.ok() || r->rows() == 0)
      return (void)Add(name, CheckLevel::kFail, r.ok() ? "role not found" : r.message());
    destination_is_superuser_ = r->GetBool(0, 0);
    if (destination_is_superuser_)
      return (void)Add(name, CheckLevel::kPass, config_.dst.user + " is a superuser");
    const std::string user = pg::QuoteIdent(config_.dst.user);
    std::vector<std::string> missing, fixes;
    auto need = [&](bool has, std::string what, std::string fix) {
      if (has) return;
      missing.push_back(std::move(what));
      fixes.push_back(std::move(fix));
    };
    if (dst.server_major() < 16) {
      need(false, "superuser (before PostgreSQL 16 only superusers create subscriptions)",
           "use a superuser on the destination");
    } else {
      need(r->GetBool(0, 1), "CREATEROLE (roles the copy creates)",
           "ALTER ROLE " + user + " WITH CREATEROLE");
      need(r->GetBool(0, 2), "CREATE on database " + config_.dst.name,
           "GRANT CREATE ON DATABASE " + pg::QuoteIdent(config_.dst.name) + " TO " + user);
      need(r->GetBool(0, 3), "pg_create_subscription", "GRANT pg_create_subscription TO " + user);
      need(r->GetBool(0, 4),
           "REPLICATION (the return replication at the cut-over has its slot there)",
           "ALTER ROLE " + user + " WITH REPLICATION (on RDS: GRANT rds_replication TO " + user +
               ")");
      // The subscriptions of lanes after the first start at the snapshot through their origin.
      if (config_.apply_workers > 1)
        need(r->GetBool(0, 5), "the replication origin functions (apply_workers > 1)",
             "GRANT EXECUTE ON FUNCTION pg_replication_origin_advance(text, pg_lsn), "
             "pg_replication_origin_progress(text, boolean) TO " +
                 user);
    }
    if (missing.empty())
      return (void)Add(
          name, CheckLevel::kPass,
          config_.dst.user +
              " is no superuser but has CREATEROLE, REPLICATION, CREATE and "
              "pg_create_subscription" +
              (config_.apply_workers > 1 ? ", and the replication origin functions" : ""));
    Add(name, CheckLevel::kFail, config_.dst.user + " lacks " + Join(missing, "; "),
        {config_.dst.user}, Join(fixes, "; "));
  }

  // The schema restore gives each object to its owner on the source (db_relocate's own schema to
  // src.user), which needs a destination user that is not a superuser to be able to SET ROLE to
  // each owner that exists there (PostgreSQL 16+; before 16 such a user cannot create the
  // subscription at all). Roles the copy creates there are granted to it (EnsureRoles).
  void CheckDestinationOwners(pg::Connection& src, pg::Connection& dst, const ScopeListing& scope) {
    if (destination_is_superuser_ || dst.server_major() < 16 || DestinationSchemaIsOurs(state_))
      return;
    const char* name = "destination ownership";
    auto owners = src.Query(R"sql(
      WITH s AS (SELECT oid, nspowner FROM pg_namespace WHERE nspname = ANY($1::text[]))
      SELECT rolname FROM pg_roles WHERE rolname NOT LIKE 'pg\_%' AND (rolname = current_user
          OR oid IN (SELECT nspowner FROM s
                     UNION SELECT relowner FROM pg_class WHERE relnamespace IN (SELECT oid FROM s)
                     UNION SELECT proowner FROM pg_proc WHERE pronamespace IN (SELECT oid FROM s)
                     UNION SELECT typowner FROM pg_type WHERE typnamespace IN (SELECT oid FROM s)
                     UNION SELECT lomowner FROM pg_largeobject_metadata))
       ORDER BY 1)sql",
                            {pg::TextArrayLiteral(scope.schemas)});
    if (!owners.ok()) return (void)Add(name, CheckLevel::kFail, owners.message());
    std::vector<std::string> names;
    for (int i = 0; i < owners->rows(); ++i) names.push_back(owners->Get(i, 0));
    auto can = dst.Query(R"sql(
      SELECT o.name FROM unnest($1::text[]) AS o(name) JOIN pg_roles r ON r.rolname = o.name
       WHERE o.name <> current_user AND NOT pg_has_role(current_user, r.oid, 'SET')
       ORDER BY 1)sql",
                         {pg::TextArrayLiteral(names)});
    if (!can.ok()) return (void)Add(name, CheckLevel::kFail, can.message());
    std::vector<std::string> cannot;
    for (int i = 0; i < can->rows(); ++i) cannot.push_back(can->Get(i, 0));
    if (cannot.empty())
      return (void)Add(name, CheckLevel::kPass,
                       fmt::format("{} can give the restored objects to their {} owners",
                                   config_.dst.user, names.size()));
    Add(name, CheckLevel::kFail,
        fmt::format("{} is not a superuser and cannot SET ROLE to {} of the owners the schema "
                    "restore gives objects to (the source's {} owns db_relocate's own schema)",
                    config_.dst.user, cannot.size(), config_.src.user),
        cannot,
        fmt::format("on the destination, GRANT each of them TO {} WITH SET TRUE (a superuser "
                    "role cannot be granted: then use a superuser, or a dst.user of the same "
                    "name as src.user)",
                    pg::QuoteIdent(config_.dst.user)));
  }

  // The copy relays the source's text as it is, and verify compares hashes of it, on each side
  // in its database's encoding: between two encodings the copy would store the source's bytes
  // read in the destination's encoding ('café' in UTF8 arrives in LATIN1 as five characters)
  // while replication converts, and verify would call the converted rows different.
  void CheckEncodings(pg::Connection& src, pg::Connection& dst) {
    const char* name = "database encoding";
    const std::string from = src.server_encoding(), to = dst.server_encoding();
    if (from == to) return (void)Add(name, CheckLevel::kPass, "both " + from);
    Add(name, CheckLevel::kFail,
        fmt::format("the source database {} is {} and the destination database {} is {}: "
                    "db_relocate copies text in the source's encoding only",
                    config_.src.name, from, config_.dst.name, to),
        {config_.dst.name},
        fmt::format("relocate into a database made in the source's encoding: on the "
                    "destination, CREATE DATABASE name TEMPLATE template0 ENCODING '{}' (with a "
                    "locale that fits it), and set dst.name to it",
                    from));
  }

  void CheckExtensions(pg::Connection& src, pg::Connection& dst) {
    auto installed = src.Query(
        "SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' "
        "ORDER BY 1");
    auto available = dst.Query("SELECT name FROM pg_available_extensions");
    if (!installed.ok() || !available.ok()) {
      Add("extensions", CheckLevel::kFail,
          installed.ok() ? available.message() : installed.message());
      return;
    }
    std::set<std::string> have;
    for (int i = 0; i < available->rows(); ++i) have.insert(available->Get(i, 0));
    std::vector<std::string> missing;
    for (int i = 0; i < installed->rows(); ++i)
      if (!have.count(installed->Get(i, 0))) missing.push_back(installed->Get(i, 0));
    if (!missing.empty()) {
      Add("extensions", CheckLevel::kFail,
          "installed on the source but not available on the destination", missing,
          "install these extensions' packages on the destination server");
    } else {
      Add("extensions", CheckLevel::kPass,
          fmt::format("{} extensions, all available on the destination", installed->rows()));
    }
  }

  void CheckDestinationConflicts(pg::Connection& dst, const ScopeListing& scope) {
    if (DestinationSchemaIsOurs(state_)) {
      Add("destination is empty", CheckLevel::kPass, "the schema was restored by this relocation");
      return;
    }
    auto existing = ListTables(dst, scope.schemas);
    if (!existing.ok()) {
      Add("destination is empty", CheckLevel::kFail, existing.message());
      return;
    }
    std::set<std::string> source_names;
    for (const auto& t : scope.tables) source_names.insert(t.Display());
    for (const auto& t : scope.without_rows) source_names.insert(t.Display());
    std::vector<std::string> clashes;
    for (const auto& t : *existing)
      if (source_names.count(t.Display())) clashes.push_back(t.Display());
    // The copy makes the destination's large objects the source's: it would remove others.
    auto large_objects = dst.QueryInt("SELECT count(*) FROM pg_largeobject_metadata");
    if (!large_objects.ok()) {
      Add("destination is empty", CheckLevel::kFail, large_objects.message());
      return;
    }
    if (*large_objects > 0) clashes.push_back(fmt::format("{} large objects", *large_objects));
    if (!clashes.empty()) {
      Add("destination is empty", CheckLevel::kFail,
          fmt::format("{} tables in scope or large objects already exist on the destination; "
                      "db_relocate never overwrites them",
                      clashes.size()),
          clashes,
          "relocate into an empty database, or drop these tables (and unlink these large "
          "objects) on the destination");
    } else {
      Add("destination is empty", CheckLevel::kPass,
          "no table in scope and no large object exists there yet");
    }
  }

  void CheckPgDump(pg::Connection& src) {
    auto tool = pg::FindPgTool("pg_dump", src.server_major(), config_.pg_bin_dir);
    if (!tool.ok()) {
      Add("pg_dump", CheckLevel::kFail, tool.message());
    } else {
      Add("pg_dump", CheckLevel::kPass, "pg_dump " + tool->version + " at " + tool->path.string());
    }
  }

  const Config& config_;
  const names::Links links_;
  PreflightOptions options_;
  RunState state_;       // as recorded in state_dir (empty when none is)
  RelocationMark mark_;  // the relocation's, from the state when one is recorded
  PreflightReport report_;
  bool source_is_superuser_ = false;
  bool destination_is_superuser_ = false;
};

}  // namespace

PreflightReport RunPreflight(const Config& config, const PreflightOptions& options) {
  if (config.engine == EngineKind::kMysql) {
    auto state = StateStore(config.state_dir).Load();
    return mysql::RunPreflight(config, state.ok() && DestinationSchemaIsOurs(*state));
  }
  return Preflight(config, options).Run();
}

}  // namespace dbr
