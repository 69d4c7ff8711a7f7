// `db_relocate run`, `verify` and `cleanup` with engine: mysql against real MariaDB servers under
// a live writer (issue #25): the run ends with every heartbeat proved and verify equal; verify
// alone is equal while the writer writes, and names a damaged row; once the writer stops and
// the destination has applied the rest, every table is equal row for row; killed (kill -9) at
// each step, the next run ends the same way; cleanup leaves nothing of the relocation's.
#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "harness/cluster.h"
#include "harness/mariadb.h"
#include "harness/mariadb_workload.h"
#include "mysql/replication.h"
#include "mysql/servers.h"
#include "util/files.h"

namespace fs = std::filesystem;

namespace dbr::test {
namespace mysql_run {

using Pair = MariaDbPair;

Pair StartPairWithShop() {
  auto pair = StartMariaDbPair();
  EXPECT_TRUE(pair.ok()) << pair.message();
  if (!pair.ok()) return {};
  MakeShopDatabase(*pair->src);
  return std::move(*pair);
}

// One relocation's config: `database` of `src` into `dst`, named `dst_name` there ("": the same).
struct Relocation {
  std::string database = "shop";
  std::string dst_name;
  std::string user = "dbr_repl";
};

fs::path WriteConfig(const fs::path& dir, const TestMariaDb& src, const TestMariaDb& dst,
                     const Relocation& r) {
  fs::path path = dir / "relocate.yaml";
  std::ofstream(path) << "engine: mysql\n"
                      << "src: {host: 127.0.0.1, port: " << src.port() << ", name: " << r.database
                      << ", user: ops, password: secret}\n"
                      << "dst: {host: 127.0.0.1, port: " << dst.port()
                      << (r.dst_name.empty() ? "" : ", name: " + r.dst_name) << "}\n"
                      << "upgrade: {user: " << r.user << "}\n"
                      << "jobs: 2\nheartbeat_interval: 0.2\n"
                      // items (~5000 rows) is copied and verified in key ranges
                      << "split_tables_larger_than: 65536\n";
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
  return path;
}

// shop into the pair's destination; `dst_name`: its name there ("": the source's).
fs::path WriteConfig(const fs::path& dir, const Pair& pair, const std::string& dst_name = "") {
  return WriteConfig(dir, *pair.src, *pair.dst, {.dst_name = dst_name});
}

// What the relocation of shop into `dst_name` names its replication and its own database.
mysql::RelocationNames NamesInto(const std::string& dst_name = "shop") {
  Config config;
  config.src.name = "shop";
  config.dst.name = dst_name;
  return mysql::NamesOf(config);
}

// The number of schema objects an equal verify says it compared; -1 when it does not say.
int ObjectsCompared(const std::string& out) {
  const std::string said = "every schema object is the same on both sides (";
  const size_t at = out.find(said);
  return at == std::string::npos ? -1 : std::atoi(out.c_str() + at + said.size());
}

// The line of `out` holding `needle`; "" when none does.
std::string LineWith(const std::string& out, const std::string& needle) {
  const size_t at = out.find(needle);
  if (at == std::string::npos) return "";
  const size_t begin = out.rfind('\n', at) + 1;  // npos + 1 == 0
  return out.substr(begin, out.find('\n', at) - begin);
}

// Stops the writer, waits until the destination has applied everything, compares every table.
void StopAndExpectEqual(ShopWriter& writer, Pair& pair, const std::string& dst_db = "shop") {
  writer.Stop();
  ASSERT_EQ(writer.error(), "");
  auto src = pair.src->Connect();
  auto dst = pair.dst->Connect();
  ASSERT_TRUE(src.ok() && dst.ok());
  auto end = mysql::SourcePositionNow(*src);
  ASSERT_TRUE(end.ok()) << end.message();
  Status st = mysql::WaitApplied(*dst, NamesInto(dst_db).channel, *end, std::chrono::seconds(120));
  ASSERT_TRUE(st.ok()) << st.message();
  ExpectShopEqual(*src, *dst, dst_db);
}

// What the relocation made is gone from both sides; the relocated data stays on each.
void ExpectCleanedUp(const fs::path& config, Pair& pair, const std::string& dst_db = "shop") {
  {  // Not while another command works on the relocation.
    auto held = FileLock::Acquire(config.parent_path() / "db_relocate.state" / "run.lock", "test");
    ASSERT_TRUE(held.ok()) << held.message();
    CommandResult refused = RunDbRelocate({"cleanup", "--config", config.string()});
    EXPECT_EQ(refused.exit_code, 1) << refused.out << refused.err;
    EXPECT_NE(refused.err.find("another db_relocate process is already working"), std::string::npos)
        << refused.err;
  }
  CommandResult cleanup = RunDbRelocate({"cleanup", "--config", config.string()});
  ASSERT_EQ(cleanup.exit_code, 0) << cleanup.out << cleanup.err;
  auto src = pair.src->Connect();
  auto dst = pair.dst->Connect();
  ASSERT_TRUE(src.ok() && dst.ok());
  for (auto* side : {&*src, &*dst})
    EXPECT_EQ(side->QueryValue("SELECT GROUP_CONCAT(SCHEMA_NAME) FROM information_schema.SCHEMATA "
                               "WHERE SCHEMA_NAME LIKE 'db\\_relocate%'")
                  .value(),
              "");
  EXPECT_EQ(src->QueryValue("SELECT COUNT(*) FROM mysql.user WHERE User = 'dbr_repl'").value(),
            "0");
  auto replicas = dst->Query("SHOW ALL SLAVES STATUS");
  ASSERT_TRUE(replicas.ok()) << replicas.message();
  EXPECT_EQ(replicas->rows(), 0);
  EXPECT_EQ(dst->QueryValue("SELECT COUNT(*) FROM " + dst_db + ".items").value(),
            src->QueryValue("SELECT COUNT(*) FROM shop.items").value());
  CommandResult again = RunDbRelocate({"cleanup", "--config", config.string()});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("nothing to clean up"), std::string::npos) << again.out;
}

// Into a database of another name (dst.name): the replication renames it, and the texts of the
// views, the trigger and the event name the destination's.
TEST(MysqlRunTest, RunUnderLiveWritesProvesEveryHeartbeatVerifiesAndEndsEqual) {
  Pair pair = StartPairWithShop();
  ASSERT_TRUE(pair.src && pair.dst);
  TempDir dir("dbr-mysql-run");
  const fs::path config = WriteConfig(dir.path(), pair, "shop_new");
  ShopWriter writer(*pair.src);
  writer.WaitForRounds(20);

  // The plan names the key ranges the copy will use: items (a single integer key) in several,
  // order_lines (a composite key) whole.
  CommandResult plan = RunDbRelocate({"plan", "--config", config.string(), "--output", "json"});
  ASSERT_EQ(plan.exit_code, 0) << plan.out << plan.err;
  std::map<std::string, int> parts;
  const auto planned = nlohmann::json::parse(plan.out);
  for (const auto& t : planned["scope"]["tables"]) parts[t["name"]] = t["copy_parts"];
  EXPECT_GT(parts["shop.items"], 2) << plan.out;
  EXPECT_EQ(parts["shop.order_lines"], 1) << plan.out;
  EXPECT_EQ(planned["replication"]["renames"], "shop -> shop_new") << plan.out;

  CommandResult run = RunDbRelocate({"run", "--config", config.string()});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.err.find("heartbeat verification: all"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("copied `items` (key range 1 of"), std::string::npos) << run.err;
  // The steps in MySQL's words.
  EXPECT_NE(run.err.find("step subscription: replication from the snapshot's binary log"),
            std::string::npos)
      << run.err;
  EXPECT_NE(run.out.find("AUTO_INCREMENT counters set ahead"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find("publication"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("replication: running"), std::string::npos) << run.out;
  EXPECT_NE(run.err.find("snapshot of the source at binary log position"), std::string::npos);
  // MariaDB: the replication starts at the snapshot's GTID position.
  EXPECT_NE(run.err.find("the destination replicates from 127.0.0.1:" +
                         std::to_string(pair.src->port()) + " starting at "),
            std::string::npos)
      << run.err;
  EXPECT_NE(run.err.find(" (GTID 0-"), std::string::npos) << run.err;
  EXPECT_NE(run.out.find("every table is equal on both sides"), std::string::npos) << run.out;
  EXPECT_NE(run.err.find("`shop` is made as `shop_new` on the destination"), std::string::npos)
      << run.err;
  // verify on its own, the writer still writing: equal, at one point of the binary log.
  CommandResult verify = RunDbRelocate({"verify", "--config", config.string()});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_NE(verify.out.find("source vs destination at binlog."), std::string::npos) << verify.out;
  EXPECT_NE(verify.out.find("`shop`.`order_lines`"), std::string::npos) << verify.out;
  EXPECT_GT(ObjectsCompared(verify.out), 30) << verify.out;  // tables, columns, indexes, ...
  // A schema change run with the database as the default reaches the renamed one.
  {
    auto src = pair.src->Connect();
    ASSERT_TRUE(src.ok());
    for (const char* sql : {"USE shop", "ALTER TABLE items ADD COLUMN rating INT"})
      ASSERT_TRUE(src->Exec(sql).ok()) << sql;
  }
  writer.WaitForRounds(30);  // replicated after the run
  ASSERT_NO_FATAL_FAILURE(StopAndExpectEqual(writer, pair, "shop_new"));

  // A second run, with the replication stopped by hand meanwhile, copies nothing again, starts
  // the replication where it stopped and proves the heartbeats again.
  {
    auto dst = pair.dst->Connect();
    ASSERT_TRUE(dst.ok()) << dst.message();
    ASSERT_TRUE(dst->Exec("STOP SLAVE '" + NamesInto("shop_new").channel + "'").ok());
  }
  CommandResult rerun = RunDbRelocate({"run", "--config", config.string()});
  ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
  EXPECT_NE(rerun.err.find("step snapshot: already done"), std::string::npos) << rerun.err;
  EXPECT_NE(rerun.err.find("starting it again"), std::string::npos) << rerun.err;
  EXPECT_NE(rerun.err.find("heartbeat verification: all"), std::string::npos) << rerun.err;

  // A row changed and a row deleted on the destination (rows the writer had stopped touching):
  // verify exits 1 naming both keys.
  auto dst = pair.dst->Connect();
  ASSERT_TRUE(dst.ok()) << dst.message();
  const std::string item = dst->QueryValue("SELECT MAX(id) FROM shop_new.items").value();
  const std::string order =
      dst->QueryValue("SELECT MAX(order_id) FROM shop_new.order_lines").value();
  const std::string first_item = dst->QueryValue("SELECT MIN(id) FROM shop_new.items").value();
  ASSERT_TRUE(dst->Exec("UPDATE shop_new.items SET name = 'damaged' WHERE id IN (" + first_item +
                        ", " + item + ")")
                  .ok());
  ASSERT_TRUE(dst->Exec("DELETE FROM shop_new.order_lines WHERE order_id = " + order).ok());
  // A FLOAT changed below the 6 digits the server prints it with (both 199457). And a table
  // without a primary key, made and filled on the source (3000 rows, each twice): replicated.
  {
    auto src = pair.src->Connect();
    ASSERT_TRUE(src.ok());
    ASSERT_TRUE(src->Exec("UPDATE shop.docs SET weight = 199456.789 ORDER BY id LIMIT 1").ok());
    // Run with shop as the default database: the replication's renaming applies to that alone.
    ASSERT_TRUE(src->Exec("USE shop").ok());
    ASSERT_TRUE(src->Exec("CREATE TABLE ledger (account INT, amount DECIMAL(10,2), memo TEXT, tag "
                          "VARBINARY(4))")
                    .ok());
    std::string rows;  // a tag that is no UTF-8, a memo NULL every 7th row
    for (int i = 0; i < 1500; ++i)
      rows += (i ? ",(" : "(") + std::to_string(i % 300) + ", " + std::to_string(i) + ".25, " +
              (i % 7 ? "'memo " + std::to_string(i) + "'" : std::string("NULL")) + ", X'00FF')";
    for (int twice = 0; twice < 2; ++twice)
      ASSERT_TRUE(src->Exec("INSERT INTO shop.ledger VALUES " + rows).ok());
    auto end = mysql::SourcePositionNow(*src);
    ASSERT_TRUE(end.ok()) << end.message();
    Status applied =
        mysql::WaitApplied(*dst, NamesInto("shop_new").channel, *end, std::chrono::seconds(60));
    ASSERT_TRUE(applied.ok()) << applied.message();
  }
  const std::string doc = dst->QueryValue("SELECT MIN(id) FROM shop_new.docs").value();
  ASSERT_TRUE(dst->Exec("UPDATE shop_new.docs SET weight = weight + 0.125 WHERE id = " + doc).ok());
  // Above every key the source has: the last key range has no upper bound.
  const std::string stray = std::to_string(
      std::stoll(dst->QueryValue("SELECT MAX(id) FROM shop_new.docs").value()) + 100000);
  ASSERT_TRUE(dst->Exec("INSERT INTO shop_new.docs (id) VALUES (" + stray + ")").ok());
  // Without a key: one of a pair of equal rows changed, one of another pair deleted, and a third
  // row added twice more.
  for (const char* sql :
       {"UPDATE shop_new.ledger SET memo = 'changed' WHERE amount = 41.25 LIMIT 1",
        "DELETE FROM shop_new.ledger WHERE amount = 42.25 LIMIT 1",
        "INSERT INTO shop_new.ledger SELECT * FROM shop_new.ledger WHERE amount = 43.25"})
    ASSERT_TRUE(dst->Exec(sql).ok()) << sql;
  // The destination's schema changed by hand: a column's default, a trigger and a CHECK
  // constraint dropped, an index added.
  for (const char* sql : {"ALTER TABLE shop_new.items ALTER COLUMN price SET DEFAULT 9.99",
                          "DROP TRIGGER shop_new.items_audit",
                          "ALTER TABLE shop_new.items DROP CONSTRAINT price_not_negative",
                          "CREATE INDEX by_qty_line ON shop_new.order_lines (qty, line)"})
    ASSERT_TRUE(dst->Exec(sql).ok()) << sql;
  // A table made on the source outside the binary log never reaches the destination.
  {
    auto src = pair.src->Connect();
    ASSERT_TRUE(src.ok());
    for (const char* sql :
         {"SET SESSION sql_log_bin = 0", "CREATE TABLE shop.unlogged_extra (id INT PRIMARY KEY)",
          "INSERT INTO shop.unlogged_extra VALUES (1), (2)"})
      ASSERT_TRUE(src->Exec(sql).ok()) << sql;
  }
  CommandResult damaged = RunDbRelocate({"verify", "--config", config.string()});
  EXPECT_EQ(damaged.exit_code, 1) << damaged.out << damaged.err;
  EXPECT_NE(damaged.out.find("(id)=(" + item + ")  differs"), std::string::npos) << damaged.out;
  EXPECT_NE(damaged.out.find("(id)=(" + first_item + ")  differs"), std::string::npos)
      << damaged.out;
  EXPECT_NE(damaged.out.find("(id)=(" + stray + ")  only on the destination"), std::string::npos)
      << damaged.out;
  EXPECT_NE(damaged.out.find("(order_id, line)=(" + order + ", 0)  only on the source"),
            std::string::npos)
      << damaged.out;
  EXPECT_NE(damaged.out.find("(id)=(" + doc + ")  differs"), std::string::npos) << damaged.out;
  EXPECT_NE(damaged.out.find("missing on the destination"), std::string::npos) << damaged.out;
  for (const char* row : {"(41, 41.25, 'memo 41', 0x00FF)  only on the source",
                          "(41, 41.25, 'changed', 0x00FF)  only on the destination",
                          "(42, 42.25, NULL, 0x00FF)  only on the source",
                          "(43, 43.25, 'memo 43', 0x00FF)  only on the destination, 2 times"})
    EXPECT_NE(damaged.out.find(row), std::string::npos) << row << "\n" << damaged.out;
  EXPECT_NE(damaged.out.find("5 of 6 tables are not equal"), std::string::npos) << damaged.out;
  const std::string price = LineWith(damaged.out, "shop.items.price ");
  EXPECT_NE(price.find("DIFFERS"), std::string::npos) << damaged.out;
  EXPECT_NE(price.find("DEFAULT 9.99"), std::string::npos) << price;
  EXPECT_NE(LineWith(damaged.out, "shop.items_audit ").find("MISSING"), std::string::npos)
      << damaged.out;
  EXPECT_NE(LineWith(damaged.out, "shop.order_lines.by_qty_line ").find("EXTRA"), std::string::npos)
      << damaged.out;
  EXPECT_NE(LineWith(damaged.out, "shop.items.price_not_negative ").find("MISSING"),
            std::string::npos)
      << damaged.out;
  // unlogged_extra's table, column and primary key, and the four above.
  EXPECT_NE(damaged.out.find("7 of "), std::string::npos) << damaged.out;
  EXPECT_NE(damaged.out.find(" schema objects differ"), std::string::npos) << damaged.out;
  // items was compared in key ranges; the first and the last differ.
  auto text = ReadFile(dir.path() / "db_relocate.state" / "verify.json");
  ASSERT_TRUE(text.ok()) << text.message();
  const auto report = nlohmann::json::parse(*text, nullptr, false);
  ASSERT_TRUE(report.is_object()) << *text;
  for (const auto& t : report["tables"])
    if (t["table"] == "`shop`.`items`") {
      EXPECT_GT(t["ranges"].get<int>(), 2) << t.dump();
      EXPECT_EQ(t["differing_ranges"], 2) << t.dump();
      EXPECT_EQ(t["differing_rows"], 2) << t.dump();
    } else if (t["table"] == "`shop`.`ledger`") {  // a row changed counts as two without a key
      EXPECT_EQ(t["differing_rows"], 5) << t.dump();
      EXPECT_EQ(t["source_rows"], 3000) << t.dump();
      EXPECT_EQ(t["destination_rows"], 3001) << t.dump();
    }
  ASSERT_TRUE(dst->Exec("DELETE FROM shop_new.docs WHERE id = " + stray).ok());
  // The damage was not replicated, and the replication still runs.
  auto src = pair.src->Connect();
  ASSERT_TRUE(src.ok());
  EXPECT_NE(src->QueryValue("SELECT name FROM shop.items WHERE id = " + item).value(), "damaged");
  auto replica = mysql::ReadReplica(*dst, NamesInto("shop_new").channel);
  ASSERT_TRUE(replica.ok()) << replica.message();
  EXPECT_TRUE(replica->applying && replica->receiving) << replica->error;

  ASSERT_NO_FATAL_FAILURE(ExpectCleanedUp(config, pair, "shop_new"));
}

// The state records a marker of each server at the first run; pointed at another server (one
// recreated at the same address looks the same to the config), every command refuses with exit 2
// naming the side, and changes nothing there.
TEST(MysqlRunTest, StateIsNotResumedAgainstAnotherServer) {
  Pair pair = StartPairWithShop();
  ASSERT_TRUE(pair.src && pair.dst);
  TempDir dir("dbr-mysql-identity");
  const fs::path config = WriteConfig(dir.path(), pair);
  CommandResult run = RunDbRelocate({"run", "--config", config.string()});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  auto src = pair.src->Connect();
  ASSERT_TRUE(src.ok());
  const std::string marker = src->QueryValue("SELECT id FROM db_relocate_identity.server").value();
  std::ifstream in(dir.path() / "db_relocate.state" / "state.json");
  const std::string state((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(state.find(marker), std::string::npos) << state;

  auto other = TestMariaDb::Start();
  ASSERT_TRUE(other.ok()) << other.message();
  const fs::path elsewhere = dir.path() / "elsewhere.yaml";
  std::ofstream(elsewhere) << "engine: mysql\n"
                           << "src: {host: 127.0.0.1, port: " << pair.src->port()
                           << ", name: shop, user: ops, password: secret}\n"
                           << "dst: {host: 127.0.0.1, port: " << (*other)->port() << "}\n"
                           << "upgrade: {user: dbr_repl}\nstate_dir: "
                           << (dir.path() / "db_relocate.state").string() << "\n";
  fs::permissions(elsewhere, fs::perms::owner_read | fs::perms::owner_write);
  for (const char* command : {"status", "run", "verify", "cutover", "cleanup"}) {
    CommandResult refused = RunDbRelocate({command, "--config", elsewhere.string()});
    EXPECT_EQ(refused.exit_code, 2) << command << refused.out << refused.err;
    EXPECT_NE(refused.err.find("destination db_relocate_identity marker: recorded"),
              std::string::npos)
        << command << refused.err;
  }
  auto replaced = (*other)->Connect();
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(replaced
                ->QueryValue("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE "
                             "SCHEMA_NAME = 'shop' OR SCHEMA_NAME LIKE 'db\\_relocate%'")
                .value(),
            "0");
  CommandResult status = RunDbRelocate({"status", "--config", config.string()});
  EXPECT_EQ(status.exit_code, 0) << status.out << status.err;
  ASSERT_NO_FATAL_FAILURE(ExpectCleanedUp(config, pair));
}

// The databases of db_relocate's own on `server`, by name, comma-separated.
std::string OwnDatabases(TestMariaDb& server) {
  auto value = server.QueryValue(
      "SELECT COALESCE(GROUP_CONCAT(SCHEMA_NAME ORDER BY SCHEMA_NAME), '') FROM "
      "information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'db\\_relocate%'");
  return value.ok() ? *value : value.message();
}

// The relocations `server` records (mysql/neighbours.h), by name, comma-separated.
std::string Relocations(TestMariaDb& server) {
  auto value = server.QueryValue(
      "SELECT COALESCE(GROUP_CONCAT(name ORDER BY name), '') FROM "
      "db_relocate_identity.relocations");
  return value.ok() ? *value : value.message();
}

// Two relocations from one source (its databases shop and stock, each into a server of its own)
// keep apart. Refused by pre-flight: one naming the first one's replication user (its run stops
// there, recorded until its cleanup; the same relocation from another state_dir is refused
// meanwhile), the first one's database into another server, and a database into the first
// one's destination, which follows the source already, and another source's into it that writes
// the GTID domain the first one's replication follows; with a domain of its own, that other
// source's relocation runs into the same server, ends equal, and its cleanup leaves the first
// one replicating. The first one's
// cleanup removes what is its alone and leaves the source's marker and the second relocation's
// database: the second goes on replicating (its next run finds its servers and proves every
// heartbeat, its verify is equal), and its cleanup removes the rest.
TEST(MysqlRunTest, TwoRelocationsFromOneSourceKeepApart) {
  Pair pair = StartPairWithShop();
  ASSERT_TRUE(pair.src && pair.dst);
  auto stock_dst = TestMariaDb::Start();
  ASSERT_TRUE(stock_dst.ok()) << stock_dst.message();
  auto add_moves = [&](int n) {
    std::string sql = "INSERT INTO stock.moves (qty) VALUES ";
    for (int i = 0; i < n; ++i) sql += (i ? ",(" : "(") + std::to_string(i % 97) + ")";
    ASSERT_TRUE(pair.src->Exec({sql}).ok());
  };
  ASSERT_TRUE(pair.src
                  ->Exec({"CREATE DATABASE stock",
                          "CREATE TABLE stock.moves (id INT AUTO_INCREMENT PRIMARY KEY, qty INT "
                          "NOT NULL)"})
                  .ok());
  ASSERT_NO_FATAL_FAILURE(add_moves(2000));
  TempDir shop_dir("dbr-mysql-shop"), stock_dir("dbr-mysql-stock"), taken_dir("dbr-mysql-taken");
  const fs::path shop = WriteConfig(shop_dir.path(), pair);
  const fs::path stock = WriteConfig(stock_dir.path(), *pair.src, **stock_dst,
                                     {.database = "stock", .user = "dbr_repl_b"});
  const fs::path taken =
      WriteConfig(taken_dir.path(), *pair.src, **stock_dst, {.database = "stock"});
  ShopWriter writer(*pair.src);
  writer.WaitForRounds(5);

  CommandResult run = RunDbRelocate({"run", "--config", shop.string()});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;

  // `check` of `config`: its line `name` holds `says`.
  auto check_says = [](const fs::path& config, const std::string& name, const std::string& says) {
    CommandResult check = RunDbRelocate({"check", "--config", config.string()});
    EXPECT_NE(LineWith(check.out, name).find(says), std::string::npos) << check.out;
    return check.exit_code;
  };
  // The first one's replication user, named again: check says why, run stops at pre-flight.
  EXPECT_EQ(check_says(taken, "other relocations",
                       "FAIL   upgrade.user dbr_repl is the replication user of another "
                       "relocation on the source (db_relocate_shop)"),
            1);
  // The first one's database, into another server: one database goes into one server at a time.
  TempDir elsewhere_dir("dbr-mysql-elsewhere");
  const fs::path elsewhere =
      WriteConfig(elsewhere_dir.path(), *pair.src, **stock_dst, {.user = "dbr_repl_d"});
  EXPECT_EQ(check_says(elsewhere, "other relocations",
                       "FAIL   the source records another relocation named db_relocate_shop, "
                       "with another server at its other end"),
            1);
  // Its run is refused before pre-flight, as soon as it knows the servers; its cleanup leaves
  // the first relocation's database, record and replication alone.
  run = RunDbRelocate({"run", "--config", elsewhere.string()});
  EXPECT_EQ(run.exit_code, 2) << run.out << run.err;
  EXPECT_NE(run.err.find("DELETE FROM `db_relocate_identity`.`relocations` WHERE name = "
                         "'db_relocate_shop'"),
            std::string::npos)
      << run.err;
  CommandResult cleanup = RunDbRelocate({"cleanup", "--config", elsewhere.string()});
  EXPECT_EQ(cleanup.exit_code, 0) << cleanup.out << cleanup.err;
  EXPECT_NE(cleanup.err.find("nothing is removed on the source"), std::string::npos) << cleanup.err;
  EXPECT_EQ(OwnDatabases(*pair.src), "db_relocate_identity,db_relocate_shop");
  EXPECT_EQ(Relocations(*pair.src), "db_relocate_shop");
  {
    auto dst = pair.dst->Connect();
    ASSERT_TRUE(dst.ok()) << dst.message();
    auto replica = mysql::ReadReplica(*dst, "db_relocate_shop");
    ASSERT_TRUE(replica.ok()) << replica.message();
    EXPECT_TRUE(replica->exists && replica->receiving && replica->applying) << replica->error;
  }
  // Into the first one's destination: the server follows the source once.
  TempDir beside_dir("dbr-mysql-beside");
  const fs::path beside = WriteConfig(beside_dir.path(), *pair.src, *pair.dst,
                                      {.database = "stock", .user = "dbr_repl_c"});
  EXPECT_EQ(check_says(beside, "other replications",
                       "FAIL   the destination replicates from the source already, through "
                       "db_relocate_shop"),
            1);
  // Another source into the first one's destination, whose replication is positioned by GTID:
  // refused while that source writes the same GTID domain (gtid_slave_pos is server-wide), let
  // through with a domain of its own.
  for (const std::string domain : {"0", "7"}) {
    auto other_source = TestMariaDb::Start({.settings = {{"gtid_domain_id", domain}}});
    ASSERT_TRUE(other_source.ok()) << other_source.message();
    ASSERT_TRUE((*other_source)->Exec({"CREATE DATABASE ledger"}).ok());
    TempDir into_dir("dbr-mysql-into");
    const fs::path into = WriteConfig(into_dir.path(), **other_source, *pair.dst,
                                      {.database = "ledger", .user = "dbr_repl_e"});
    check_says(into, "other replications",
               domain == "0" ? "FAIL   the destination's replication db_relocate_shop is "
                               "positioned by GTID and receives GTID domain 0"
                             : "PASS");
    if (domain == "0") continue;
    // Let through, it runs: the destination follows both sources, each relocation ends equal,
    // and this one's cleanup leaves the first one replicating.
    const std::string before = OwnDatabases(*pair.dst);
    auto add_entries = [&](int first, int last) {
      std::string sql = "INSERT INTO ledger.entries (amount) VALUES ";
      for (int i = first; i <= last; ++i) sql += (i > first ? ",(" : "(") + std::to_string(i) + ")";
      ASSERT_TRUE((*other_source)->Exec({sql}).ok());
    };
    ASSERT_TRUE((*other_source)
                    ->Exec({"CREATE TABLE ledger.entries (id INT AUTO_INCREMENT PRIMARY KEY, "
                            "amount INT NOT NULL)"})
                    .ok());
    ASSERT_NO_FATAL_FAILURE(add_entries(1, 300));
    CommandResult into_run = RunDbRelocate({"run", "--config", into.string()});
    ASSERT_EQ(into_run.exit_code, 0) << into_run.out << into_run.err;
    EXPECT_NE(into_run.err.find("heartbeat verification: all"), std::string::npos) << into_run.err;
    ASSERT_NO_FATAL_FAILURE(add_entries(301, 400));
    CommandResult into_verify = RunDbRelocate({"verify", "--config", into.string()});
    EXPECT_EQ(into_verify.exit_code, 0) << into_verify.out << into_verify.err;
    EXPECT_EQ(pair.dst->QueryValue("SELECT CONCAT(COUNT(*), ':', SUM(amount)) FROM ledger.entries")
                  .value(),
              "400:80200");
    CommandResult into_cleanup = RunDbRelocate({"cleanup", "--config", into.string()});
    ASSERT_EQ(into_cleanup.exit_code, 0) << into_cleanup.out << into_cleanup.err;
    EXPECT_EQ(OwnDatabases(*pair.dst), before);
    auto dst = pair.dst->Connect();
    ASSERT_TRUE(dst.ok()) << dst.message();
    auto ledger = mysql::ReadReplica(*dst, "db_relocate_ledger");
    ASSERT_TRUE(ledger.ok()) << ledger.message();
    EXPECT_FALSE(ledger->exists);
    auto shop_replica = mysql::ReadReplica(*dst, "db_relocate_shop");
    ASSERT_TRUE(shop_replica.ok()) << shop_replica.message();
    EXPECT_TRUE(shop_replica->exists && shop_replica->receiving && shop_replica->applying)
        << shop_replica->error;
  }
  CommandResult shop_verify = RunDbRelocate({"verify", "--config", shop.string()});
  EXPECT_EQ(shop_verify.exit_code, 0) << shop_verify.out << shop_verify.err;
  CommandResult refused = RunDbRelocate({"run", "--config", taken.string()});
  EXPECT_NE(refused.exit_code, 0) << refused.out << refused.err;
  EXPECT_NE((refused.out + refused.err).find("upgrade.user dbr_repl is the replication user"),
            std::string::npos)
      << refused.out << refused.err;
  EXPECT_EQ(OwnDatabases(*pair.src), "db_relocate_identity,db_relocate_shop");
  // Recorded all the same (the state names its servers): until its cleanup, or a run that goes on.
  EXPECT_EQ(Relocations(*pair.src), "db_relocate_shop,db_relocate_stock");
  // The same relocation from another state_dir is refused (making nothing) until that one is
  // cleaned up, which leaves the first relocation alone.
  run = RunDbRelocate({"run", "--config", stock.string()});
  EXPECT_EQ(run.exit_code, 2) << run.out << run.err;
  EXPECT_NE(run.err.find("between these same servers, from another run state"), std::string::npos)
      << run.err;
  cleanup = RunDbRelocate({"cleanup", "--config", taken.string()});
  EXPECT_EQ(cleanup.exit_code, 0) << cleanup.out << cleanup.err;
  EXPECT_EQ(Relocations(*pair.src), "db_relocate_shop");
  EXPECT_EQ(OwnDatabases(*pair.src), "db_relocate_identity,db_relocate_shop");
  EXPECT_EQ((*stock_dst)
                ->QueryValue("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE "
                             "SCHEMA_NAME = 'stock'")
                .value(),
            "0");

  run = RunDbRelocate({"run", "--config", stock.string()});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.err.find("heartbeat verification: all"), std::string::npos) << run.err;
  EXPECT_EQ(OwnDatabases(*pair.src), "db_relocate_identity,db_relocate_shop,db_relocate_stock");
  EXPECT_EQ(OwnDatabases(**stock_dst), "db_relocate_identity,db_relocate_stock");

  cleanup = RunDbRelocate({"cleanup", "--config", shop.string()});
  ASSERT_EQ(cleanup.exit_code, 0) << cleanup.out << cleanup.err;
  EXPECT_EQ(OwnDatabases(*pair.src), "db_relocate_identity,db_relocate_stock");
  EXPECT_EQ(Relocations(*pair.src), "db_relocate_stock");
  EXPECT_EQ(OwnDatabases(*pair.dst), "");
  EXPECT_EQ(pair.src
                ->QueryValue("SELECT GROUP_CONCAT(User ORDER BY User) FROM mysql.user WHERE "
                             "User LIKE 'dbr\\_repl%'")
                .value(),
            "dbr_repl_b");

  // The second relocation carries what the source writes after that cleanup.
  ASSERT_NO_FATAL_FAILURE(add_moves(500));
  run = RunDbRelocate({"run", "--config", stock.string()});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.err.find("heartbeat verification: all"), std::string::npos) << run.err;
  CommandResult verify = RunDbRelocate({"verify", "--config", stock.string()});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_EQ((*stock_dst)->QueryValue("SELECT COUNT(*) FROM stock.moves").value(), "2500");

  writer.Stop();
  cleanup = RunDbRelocate({"cleanup", "--config", stock.string()});
  ASSERT_EQ(cleanup.exit_code, 0) << cleanup.out << cleanup.err;
  EXPECT_EQ(OwnDatabases(*pair.src), "");
  EXPECT_EQ(OwnDatabases(**stock_dst), "");
  EXPECT_EQ(
      pair.src->QueryValue("SELECT COUNT(*) FROM mysql.user WHERE User LIKE 'dbr\\_repl%'").value(),
      "0");
}

// The destination's server killed (kill -9) while it applies the source's writes, then started
// again: its replication, positioned by GTID, goes on after the last transaction it committed.
// Every table ends equal: a transaction applied again would stop it on a duplicate key, one
// skipped would leave the tables different.
TEST(MysqlRunTest, DestinationKilledWhileApplyingGoesOnAfterItsLastTransaction) {
  Pair pair = StartPairWithShop();
  ASSERT_TRUE(pair.src && pair.dst);
  TempDir dir("dbr-mysql-crash");
  const fs::path config = WriteConfig(dir.path(), pair);
  ShopWriter writer(*pair.src);
  writer.WaitForRounds(20);
  CommandResult run = RunDbRelocate({"run", "--config", config.string()});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  {
    auto dst = pair.dst->Connect();
    ASSERT_TRUE(dst.ok()) << dst.message();
    auto replica = mysql::ReadReplica(*dst, NamesInto().channel);
    ASSERT_TRUE(replica.ok()) << replica.message();
    ASSERT_TRUE(replica->by_gtid);  // what keeps its position in step with its commits
  }
  writer.WaitForRounds(10);
  pair.dst->Kill();
  writer.WaitForRounds(20);
  ASSERT_TRUE(pair.dst->StartAgain().ok());
  CommandResult again = RunDbRelocate({"run", "--config", config.string()});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_NE(again.err.find("step snapshot: already done"), std::string::npos) << again.err;
  // The restart dropped the replication's filter (MariaDB keeps it in memory only): set again.
  EXPECT_NE(again.err.find("runs without its filter"), std::string::npos) << again.err;
  {
    auto dst = pair.dst->Connect();
    ASSERT_TRUE(dst.ok()) << dst.message();
    auto replica = mysql::ReadReplica(*dst, NamesInto().channel);
    ASSERT_TRUE(replica.ok()) << replica.message();
    EXPECT_TRUE(replica->complete && replica->applying);
  }
  writer.WaitForRounds(20);
  ASSERT_NO_FATAL_FAILURE(StopAndExpectEqual(writer, pair));
  CommandResult verify = RunDbRelocate({"verify", "--config", config.string()});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  ASSERT_NO_FATAL_FAILURE(ExpectCleanedUp(config, pair));
}

// The definitions are read in UTC and made in UTC: a TIMESTAMP's literal default is the same
// instant on a destination whose time zone is another.
TEST(MysqlRunTest, TimestampDefaultsKeepTheirInstantOnADestinationInAnotherTimeZone) {
  auto src = TestMariaDb::Start();
  ASSERT_TRUE(src.ok()) << src.message();
  auto dst = TestMariaDb::Start({.settings = {{"default-time-zone", "+02:00"}}});
  ASSERT_TRUE(dst.ok()) << dst.message();
  ASSERT_TRUE((*src)
                  ->Exec({"CREATE DATABASE tz",
                          "CREATE TABLE tz.t (id INT PRIMARY KEY, at TIMESTAMP NOT NULL "
                          "DEFAULT '2020-01-01 00:00:00')",
                          "INSERT INTO tz.t (id) VALUES (1)"})
                  .ok());
  TempDir dir("dbr-mysql-tz");
  const fs::path config = dir.path() / "relocate.yaml";
  std::ofstream(config) << "engine: mysql\nsrc: {host: 127.0.0.1, port: " << (*src)->port()
                        << ", name: tz, user: ops, password: secret}\ndst: {host: 127.0.0.1, "
                        << "port: " << (*dst)->port()
                        << "}\nupgrade: {user: dbr_repl}\nheartbeat_interval: 0.2\n";
  fs::permissions(config, fs::perms::owner_read | fs::perms::owner_write);
  CommandResult run = RunDbRelocate({"run", "--config", config.string()});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  auto default_in_utc = [](TestMariaDb& server) {
    auto c = server.Connect();
    if (!c.ok()) return c.message();
    (void)c->Exec("SET SESSION time_zone = '+00:00'");
    auto v = c->QueryValue(
        "SELECT COLUMN_DEFAULT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'tz' AND "
        "TABLE_NAME = 't' AND COLUMN_NAME = 'at'");
    return v.ok() ? *v : v.message();
  };
  EXPECT_EQ(default_in_utc(**dst), default_in_utc(**src));
  ASSERT_TRUE((*src)->Exec({"INSERT INTO tz.t (id) VALUES (2)"}).ok());
  CommandResult verify = RunDbRelocate({"verify", "--config", config.string()});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  CommandResult cleanup = RunDbRelocate({"cleanup", "--config", config.string()});
  EXPECT_EQ(cleanup.exit_code, 0) << cleanup.out << cleanup.err;
}

class MysqlResumeTest : public ::testing::TestWithParam<const char*> {};

TEST_P(MysqlResumeTest, KilledRunResumesToAnEqualDestination) {
  Pair pair = StartPairWithShop();
  ASSERT_TRUE(pair.src && pair.dst);
  TempDir dir("dbr-mysql-resume");
  const fs::path config = WriteConfig(dir.path(), pair);
  // Killed while the replication is made, by file and offset (another connection on the
  // destination rules out GTID): cut short at the snapshot's position, it looks as far along
  // as a whole one.
  const bool by_file = std::string(GetParam()) == "mysql-replication:unfiltered";
  if (by_file)
    ASSERT_TRUE(pair.dst
                    ->Exec({"CHANGE MASTER 'theirs' TO MASTER_HOST = '127.0.0.1', "
                            "MASTER_PORT = 1, MASTER_USE_GTID = no"})
                    .ok());
  ShopWriter writer(*pair.src);
  writer.WaitForRounds(20);

  CommandResult crashed =
      RunDbRelocate({"run", "--config", config.string()}, {{"DBR_CRASH_AT", GetParam()}});
  ASSERT_EQ(crashed.exit_code, 128 + 9) << "crash point not reached: " << crashed.err;
  writer.WaitForRounds(20);
  CommandResult run = RunDbRelocate({"run", "--config", config.string()});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.err.find("heartbeat verification: all"), std::string::npos) << run.err;
  {
    // Whole: a replication cut short before its filter is made again, not started as it was.
    auto dst = pair.dst->Connect();
    ASSERT_TRUE(dst.ok()) << dst.message();
    auto replica = mysql::ReadReplica(*dst, NamesInto().channel);
    ASSERT_TRUE(replica.ok()) << replica.message();
    EXPECT_TRUE(replica->complete);
    EXPECT_EQ(replica->by_gtid, !by_file);
    if (by_file) ASSERT_TRUE(dst->Exec("RESET SLAVE 'theirs' ALL").ok());
  }
  writer.WaitForRounds(20);
  ASSERT_NO_FATAL_FAILURE(StopAndExpectEqual(writer, pair));
  ASSERT_NO_FATAL_FAILURE(ExpectCleanedUp(config, pair));
}

INSTANTIATE_TEST_SUITE_P(AtEveryStep, MysqlResumeTest,
                         ::testing::Values("after:heartbeat", "after:publication",
                                           "mysql-copy:rows", "after:snapshot",
                                           "mysql-replication:unfiltered", "after:subscription",
                                           "before:heartbeat_verify"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

}  // namespace mysql_run
}  // namespace dbr::test
