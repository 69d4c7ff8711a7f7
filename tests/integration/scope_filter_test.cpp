// Choosing what moves (issue #23, item 1): schema patterns, schemas.exclude, tables.include /
// tables.exclude and exclude_table_data, on real clusters under a live writer; the checks that
// refuse a filter cutting a foreign key or a view; and `db_relocate plan`.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "harness/app_pair.h"
#include "harness/check_run.h"
#include "harness/loop_writer.h"
#include "harness/pgbench.h"
#include "harness/wait.h"

namespace dbr::test {
namespace {

// public: customers <- orders (FK), order_tmp (serial, excluded by pattern) and the view v_tmp
// reading it, events (serial; rows stay behind), audit_log partitioned in two (excluded by its
// root's name), the view v_orders; area51 (in by the pattern "ar*") and archive (excluded).
const char* const kSchema = R"sql(
  CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
  CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int NOT NULL REFERENCES customers,
                       amount numeric(12,2), note text);
  CREATE INDEX orders_customer ON orders (customer_id);
  CREATE TABLE order_tmp (id serial PRIMARY KEY, payload text);
  CREATE TABLE events (id bigserial PRIMARY KEY, at timestamptz DEFAULT now(), body text);
  CREATE TABLE audit_log (id bigint, at date NOT NULL, what text) PARTITION BY RANGE (at);
  CREATE TABLE audit_log_2024 PARTITION OF audit_log FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
  CREATE TABLE audit_log_2025 PARTITION OF audit_log FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
  CREATE VIEW v_orders AS SELECT c.name, o.amount FROM orders o JOIN customers c ON c.id = o.customer_id;
  CREATE VIEW v_tmp AS SELECT count(*) AS n FROM order_tmp;
  CREATE SCHEMA area51;
  CREATE TABLE area51.things (id int PRIMARY KEY, payload bytea);
  CREATE SCHEMA archive;
  CREATE TABLE archive.old_orders (id int PRIMARY KEY, body text);
  INSERT INTO customers SELECT g, md5(g::text) FROM generate_series(1, 500) g;
  INSERT INTO orders (customer_id, amount, note)
    SELECT 1 + g % 500, g * 1.5, repeat(md5(g::text), 4) FROM generate_series(1, 20000) g;
  INSERT INTO order_tmp (payload) SELECT md5(g::text) FROM generate_series(1, 1000) g;
  INSERT INTO events (body) SELECT md5(g::text) FROM generate_series(1, 3000) g;
  INSERT INTO audit_log SELECT g, DATE '2024-06-01' + (g % 400), 'x' FROM generate_series(1, 2000) g;
  INSERT INTO area51.things SELECT g, decode(md5(g::text), 'hex') FROM generate_series(1, 2000) g;
  INSERT INTO archive.old_orders SELECT g, 'old' FROM generate_series(1, 100) g;
)sql";

const char* const kFilters = R"(schemas:
  exclude: [archive]
tables:
  exclude: ["*_tmp", public.audit_log]
exclude_table_data: [public.events]
)";

// One round of writes into every table, in scope or not.
std::string WriteEverywhere(int64_t i) {
  return fmt::format(
      "BEGIN;"
      "INSERT INTO orders (customer_id, amount, note) VALUES ({0} % 500 + 1, {0}, 'live');"
      "UPDATE orders SET amount = amount + 1 WHERE id = {0} % 20000 + 1;"
      "DELETE FROM orders WHERE id = ({0} * 7) % 20000 + 1;"
      "UPDATE customers SET name = md5(name) WHERE id = {0} % 500 + 1;"
      "INSERT INTO order_tmp (payload) VALUES ('live');"
      "INSERT INTO events (body) VALUES ('live');"
      "INSERT INTO audit_log VALUES ({0}, DATE '2025-02-01', 'live');"
      "UPDATE area51.things SET payload = payload || '\\x00'::bytea WHERE id = {0} % 2000 + 1;"
      "INSERT INTO archive.old_orders VALUES (100000 + {0}, 'live');"
      "COMMIT;",
      i);
}

class ScopeFilterTest : public AppPairTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartAppPair(15, 17));
    ASSERT_TRUE(src_->Exec(kSchema, "app").ok());
  }

  std::filesystem::path Config(const std::string& filters) {
    auto path = tmp_.path() / "relocate.yaml";
    std::ofstream(path) << fmt::format(
        "provider: postgres\n"
        "src:\n  host: 127.0.0.1\n  port: {}\n  name: app\n  password: secret\n"
        "  schema: [public, \"ar*\"]\n"
        "dst:\n  host: 127.0.0.1\n  port: {}\n"
        "jobs: 2\nheartbeat_interval: 0.2\ncatchup_timeout: 120\n"
        "split_tables_larger_than: 500000\nstate_dir: state\n{}",
        src_->port(), dst_->port(), filters);
    return path;
  }

  std::string OnDst(const std::string& sql) {
    auto v = dst_->QueryValue(sql, "app");
    return v.ok() ? *v : "error: " + v.message();
  }
  std::string OnSrc(const std::string& sql) {
    auto v = src_->QueryValue(sql, "app");
    return v.ok() ? *v : "error: " + v.message();
  }
  // count and md5 of every row, in key order.
  std::string Digest(const TestCluster& side, const std::string& table) {
    const std::string sql =
        "SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, '|' "
        "ORDER BY t::text), '')) FROM " +
        table + " t";
    auto v = const_cast<TestCluster&>(side).QueryValue(sql, "app");
    return v.ok() ? *v : "error: " + v.message();
  }
};

TEST_F(ScopeFilterTest, OnlyWhatTheFiltersKeepMovesAndStaysInSyncUnderWrites) {
  auto config = Config(kFilters);
  LoopWriter writer(src_->Params("app"), WriteEverywhere);
  CommandResult r = RunDbRelocate({"run", "--config", config.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("heartbeat verified"), std::string::npos) << r.err;
  ASSERT_TRUE(WaitFor([&] { return writer.rounds() > 50; }, std::chrono::seconds(60)))
      << writer.error();
  writer.Stop();
  ASSERT_TRUE(writer.error().empty()) << writer.error();
  ASSERT_TRUE(WaitUntilApplied(*src_, "app").ok());
  StopHeartbeatWriter(state_dir());

  // In scope: the same rows on both sides.
  for (const char* table : {"public.customers", "public.orders", "area51.things"})
    EXPECT_EQ(Digest(*dst_, table), Digest(*src_, table)) << table;
  EXPECT_EQ(OnDst("SELECT count(*) FROM v_orders"), OnSrc("SELECT count(*) FROM v_orders"));
  EXPECT_EQ(OnDst("SELECT count(*) FROM pg_indexes WHERE indexname = 'orders_customer'"), "1");
  EXPECT_EQ(OnDst("SELECT count(*) FROM pg_constraint WHERE conname = 'orders_customer_id_fkey'"),
            "1");
  // exclude_table_data: the table is there, empty; its sequence is ahead of the source's.
  EXPECT_EQ(OnDst("SELECT count(*) FROM events"), "0");
  EXPECT_NE(OnSrc("SELECT count(*) FROM events"), "0");
  // (set at the end of run: the 3000 rows written before it, and more, plus the gap)
  EXPECT_GE(std::stoll(OnDst("SELECT last_value FROM events_id_seq")), 3000 + 1000);
  // Left out: the relations, their sequences, partitions and views, and the excluded schema.
  EXPECT_EQ(OnDst("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = relnamespace "
                  "WHERE relname IN ('order_tmp', 'order_tmp_id_seq', 'v_tmp', 'audit_log', "
                  "'audit_log_2024', 'audit_log_2025', 'old_orders')"),
            "0");
  EXPECT_EQ(OnDst("SELECT count(*) FROM pg_namespace WHERE nspname = 'archive'"), "0");
  // Published: exactly what moves with its rows.
  EXPECT_EQ(OnSrc("SELECT string_agg(schemaname || '.' || tablename, ',' "
                  "ORDER BY schemaname, tablename) FROM "
                  "pg_publication_tables WHERE pubname = 'db_relocate_pub' AND schemaname <> "
                  "'db_relocate'"),
            "area51.things,public.customers,public.orders");

  // verify agrees, and says nothing of what was left out.
  CommandResult v = RunDbRelocate({"verify", "--config", config.string(), "--output", "json"});
  ASSERT_EQ(v.exit_code, 0) << v.out << v.err;
  auto report = nlohmann::json::parse(v.out);
  std::vector<std::string> compared;
  for (const auto& t : report["tables"]) compared.push_back(t["table"]);
  EXPECT_EQ(v.out.find("order_tmp"), std::string::npos);
  EXPECT_EQ(v.out.find("audit_log"), std::string::npos);
  EXPECT_EQ(v.out.find("old_orders"), std::string::npos);
  EXPECT_NE(std::find(compared.begin(), compared.end(), "public.orders"), compared.end()) << v.out;
}

// After a cut-over the destination sends and the source receives: what the filters left out
// exists only on the source, and is still out of scope, not missing on the destination.
TEST_F(ScopeFilterTest, VerifyAfterTheCutOverComparesOnlyWhatTheFiltersKeep) {
  int port = 0;
  std::string proxy;
  ASSERT_NO_FATAL_FAILURE(ManagedPgBouncerBlock(tmp_.path(), &port, &proxy));
  auto config = Config(std::string(kFilters) + proxy);
  // The managed PgBouncer `run` starts is stopped at the end, whatever happened.
  std::shared_ptr<void> stop_proxy(nullptr, [&](void*) {
    CommandResult stopped = RunDbRelocate({"proxy", "--stop", "--config", config.string()});
    EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  });
  CommandResult r = RunDbRelocate({"run", "--config", config.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  CommandResult cut = RunDbRelocate({"cutover", "--config", config.string()});
  ASSERT_EQ(cut.exit_code, 0) << cut.err;

  CommandResult v = RunDbRelocate({"verify", "--config", config.string(), "--output", "json"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  auto report = nlohmann::json::parse(v.out);
  EXPECT_EQ(report["sender"], "destination") << v.out;
  for (const auto& o : report["objects"]) EXPECT_NE(o["status"], "MISSING") << o.dump();
  EXPECT_EQ(v.out.find("order_tmp"), std::string::npos) << v.out;
  EXPECT_EQ(v.out.find("audit_log"), std::string::npos) << v.out;
  // A row changed on the old side alone is still found.
  ASSERT_TRUE(src_->Exec("UPDATE customers SET name = 'drift' WHERE id = 7", "app").ok());
  CommandResult differs = RunDbRelocate({"verify", "--config", config.string()});
  EXPECT_EQ(differs.exit_code, 1) << differs.out << differs.err;
  EXPECT_NE(differs.out.find("public.customers"), std::string::npos) << differs.out;
  // A table dropped on the new primary since: named missing there, not an error reading it.
  ASSERT_TRUE(dst_->Exec("DROP TABLE area51.things", "app").ok());
  CommandResult dropped =
      RunDbRelocate({"verify", "--config", config.string(), "--output", "json"});
  EXPECT_EQ(dropped.exit_code, 1) << dropped.out << dropped.err;
  bool named = false;
  const auto after_drop = nlohmann::json::parse(dropped.out);
  for (const auto& o : after_drop["objects"])
    named |= o["name"].get<std::string>().find("things") != std::string::npos &&
             o["status"] == "MISSING";
  EXPECT_TRUE(named) << dropped.out;
  StopHeartbeatWriter(state_dir());
  RunDbRelocate({"cleanup", "--config", config.string()});
}

// A parent of old-style inheritance holds its own rows, as the copy reads it (FROM ONLY): its
// child's rows, left out here, do not count for it.
TEST_F(ScopeFilterTest, AnInheritedTableIsComparedOnItsOwnRows) {
  ASSERT_TRUE(src_->Exec("CREATE TABLE m (id int PRIMARY KEY, v text); "
                         "CREATE TABLE m_2019 (PRIMARY KEY (id)) INHERITS (m); "
                         "INSERT INTO m SELECT g, 'parent' FROM generate_series(1, 100) g; "
                         "INSERT INTO m_2019 SELECT g, 'child' FROM generate_series(101, 250) g",
                         "app")
                  .ok());
  auto config =
      Config("tables:\n  exclude: [public.audit_log]\nexclude_table_data: [public.m_2019]\n");
  CommandResult r = RunDbRelocate({"run", "--config", config.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  StopHeartbeatWriter(state_dir());
  EXPECT_EQ(OnDst("SELECT count(*) FROM ONLY m"), "100");
  EXPECT_EQ(OnDst("SELECT count(*) FROM m_2019"), "0");

  CommandResult v = RunDbRelocate({"verify", "--config", config.string(), "--output", "json"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  const auto report = nlohmann::json::parse(v.out);
  for (const auto& t : report["tables"])
    if (t["table"] == "public.m") EXPECT_EQ(t["source_rows"], 100) << t.dump();
}

TEST_F(ScopeFilterTest, CheckAndPlanListWhatIsInAndOutWithoutChangingAnything) {
  auto config = Config(kFilters);
  CheckRun check = RunCheck(config);
  ASSERT_EQ(check.result.exit_code, 0) << check.Dump();
  EXPECT_EQ(check.Result("scope edges"), "PASS") << check.Dump();
  auto in = check.Objects("tables in scope");
  EXPECT_NE(std::find(in.begin(), in.end(), "public.orders"), in.end()) << check.Dump();
  EXPECT_NE(std::find(in.begin(), in.end(), "public.events (definition only)"), in.end())
      << check.Dump();
  EXPECT_EQ(std::find(in.begin(), in.end(), "public.order_tmp"), in.end()) << check.Dump();

  CommandResult text = RunDbRelocate({"plan", "--config", config.string()});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("public.order_tmp"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("relations are left out"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("without their rows"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("copied in"), std::string::npos) << text.out;  // orders is split
  EXPECT_NE(text.out.find("Nothing was changed"), std::string::npos) << text.out;

  CommandResult json = RunDbRelocate({"plan", "--config", config.string(), "--output", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  auto plan = nlohmann::json::parse(json.out);
  std::set<std::string> moved, left_out, without;
  for (const auto& t : plan["scope"]["tables"]) moved.insert(t["name"]);
  for (const auto& t : plan["scope"]["left_out"]) left_out.insert(t["name"]);
  for (const auto& t : plan["scope"]["without_rows"]) without.insert(t["name"]);
  EXPECT_EQ(moved, (std::set<std::string>{"area51.things", "public.customers", "public.orders"}));
  EXPECT_EQ(without, std::set<std::string>{"public.events"});
  EXPECT_EQ(left_out, (std::set<std::string>{"public.audit_log", "public.audit_log_2024",
                                             "public.audit_log_2025", "public.order_tmp",
                                             "public.order_tmp_id_seq", "public.v_tmp"}));
  EXPECT_EQ(plan["scope"]["schemas"], (nlohmann::json{"area51", "public"}));
  EXPECT_EQ(plan["publication"]["tables"], 3);
  EXPECT_GT(plan["scope"]["copy_bytes"].get<int64_t>(), 1000000);

  // Neither created anything on either side.
  EXPECT_EQ(OnSrc("SELECT count(*) FROM pg_replication_slots"), "0");
  EXPECT_EQ(OnSrc("SELECT count(*) FROM pg_namespace WHERE nspname = 'db_relocate'"), "0");
  EXPECT_EQ(OnDst("SELECT count(*) FROM pg_class WHERE relname = 'orders'"), "0");
}

TEST_F(ScopeFilterTest, AFilterThatCutsAForeignKeyOrAViewIsRefusedWithTheFix) {
  // customers left out: orders' foreign key would point nowhere and v_orders could not be
  // restored; order_tmp left out by its exact name: neither could v_tmp, which reads it.
  CheckRun cut = RunCheck(Config("tables:\n  exclude: [public.customers, order_tmp, nothing_*]\n"));
  EXPECT_EQ(cut.result.exit_code, 2) << cut.Dump();
  EXPECT_EQ(cut.Result("scope edges"), "FAIL") << cut.Dump();
  auto objects = cut.Objects("scope edges");
  ASSERT_EQ(objects.size(), 3u) << cut.Dump();
  EXPECT_NE(objects[0].find("foreign key orders_customer_id_fkey on public.orders: references "
                            "public.customers, which is not in scope"),
            std::string::npos)
      << objects[0];
  EXPECT_NE(objects[0].find("fix: bring public.customers into scope"), std::string::npos)
      << objects[0];
  EXPECT_NE(objects[1].find("view public.v_orders: reads public.customers"), std::string::npos)
      << objects[1];
  EXPECT_NE(objects[2].find("view public.v_tmp: reads public.order_tmp"), std::string::npos)
      << objects[2];
  EXPECT_EQ(cut.Result("scope patterns"), "WARN") << cut.Dump();
  EXPECT_EQ(cut.Objects("scope patterns"), std::vector<std::string>{"tables.exclude: nothing_*"});

  // customers' rows left behind while orders' rows move: the constraint could not validate.
  CheckRun rows =
      RunCheck(Config("tables:\n  exclude: [\"*_tmp\"]\n"
                      "exclude_table_data: [public.customers]\n"));
  EXPECT_EQ(rows.result.exit_code, 2) << rows.Dump();
  auto rows_objects = rows.Objects("scope edges");
  ASSERT_EQ(rows_objects.size(), 1u) << rows.Dump();
  EXPECT_NE(rows_objects[0].find("rows reference rows of public.customers, which do not move"),
            std::string::npos)
      << rows_objects[0];
  EXPECT_NE(rows_objects[0].find("add public.orders to exclude_table_data"), std::string::npos)
      << rows_objects[0];

  // `run` refuses the same before it creates anything.
  CommandResult run = RunDbRelocate(
      {"run", "--config", Config("tables:\n  exclude: [public.customers, \"*_tmp\"]\n").string()});
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_NE(run.err.find("orders_customer_id_fkey"), std::string::npos) << run.err;
  EXPECT_EQ(OnSrc("SELECT count(*) FROM pg_replication_slots"), "0");
  EXPECT_EQ(OnDst("SELECT count(*) FROM pg_class WHERE relname = 'orders'"), "0");
}

}  // namespace
}  // namespace dbr::test
