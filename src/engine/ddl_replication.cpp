#include "engine/ddl_replication.h"

#include <fmt/format.h>

#include <optional>
#include <set>

#include "model/scope.h"
#include "pg/quote.h"
#include "util/log.h"

namespace dbr {
namespace {

// The statements of a query string, counted by a small lexer that knows quotes, dollar quotes
// and comments (-1: an unterminated one). Nested block comments are not followed.
const char* const kStatementCount = R"sql(
CREATE OR REPLACE FUNCTION db_relocate.statement_count(q text) RETURNS int
LANGUAGE plpgsql IMMUTABLE AS $f$
DECLARE
  i int := 1; n int := length(q); c text; d text; e int; stmts int := 0; seen boolean := false;
BEGIN
  WHILE i <= n LOOP
    c := substr(q, i, 1);
    IF c IN ('''', '"') THEN
      e := strpos(substr(q, i + 1), c);
      IF e = 0 THEN RETURN -1; END IF;
      i := i + e + 1; seen := true; CONTINUE;
    ELSIF substr(q, i, 2) = '--' THEN
      e := strpos(substr(q, i), E'\n');
      EXIT WHEN e = 0;
      i := i + e; CONTINUE;
    ELSIF substr(q, i, 2) = '/*' THEN
      e := strpos(substr(q, i + 2), '*/');
      IF e = 0 THEN RETURN -1; END IF;
      i := i + e + 3; CONTINUE;
    ELSIF c = '$' AND (i = 1 OR substr(q, i - 1, 1) !~ '[A-Za-z0-9_$]') THEN
      d := substring(substr(q, i) from '^(\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$)');
      IF d IS NOT NULL THEN
        e := strpos(substr(q, i + length(d)), d);
        IF e = 0 THEN RETURN -1; END IF;
        i := i + length(d) + e - 1 + length(d); seen := true; CONTINUE;
      END IF;
    ELSIF c = ';' THEN
      IF seen THEN stmts := stmts + 1; END IF;
      seen := false; i := i + 1; CONTINUE;
    END IF;
    IF c !~ '\s' THEN seen := true; END IF;
    i := i + 1;
  END LOOP;
  RETURN stmts + CASE WHEN seen THEN 1 ELSE 0 END;
END $f$)sql";

// The first word of a statement, past leading blanks and comments.
const char* const kFirstWord = R"sql(
CREATE OR REPLACE FUNCTION db_relocate.first_word(q text) RETURNS text
LANGUAGE sql IMMUTABLE AS $f$
  SELECT upper(substring(regexp_replace(q, '^(\s+|--[^\n]*(\n|$)|/\*([^*]|\*[^/])*\*/)*', '')
                         from '^[A-Za-z]+'))
$f$)sql";

// Whether the relation `rel` (or the one it follows: an index's table, a sequence's owner, a
// partition's root) is in scope. {covers} is ScopeFilter::SqlCovers over s and n.
const char* const kCovers = R"sql(
CREATE OR REPLACE FUNCTION db_relocate.ddl_covers(rel oid) RETURNS boolean
LANGUAGE sql STABLE AS $f$
  WITH owner AS (
    SELECT COALESCE((SELECT indrelid FROM pg_index WHERE indexrelid = rel),
                    (SELECT refobjid FROM pg_depend WHERE classid = 'pg_class'::regclass
                        AND objid = rel AND refclassid = 'pg_class'::regclass
                        AND deptype IN ('a', 'i') LIMIT 1),
                    rel) AS oid),
  root AS (
    SELECT CASE WHEN c.relispartition THEN pg_partition_root(c.oid) ELSE c.oid END AS oid
      FROM pg_class c JOIN owner o ON o.oid = c.oid)
  SELECT COALESCE((SELECT {covers}
                     FROM (SELECT n.nspname AS s, c.relname AS n
                             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                             JOIN root r ON r.oid = c.oid) x), false)
$f$)sql";

// ddl_command_start: the caller's search_path, which record_ddl (a SECURITY DEFINER function with
// a search_path of its own) cannot read.
const char* const kNoteSearchPath = R"sql(
CREATE OR REPLACE FUNCTION db_relocate.note_search_path() RETURNS event_trigger
LANGUAGE plpgsql AS $f$
BEGIN
  PERFORM pg_catalog.set_config('db_relocate.search_path',
                                pg_catalog.current_setting('search_path'), true);
END $f$)sql";

// ddl_command_end (everything but DROP) and sql_drop (DROP). {covers} over s and n decides for
// objects outside pg_class and for dropped ones, by schema and name.
const char* const kRecord = R"sql(
CREATE OR REPLACE FUNCTION db_relocate.record_ddl() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
DECLARE
  q text := current_query();
  caller text := CASE current_setting('role') WHEN 'none' THEN session_user::text
                                              ELSE current_setting('role') END;
  touches boolean := false;
  cmd record;
BEGIN
  IF tg_event = 'sql_drop' THEN
    IF tg_tag NOT LIKE 'DROP %' THEN RETURN; END IF;
    SELECT bool_or(x.s <> 'db_relocate' AND CASE
             WHEN x.kind IN ('table', 'view', 'materialized view', 'sequence', 'foreign table')
             THEN {covers} ELSE {schema_covers} END) INTO touches
      FROM (SELECT schema_name AS s, COALESCE(object_name, '') AS n, object_type AS kind
              FROM pg_event_trigger_dropped_objects()
             WHERE original AND NOT is_temporary AND schema_name IS NOT NULL) x;
  ELSE
    IF tg_tag LIKE 'DROP %' THEN RETURN; END IF;
    FOR cmd IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
      CONTINUE WHEN cmd.in_extension OR cmd.schema_name IS NULL
                 OR cmd.schema_name IN ('db_relocate', 'pg_temp') OR cmd.schema_name LIKE 'pg_temp%';
      IF cmd.classid = 'pg_class'::regclass THEN
        touches := touches OR db_relocate.ddl_covers(cmd.objid);
      ELSE
        touches := touches OR (SELECT {schema_covers} FROM (SELECT cmd.schema_name::text AS s) x);
      END IF;
    END LOOP;
  END IF;
  IF NOT COALESCE(touches, false) THEN RETURN; END IF;
  IF tg_tag IN ('CREATE TABLE AS', 'SELECT INTO') THEN
    RAISE EXCEPTION 'db_relocate (ddl: replicate) does not carry % to the destination: its rows would arrive there twice', tg_tag
      USING HINT = 'create the table, then fill it with INSERT ... SELECT';
  END IF;
  IF q ~* '\mconcurrently\M' THEN
    RAISE WARNING 'db_relocate (ddl: replicate) does not carry % CONCURRENTLY to the destination (it cannot run inside the apply transaction): run it there too', tg_tag;
    RETURN;
  END IF;
  IF db_relocate.statement_count(q) <> 1
     OR db_relocate.first_word(q) IS DISTINCT FROM split_part(tg_tag, ' ', 1) THEN
    RAISE EXCEPTION 'db_relocate (ddl: replicate) cannot carry this % to the destination: it was sent in one query string with other statements, or run from a function (DO, CALL, SELECT), which would run them twice there', tg_tag
      USING HINT = 'send each DDL statement as a query of its own while the relocation runs';
  END IF;
  INSERT INTO db_relocate.ddl_log (role, search_path, tag, statement)
    VALUES (caller, COALESCE(current_setting('db_relocate.search_path', true), ''), tg_tag, q);
  IF tg_event = 'ddl_command_end' AND EXISTS (SELECT 1 FROM pg_publication WHERE pubname = {publication}) THEN
    FOR cmd IN SELECT c.objid FROM pg_event_trigger_ddl_commands() c
                JOIN pg_class r ON r.oid = c.objid
               WHERE c.command_tag = 'CREATE TABLE' AND c.classid = 'pg_class'::regclass
                 AND r.relkind = 'r' AND r.relpersistence = 'p' LOOP
      IF db_relocate.ddl_covers(cmd.objid) THEN
        BEGIN
          EXECUTE format('ALTER PUBLICATION %I ADD TABLE %s', {publication}, cmd.objid::regclass);
          EXECUTE format('GRANT SELECT ON %s TO %I', cmd.objid::regclass, {replication_user});
        EXCEPTION WHEN OTHERS THEN
          RAISE WARNING 'db_relocate: table % is created on the destination but its rows are not replicated: %', cmd.objid::regclass, SQLERRM
            USING HINT = '`db_relocate status` says how to add it';
        END;
      END IF;
    END LOOP;
  END IF;
END $f$)sql";

// Runs on the receiving side, in the apply worker only (ENABLE REPLICA).
const char* const kApply = R"sql(
CREATE OR REPLACE FUNCTION db_relocate.apply_ddl() RETURNS trigger
LANGUAGE plpgsql AS $f$
DECLARE
  old_path text := current_setting('search_path');
  as_role boolean := false;
BEGIN
  PERFORM set_config('search_path', NEW.search_path, true);
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = NEW.role) THEN
    BEGIN
      EXECUTE format('SET LOCAL ROLE %I', NEW.role);
      as_role := true;
    EXCEPTION WHEN OTHERS THEN
      as_role := false;  -- not a member: the statement runs as the subscription's owner
    END;
  END IF;
  BEGIN
    EXECUTE NEW.statement;
  EXCEPTION WHEN OTHERS THEN
    RAISE EXCEPTION 'db_relocate: DDL #% from the source failed on this server: %', NEW.id, SQLERRM
      USING DETAIL = 'statement: ' || NEW.statement,
            HINT = 'make it succeed here (create what it needs), and replication goes on by itself';
  END;
  IF as_role THEN RESET ROLE; END IF;
  PERFORM set_config('search_path', old_path, true);
  RETURN NEW;
END $f$)sql";

std::string Fill(std::string sql, const ScopeFilter& scope, const std::string& publication,
                 const std::string& replication_user) {
  for (auto [key, value] :
       {std::pair<std::string, std::string>{"{covers}", scope.SqlCovers("x.s", "x.n")},
        {"{schema_covers}", scope.SqlCoversSchema("x.s")},
        {"{publication}", pg::QuoteLiteral(publication)},
        {"{replication_user}", pg::QuoteLiteral(replication_user)}})
    for (size_t at = sql.find(key); at != std::string::npos; at = sql.find(key, at + value.size()))
      sql.replace(at, key.size(), value);
  return sql;
}

}  // namespace

Status EnsureDdlCapture(pg::Connection& conn, const Config& config,
                        const std::string& publication) {
  const ScopeFilter scope(config);
  const std::string log = pg::QualifiedName(names::kSchema, kDdlLogTable);
  std::vector<std::string> statements = {
      "CREATE TABLE IF NOT EXISTS " + log +
          " (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp(),"
          "  role text NOT NULL, search_path text NOT NULL, tag text NOT NULL,"
          "  statement text NOT NULL)",
      kStatementCount,
      kFirstWord,
      Fill(kCovers, scope, publication, config.upgrade.user),
      Fill(kRecord, scope, publication, config.upgrade.user),
      kApply,
      kNoteSearchPath,
      "DROP TRIGGER IF EXISTS apply_ddl ON " + log,
      "CREATE TRIGGER apply_ddl BEFORE INSERT ON " + log +
          " FOR EACH ROW EXECUTE FUNCTION db_relocate.apply_ddl()",
      "ALTER TABLE " + log + " ENABLE REPLICA TRIGGER apply_ddl",
      "DROP EVENT TRIGGER IF EXISTS db_relocate_ddl",
      "DROP EVENT TRIGGER IF EXISTS db_relocate_ddl_drop",
      "DROP EVENT TRIGGER IF EXISTS db_relocate_ddl_start",
      "CREATE EVENT TRIGGER db_relocate_ddl_start ON ddl_command_start "
      "EXECUTE FUNCTION db_relocate.note_search_path()",
      "CREATE EVENT TRIGGER db_relocate_ddl ON ddl_command_end "
      "EXECUTE FUNCTION db_relocate.record_ddl()",
      "CREATE EVENT TRIGGER db_relocate_ddl_drop ON sql_drop "
      "EXECUTE FUNCTION db_relocate.record_ddl()",
  };
  DBR_RETURN_IF_ERROR(conn.Exec("BEGIN"));
  for (const auto& sql : statements) {
    Status st = conn.Exec(sql);
    if (!st.ok()) {
      (void)conn.Exec("ROLLBACK");
      return st.Wrap("setting up DDL capture (ddl: replicate) on the " + conn.params().label +
                     ": creating an event trigger needs a superuser, rds_superuser or "
                     "cloudsqlsuperuser");
    }
  }
  DBR_RETURN_IF_ERROR(conn.Exec("COMMIT"));
  log::info("DDL on the {} is recorded in {} and replayed on the other side (ddl: replicate)",
            conn.params().label, log);
  return Status::Ok();
}

Result<int> FollowNewTables(pg::Connection& sender, pg::Connection& receiver,
                            const names::Link& link) {
  auto published =
      sender.Query("SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1",
                   {link.publication});
  if (!published.ok()) return published.status();
  auto known = receiver.Query(
      "SELECT n.nspname, c.relname FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = "
      "r.srsubid JOIN pg_class c ON c.oid = r.srrelid JOIN pg_namespace n ON n.oid = "
      "c.relnamespace WHERE s.subname = $1 AND s.subdbid = (SELECT oid FROM pg_database WHERE "
      "datname = current_database())",
      {link.subscription});
  if (!known.ok()) return known.status();
  std::set<std::pair<std::string, std::string>> have;
  for (int i = 0; i < known->rows(); ++i) have.insert({known->Get(i, 0), known->Get(i, 1)});
  int ready = 0;
  for (int i = 0; i < published->rows(); ++i) {
    const auto key = std::make_pair(published->Get(i, 0), published->Get(i, 1));
    if (have.count(key)) continue;
    // Its CREATE TABLE must have been applied here first.
    auto there = receiver.QueryValue("SELECT to_regclass($1) IS NOT NULL",
                                     {pg::QualifiedName(key.first, key.second)});
    if (!there.ok()) return there.status();
    if (*there != "t") return 0;  // not yet: the next round
    ++ready;
  }
  if (ready == 0) return 0;
  DBR_RETURN_IF_ERROR(receiver.Exec("ALTER SUBSCRIPTION " + pg::QuoteIdent(link.subscription) +
                                    " REFRESH PUBLICATION WITH (copy_data = true)"));
  log::info("subscription {} refreshed: {} tables created on the {} since are being copied",
            link.subscription, ready, sender.params().label);
  return ready;
}

Result<std::optional<PendingDdl>> FirstPendingDdl(pg::Connection& sender,
                                                  pg::Connection& receiver) {
  const std::string log = pg::QualifiedName(names::kSchema, kDdlLogTable);
  auto applied = receiver.QueryValue("SELECT COALESCE(max(id), 0) FROM " + log);
  if (!applied.ok()) return applied.status();
  auto next = sender.Query("SELECT id, role, search_path, statement FROM " + log +
                               " WHERE id > $1::bigint ORDER BY id LIMIT 1",
                           {*applied});
  if (!next.ok()) return next.status();
  if (next->rows() == 0) return std::optional<PendingDdl>();
  PendingDdl pending{next->GetInt(0, 0), next->Get(0, 3), ""};
  // Tried where it must run, and undone; a lock it would wait for means the apply worker holds
  // it (the statement is being applied), not an error.
  DBR_RETURN_IF_ERROR(receiver.Exec("BEGIN"));
  Status tried = receiver.Exec(
      "SELECT set_config('search_path', $1, true), set_config('lock_timeout', '500ms', true), "
      "set_config('statement_timeout', '5s', true)",
      {next->Get(0, 2)});
  if (tried.ok()) tried = receiver.Exec(pending.statement);
  (void)receiver.Exec("ROLLBACK");
  if (!tried.ok() && tried.message().find("lock timeout") == std::string::npos)
    pending.error = tried.message();
  return std::optional<PendingDdl>(std::move(pending));
}

}  // namespace dbr
