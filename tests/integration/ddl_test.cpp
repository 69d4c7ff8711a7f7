// DDL on the source while the relocation runs. Logical replication carries rows, not schema: a
// column added on the source stops the apply worker at the first row that fills it, and a table
// created there is not replicated at all. db_relocate must name the table and the fix rather than
// wait in silence, and pick up again once the fix is in.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "harness/app_pair.h"
#include "harness/pgbench.h"
#include "harness/wait.h"

namespace dbr::test {
namespace {

using namespace std::chrono_literals;

const std::vector<std::string> kDdlSchemas = {"public", "db_relocate"};

class DdlTest : public AppPairTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartAppPair());
    ASSERT_TRUE(src_->Exec("CREATE TABLE orders (id bigserial PRIMARY KEY, item text NOT NULL);"
                           "INSERT INTO orders (item) SELECT md5(g::text) "
                           "FROM generate_series(1, 2000) g",
                           "app")
                    .ok());
    config_ = WriteConfig(tmp_.path(), *src_, *dst_, "app");
  }

  CommandResult Dbr(const std::vector<std::string>& args,
                    const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> argv = args;
    argv.insert(argv.end(), {"--config", config_.string()});
    return RunDbRelocate(argv, env);
  }

  nlohmann::json StatusJson() {
    CommandResult r = Dbr({"status", "--output", "json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out, nullptr, false);
  }

  // `tables`: orders, the heartbeat, verify's marker and those the test created.
  void ExpectSynced(size_t tables) {
    StopWritersAndExpectSynced(nullptr, state_dir(), *src_, "app", dst_->Params("app"), kDdlSchemas,
                               tables);
  }

  std::filesystem::path config_;
};

TEST_F(DdlTest, ColumnAddedOnTheSourceDuringCatchUpIsNamedWithItsFixThenResumes) {
  CommandResult crashed = Dbr({"run"}, {{"DBR_CRASH_AT", "after:subscription"}});
  ASSERT_EQ(crashed.exit_code, 128 + 9) << crashed.err;
  // The application ships a migration to the source only.
  ASSERT_TRUE(src_->Exec("ALTER TABLE orders ADD COLUMN \"Gift Note\" varchar(40);"
                         "INSERT INTO orders (item, \"Gift Note\") VALUES ('mug', 'for you')",
                         "app")
                  .ok());

  const auto started = std::chrono::steady_clock::now();
  CommandResult stuck = Dbr({"run"});
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(stuck.exit_code, 1) << stuck.err;
  EXPECT_NE(stuck.err.find("replication is stuck"), std::string::npos) << stuck.err;
  EXPECT_NE(stuck.err.find("table public.orders: column Gift Note (character varying(40)) exists "
                           "on the source but not on the destination"),
            std::string::npos)
      << stuck.err;
  EXPECT_NE(stuck.err.find("ALTER TABLE \"public\".\"orders\" ADD COLUMN \"Gift Note\" character "
                           "varying(40)"),
            std::string::npos)
      << stuck.err;
  // Named within seconds of the apply failures, not after catchup_timeout (120 s here).
  EXPECT_LT(took, 60s);

  nlohmann::json status = StatusJson();
  ASSERT_FALSE(status.is_discarded());
  auto drift = status["replication"]["schema_drift"];
  ASSERT_EQ(drift.size(), 1u) << drift.dump();
  EXPECT_EQ(drift[0]["table"], "public.orders");
  EXPECT_TRUE(drift[0]["stalls_apply"].get<bool>());
  CommandResult text = Dbr({"status"});
  EXPECT_NE(text.out.find("WARNING:         schema changed on the source: table public.orders"),
            std::string::npos)
      << text.out;

  // The fix it printed, run on the destination: the next run goes on from catch-up.
  ASSERT_TRUE(
      dst_->Exec("ALTER TABLE \"public\".\"orders\" ADD COLUMN \"Gift Note\" character varying(40)",
                 "app")
          .ok());
  CommandResult resumed = Dbr({"run"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(*dst_->QueryValue("SELECT \"Gift Note\" FROM orders WHERE item = 'mug'", "app"),
            "for you");
  EXPECT_TRUE(StatusJson()["replication"]["schema_drift"].empty());
  ExpectSynced(3);
}

TEST_F(DdlTest, TableCreatedOnTheSourceAfterTheRunIsShownAsNotReplicatedUntilAdded) {
  CommandResult run = Dbr({"run"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  ASSERT_TRUE(src_->Exec("CREATE TABLE coupons (code text PRIMARY KEY, pct int);"
                         "INSERT INTO coupons SELECT 'c' || g, g FROM generate_series(1, 50) g",
                         "app")
                  .ok());
  nlohmann::json status = StatusJson();
  auto drift = status["replication"]["schema_drift"];
  ASSERT_EQ(drift.size(), 1u) << drift.dump();
  EXPECT_EQ(drift[0]["table"], "public.coupons");
  EXPECT_TRUE(drift[0]["not_replicated"].get<bool>());
  EXPECT_NE(drift[0]["fix"].get<std::string>().find(
                "ALTER PUBLICATION \"db_relocate_pub\" ADD TABLE \"public\".\"coupons\""),
            std::string::npos)
      << drift[0]["fix"];

  // The fix, step by step as it reads.
  ASSERT_TRUE(dst_->Exec("CREATE TABLE coupons (code text PRIMARY KEY, pct int)", "app").ok());
  const std::string fix = status["replication"]["schema_drift"][0]["fix"];
  EXPECT_NE(fix.find("GRANT SELECT ON \"public\".\"coupons\" TO \"upgrade\""), std::string::npos)
      << fix;
  ASSERT_TRUE(src_->Exec("GRANT SELECT ON \"public\".\"coupons\" TO \"upgrade\";"
                         "ALTER PUBLICATION \"db_relocate_pub\" ADD TABLE \"public\".\"coupons\"",
                         "app")
                  .ok());
  ASSERT_TRUE(dst_->Exec("ALTER SUBSCRIPTION \"db_relocate_sub\" REFRESH PUBLICATION", "app").ok());
  ASSERT_TRUE(src_->Exec("INSERT INTO coupons VALUES ('late', 99)", "app").ok());
  EXPECT_TRUE(StatusJson()["replication"]["schema_drift"].empty());
  // Its rows, the old ones through the table synchronisation and the late one streamed.
  std::string count;
  WaitFor(
      [&] {
        auto n = dst_->QueryValue("SELECT count(*) FROM coupons", "app");
        count = n.ok() ? *n : "";
        return count == "51";
      },
      60s, 100ms);
  EXPECT_EQ(count, "51");
  ExpectSynced(4);
}

// A table the application creates while the publication and the slot are being made (after the
// tables were listed, before the snapshot): without a second look its rows would be in neither
// the copy nor the stream. Both are made again, and the table arrives whole.
TEST_F(DdlTest, ATableCreatedWhileThePublicationIsMadeIsCopiedAndStreamed) {
  PauseWindow window("publication:user-ready", tmp_.path() / "release");
  BackgroundDbRelocate run({"run", "--config", config_.string()}, tmp_.path() / "run.log",
                           window.Env());
  ASSERT_TRUE(run.WaitForLog("replication user upgrade ready")) << run.Log();
  ASSERT_TRUE(src_->Exec("CREATE TABLE late (id int PRIMARY KEY, v text)", "app").ok());
  ASSERT_TRUE(
      src_->Exec("INSERT INTO late SELECT g, md5(g::text) FROM generate_series(1, 1000) g", "app")
          .ok());
  window.Release();
  CommandResult r = run.Wait();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("1 tables appeared in scope while the publication and the slot were made "
                       "(public.late)"),
            std::string::npos)
      << r.err;
  ASSERT_TRUE(src_->Exec("INSERT INTO late VALUES (1001, 'streamed')", "app").ok());
  ExpectSynced(4);  // orders, late, heartbeat, marker
}

// ddl: replicate (issue #23, item 3): pgbench writes at full speed while the source's schema
// changes; every change reaches the destination at its place in the stream, a table created
// there is copied and followed, a statement that cannot be carried is refused on the source, and
// one that fails on the destination stops replication, is named by `status`, and goes on by
// itself once the destination is fixed.
TEST_F(DdlTest, ReplicatedDdlIsAppliedInStreamOrderUnderPgbench) {
  ProcessSpec init{.argv = {(DebianPgBinDir(15) / "pgbench").string(), "-i", "-s", "2", "-q", "-h",
                            "127.0.0.1", "-p", std::to_string(src_->port()), "-U", "ops", "app"},
                   .env = {{"PGPASSWORD", "secret"}}};
  auto initialized = RunProcess(init);
  ASSERT_TRUE(initialized.ok() && initialized->exit_code == 0)
      << (initialized.ok() ? initialized->err : initialized.message());
  // A generated column from the start: the copy leaves it out, the destination computes it.
  ASSERT_TRUE(
      src_->Exec("ALTER TABLE orders ADD COLUMN bucket int GENERATED ALWAYS AS (id % 7) STORED",
                 "app")
          .ok());
  // pgbench_history has no key: force gives it REPLICA IDENTITY FULL.
  config_ = WriteConfig(tmp_.path(), *src_, *dst_, "app", "ddl: replicate\nforce: true\n");
  PgBench bench(tmp_.path(), src_->port(), "app", "ops", "secret", {"-c", "2", "-j", "2"});
  CommandResult run = Dbr({"run"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("replayed on the other side (ddl: replicate)"), std::string::npos)
      << run.err;

  auto source = src_->Connect("app");
  ASSERT_TRUE(source.ok()) << source.message();
  auto on_source = [&](const std::string& sql) {
    Status st = source->Exec(sql);
    EXPECT_TRUE(st.ok()) << sql << ": " << st.message();
  };
  // A column added, then filled while pgbench updates the same rows; altered; its type changed.
  on_source("ALTER TABLE pgbench_accounts ADD COLUMN note text DEFAULT 'none'");
  on_source("UPDATE pgbench_accounts SET note = 'touched ' || aid WHERE aid % 100 = 0");
  on_source("ALTER TABLE pgbench_accounts ALTER COLUMN note SET DEFAULT 'n/a'");
  on_source("ALTER TABLE orders ALTER COLUMN item TYPE varchar(200)");
  on_source("ALTER TABLE orders ADD COLUMN qty int NOT NULL DEFAULT 1");
  on_source(
      "INSERT INTO orders (item, qty) SELECT 'after ' || g, g FROM generate_series(1, 300) g");
  // A table created, filled at once and later, indexed; a search_path of its own.
  on_source("SET search_path = public");
  on_source("CREATE TABLE audit (id bigserial PRIMARY KEY, what text NOT NULL)");
  on_source("INSERT INTO audit (what) SELECT md5(g::text) FROM generate_series(1, 500) g");
  on_source("CREATE INDEX audit_what ON audit (what)");
  // A partitioned table and a partition created while replicating.
  on_source("CREATE TABLE metrics (id int, at date NOT NULL, v float8) PARTITION BY RANGE (at)");
  on_source(
      "CREATE TABLE metrics_2026 PARTITION OF metrics FOR VALUES FROM ('2026-01-01') TO "
      "('2027-01-01')");
  on_source(
      "INSERT INTO metrics SELECT g, DATE '2026-01-01' + g % 300, g FROM "
      "generate_series(1, 700) g");
  // A table filled first, then attached as a partition: its rows come with it.
  on_source("CREATE TABLE metrics_2027 (LIKE metrics)");
  on_source(
      "INSERT INTO metrics_2027 SELECT g, DATE '2027-01-01' + g % 300, g FROM "
      "generate_series(1, 400) g");
  on_source(
      "ALTER TABLE metrics ATTACH PARTITION metrics_2027 FOR VALUES FROM ('2027-01-01') TO "
      "('2028-01-01')");
  on_source("INSERT INTO metrics SELECT g, DATE '2027-06-01', g FROM generate_series(1, 100) g");
  // A generated column added while replicating, over rows already there and new ones.
  on_source(
      "ALTER TABLE orders ADD COLUMN line text GENERATED ALWAYS AS (item || ' x' || qty) "
      "STORED");
  on_source("INSERT INTO orders (item, qty) VALUES ('generated', 3)");
  on_source("CREATE TABLE scratch (x int)");
  on_source("DROP TABLE scratch");
  for (int i = 0; i < 20; ++i) on_source("INSERT INTO audit (what) VALUES ('late')");

  // What cannot be carried is refused on the source, naming why; nothing of it is done.
  for (const char* refused :
       {"ALTER TABLE orders ADD COLUMN x int; INSERT INTO orders (item) VALUES ('twice')",
        "DO $$ BEGIN EXECUTE 'ALTER TABLE orders ADD COLUMN y int'; END $$",
        "CREATE TABLE copied AS SELECT * FROM orders"}) {
    Status st = source->Exec(refused);
    ASSERT_FALSE(st.ok()) << refused;
    EXPECT_NE(st.message().find("db_relocate (ddl: replicate)"), std::string::npos) << st.message();
  }
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM orders WHERE item = 'twice'", "app"), "0");

  // The destination has each change, the created table's rows, and the same data everywhere.
  std::string rows;
  WaitFor(
      [&] {
        auto n = dst_->QueryValue("SELECT count(*) FROM audit", "app");
        rows = n.ok() ? *n : n.message();
        return rows == "520";
      },
      90s, 200ms);
  ASSERT_EQ(rows, "520") << dst_->LogTail(40);
  const ProcessOutput& out = bench.Wait();
  EXPECT_GT(PgBench::Processed(out), 100) << out.out << out.err;
  WaitFor(
      [&] {
        auto n = dst_->QueryValue("SELECT count(*) FROM metrics", "app");
        return n.ok() && *n == "1200";
      },
      60s, 200ms);
  // 4 of pgbench, orders, audit, metrics_2026 and _2027, and db_relocate's heartbeat, marker
  // and ddl_log
  ExpectSynced(11);
  EXPECT_EQ(*dst_->QueryValue("SELECT count(*) FROM metrics_2027", "app"), "500");
  EXPECT_EQ(
      *dst_->QueryValue(
          "SELECT line || ' ' || (bucket = id % 7) FROM orders WHERE item = 'generated'", "app"),
      "generated x3 true");
  EXPECT_EQ(*dst_->QueryValue("SELECT count(*) FROM orders WHERE bucket IS NULL", "app"), "0");
  EXPECT_EQ(*dst_->QueryValue("SELECT column_default FROM information_schema.columns WHERE "
                              "table_name = 'pgbench_accounts' AND column_name = 'note'",
                              "app"),
            "'n/a'::text");
  EXPECT_EQ(*dst_->QueryValue("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE "
                              "attrelid = 'orders'::regclass AND attname = 'item'",
                              "app"),
            "character varying(200)");
  EXPECT_EQ(
      *dst_->QueryValue("SELECT count(*) FROM pg_indexes WHERE indexname = 'audit_what'", "app"),
      "1");
  EXPECT_EQ(*dst_->QueryValue("SELECT to_regclass('scratch') IS NULL", "app"), "t");
  CommandResult verify = Dbr({"verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;

  // A statement that fails on the destination stops replication there, and status names it.
  ASSERT_TRUE(dst_->Exec("CREATE TABLE clash (id int)", "app").ok());
  on_source("CREATE TABLE clash (id int PRIMARY KEY, v text)");
  on_source("INSERT INTO orders (item) VALUES ('behind the clash')");
  nlohmann::json pending;
  WaitFor(
      [&] {
        pending = StatusJson()["replication"]["pending_ddl"];
        return pending.is_object() && !pending["error"].get<std::string>().empty();
      },
      60s, 500ms);
  ASSERT_TRUE(pending.is_object()) << pending;
  EXPECT_EQ(pending["statement"], "CREATE TABLE clash (id int PRIMARY KEY, v text)");
  EXPECT_NE(pending["error"].get<std::string>().find("already exists"), std::string::npos)
      << pending;
  EXPECT_EQ(*dst_->QueryValue("SELECT count(*) FROM orders WHERE item = 'behind the clash'", "app"),
            "0");
  CommandResult text = Dbr({"status"});
  EXPECT_NE(text.out.find("CREATE TABLE clash"), std::string::npos) << text.out;
  // Fixed on the destination: the apply worker's next attempt goes through.
  ASSERT_TRUE(dst_->Exec("DROP TABLE clash", "app").ok());
  WaitFor(
      [&] {
        auto n =
            dst_->QueryValue("SELECT count(*) FROM orders WHERE item = 'behind the clash'", "app");
        return n.ok() && *n == "1";
      },
      90s, 200ms);
  EXPECT_EQ(*dst_->QueryValue("SELECT count(*) FROM pg_attribute WHERE attrelid = "
                              "'clash'::regclass AND attname = 'v'",
                              "app"),
            "1");
  EXPECT_TRUE(StatusJson()["replication"]["pending_ddl"].is_null());

  // cleanup leaves no event trigger behind.
  CommandResult cleanup = Dbr({"cleanup"});
  EXPECT_EQ(cleanup.exit_code, 0) << cleanup.out << cleanup.err;
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_event_trigger", "app"), "0");
  EXPECT_EQ(*dst_->QueryValue("SELECT count(*) FROM pg_event_trigger", "app"), "0");
  EXPECT_TRUE(src_->Exec("ALTER TABLE orders ADD COLUMN after_cleanup int", "app").ok());
}

}  // namespace
}  // namespace dbr::test
