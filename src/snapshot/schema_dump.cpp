#include "snapshot/schema_dump.h"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <set>

#include "model/names.h"
#include "model/servers.h"
#include "pg/quote.h"
#include "snapshot/restore_list.h"
#include "util/files.h"
#include "util/log.h"
#include "util/process.h"

namespace dbr {
namespace {

// Passwords reach pg_dump and pg_restore through the environment, never argv.
std::map<std::string, std::string> ClientEnv(const ServerConfig& server) {
  std::map<std::string, std::string> env = {{"PGPASSWORD", server.password},
                                            {"PGAPPNAME", names::kApplicationName},
                                            {"PGCONNECT_TIMEOUT", "10"},
                                            {"PGSSLMODE", server.sslmode}};
  if (!server.sslrootcert.empty()) env["PGSSLROOTCERT"] = server.sslrootcert;
  return env;
}

// --dbname is read as a connection string when it holds "=" (or starts like a URI): pass one,
// so that any database name is taken as written.
std::vector<std::string> ConnectionArgs(const ServerConfig& server) {
  return {"--host=" + server.host, "--port=" + std::to_string(server.port),
          "--username=" + server.user, "--dbname=dbname=" + pg::QuoteConninfoValue(server.name)};
}

// pg_dump's -n and --exclude-table take patterns; quoting makes one match the name exactly.
std::string ExactNamePattern(const std::string& schema) {
  return pg::QuoteIdent(schema);
}

// The table-of-contents descriptions ("SCHEMA - <name> <owner>") of the schemas the destination
// has already, whoever the archive names as owner (a role the destination has: EnsureRoles ran).
// Matched whole, so that "public" does not also skip a schema named "public ü".
Result<std::set<std::string>> ExistingSchemaEntries(pg::Connection& dst) {
  auto r = dst.Query(
      "SELECT 'SCHEMA - ' || n.nspname || ' ' || r.rolname FROM pg_namespace n CROSS JOIN "
      "pg_roles r");
  if (!r.ok()) return r.status();
  std::set<std::string> out;
  for (int i = 0; i < r->rows(); ++i) out.insert(r->Get(i, 0));
  return out;
}

Status RunTool(const ProcessSpec& spec, const std::string& what) {
  log::debug("running {}", spec.argv[0]);
  auto out = RunProcess(spec);
  if (!out.ok()) return out.status().Wrap(what);
  if (out->exit_code != 0) return Status::Error(what + ": " + DescribeFailure(spec, *out));
  return Status::Ok();
}

}  // namespace

Status EnsureRoles(pg::Connection& src, pg::Connection& dst,
                   const std::vector<std::string>& schemas, std::vector<std::string>* created) {
  auto roles = src.Query(R"sql(
    WITH s AS (SELECT oid, nspowner, nspacl FROM pg_namespace WHERE nspname = ANY($1::text[])),
    used AS (
      SELECT nspowner AS role FROM s
      UNION SELECT relowner FROM pg_class WHERE relnamespace IN (SELECT oid FROM s)
      UNION SELECT proowner FROM pg_proc WHERE pronamespace IN (SELECT oid FROM s)
      UNION SELECT typowner FROM pg_type WHERE typnamespace IN (SELECT oid FROM s)
      UNION SELECT (aclexplode(relacl)).grantee FROM pg_class
             WHERE relnamespace IN (SELECT oid FROM s) AND relacl IS NOT NULL
      UNION SELECT (aclexplode(nspacl)).grantee FROM s WHERE nspacl IS NOT NULL
      UNION SELECT (aclexplode(proacl)).grantee FROM pg_proc
             WHERE pronamespace IN (SELECT oid FROM s) AND proacl IS NOT NULL
      UNION SELECT lomowner FROM pg_largeobject_metadata
      UNION SELECT (aclexplode(lomacl)).grantee FROM pg_largeobject_metadata
             WHERE lomacl IS NOT NULL)
    SELECT r.rolname, r.rolcanlogin, r.rolinherit, r.rolcreatedb, r.rolcreaterole,
           r.rolconnlimit, r.rolsuper
      FROM pg_roles r JOIN used u ON u.role = r.oid
     WHERE r.rolname NOT LIKE 'pg\_%' ORDER BY 1)sql",
                         {pg::TextArrayLiteral(schemas)});
  if (!roles.ok()) return roles.status();
  auto existing = dst.Query("SELECT rolname FROM pg_roles");
  if (!existing.ok()) return existing.status();
  std::set<std::string> have;
  for (int i = 0; i < existing->rows(); ++i) have.insert(existing->Get(i, 0));
  // From PostgreSQL 16 a creator that is not a superuser gets only ADMIN on the roles it
  // creates. With this it may also SET ROLE to them (to give them their objects) and use their
  // privileges: create in the schemas they own, and publish their tables at the cut-over, which
  // takes ownership. (Superusers ignore the setting.)
  if (dst.server_major() >= 16)
    DBR_RETURN_IF_ERROR(dst.Exec("SET createrole_self_grant = 'set, inherit'"));
  std::vector<std::string> failed;
  for (int i = 0; i < roles->rows(); ++i) {
    std::string name = roles->Get(i, 0);
    if (have.count(name)) continue;
    std::string sql = fmt::format(
        "CREATE ROLE {} WITH {} {} {} {} CONNECTION LIMIT {}", pg::QuoteIdent(name),
        roles->GetBool(i, 1) ? "LOGIN" : "NOLOGIN", roles->GetBool(i, 2) ? "INHERIT" : "NOINHERIT",
        roles->GetBool(i, 3) ? "CREATEDB" : "NOCREATEDB",
        roles->GetBool(i, 4) ? "CREATEROLE" : "NOCREATEROLE", roles->Get(i, 5));
    Status st = dst.Exec(sql);
    if (!st.ok()) {
      failed.push_back(name + " (" + st.message() + ")");
      continue;
    }
    created->push_back(name);
    log::info(
        "created role {} on the destination (without a password: set one before the "
        "application uses it there){}",
        name, roles->GetBool(i, 6) ? "; it is a superuser on the source, not here" : "");
  }
  if (!failed.empty()) {
    std::string list;
    for (const auto& f : failed) list += (list.empty() ? "" : "; ") + f;
    return Status::Error(
        "roles that own or are granted objects in scope are missing on the "
        "destination and could not be created: " +
        list + ". Create them there, then run again");
  }
  return Status::Ok();
}

Status GrantExistingSchemaPrivileges(pg::Connection& src, pg::Connection& dst,
                                     const std::vector<std::string>& schemas) {
  auto grants = src.Query(R"sql(
    SELECT n.nspname, r.rolname, a.privilege_type
      FROM pg_namespace n, aclexplode(n.nspacl) a JOIN pg_roles r ON r.oid = a.grantee
     WHERE n.nspname = ANY($1::text[]) AND r.rolname NOT LIKE 'pg\_%'
    UNION
    SELECT n.nspname, r.rolname, 'CREATE'
      FROM pg_namespace n
      JOIN (SELECT relnamespace, relowner FROM pg_class
            UNION SELECT typnamespace, typowner FROM pg_type
            UNION SELECT pronamespace, proowner FROM pg_proc) o (ns, owner) ON o.ns = n.oid
      JOIN pg_roles r ON r.oid = o.owner
     WHERE n.nspname = ANY($1::text[]) AND r.rolsuper
     ORDER BY 1, 2, 3)sql",
                          {pg::TextArrayLiteral(schemas)});
  if (!grants.ok()) return grants.status();
  auto there = dst.Query("SELECT nspname FROM pg_namespace WHERE nspname = ANY($1::text[])",
                         {pg::TextArrayLiteral(schemas)});
  if (!there.ok()) return there.status();
  std::set<std::string> existing;
  for (int i = 0; i < there->rows(); ++i) existing.insert(there->Get(i, 0));
  for (int i = 0; i < grants->rows(); ++i) {
    const std::string schema = grants->Get(i, 0);
    if (!existing.count(schema)) continue;
    DBR_RETURN_IF_ERROR(
        dst.Exec(fmt::format("GRANT {} ON SCHEMA {} TO {}", grants->Get(i, 2),
                             pg::QuoteIdent(schema), pg::QuoteIdent(grants->Get(i, 1))))
            .Wrap("granting on schema " + schema + " what the source grants"));
  }
  return Status::Ok();
}

Status EnsureExtensions(pg::Connection& src, pg::Connection& dst) {
  auto ext = src.Query(
      "SELECT e.extname, n.nspname FROM pg_extension e JOIN pg_namespace n ON "
      "n.oid = e.extnamespace WHERE e.extname <> 'plpgsql' ORDER BY 1");
  if (!ext.ok()) return ext.status();
  for (int i = 0; i < ext->rows(); ++i) {
    std::string schema = pg::QuoteIdent(ext->Get(i, 1));
    DBR_RETURN_IF_ERROR(dst.Exec("CREATE SCHEMA IF NOT EXISTS " + schema));
    DBR_RETURN_IF_ERROR(dst.Exec("CREATE EXTENSION IF NOT EXISTS " +
                                 pg::QuoteIdent(ext->Get(i, 0)) + " WITH SCHEMA " + schema)
                            .Wrap("creating extension " + ext->Get(i, 0)));
  }
  return Status::Ok();
}

Status DumpSchema(const Config& config, const pg::PgTool& pg_dump, const std::string& snapshot,
                  const std::vector<std::string>& schemas,
                  const std::vector<RelationName>& excluded, const std::filesystem::path& archive) {
  ProcessSpec spec{.argv = {pg_dump.path.string()}, .env = ClientEnv(config.src)};
  for (auto& a : ConnectionArgs(config.src)) spec.argv.push_back(a);
  for (const char* a :
       {"--schema-only", "--format=custom", "--no-publications", "--no-subscriptions"})
    spec.argv.push_back(a);
  spec.argv.push_back("--file=" + archive.string());
  if (!snapshot.empty()) spec.argv.push_back("--snapshot=" + snapshot);
  for (const auto& s : schemas) spec.argv.push_back("--schema=" + ExactNamePattern(s));
  for (const auto& r : excluded)
    spec.argv.push_back("--exclude-table=" + ExactNamePattern(r.schema) + "." +
                        ExactNamePattern(r.name));
  return RunTool(spec, "dumping the source's schema");
}

namespace {

// The list of entries to restore, kept as <archive>.<list_name>.list; returns its path.
Result<std::string> WriteRestoreList(const std::filesystem::path& archive, const std::string& list,
                                     const std::string& list_name) {
  std::string path = archive.string() + "." + list_name + ".list";
  DBR_RETURN_IF_ERROR(WriteFileAtomic(path, list));
  return path;
}

// One pg_restore of the entries in `list` of `section`: in one transaction when `jobs` is 0,
// else with `jobs` in parallel.
Status RunPgRestore(const Config& config, const pg::PgTool& pg_restore,
                    const std::filesystem::path& archive, const std::string& section,
                    const std::string& list, const std::string& list_name, int jobs,
                    bool resuming) {
  DBR_ASSIGN_OR_RETURN(const std::string list_file, WriteRestoreList(archive, list, list_name));
  ProcessSpec spec{.argv = {pg_restore.path.string()}, .env = ClientEnv(config.dst)};
  // Each entry restored in parallel commits on its own: no WAL flush for each, as for the rows.
  // The state records a restore as done only after flushing the destination's WAL.
  const char* options = std::getenv("PGOPTIONS");
  spec.env["PGOPTIONS"] = std::string(options ? options : "") + " -c synchronous_commit=off";
  for (auto& a : ConnectionArgs(config.dst)) spec.argv.push_back(a);
  spec.argv.push_back("--section=" + section);
  spec.argv.push_back("--use-list=" + list_file);
  if (jobs == 0) {
    spec.argv.push_back("--single-transaction");
    spec.argv.push_back("--exit-on-error");
  } else {
    spec.argv.push_back("--jobs=" + std::to_string(jobs));
    if (!resuming) spec.argv.push_back("--exit-on-error");
  }
  spec.argv.push_back(archive.string());
  std::string what = "restoring the schema's " + section + " part on the destination";
  auto out = RunProcess(spec);
  if (!out.ok()) return out.status().Wrap(what);
  if (out->exit_code == 0) return Status::Ok();
  if (resuming && OnlyAlreadyExistsErrors(out->err)) {
    log::info("{}: objects left by the interrupted attempt were kept", what);
    return Status::Ok();
  }
  return Status::Error(what + ": " + DescribeFailure(spec, *out));
}

// About a megabyte a message: the server parses a message whole before running it, so a
// schema of hundreds of thousands of objects is sent in parts rather than held in one.
constexpr size_t kScriptPieceBytes = 1 << 20;

// Runs the script at `path` in one transaction on a connection of its own (the script's SETs
// end with it). Any error leaves nothing of it on the destination.
Status RunScriptInOneTransaction(const std::filesystem::path& path, const pg::ConnParams& dst) {
  std::ifstream script(path);
  if (!script) return Status::Error("cannot read " + path.string());
  DBR_ASSIGN_OR_RETURN(pg::Connection conn, pg::Connection::Open(dst));
  DBR_RETURN_IF_ERROR(conn.Exec("BEGIN"));
  DBR_RETURN_IF_ERROR(ForEachScriptPiece(
      script, kScriptPieceBytes, [&](const std::string& piece) { return conn.ExecScript(piece); }));
  return conn.Exec("COMMIT");
}

// The pre-data entries in `list`, in one transaction. pg_restore writes them as SQL, sent a
// megabyte a message: about half the time of pg_restore's own round trip per statement
// (bench/README.md, stop 52). Should that fail, nothing of it stays and pg_restore runs the
// entries again itself, so that the error names the statement at fault.
Status RestorePreData(const Config& config, const pg::PgTool& pg_restore,
                      const std::filesystem::path& archive, const std::string& list) {
  DBR_ASSIGN_OR_RETURN(const std::string list_file, WriteRestoreList(archive, list, "pre-data"));
  const std::string script = archive.string() + ".pre-data.sql";
  DBR_RETURN_IF_ERROR(
      RunTool({.argv = {pg_restore.path.string(), "--section=pre-data", "--use-list=" + list_file,
                        "--file=" + script, archive.string()}},
              "writing the schema's pre-data part as SQL"));
  Status sent = RunScriptInOneTransaction(script, DestinationParams(config));
  std::error_code ignored;
  std::filesystem::remove(script, ignored);
  if (sent.ok()) return Status::Ok();
  log::info(
      "the schema's pre-data part did not restore in one go ({}); pg_restore runs it again, "
      "statement by statement",
      sent.message());
  return RunPgRestore(config, pg_restore, archive, "pre-data", list, "pre-data", 0, false);
}

}  // namespace

Result<std::string> ArchiveToc(const pg::PgTool& pg_restore, const std::filesystem::path& archive) {
  auto toc = RunProcess({.argv = {pg_restore.path.string(), "--list", archive.string()}});
  if (!toc.ok() || toc->exit_code != 0)
    return Status::Error("listing the schema archive failed: " +
                         (toc.ok() ? toc->err : toc.message()));
  return toc->out;
}

Status RestoreEntries(const Config& config, const pg::PgTool& pg_restore,
                      const std::filesystem::path& archive, const std::string& list,
                      const std::string& list_name) {
  if (list.empty()) return Status::Ok();
  return RunPgRestore(config, pg_restore, archive, "post-data", list, list_name, 0, false);
}

Status RestoreSection(const Config& config, const pg::PgTool& pg_restore,
                      const std::filesystem::path& archive, const std::string& toc,
                      const std::string& section, int jobs, bool resuming, pg::Connection& dst,
                      const std::set<std::string>& built) {
  // The table of contents, minus what exists on every database (the public schema), is
  // handled apart (extensions) or was built already.
  auto existing = ExistingSchemaEntries(dst);
  if (!existing.ok()) return existing.status();
  existing->insert(built.begin(), built.end());
  const std::string list =
      FilterRestoreList(toc, {"EXTENSION - ", "COMMENT - EXTENSION "}, *existing);
  if (section == "pre-data") return RestorePreData(config, pg_restore, archive, list);
  if (jobs <= 1)
    return RunPgRestore(config, pg_restore, archive, section, list, section, 1, resuming);
  // In parallel, attaching a partition's index to its parent's (ALTER INDEX ... ATTACH
  // PARTITION) deadlocks with the other partitions' index builds, which pg_restore 15 does not
  // order: the attachments run alone once every index is built. A foreign key referencing a
  // partitioned table needs its parent's index whole, so the foreign keys come last.
  auto [rest, fks] = SplitRestoreList(list, {"FK CONSTRAINT "});
  const auto [parallel, attach] = SplitRestoreList(rest, {"INDEX ATTACH "});
  DBR_RETURN_IF_ERROR(
      RunPgRestore(config, pg_restore, archive, section, parallel, section, jobs, resuming));
  if (!attach.empty())
    DBR_RETURN_IF_ERROR(RunPgRestore(config, pg_restore, archive, section, attach,
                                     section + "-attach", 1, resuming));
  if (fks.empty()) return Status::Ok();
  return RunPgRestore(config, pg_restore, archive, section, fks, section + "-fk", jobs, resuming);
}

}  // namespace dbr
