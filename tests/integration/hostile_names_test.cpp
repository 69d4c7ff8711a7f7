// Object names with quotes, spaces, backslashes, dots, pattern characters, line breaks, tabs,
// unicode and SQL keywords in every position (database, schemas that differ only in case, tables,
// columns, an index, sequences, an enum, a partitioned table, roles, the replication user and its
// password): each quoting helper round-trips through a real server, and `run` relocates such a
// database 15 -> 17 under live writes, with every table equal on both sides.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "harness/cluster.h"
#include "harness/relocation.h"
#include "harness/shared_pair.h"
#include "harness/wait.h"
#include "pg/quote.h"

namespace dbr::test {
namespace {

using pg::QualifiedName;
using pg::QuoteIdent;
using pg::QuoteLiteral;

// Every kind of character that breaks naive quoting, and words that are reserved.
const std::vector<std::string> kHostileTexts = {
    "plain",
    "Mixed Case",
    "with space",
    R"(double "quote")",
    R"("")",
    R"(single 'quote')",
    "''",
    R"(back\slash)",
    R"(\)",
    R"(\\'")",
    "dot.ted",
    "star*question?",
    "Ünïcødé 表 🚀",
    "select",
    "user",
    "order",
    "table",
    "NULL",
    "$1",
    "semi; colon -- dash /* c */",
    "{brace,comma}",
    "tab\there",
    "new\nline",
};

// The database and the objects relocated end to end.
const std::string kDb = R"(app "db" 'x' ü=1)";
const std::string kS1 = R"(Sales "Ops" 'x' \ .*? Ünï 表 🚀)";
const std::string kS2 = R"(sales "ops" 'x' \ .*? ünï 表 🚀)";  // kS1 but for case
const std::string kS3 = "public ü";                           // starts like "public"
const std::string kS4 = "public ü.a";                         // kS3 + "." + "a"
const std::string kS5 = "multi\nline\tschema";  // pg_restore --list prints it on one line
const std::string kNewline = "new\nline";
const std::string kEnum = R"(Mood "e" 'x' \ .)";
const std::string kSeq = R"(seq "s" 'x' \ ?)";
const std::string kLines = R"(Order "Lines" 'x' \ .*?)";
const std::string kQty = R"(Qty "n" 'x' \.*?)";
const std::string kUni = "Ünïcødé 表 🚀";
const std::string kIndex = R"(idx "x" 'y' \ .*?)";
const std::string kParted = R"(table *? "p")";
const std::string kPart1 = R"(table *? part 'one')";
const std::string kPart2 = R"(part "two" ü)";
const std::string kView = R"(view "v" 'x' \ .*? 表)";
const std::string kOwner = R"(app "owner" 'ü' \)";
const std::string kReplUser = R"(repl "u" ü)";
const std::string kReplPassword = R"(p'a\ss w"rd ü {x})";

const std::vector<std::string> kHostileSchemas = {kS1, kS2, kS3, kS4, kS5, "db_relocate"};

// A YAML double-quoted scalar (a raw line break in one would be folded into a space).
std::string Yaml(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\n' || c == '\t') {
      out += c == '\n' ? "\\n" : "\\t";
      continue;
    }
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

std::string Schema() {
  const std::string lines1 = QualifiedName(kS1, kLines);
  const std::string seq = QualifiedName(kS1, kSeq);
  const std::string mood = QualifiedName(kS1, kEnum);
  std::vector<std::string> sql = {
      "CREATE ROLE " + QuoteIdent(kOwner),
      "CREATE SCHEMA " + QuoteIdent(kS1),
      "CREATE SCHEMA " + QuoteIdent(kS2),
      "CREATE SCHEMA " + QuoteIdent(kS3),
      "CREATE SCHEMA " + QuoteIdent(kS4),
      "CREATE SCHEMA " + QuoteIdent(kS5),
      "CREATE TYPE " + mood + " AS ENUM (" + QuoteLiteral("it's") + ", " + QuoteLiteral("\"q\"") +
          ", " + QuoteLiteral(R"(a\b)") + ", " + QuoteLiteral("ü 表") + ", 'select')",
      "CREATE SEQUENCE " + seq + " START 100",
      "CREATE TABLE " + lines1 + " (id serial PRIMARY KEY, \"select\" text, \"user\" text, " +
          QuoteIdent(kQty) + " int NOT NULL DEFAULT 0, " + QuoteIdent(kUni) + " " + mood +
          ", \"order\" bigint DEFAULT nextval(" + QuoteLiteral(seq) + "))",
      "CREATE INDEX " + QuoteIdent(kIndex) + " ON " + lines1 + " (" + QuoteIdent(kQty) + ")",
      "CREATE TABLE " + QualifiedName(kS1, "user") +
          " (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \"table\" text, \"Mixed Case\" "
          "text)",
      "CREATE TABLE " + QualifiedName(kS1, kParted) +
          " (id int, k int, v text, PRIMARY KEY (id, k)) PARTITION BY LIST (k)",
      "CREATE TABLE " + QualifiedName(kS1, kPart1) + " PARTITION OF " +
          QualifiedName(kS1, kParted) + " FOR VALUES IN (1)",
      "CREATE TABLE " + QualifiedName(kS2, kPart2) + " PARTITION OF " +
          QualifiedName(kS1, kParted) + " FOR VALUES IN (2)",
      "CREATE TABLE " + QualifiedName(kS2, kLines) + " (id bigserial PRIMARY KEY, v text)",
      "CREATE TABLE " + QualifiedName(kS2, "ORDER") + " (id int PRIMARY KEY, \"SELECT\" text)",
      "CREATE TABLE " + QualifiedName(kS2, "order") + " (id int PRIMARY KEY, v text)",
      "ALTER TABLE " + QualifiedName(kS2, "order") + " OWNER TO " + QuoteIdent(kOwner),
      "GRANT USAGE ON SCHEMA " + QuoteIdent(kS1) + " TO " + QuoteIdent(kOwner),
      "GRANT SELECT ON " + lines1 + " TO " + QuoteIdent(kOwner),
      "CREATE TABLE " + QualifiedName(kS3, "a.b") + " (id int PRIMARY KEY, v text)",
      "CREATE TABLE " + QualifiedName(kS4, "b") + " (id int PRIMARY KEY, w text)",
      "CREATE TABLE " + QualifiedName(kS5, kNewline) + " (id bigserial PRIMARY KEY, " +
          QuoteIdent("tab\there") + " text)",
      // Rows.
      "INSERT INTO " + lines1 + " (\"select\", \"user\", " + QuoteIdent(kQty) + ", " +
          QuoteIdent(kUni) + ") SELECT 'it''s ' || g, E'a\\\\b \"' || g, g, " +
          "(enum_range(NULL::" + mood + "))[1 + g % 5] FROM generate_series(1, 200) g",
      "INSERT INTO " + QualifiedName(kS1, "user") +
          " (\"table\", \"Mixed Case\") SELECT 'ü' || g, '表' FROM generate_series(1, 50) g",
      "INSERT INTO " + QualifiedName(kS1, kParted) +
          " SELECT g, 1 + g % 2, 'p' || g FROM generate_series(1, 100) g",
      "INSERT INTO " + QualifiedName(kS2, kLines) +
          " (v) SELECT 'v' || g FROM generate_series(1, "
          "100) g",
      "INSERT INTO " + QualifiedName(kS2, "ORDER") +
          " SELECT g, 'S' || g FROM generate_series(1, 20) g",
      "INSERT INTO " + QualifiedName(kS2, "order") +
          " SELECT g, 'o' || g FROM generate_series(1, 1000) g",
      "INSERT INTO " + QualifiedName(kS3, "a.b") +
          " SELECT g, 'ab' || g FROM generate_series(1, 20) g",
      "INSERT INTO " + QualifiedName(kS4, "b") +
          " SELECT g, 'b' || g FROM generate_series(1, 20) g",
      "INSERT INTO " + QualifiedName(kS5, kNewline) + " (" + QuoteIdent("tab\there") +
          ") SELECT E'line\\n' || g FROM generate_series(1, 30) g",
      // A view and a materialized view reading hostile columns across schemas.
      "CREATE VIEW " + QualifiedName(kS1, kView) + " AS SELECT l.id, l." + QuoteIdent(kQty) +
          ", l.\"select\", o.v FROM " + lines1 + " l JOIN " + QualifiedName(kS2, kLines) +
          " o ON o.id = l.id",
      "CREATE MATERIALIZED VIEW " + QualifiedName(kS2, kView) + " AS SELECT count(*) AS " +
          QuoteIdent(kQty) + " FROM " + QualifiedName(kS1, kView),
  };
  std::string out;
  for (const auto& s : sql) out += s + ";\n";
  return out;
}

// Keeps inserting, updating and deleting in every hostile table from its own connection.
class HostileWriter {
 public:
  explicit HostileWriter(pg::ConnParams params) : thread_([this, params] { Loop(params); }) {}
  ~HostileWriter() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int64_t operations() const { return ops_.load(); }
  const std::string& error() const { return error_; }

 private:
  void Loop(const pg::ConnParams& params) {
    auto conn = pg::Connection::Open(params);
    if (!conn.ok()) {
      error_ = conn.message();
      return;
    }
    const std::string lines1 = QualifiedName(kS1, kLines);
    const std::vector<std::string> statements = {
        "INSERT INTO " + lines1 + " (\"select\", \"user\", " + QuoteIdent(kQty) + ", " +
            QuoteIdent(kUni) + ") VALUES ('live '' \" \\ ' || $1, 'ü', $1::int, " +
            QuoteLiteral(R"(a\b)") + ")",
        "UPDATE " + lines1 + " SET " + QuoteIdent(kQty) + " = " + QuoteIdent(kQty) +
            " + 1 WHERE id = 1 + $1::int % 200",
        "INSERT INTO " + QualifiedName(kS1, "user") +
            " (\"table\", \"Mixed Case\") VALUES ('live' || $1, NULL)",
        "INSERT INTO " + QualifiedName(kS1, kParted) +
            " VALUES (1000 + $1::int, 1 + $1::int % 2, 'live') ON CONFLICT DO NOTHING",
        "UPDATE " + QualifiedName(kS1, kParted) + " SET v = v || '.' WHERE id = 1 + $1::int % 100",
        "INSERT INTO " + QualifiedName(kS2, kLines) + " (v) VALUES ($1)",
        "UPDATE " + QualifiedName(kS2, "ORDER") +
            " SET \"SELECT\" = 'u' || $1 WHERE id = 1 + $1::int % 20",
        "DELETE FROM " + QualifiedName(kS2, "order") + " WHERE id = 1 + $1::int % 1000",
        "UPDATE " + QualifiedName(kS3, "a.b") + " SET v = $1 WHERE id = 1 + $1::int % 20",
        "INSERT INTO " + QualifiedName(kS4, "b") + " VALUES (100 + $1::int, $1)",
        "INSERT INTO " + QualifiedName(kS5, kNewline) + " (" + QuoteIdent("tab\there") +
            ") VALUES ($1)",
    };
    int64_t i = 0;
    while (!stop_) {
      for (const auto& sql : statements) {
        Status st = conn->Exec(sql, {std::to_string(++i)});
        if (!st.ok()) {
          error_ = st.message();
          return;
        }
        ++ops_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  std::atomic<bool> stop_{false};
  std::atomic<int64_t> ops_{0};
  std::string error_;
  std::thread thread_;
};

class HostileNamesTest : public SharedPairTest {
 protected:
  void TearDown() override { StopHeartbeatWriter(tmp_.path() / "state"); }

  std::filesystem::path Config(const std::string& db = kDb,
                               const std::vector<std::string>& in_scope = {kS1, kS2, kS3, kS4, kS5},
                               const std::string& extra = "") {
    auto path = tmp_.path() / "relocate.yaml";
    std::string schemas;
    for (const auto& s : in_scope) schemas += (schemas.empty() ? "" : ", ") + Yaml(s);
    std::ofstream(path) << "provider: postgres\n"
                        << "src:\n  host: 127.0.0.1\n  port: " << src_->port()
                        << "\n  name: " << Yaml(db) << "\n  password: secret\n  schema: ["
                        << schemas << "]\n"
                        << "dst:\n  host: 127.0.0.1\n  port: " << dst_->port() << "\n"
                        << "upgrade:\n  user: " << Yaml(kReplUser)
                        << "\n  password: " << Yaml(kReplPassword) << "\n"
                        << "jobs: 2\nheartbeat_interval: 0.2\ncatchup_timeout: 120\n"
                        << "state_dir: state\n"
                        << extra;
    return path;
  }

  TempDir tmp_;
};

// Each helper's output, sent to a real server, means exactly the original text.
TEST_F(HostileNamesTest, QuotedFormsRoundTripThroughTheServer) {
  ASSERT_TRUE(src_->CreateDatabase("quote round trip").ok());
  auto conn = src_->Connect("quote round trip");
  ASSERT_TRUE(conn.ok()) << conn.message();
  for (const auto& text : kHostileTexts) {
    // A literal, with and without standard_conforming_strings.
    for (const char* scs : {"on", "off"}) {
      ASSERT_TRUE(conn->Exec(std::string("SET standard_conforming_strings = ") + scs).ok());
      auto value = conn->QueryValue("SELECT " + QuoteLiteral(text));
      ASSERT_TRUE(value.ok()) << text << ": " << value.message();
      EXPECT_EQ(*value, text) << "standard_conforming_strings " << scs;
    }
    // An identifier: a table, a column and a schema by that name.
    Status created = conn->Exec("CREATE SCHEMA " + QuoteIdent(text) + "; CREATE TABLE " +
                                QualifiedName(text, text) + " (" + QuoteIdent(text) + " int)");
    ASSERT_TRUE(created.ok()) << text << ": " << created.message();
    auto found = conn->QueryValue(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_attribute a ON a.attrelid = c.oid "
        "WHERE n.nspname = $1 AND c.relname = $1 AND a.attname = $1",
        {text});
    ASSERT_TRUE(found.ok()) << found.message();
    EXPECT_EQ(*found, "1") << text;
    auto regclass = conn->QueryValue(
        "SELECT $1::regclass::oid = (SELECT c.oid FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE "
        "n.nspname = $2 AND c.relname = $2)",
        {QualifiedName(text, text), text});
    ASSERT_TRUE(regclass.ok()) << regclass.message();
    EXPECT_EQ(*regclass, "t") << text;
  }
  // A text[] parameter carries every value unchanged, in order.
  std::vector<std::string> values = kHostileTexts;
  values.push_back("");
  auto array = conn->Query("SELECT x FROM unnest($1::text[]) WITH ORDINALITY u(x, n) ORDER BY n",
                           {pg::TextArrayLiteral(values)});
  ASSERT_TRUE(array.ok()) << array.message();
  ASSERT_EQ(array->rows(), static_cast<int>(values.size()));
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_FALSE(array->IsNull(static_cast<int>(i), 0)) << values[i];
    EXPECT_EQ(array->Get(static_cast<int>(i), 0), values[i]);
  }
  auto empty = conn->QueryValue("SELECT cardinality($1::text[])", {pg::TextArrayLiteral({})});
  ASSERT_TRUE(empty.ok()) << empty.message();
  EXPECT_EQ(*empty, "0");
  // Connection strings: a role and a database with hostile names and password log in.
  const std::string role = R"(r "o" 'l' \ e ü)", password = R"(p 'w' "d" \ ü)";
  ASSERT_TRUE(
      src_->Exec("CREATE ROLE " + QuoteIdent(role) + " LOGIN PASSWORD " + QuoteLiteral(password))
          .ok());
  std::string conninfo = "host=127.0.0.1 port=" + std::to_string(src_->port()) +
                         " dbname=" + pg::QuoteConninfoValue("quote round trip") +
                         " user=" + pg::QuoteConninfoValue(role) +
                         " password=" + pg::QuoteConninfoValue(password) +
                         " application_name=" + pg::QuoteConninfoValue(R"(a 'p' \ p)");
  PGconn* raw = PQconnectdb(conninfo.c_str());
  ASSERT_NE(raw, nullptr);
  EXPECT_EQ(PQstatus(raw), CONNECTION_OK) << PQerrorMessage(raw);
  if (PQstatus(raw) == CONNECTION_OK) {
    PGresult* res = PQexec(raw,
                           "SELECT current_user || '|' || current_database() || '|' || "
                           "current_setting('application_name')");
    ASSERT_EQ(PQresultStatus(res), PGRES_TUPLES_OK);
    EXPECT_EQ(std::string(PQgetvalue(res, 0, 0)), role + "|quote round trip|" + R"(a 'p' \ p)");
    PQclear(res);
  }
  PQfinish(raw);
}

TEST_F(HostileNamesTest, RunRelocatesHostileNames15To17UnderLiveWrites) {
  ASSERT_TRUE(src_->CreateDatabase(kDb).ok());
  ASSERT_TRUE(dst_->CreateDatabase(kDb).ok());
  Status loaded = src_->Exec(Schema(), kDb);
  ASSERT_TRUE(loaded.ok()) << loaded.message();
  auto config = Config();
  const auto state_dir = tmp_.path() / "state";
  HostileWriter writer(src_->Params(kDb));

  CommandResult check = RunDbRelocate({"check", "--config", config.string()});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;

  CommandResult r = RunDbRelocate({"run", "--config", config.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("heartbeat verified"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find(kReplPassword), std::string::npos);
  EXPECT_EQ(r.err.find(kReplPassword), std::string::npos);

  CommandResult status = RunDbRelocate({"status", "--config", config.string(), "--output", "json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  auto j = nlohmann::json::parse(status.out);
  EXPECT_EQ(j["current_step"], "replicating");
  EXPECT_TRUE(j["replication"]["subscription"]["apply_worker_running"].get<bool>());
  CommandResult text_status = RunDbRelocate({"status", "--config", config.string()});
  EXPECT_EQ(text_status.exit_code, 0) << text_status.err;

  // The writer goes on after the run: those changes must arrive too.
  const int64_t written_by_the_end_of_run = writer.operations();
  EXPECT_TRUE(WaitFor([&] { return writer.operations() >= written_by_the_end_of_run + 200; },
                      std::chrono::seconds(60)))
      << writer.error();
  writer.Stop();
  EXPECT_EQ(writer.error(), "");
  EXPECT_GT(writer.operations(), 0);
  StopHeartbeatWriter(state_dir);
  Status applied = WaitUntilApplied(*src_, kDb);
  ASSERT_TRUE(applied.ok()) << applied.message();
  // 11 tables (2 of them partitions) and the heartbeat.
  ExpectSameTables(src_->Params(kDb), dst_->Params(kDb), kHostileSchemas, 11);

  // The index, the enum's labels, the partitions and the owner came along.
  auto has_index =
      dst_->QueryValue("SELECT count(*) FROM pg_class WHERE relname = " + QuoteLiteral(kIndex) +
                           " AND relkind = 'i'",
                       kDb);
  EXPECT_EQ(has_index.ok() ? *has_index : has_index.message(), "1");
  const std::string labels_sql =
      "SELECT string_agg(enumlabel, '|' ORDER BY enumsortorder) FROM "
      "pg_enum WHERE enumtypid = " +
      QuoteLiteral(QualifiedName(kS1, kEnum)) + "::regtype";
  EXPECT_EQ(*dst_->QueryValue(labels_sql, kDb), *src_->QueryValue(labels_sql, kDb));
  EXPECT_EQ(*dst_->QueryValue("SELECT count(*) FROM pg_inherits WHERE inhparent = " +
                                  QuoteLiteral(QualifiedName(kS1, kParted)) + "::regclass",
                              kDb),
            "2");
  EXPECT_EQ(*dst_->QueryValue("SELECT tableowner FROM pg_tables WHERE schemaname = " +
                                  QuoteLiteral(kS2) + " AND tablename = 'order'",
                              kDb),
            kOwner);

  auto view_rows = dst_->QueryValue("SELECT count(*) FROM " + QualifiedName(kS1, kView), kDb);
  EXPECT_TRUE(view_rows.ok()) << view_rows.message();
  auto matview = dst_->QueryValue(
      "SELECT ispopulated FROM pg_matviews WHERE schemaname = " + QuoteLiteral(kS2) +
          " AND matviewname = " + QuoteLiteral(kView),
      kDb);
  EXPECT_EQ(matview.ok() ? *matview : matview.message(), "t");

  // A second run on the idle pair sets every sequence a full gap ahead of the source.
  CommandResult again = RunDbRelocate({"run", "--config", config.string()});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  StopHeartbeatWriter(state_dir);
  for (const auto& seq : {QualifiedName(kS1, kSeq), QualifiedName(kS1, kLines + "_id_seq"),
                          QualifiedName(kS2, kLines + "_id_seq"), QualifiedName(kS1, "user_id_seq"),
                          QualifiedName(kS5, kNewline + "_id_seq")}) {
    auto src_seq = src_->QueryValue("SELECT last_value FROM " + seq, kDb);
    auto dst_seq = dst_->QueryValue("SELECT last_value FROM " + seq, kDb);
    ASSERT_TRUE(src_seq.ok() && dst_seq.ok())
        << seq << ": " << src_seq.message() << dst_seq.message();
    EXPECT_GE(std::stoll(*dst_seq), std::stoll(*src_seq) + 1000) << seq;
  }

  CommandResult verify = RunDbRelocate({"verify", "--config", config.string(), "--output", "json"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  // Every table was compared, under its own name.
  std::string verified = verify.out;
  for (const auto& table :
       {kS1 + "." + kLines, kS2 + "." + kLines, kS3 + ".a.b", kS4 + ".b", kS5 + "." + kNewline})
    EXPECT_NE(verified.find(nlohmann::json(table).dump()), std::string::npos) << table;
  // "public ü"."a.b" and "public ü.a"."b" both show as public ü.a.b: two entries, and a row
  // missing from either is found.
  auto alike = [](const CommandResult& r) {
    int n = 0;
    const auto report = nlohmann::json::parse(r.out);
    for (const auto& t : report["tables"]) n += t["table"] == kS3 + ".a.b";
    return n;
  };
  EXPECT_EQ(alike(verify), 2) << verify.out;
  ASSERT_TRUE(dst_->Exec("DELETE FROM " + QualifiedName(kS3, "a.b") + " WHERE id = 1", kDb).ok());
  CommandResult differs =
      RunDbRelocate({"verify", "--config", config.string(), "--output", "json"});
  EXPECT_EQ(differs.exit_code, 1) << differs.out << differs.err;
  EXPECT_EQ(alike(differs), 2) << differs.out;

  CommandResult cleanup = RunDbRelocate({"cleanup", "--config", config.string()});
  EXPECT_EQ(cleanup.exit_code, 0) << cleanup.out << cleanup.err;
  EXPECT_EQ(*src_->QueryValue(
                "SELECT count(*) FROM pg_roles WHERE rolname = " + QuoteLiteral(kReplUser), kDb),
            "0");
}

// The switch commands with a hostile database, schema, table and application role (fenced by
// ALTER ROLE ... IN DATABASE, its password copied, listed in PgBouncer's userlist), writing
// through a managed PgBouncer before and after each switch.
TEST_F(HostileNamesTest, CutoverAndRollbackWithHostileNames) {
  const std::string db = R"(cut "db" 'ü' \ .*?)";
  const std::string schema = R"(Ops "c" 'ü')";
  const std::string table = QualifiedName(schema, R"(Ledger "x" \ .)");
  const std::string app = R"(app "w" 'ü' \)", app_password = R"(p'w "x" \ ü)";
  ASSERT_TRUE(src_->CreateDatabase(db).ok());
  ASSERT_TRUE(dst_->CreateDatabase(db).ok());
  Status loaded = src_->Exec(
      "CREATE ROLE " + QuoteIdent(app) + " LOGIN PASSWORD " + QuoteLiteral(app_password) +
          "; CREATE SCHEMA " + QuoteIdent(schema) + "; CREATE TABLE " + table +
          " (id bigserial PRIMARY KEY, note text); GRANT USAGE ON SCHEMA " + QuoteIdent(schema) +
          " TO " + QuoteIdent(app) + "; GRANT SELECT, INSERT ON " + table + " TO " +
          QuoteIdent(app) + "; GRANT USAGE ON ALL SEQUENCES IN SCHEMA " + QuoteIdent(schema) +
          " TO " + QuoteIdent(app) + "; INSERT INTO " + table +
          " (note) SELECT 'n' || g FROM generate_series(1, 100) g",
      db);
  ASSERT_TRUE(loaded.ok()) << loaded.message();
  auto port = PickFreePort();
  ASSERT_TRUE(port.ok());
  // PgBouncer runs as postgres (it refuses root) and must reach its files in the state folder.
  std::filesystem::permissions(
      tmp_.path(), std::filesystem::perms::others_exec | std::filesystem::perms::group_exec,
      std::filesystem::perm_options::add);
  auto config = Config(
      db, {schema},
      "cutover:\n  type: pgbouncer\n  manage: true\n  listen: 127.0.0.1:" + std::to_string(*port) +
          "\n  database: app_entry\n  fence_roles: [" + Yaml(app) + "]\n");
  auto proxied = [&] {
    pg::ConnParams p;
    p.port = *port;
    p.dbname = "app_entry";
    p.user = app;
    p.password = app_password;
    return p;
  };
  auto write_through_proxy = [&](const std::string& note) {
    auto conn = pg::Connection::Open(proxied());
    if (!conn.ok()) return conn.status();
    return conn->Exec("INSERT INTO " + table + " (note) VALUES ($1)", {note});
  };

  CommandResult r = RunDbRelocate({"run", "--config", config.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Status before = write_through_proxy("before");
  EXPECT_TRUE(before.ok()) << before.message();

  CommandResult cut = RunDbRelocate({"cutover", "--config", config.string()});
  ASSERT_EQ(cut.exit_code, 0) << cut.out << cut.err;
  // The old primary is fenced for the application's role; the proxy writes to the new one.
  auto fenced = src_->Connect(db, app, app_password);
  ASSERT_TRUE(fenced.ok()) << fenced.message();
  Status refused = fenced->Exec("INSERT INTO " + table + " (note) VALUES ('fenced')");
  EXPECT_FALSE(refused.ok());
  Status after = write_through_proxy("after cutover");
  EXPECT_TRUE(after.ok()) << after.message();
  EXPECT_EQ(
      *dst_->QueryValue("SELECT count(*) FROM " + table + " WHERE note = 'after cutover'", db),
      "1");
  CommandResult verified = RunDbRelocate({"verify", "--config", config.string()});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;

  CommandResult back = RunDbRelocate({"rollback", "--config", config.string()});
  ASSERT_EQ(back.exit_code, 0) << back.out << back.err;
  Status again = write_through_proxy("after rollback");
  EXPECT_TRUE(again.ok()) << again.message();
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM " + table, db), "103");

  CommandResult cleanup = RunDbRelocate({"cleanup", "--config", config.string()});
  EXPECT_EQ(cleanup.exit_code, 0) << cleanup.out << cleanup.err;
  CommandResult stopped = RunDbRelocate({"proxy", "--stop", "--config", config.string()});
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
}

}  // namespace
}  // namespace dbr::test
