#include "harness/relocation.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <random>

#include "engine/heartbeat.h"
#include "model/names.h"
#include "pg/quote.h"
#include "util/files.h"
#include "util/process.h"

namespace dbr::test {

Status LoadRichSchema(TestCluster& cluster, const std::string& db, int rows) {
  const std::string sql =
      fmt::format(R"sql(
CREATE SCHEMA "Sales Ops";
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
CREATE TYPE pair AS (a int, b text);
CREATE TABLE kitchen_sink (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  i int, n numeric(20, 5), f float8, t text, b bytea, j jsonb, js json, ts timestamptz, d date,
  arr int[], tarr text[], m mood, marr mood[], p posint, c pair, u uuid,
  g int GENERATED ALWAYS AS (i * 2) STORED);
INSERT INTO kitchen_sink (i, n, f, t, b, j, js, ts, d, arr, tarr, m, marr, p, c, u)
SELECT g, g * 1.5 / 7, random(), md5(random()::text), decode(md5(g::text), 'hex'),
       jsonb_build_object('k', g, 'r', md5(random()::text)), json_build_object('z', 1, 'a', g),
       now() - g * interval '1 minute', current_date - (g % 1000), ARRAY[g, g + 1],
       ARRAY['x' || g, 'it''s'], (ARRAY['sad','ok','happy'])[1 + g % 3]::mood,
       ARRAY['ok', 'happy']::mood[], 1 + g % 100, ROW(g, 'p' || g)::pair,
       md5(g::text)::uuid
  FROM generate_series(1, {rows}) g;
CREATE TABLE "Sales Ops"."Order Lines" ("Id" serial PRIMARY KEY, "select" text, "Qty" int);
INSERT INTO "Sales Ops"."Order Lines" ("select", "Qty")
SELECT 'line ' || g, g FROM generate_series(1, {small}) g;
CREATE TABLE events (id bigint NOT NULL, ts timestamptz NOT NULL DEFAULT now(), payload text,
                     PRIMARY KEY (id)) PARTITION BY RANGE (id);
CREATE TABLE events_1 PARTITION OF events FOR VALUES FROM (0) TO (1000000);
CREATE TABLE events_2 PARTITION OF events FOR VALUES FROM (1000000) TO (MAXVALUE);
INSERT INTO events (id, payload) SELECT g * 97 % 2000000, md5(g::text) FROM generate_series(1, {small}) g
  ON CONFLICT DO NOTHING;
CREATE TABLE nokey_full (a int, b text);
ALTER TABLE nokey_full REPLICA IDENTITY FULL;
INSERT INTO nokey_full SELECT g, md5(g::text) FROM generate_series(1, {small}) g;
CREATE TABLE uniq_ident (a int NOT NULL, b text);
CREATE UNIQUE INDEX uniq_ident_a ON uniq_ident (a);
ALTER TABLE uniq_ident REPLICA IDENTITY USING INDEX uniq_ident_a;
INSERT INTO uniq_ident SELECT g, 'u' || g FROM generate_series(1, {small}) g;
CREATE TABLE toasty (id int PRIMARY KEY, big text);
INSERT INTO toasty SELECT 1, string_agg(md5(random()::text), '') FROM generate_series(1, 160000);
CREATE TABLE empty_table (id int PRIMARY KEY, note text);
CREATE TABLE hot (id int PRIMARY KEY, v bigint NOT NULL);
INSERT INTO hot SELECT g, 0 FROM generate_series(1, 100) g;
CREATE TABLE big (id bigserial PRIMARY KEY, payload text NOT NULL);
INSERT INTO big (payload) SELECT md5(random()::text) || md5(random()::text)
  FROM generate_series(1, {rows} * 5);
CREATE VIEW recent AS SELECT id, t FROM kitchen_sink WHERE id > 10;
CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW."Qty" := NEW."Qty"; RETURN NEW; END $$;
CREATE TRIGGER order_lines_bump BEFORE INSERT ON "Sales Ops"."Order Lines" FOR EACH ROW EXECUTE FUNCTION bump();
)sql",
                  fmt::arg("rows", rows), fmt::arg("small", std::max(10, rows / 10)));
  return cluster.Exec(sql, db);
}

LiveWriter::LiveWriter(const TestCluster& cluster, std::string db)
    : thread_([this, params = cluster.Params(db)] { Loop(params); }) {}

LiveWriter::~LiveWriter() {
  Stop();
}

void LiveWriter::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void LiveWriter::Loop(pg::ConnParams params) {
  auto conn = pg::Connection::Open(params);
  if (!conn.ok()) {
    error_ = conn.message();
    return;
  }
  std::mt19937 rng(42);
  const char* statements[] = {
      ("INSERT INTO kitchen_sink (i, t, j, arr, m, p) VALUES ($1::int, md5(random()::text), "
       "jsonb_build_object('w', $1::int), ARRAY[$1::int], 'happy', 7)"),
      "UPDATE hot SET v = v + 1 WHERE id = 1 + $1::int % 100",
      "DELETE FROM big WHERE id = 1 + $1::int % 1000",
      "INSERT INTO events (id, payload) VALUES (3000000 + $1::int, 'live') ON CONFLICT DO NOTHING",
      "UPDATE nokey_full SET b = md5(random()::text) WHERE a = 1 + $1::int % 10",
      "INSERT INTO \"Sales Ops\".\"Order Lines\" (\"select\", \"Qty\") VALUES ('live', $1::int)",
      "UPDATE uniq_ident SET b = 'w' || $1::text WHERE a = 1 + $1::int % 10",
      "UPDATE kitchen_sink SET n = n + 1, marr = ARRAY['sad']::mood[] WHERE id = 1 + $1::int % 50",
      "INSERT INTO big (payload) VALUES (md5($1::text))",
  };
  int64_t i = 0;
  while (!stop_) {
    for (const char* sql : statements) {
      Status st = conn->Exec(sql, {std::to_string(++i * 7 + rng() % 5)});
      if (!st.ok()) {
        error_ = st.message();
        return;
      }
      ++ops_;
    }
    // At most 9 operations every 25 ms: every table keeps changing under the relocation, at a
    // fraction of the CPU of a 5 ms pause (each operation is decoded on the source and applied
    // on the destination, and three suites at once share two cores).
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
}

Result<std::map<std::string, std::string>> TableChecksums(TestCluster& cluster,
                                                          const std::string& db,
                                                          const std::vector<std::string>& schemas) {
  return TableChecksums(cluster.Params(db), schemas);
}

Result<std::map<std::string, std::string>> TableChecksums(const pg::ConnParams& params,
                                                          const std::vector<std::string>& schemas) {
  auto conn = pg::Connection::Open(params);
  if (!conn.ok()) return conn.status();
  // Keyed by the quoted name: schema "a.b" table "c" is not schema "a" table "b.c".
  auto tables = conn->Query(
      "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c "
      "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' "
      "AND n.nspname = ANY($1::text[]) ORDER BY 1",
      {pg::TextArrayLiteral(schemas)});
  if (!tables.ok()) return tables.status();
  std::map<std::string, std::string> out;
  for (int i = 0; i < tables->rows(); ++i) {
    auto sum = conn->QueryValue(fmt::format(
        "SELECT count(*) || ' ' || md5(COALESCE(string_agg(t::text, ',' ORDER BY t::text), '')) "
        "FROM {} t",
        tables->Get(i, 0)));
    if (!sum.ok()) return sum.status();
    out[tables->Get(i, 0)] = *sum;
  }
  return out;
}

void ExpectSameTables(const pg::ConnParams& a, const pg::ConnParams& b,
                      const std::vector<std::string>& schemas, size_t at_least) {
  auto left = TableChecksums(a, schemas);
  auto right = TableChecksums(b, schemas);
  ASSERT_TRUE(left.ok()) << left.message();
  ASSERT_TRUE(right.ok()) << right.message();
  EXPECT_GE(left->size(), at_least);
  for (const auto& [table, sum] : *left) {
    auto it = right->find(table);
    ASSERT_NE(it, right->end()) << table << " missing on the destination";
    EXPECT_EQ(it->second, sum) << "table " << table << " differs";
  }
  EXPECT_EQ(left->size(), right->size());
}

void StopWritersAndExpectSynced(LiveWriter* writer, const std::filesystem::path& state_dir,
                                TestCluster& src, const std::string& db, const pg::ConnParams& dst,
                                const std::vector<std::string>& schemas, size_t at_least) {
  if (writer != nullptr) {
    writer->Stop();
    EXPECT_EQ(writer->error(), "");
    EXPECT_GT(writer->operations(), 0);
  }
  StopHeartbeatWriter(state_dir);
  Status applied = WaitUntilApplied(src, db);
  ASSERT_TRUE(applied.ok()) << applied.message();
  ExpectSameTables(src.Params(db), dst, schemas, at_least);
}

Status WaitUntilApplied(TestCluster& src, const std::string& db, int timeout_s) {
  // The insert position, not pg_current_wal_lsn() (the write position): with asynchronous
  // commit the last commits may not be written yet, and waiting for less would return early.
  auto target = src.QueryValue("SELECT pg_current_wal_insert_lsn()", db);
  if (!target.ok()) return target.status();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    // Every lane's slot there is (apply_workers, up to its highest value).
    std::string slots;
    for (const std::string& slot : names::SlotsOf(names::Links(db, db, 32).forward))
      slots += (slots.empty() ? "" : ", ") + pg::QuoteLiteral(slot);
    auto done = src.QueryValue("SELECT COALESCE(bool_and(confirmed_flush_lsn >= '" + *target +
                                   "'), false) FROM pg_replication_slots WHERE slot_name IN (" +
                                   slots + ")",
                               db);
    if (done.ok() && *done == "t") return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return Status::Error("destination did not apply up to " + *target + " within " +
                       std::to_string(timeout_s) + " s");
}

void StopHeartbeatWriter(const std::filesystem::path& state_dir) {
  (void)dbr::StopHeartbeatWriter(StateStore(state_dir));
}

std::filesystem::path WriteConfig(const std::filesystem::path& dir, const TestCluster& src,
                                  const TestCluster& dst, const std::string& db,
                                  const std::string& extra) {
  auto path = dir / "relocate.yaml";
  std::ofstream(path) << fmt::format(
      "provider: postgres\n"
      "src:\n  host: 127.0.0.1\n  port: {}\n  name: {}\n  password: secret\n  schema: [public, "
      "\"Sales Ops\"]\n"
      "dst:\n  host: 127.0.0.1\n  port: {}\n"
      "jobs: 2\nheartbeat_interval: 0.2\ncatchup_timeout: 120\n"
      "split_tables_larger_than: 1000000\nstate_dir: state\n{}",
      src.port(), db, dst.port(), extra);
  return path;
}

}  // namespace dbr::test
