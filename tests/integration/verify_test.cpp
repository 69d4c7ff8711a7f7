// `db_relocate verify` on a real relocation (PostgreSQL 15 -> 17) while the application keeps
// writing: an equal pair is reported equal every time, and every kind of damage done to the
// destination behind the replication's back is caught and named, down to the row.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "harness/cluster.h"
#include "harness/loop_writer.h"
#include "harness/relocation.h"
#include "util/files.h"

namespace dbr::test {
namespace {

namespace fs = std::filesystem;

class VerifyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Nothing from an earlier round of the suite (--gtest_repeat): new servers, a new run.
    config_.clear();
    error_.clear();
    auto pair = StartPair(15, 17);
    if (!pair.ok()) {
      error_ = pair.message();
      return;
    }
    src_ = std::move(pair->first);
    dst_ = std::move(pair->second);
    tmp_ = std::make_unique<TempDir>("dbr-verify");
    if (Status st = src_->CreateDatabase("app"); !st.ok()) error_ = st.message();
    if (Status st = dst_->CreateDatabase("app"); !st.ok()) error_ = st.message();
    if (Status st = LoadRichSchema(*src_, "app", 5000); !st.ok()) error_ = st.message();
    // One table per kind of damage, left alone by the live writer; a table without a key; a
    // large one whose key ranges are compared in parallel.
    Status st = src_->Exec(R"sql(
      CREATE TABLE dmg_delete (id int PRIMARY KEY, v text);
      CREATE TABLE dmg_change (id bigint PRIMARY KEY, v text, f float8, j json);
      CREATE TABLE dmg_add (id int PRIMARY KEY, v text);
      CREATE INDEX dmg_add_v ON dmg_add (v);
      CREATE SEQUENCE dmg_seq;
      SELECT setval('dmg_seq', 500);
      CREATE TABLE dmg_nokey (a int, b text);
      ALTER TABLE dmg_nokey REPLICA IDENTITY FULL;
      CREATE TABLE "Mixed Key" ("Tenant" text, "n" int, payload text, PRIMARY KEY ("Tenant", "n"));
      CREATE TABLE vbig (id bigint PRIMARY KEY, payload text, amount numeric);
      INSERT INTO dmg_delete SELECT g, md5(g::text) FROM generate_series(1, 1000) g;
      INSERT INTO dmg_change SELECT g, md5(g::text), g / 7.0, json_build_object('b', g, 'a', 'x')
        FROM generate_series(1, 1000) g;
      -- json keeps what jsonb refuses: verify compares it as written.
      UPDATE dmg_change SET j = '{"a": "\u0000", "b": 1000}' WHERE id = 1000;
      INSERT INTO dmg_add SELECT g, md5(g::text) FROM generate_series(1, 1000) g;
      INSERT INTO dmg_nokey SELECT g % 10, md5(g::text) FROM generate_series(1, 25000) g;
      INSERT INTO "Mixed Key" SELECT 't' || (g % 7), g, md5(g::text) FROM generate_series(1, 3000) g;
      INSERT INTO vbig SELECT g, repeat(md5(g::text), 4), g * 1.5 FROM generate_series(1, 400000) g;
      ANALYZE vbig;
      CREATE TABLE vbulk (id bigserial PRIMARY KEY, n int NOT NULL, v text);
      INSERT INTO vbulk (n, v) SELECT 0, md5(g::text) FROM generate_series(1, 20000) g;
      CREATE TABLE vtoast (id int PRIMARY KEY, n int NOT NULL, doc text);
      ALTER TABLE vtoast ALTER COLUMN doc SET STORAGE EXTERNAL;
      INSERT INTO vtoast SELECT g, 0, (SELECT string_agg(md5(g::text || r::text), '')
                                         FROM generate_series(1, 200) r)
        FROM generate_series(1, 500) g;
    )sql",
                           "app");
    if (!st.ok()) error_ = st.message();
  }
  static void TearDownTestSuite() {
    if (tmp_) StopHeartbeatWriter(tmp_->path() / "state");
    src_.reset();
    dst_.reset();
    tmp_.reset();
  }
  void SetUp() override {
    ASSERT_TRUE(error_.empty()) << error_;
    if (config_.empty()) {
      // The run ends with verify (verify: true by default); ranges of 'vbig' are small enough
      // to be several.
      config_ = WriteConfig(tmp_->path(), *src_, *dst_, "app");
      LiveWriter writer(*src_, "app");
      CommandResult r = RunDbRelocate({"run", "--config", config_.string()});
      ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
      ASSERT_NE(r.out.find("every table is equal on both sides"), std::string::npos) << r.out;
      writer.Stop();
      ASSERT_TRUE(writer.error().empty()) << writer.error();
      // The writer went on after the run set the sequences ahead.
      Status st = SetDestinationSequencesAhead();
      ASSERT_TRUE(st.ok()) << st.message();
    }
  }

  // The tests share one relocation: each one puts back what it damaged (Repair), even when it
  // fails, so that the others find an equal pair in any order (--gtest_shuffle). What the
  // application's writes move, the sequences, is put back here after every test.
  void TearDown() override {
    if (!error_.empty() || config_.empty()) return;
    Status st = SetDestinationSequencesAhead();
    EXPECT_TRUE(st.ok()) << st.message();
  }

  // The source's writes (the live writer, bulk transactions) take sequence values that are not
  // replicated: the destination's sequences fall behind, which verify reports (BEHIND). Sets
  // each one a gap of 1000 ahead of the source's again, never back, as `run` left them.
  static Status SetDestinationSequencesAhead() {
    auto src = src_->Connect("app");
    if (!src.ok()) return src.status();
    auto dst = dst_->Connect("app");
    if (!dst.ok()) return dst.status();
    auto positions = src->Query(
        "SELECT format('%I.%I', schemaname, sequencename), last_value + 1000 * increment_by "
        "FROM pg_sequences WHERE schemaname <> 'db_relocate' AND last_value IS NOT NULL AND "
        "increment_by > 0");
    if (!positions.ok()) return positions.status();
    for (int i = 0; i < positions->rows(); ++i) {
      Status st = dst->Exec(
          "SELECT setval($1::text::regclass, $2::bigint) FROM pg_sequences WHERE "
          "format('%I.%I', schemaname, sequencename) = $1::text AND "
          "COALESCE(last_value, 0) < $2::bigint",
          {positions->Get(i, 0), positions->Get(i, 1)});
      if (!st.ok()) return st;
    }
    return Status::Ok();
  }

  // Runs `sql` on the destination when it goes out of scope, unless Now() ran it already: the
  // damage a test did is put back even when one of its assertions stops it early.
  class Repair {
   public:
    explicit Repair(std::string sql) : sql_(std::move(sql)) {}
    ~Repair() {
      if (!done_) {
        Status st = Now();
        EXPECT_TRUE(st.ok()) << "putting the destination back: " << sql_ << ": " << st.message();
      }
    }
    Repair(const Repair&) = delete;
    Repair& operator=(const Repair&) = delete;
    Status Now() {
      done_ = true;
      return dst_->Exec(sql_, "app");
    }

   private:
    std::string sql_;
    bool done_ = false;
  };

  // `env`: e.g. DBR_PAUSE_AT=verify:window:100, which holds the window open that long.
  CommandResult Verify(const std::map<std::string, std::string>& env = {}) {
    return RunDbRelocate({"verify", "--config", config_.string(), "--output", "json"}, env);
  }
  // The changes a verify found committed between its snapshot and its marker (0 when its log
  // does not say).
  static int ChangesInWindow(const CommandResult& r) {
    std::smatch m;
    if (!std::regex_search(r.err, m, std::regex(R"(\((\d+) changes committed in the window)")))
      return 0;
    return std::stoi(m[1]);
  }
  static nlohmann::json ObjectIn(const nlohmann::json& report, const std::string& kind,
                                 const std::string& name) {
    for (const auto& o : report["objects"])
      if (o["kind"] == kind && o["name"] == name) return o;
    ADD_FAILURE() << kind << " " << name << " not in the report";
    return {};
  }
  static nlohmann::json TableIn(const nlohmann::json& report, const std::string& table) {
    for (const auto& t : report["tables"])
      if (t["table"] == table) return t;
    ADD_FAILURE() << table << " not in the report";
    return {};
  }
  Status OnDestination(const std::string& sql) { return dst_->Exec(sql, "app"); }

  static inline std::unique_ptr<TestCluster> src_, dst_;
  static inline std::unique_ptr<TempDir> tmp_;
  static inline fs::path config_;
  static inline std::string error_;
};

TEST_F(VerifyTest, EqualPairUnderLiveWritesIsReportedEqualEveryTime) {
  LiveWriter writer(*src_, "app");
  // The hot tables change between the snapshot and the marker: verify must account for the
  // window's changes, never report them. The window is held open 100 ms, in which the writer
  // commits a few dozen changes.
  int windows_with_changes = 0;
  for (int i = 0; i < 6; ++i) {
    CommandResult r = Verify({{"DBR_PAUSE_AT", "verify:window:100"}});
    windows_with_changes += ChangesInWindow(r) > 0;
    ASSERT_EQ(r.exit_code, 0) << "round " << i << "\n" << r.out << r.err;
    auto report = nlohmann::json::parse(r.out);
    EXPECT_TRUE(report["ok"].get<bool>());
    EXPECT_GE(report["tables"].size(), 15u);
    for (const auto& t : report["tables"]) {
      EXPECT_EQ(t["status"], "OK") << t.dump();
      EXPECT_EQ(t["source_rows"], t["destination_rows"]) << t.dump();
    }
    EXPECT_EQ(TableIn(report, "public.vbig")["source_rows"], 400000);
    EXPECT_GT(TableIn(report, "public.vbig")["ranges"].get<int>(), 1);
  }
  EXPECT_GT(windows_with_changes, 0) << "the live writer never wrote inside a window";
  EXPECT_GT(writer.operations(), 0);
  writer.Stop();
  EXPECT_TRUE(writer.error().empty()) << writer.error();
  // No verify slot is left behind to retain WAL.
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE "
                              "'db_relocate_verify_%'",
                              "app"),
            "0");
  // The text form says the same, and the report is kept for `report`.
  CommandResult text = RunDbRelocate({"verify", "--config", config_.string()});
  EXPECT_EQ(text.exit_code, 0) << text.out << text.err;
  EXPECT_NE(text.out.find("every table is equal on both sides"), std::string::npos) << text.out;
  auto saved = nlohmann::json::parse(*ReadFile(tmp_->path() / "state" / "verify.json"));
  EXPECT_TRUE(saved["ok"].get<bool>());
}

// Bulk transactions (hundreds to thousands of rows each; updates that leave a TOASTed value
// unchanged, so the decoded row lacks it) commit while verify takes its point: the window's
// accounting must rebuild every row they touched, and find the pair equal.
TEST_F(VerifyTest, EqualWhileBulkTransactionsCommitInTheWindow) {
  LoopWriter bulk(src_->Params("app"), [](int64_t i) {
    return fmt::format(
        "BEGIN;"
        "UPDATE vbulk SET n = n + 1 WHERE id % 20 = {0};"
        "DELETE FROM vbulk WHERE id IN (SELECT id FROM vbulk WHERE id % 20 = {1} ORDER BY id "
        "LIMIT 200);"
        "INSERT INTO vbulk (n, v) SELECT {2}, md5(random()::text) FROM generate_series(1, 200);"
        "UPDATE vtoast SET n = n + 1 WHERE id % 5 = {3};"
        "COMMIT;",
        i % 20, (i + 7) % 20, i, i % 5);
  });
  int largest_window = 0;
  for (int i = 0; i < 4; ++i) {
    CommandResult r = Verify();
    largest_window = std::max(largest_window, ChangesInWindow(r));
    EXPECT_EQ(r.exit_code, 0) << "round " << i << "\n" << r.out << r.err;
    auto report = nlohmann::json::parse(r.out);
    EXPECT_EQ(TableIn(report, "public.vbulk")["status"], "OK") << r.out;
    EXPECT_EQ(TableIn(report, "public.vtoast")["status"], "OK") << r.out;
  }
  bulk.Stop();
  EXPECT_TRUE(bulk.error().empty()) << bulk.error();
  EXPECT_GT(bulk.rounds(), 0);
  // Each transaction touches about 1,500 rows: a window holding even one is a bulk window.
  EXPECT_GE(largest_window, 1000) << "no bulk transaction committed inside a window";
}

// A row added behind replication's back to a table that bulk transactions change while verify
// takes its point: the window's rows are accounted for and only that row is named.
TEST_F(VerifyTest, DamageIsNamedInATableChangingInTheWindow) {
  ASSERT_TRUE(OnDestination("INSERT INTO vbulk (id, n, v) VALUES (-5, 0, 'extra')").ok());
  Repair repair("DELETE FROM vbulk WHERE id = -5");
  LoopWriter bulk(src_->Params("app"), [](int64_t i) {
    return fmt::format(
        "BEGIN; UPDATE vbulk SET n = n + 1 WHERE id % 20 = {0};"
        "INSERT INTO vbulk (n, v) SELECT {1}, md5(random()::text) FROM generate_series(1, 100);"
        "COMMIT;",
        i % 20, i);
  });
  int windows_with_changes = 0;
  for (int i = 0; i < 3; ++i) {
    CommandResult r = Verify();
    windows_with_changes += ChangesInWindow(r) > 0;
    EXPECT_EQ(r.exit_code, 1) << "round " << i << "\n" << r.out << r.err;
    auto t = TableIn(nlohmann::json::parse(r.out), "public.vbulk");
    EXPECT_EQ(t["status"], "DIFFERS") << t.dump();
    EXPECT_EQ(t["differing_rows"], 1) << t.dump();
    ASSERT_EQ(t["examples"].size(), 1u) << t.dump();
    EXPECT_EQ(t["examples"][0]["key"], "(id)=(-5)");
    EXPECT_EQ(t["examples"][0]["what"], "only on the destination");
    EXPECT_EQ(t["destination_rows"].get<int64_t>(), t["source_rows"].get<int64_t>() + 1);
  }
  bulk.Stop();
  EXPECT_TRUE(bulk.error().empty()) << bulk.error();
  EXPECT_GT(windows_with_changes, 0) << "no change committed inside a window";
  ASSERT_TRUE(repair.Now().ok());
}

TEST_F(VerifyTest, RowsDeletedOnTheDestinationAreNamed) {
  ASSERT_TRUE(OnDestination("DELETE FROM dmg_delete WHERE id IN (17, 900)").ok());
  Repair repair(
      "INSERT INTO dmg_delete SELECT g, md5(g::text) FROM unnest(ARRAY[17, 900]) g "
      "ON CONFLICT DO NOTHING");
  CommandResult r = Verify();
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  auto t = TableIn(nlohmann::json::parse(r.out), "public.dmg_delete");
  EXPECT_EQ(t["status"], "DIFFERS");
  EXPECT_EQ(t["source_rows"], 1000);
  EXPECT_EQ(t["destination_rows"], 998);
  EXPECT_EQ(t["differing_rows"], 2);
  ASSERT_EQ(t["examples"].size(), 2u) << t.dump();
  EXPECT_EQ(t["examples"][0]["key"], "(id)=(17)");
  EXPECT_EQ(t["examples"][0]["what"], "only on the source");
  EXPECT_EQ(t["examples"][1]["key"], "(id)=(900)");
  ASSERT_TRUE(repair.Now().ok());
  EXPECT_EQ(Verify().exit_code, 0);
}

// json keeps its text as written: its keys in another order are another value (jsonb's would
// be the same one).
TEST_F(VerifyTest, ChangedValuesAreNamedJsonByItsText) {
  ASSERT_TRUE(OnDestination("UPDATE dmg_change SET v = 'tampered' WHERE id = 5; "
                            "UPDATE dmg_change SET f = f + 1e-12 WHERE id = 6; "
                            "UPDATE dmg_change SET j = json_build_object('a', 'x', 'b', id) "
                            "WHERE id = 7")
                  .ok());
  Repair repair(
      "UPDATE dmg_change SET v = md5(id::text), f = id / 7.0, "
      "j = json_build_object('b', id, 'a', 'x') WHERE id IN (5, 6, 7)");
  CommandResult r = Verify();
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  auto t = TableIn(nlohmann::json::parse(r.out), "public.dmg_change");
  EXPECT_EQ(t["status"], "DIFFERS");
  EXPECT_EQ(t["differing_rows"], 3) << t.dump();
  ASSERT_EQ(t["examples"].size(), 3u);
  EXPECT_EQ(t["examples"][0]["key"], "(id)=(5)");
  EXPECT_EQ(t["examples"][0]["what"], "differs");
  EXPECT_EQ(t["examples"][1]["key"], "(id)=(6)");
  EXPECT_EQ(t["examples"][2]["key"], "(id)=(7)");
  ASSERT_TRUE(repair.Now().ok());
  CommandResult again = Verify();
  EXPECT_EQ(again.exit_code, 0) << again.out;
}

TEST_F(VerifyTest, RowsAddedOnTheDestinationAreNamed) {
  ASSERT_TRUE(OnDestination("INSERT INTO dmg_add VALUES (5000, 'extra')").ok());
  Repair repair("DELETE FROM dmg_add WHERE id = 5000");
  CommandResult r = Verify();
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  auto t = TableIn(nlohmann::json::parse(r.out), "public.dmg_add");
  EXPECT_EQ(t["status"], "DIFFERS");
  ASSERT_EQ(t["examples"].size(), 1u);
  EXPECT_EQ(t["examples"][0]["key"], "(id)=(5000)");
  EXPECT_EQ(t["examples"][0]["what"], "only on the destination");
  ASSERT_TRUE(repair.Now().ok());
}

// Its row hashes are counted on each side and merged in hash order, several batches of them
// (25000 rows), while the writer's rows change it in the window.
TEST_F(VerifyTest, TablesWithoutAKeyAreComparedAsAWhole) {
  ASSERT_TRUE(OnDestination("UPDATE dmg_nokey SET b = 'x' WHERE b = md5('7');"
                            "INSERT INTO dmg_nokey VALUES (8, md5('8'))")
                  .ok());
  Repair repair(
      "UPDATE dmg_nokey SET b = md5('7') WHERE b = 'x';"
      "DELETE FROM dmg_nokey WHERE ctid = (SELECT max(ctid) FROM dmg_nokey WHERE b = md5('8'))");
  LoopWriter writer(src_->Params("app"), [](int64_t i) {
    return fmt::format(
        "INSERT INTO dmg_nokey VALUES (-1, md5('w{0}')), (-1, md5('w{0}'));"
        "DELETE FROM dmg_nokey WHERE a = -1 AND b = md5('w{1}')",
        i, i / 2);
  });
  int windows_with_changes = 0;
  for (int i = 0; i < 2; ++i) {
    // The window held open 300 ms: the writer's rows change the table inside it.
    CommandResult r = Verify({{"DBR_PAUSE_AT", "verify:window:300"}});
    windows_with_changes += ChangesInWindow(r) > 0;
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    auto t = TableIn(nlohmann::json::parse(r.out), "public.dmg_nokey");
    EXPECT_EQ(t["status"], "DIFFERS");
    // The row changed is only on each side as it was and as it is; the one added twice, once more.
    EXPECT_EQ(t["differing_rows"], 3) << t.dump();
    EXPECT_EQ(t["destination_rows"].get<int64_t>(), t["source_rows"].get<int64_t>() + 1);
    std::multiset<std::string> rows;
    for (const auto& e : t["examples"])
      rows.insert(e["key"].get<std::string>() + " " + e["what"].get<std::string>());
    EXPECT_EQ(rows, (std::multiset<std::string>{
                        "(7,8f14e45fceea167a5a36dedd4bea2543) only on the source",
                        "(7,x) only on the destination",
                        "(8,c9f0f895fb98ab9159f51fd0297e236d) only on the destination"}))
        << t.dump();
  }
  writer.Stop();
  EXPECT_TRUE(writer.error().empty()) << writer.error();
  EXPECT_GT(windows_with_changes, 0) << "no change committed inside a window";
  ASSERT_TRUE(src_->Exec("DELETE FROM dmg_nokey WHERE a = -1", "app").ok());
  ASSERT_TRUE(repair.Now().ok());
  EXPECT_EQ(Verify().exit_code, 0);
}

TEST_F(VerifyTest, DamageInsideALargeTableIsFoundInItsRange) {
  ASSERT_TRUE(OnDestination("DELETE FROM vbig WHERE id = 345678; "
                            "UPDATE \"Mixed Key\" SET payload = 'x' WHERE \"Tenant\" = 't3' AND "
                            "n = 10")
                  .ok());
  Repair repair(
      "INSERT INTO vbig VALUES (345678, repeat(md5('345678'), 4), 345678 * 1.5) "
      "ON CONFLICT DO NOTHING; UPDATE \"Mixed Key\" SET payload = md5('10') WHERE "
      "\"Tenant\" = 't3' AND n = 10");
  CommandResult r = Verify();
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  auto report = nlohmann::json::parse(r.out);
  auto vbig = TableIn(report, "public.vbig");
  EXPECT_EQ(vbig["status"], "DIFFERS");
  EXPECT_EQ(vbig["differing_ranges"], 1) << vbig.dump();
  ASSERT_EQ(vbig["examples"].size(), 1u);
  EXPECT_EQ(vbig["examples"][0]["key"], "(id)=(345678)");
  auto mixed = TableIn(report, "public.Mixed Key");
  ASSERT_EQ(mixed["examples"].size(), 1u) << mixed.dump();
  EXPECT_EQ(mixed["examples"][0]["key"], "(Tenant, n)=(t3,10)");
  ASSERT_TRUE(repair.Now().ok());
  EXPECT_EQ(Verify().exit_code, 0);
}

TEST_F(VerifyTest, AMissingTableOnTheDestinationIsNamed) {
  ASSERT_TRUE(OnDestination("ALTER TABLE dmg_add RENAME TO dmg_add_moved").ok());
  Repair repair("ALTER TABLE dmg_add_moved RENAME TO dmg_add");
  CommandResult r = Verify();
  ASSERT_TRUE(repair.Now().ok());
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  auto t = TableIn(nlohmann::json::parse(r.out), "public.dmg_add");
  EXPECT_EQ(t["status"], "DIFFERS");
  EXPECT_NE(t["detail"].get<std::string>().find("missing on the destination"), std::string::npos);
}

TEST_F(VerifyTest, SchemaDifferencesAreNamedWithBothSides) {
  ASSERT_TRUE(OnDestination("ALTER TABLE dmg_add ALTER COLUMN v TYPE varchar(64); "
                            "DROP INDEX dmg_add_v; SELECT setval('dmg_seq', 10)")
                  .ok());
  // dmg_seq is put back by TearDown.
  Repair repair(
      "ALTER TABLE dmg_add ALTER COLUMN v TYPE text; "
      "CREATE INDEX IF NOT EXISTS dmg_add_v ON dmg_add (v)");
  CommandResult r = Verify();
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  auto report = nlohmann::json::parse(r.out);
  // The rows themselves are the same.
  EXPECT_EQ(TableIn(report, "public.dmg_add")["status"], "OK");
  auto column = ObjectIn(report, "column", "public.dmg_add.v");
  EXPECT_EQ(column["status"], "DIFFERS");
  EXPECT_NE(column["detail"].get<std::string>().find("character varying(64)"), std::string::npos)
      << column.dump();
  EXPECT_EQ(ObjectIn(report, "index", "public.dmg_add_v")["status"], "MISSING");
  EXPECT_EQ(ObjectIn(report, "sequence", "public.dmg_seq")["status"], "BEHIND");
  CommandResult text = RunDbRelocate({"verify", "--config", config_.string()});
  EXPECT_NE(text.out.find("2 of "), std::string::npos) << text.out;  // column, index
  EXPECT_NE(text.out.find("public.dmg_add_v"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("1 sequences are behind"), std::string::npos) << text.out;
  // A sequence behind alone is named but does not fail verify: cut-over sets it ahead.
  ASSERT_TRUE(repair.Now().ok());
  CommandResult only_sequence = Verify();
  EXPECT_EQ(only_sequence.exit_code, 0) << only_sequence.out;
  EXPECT_EQ(
      ObjectIn(nlohmann::json::parse(only_sequence.out), "sequence", "public.dmg_seq")["status"],
      "BEHIND");

  ASSERT_TRUE(OnDestination("SELECT setval('dmg_seq', 1500)").ok());
  CommandResult fixed = Verify();
  EXPECT_EQ(fixed.exit_code, 0) << fixed.out;
}

TEST_F(VerifyTest, BeforeARunThereIsNothingToVerify) {
  TempDir other("dbr-verify-none");
  auto config = WriteConfig(other.path(), *src_, *dst_, "postgres");
  CommandResult r = RunDbRelocate({"verify", "--config", config.string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(r.err.find("nothing to verify yet: no relocation state in"), std::string::npos)
      << r.err;
  // With a state folder but no subscription on the destination's database.
  std::filesystem::create_directories(other.path() / "state");
  CommandResult again = RunDbRelocate({"verify", "--config", config.string()});
  EXPECT_EQ(again.exit_code, 1) << again.out << again.err;
  EXPECT_NE(again.err.find("nothing to verify yet: subscription db_relocate_sub does not exist "
                           "on the destination"),
            std::string::npos)
      << again.err;
}

TEST_F(VerifyTest, AKilledVerifyLeavesNoSlotRetainingWal) {
  // Killed right after its slot was created: the next verify drops it, and works.
  CommandResult killed = RunDbRelocate({"verify", "--config", config_.string()},
                                       {{"DBR_CRASH_AT", "verify:slot-created"}});
  EXPECT_EQ(killed.exit_code, 137) << killed.err;
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE "
                              "'db_relocate_verify_%'",
                              "app"),
            "1");
  CommandResult again = Verify();
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(*src_->QueryValue("SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE "
                              "'db_relocate_verify_%'",
                              "app"),
            "0");
}

}  // namespace
}  // namespace dbr::test
