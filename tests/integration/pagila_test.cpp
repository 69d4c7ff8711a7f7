// `run` on a real schema nobody on this project wrote: the Pagila sample database (partitions,
// enums, domains with non-ASCII names, arrays, tsvector columns kept by triggers, functions,
// views, a materialized view), from ../shared/data/pagila, with the application writing.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "harness/cluster.h"
#include "harness/relocation.h"
#include "util/process.h"

namespace dbr::test {
namespace {

std::filesystem::path PagilaDir() {
  return std::filesystem::path(DBR_SOURCE_DIR).parent_path() / "shared" / "data" / "pagila";
}

Status LoadPagila(TestCluster& src) {
  DBR_RETURN_IF_ERROR(src.Exec("CREATE ROLE postgres"));  // Pagila's objects belong to it
  DBR_RETURN_IF_ERROR(src.CreateDatabase("pagila"));
  for (const char* file : {"pagila-schema.sql", "pagila-data.sql"}) {
    ProcessSpec spec{
        .argv = {(DebianPgBinDir(15) / "psql").string(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h",
                 "127.0.0.1", "-p", std::to_string(src.port()), "-U", "ops", "-d", "pagila", "-f",
                 (PagilaDir() / file).string()},
        .env = {{"PGPASSWORD", "secret"}}};
    auto out = RunProcess(spec);
    if (!out.ok()) return out.status();
    if (out->exit_code != 0) return Status::Error(DescribeFailure(spec, *out));
  }
  return Status::Ok();
}

TEST(PagilaTest, RelocatesPagila15To17WhileTheApplicationWrites) {
  if (!std::filesystem::exists(PagilaDir() / "pagila-data.sql"))
    GTEST_SKIP() << "the Pagila sample database is not at " << PagilaDir()
                 << " (../shared/data/pagila beside the project); this test needs it";
  auto pair = StartPair(15, 17);
  ASSERT_TRUE(pair.ok()) << pair.message();
  auto src = &pair->first, dst = &pair->second;
  ASSERT_TRUE(LoadPagila(**src).ok());
  ASSERT_TRUE((*dst)->CreateDatabase("pagila").ok());

  std::atomic<bool> stop{false};
  std::string writer_error;
  std::thread writer([&, params = (*src)->Params("pagila")] {
    auto conn = pg::Connection::Open(params);
    if (!conn.ok()) return void(writer_error = conn.message());
    for (int i = 1; !stop; ++i) {
      for (const char* sql :
           {"UPDATE customer SET active = 1 - active WHERE customer_id = 1 + $1::int % 500",
            "INSERT INTO payment (customer_id, staff_id, rental_id, amount, payment_date) "
            "SELECT 1 + $1::int % 500, 1, rental_id, 4.99, '2022-03-15' FROM rental "
            "ORDER BY rental_id OFFSET $1::int % 1000 LIMIT 1",  // rental ids have gaps
            "UPDATE film SET description = description || ' ' || $1::text WHERE film_id = "
            "1 + $1::int % 1000",
            "DELETE FROM payment WHERE payment_id = $1::int * 3 AND payment_date < '2022-02-01'"}) {
        Status st = conn->Exec(sql, {std::to_string(i)});
        if (!st.ok()) return void(writer_error = st.message());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });

  TempDir tmp;
  auto config = WriteConfig(tmp.path(), **src, **dst, "pagila");
  CommandResult r = RunDbRelocate({"run", "--config", config.string()});
  stop = true;
  writer.join();
  StopHeartbeatWriter(tmp.path() / "state");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(writer_error, "");
  ASSERT_TRUE(WaitUntilApplied(**src, "pagila").ok());
  auto a = TableChecksums(**src, "pagila", {"public", "db_relocate"});
  auto b = TableChecksums(**dst, "pagila", {"public", "db_relocate"});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_GE(a->size(), 20u);
  EXPECT_EQ(*a, *b);
  // Partitions, generated tsvector columns, domains: no false alarm from the schema-change check.
  CommandResult status = RunDbRelocate({"status", "--config", config.string()});
  EXPECT_EQ(status.out.find("schema changed"), std::string::npos) << status.out;
  // Triggers, functions and the full-text index came along.
  for (const char* q : {"SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal",
                        "SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace",
                        "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'"})
    EXPECT_EQ(*(*src)->QueryValue(q, "pagila"), *(*dst)->QueryValue(q, "pagila")) << q;
}

}  // namespace
}  // namespace dbr::test
