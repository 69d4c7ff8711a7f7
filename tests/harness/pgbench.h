// pgbench in the background, as an application: started with a workload, it runs until Wait()
// ends it the way its own -T would (each client finishes its transaction and the summary is
// printed).
#pragma once

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "harness/cluster.h"
#include "harness/wait.h"
#include "util/files.h"
#include "util/process.h"

namespace dbr::test {

// The table PgBench::LedgerInserts writes to and the role it writes as, for `db`'s public schema.
inline constexpr const char* kLedgerForApp =
    "CREATE ROLE app LOGIN PASSWORD 'apppw'; "
    "CREATE TABLE ledger (id bigserial PRIMARY KEY, client int, note text); "
    "GRANT SELECT, INSERT ON ledger TO app; GRANT USAGE ON SEQUENCE ledger_id_seq TO app";

// The `cutover` block of a managed PgBouncer at a free port, its files under `dir`, which is
// opened to the postgres OS user it runs as (it refuses root); sets `*port`. (Call it under
// ASSERT_NO_FATAL_FAILURE.)
inline void ManagedPgBouncerBlock(const std::filesystem::path& dir, int* port, std::string* block) {
  std::filesystem::permissions(
      dir, std::filesystem::perms::others_exec | std::filesystem::perms::group_exec,
      std::filesystem::perm_options::add);
  auto free = PickFreePort();
  ASSERT_TRUE(free.ok()) << free.message();
  *port = *free;
  *block =
      "cutover:\n  type: pgbouncer\n  manage: true\n  listen: 127.0.0.1:" + std::to_string(*port) +
      "\n";
}

class PgBench {
 public:
  // pgbench against `port` as `user`, with `workload` (e.g. {"-c", "4", "-R", "200", "-f", F}).
  PgBench(const std::filesystem::path& dir, int port, const std::string& db,
          const std::string& user, const std::string& password,
          const std::vector<std::string>& workload)
      : pid_file_(dir / "pgbench.pid") {
    std::error_code ec;
    std::filesystem::remove(pid_file_, ec);
    // A shell writes its pid, which pgbench takes over by exec, for Wait() to signal.
    spec_.argv = {"/bin/sh", "-c", "echo $$ > \"$0\"; exec \"$@\"", pid_file_.string(),
                  (DebianPgBinDir(15) / "pgbench").string(), "-n", "-h", "127.0.0.1", "-p",
                  std::to_string(port), "-U", user,
                  // Longer than any test: Wait() ends it.
                  "-T", "1200"};
    spec_.argv.insert(spec_.argv.end(), workload.begin(), workload.end());
    spec_.argv.push_back(db);
    spec_.env = {{"PGPASSWORD", password}};
    thread_ = std::thread([this] {
      auto out = RunProcess(spec_);
      if (out.ok()) out_ = *out;
      ended_ = true;
    });
  }
  // One INSERT per transaction into `ledger` (client, note), numbered per client, `rate` a
  // second, 4 clients, as the application role `app`.
  static PgBench LedgerInserts(const std::filesystem::path& dir, int port, const std::string& db,
                               int rate) {
    std::ofstream(dir / "insert.sql")
        << "INSERT INTO ledger (client, note) VALUES (:client_id, md5(random()::text));\n";
    return PgBench(
        dir, port, db, "app", "apppw",
        {"-c", "4", "-j", "2", "-R", std::to_string(rate), "-f", (dir / "insert.sql").string()});
  }
  PgBench(PgBench&&) = delete;
  ~PgBench() { Wait(); }

  const ProcessOutput& Wait() {
    if (!thread_.joinable()) return out_;
    EXPECT_TRUE(WaitFor(
        [&] {
          if (ended_) return true;  // on its own: its output says why
          auto pid = ReadFile(pid_file_);
          return pid.ok() && !pid->empty() && kill(std::stoi(*pid), SIGALRM) == 0;
        },
        std::chrono::seconds(10)))
        << "pgbench never started";
    thread_.join();
    return out_;
  }
  bool ended() const { return ended_; }
  // "number of transactions actually processed: N"
  static int64_t Processed(const ProcessOutput& out) {
    std::smatch m;
    static const std::regex re("actually processed: (\\d+)");
    return std::regex_search(out.out, m, re) ? std::stoll(m[1]) : -1;
  }

 private:
  std::filesystem::path pid_file_;
  ProcessSpec spec_;
  ProcessOutput out_;
  std::atomic<bool> ended_{false};
  std::thread thread_;
};

// The application, pgbench inserting into `ledger` of `db` through the proxy at `proxy_port`,
// moved onto `dst` by run("cutover") and back onto `src` by run("rollback"), each side seen
// taking its writes in turn; `*committed` gets the rows pgbench committed. (Call it under
// ASSERT_NO_FATAL_FAILURE.)
inline void MoveTheApplicationThereAndBack(
    const std::filesystem::path& dir, int proxy_port, const std::string& db, pg::Connection& src,
    pg::Connection& dst, const std::function<CommandResult(const std::string&)>& run,
    int64_t* committed) {
  auto rows = [](pg::Connection& c) {
    return std::stoll(*c.QueryValue("SELECT count(*) FROM ledger"));
  };
  auto grows = [&](pg::Connection& c) {
    const int64_t from = rows(c);
    return WaitFor([&] { return rows(c) >= from + 100; }, std::chrono::seconds(60));
  };
  PgBench bench = PgBench::LedgerInserts(dir, proxy_port, db, 100);
  ASSERT_TRUE(grows(src));
  CommandResult cut = run("cutover");
  ASSERT_EQ(cut.exit_code, 0) << cut.out << cut.err;
  ASSERT_TRUE(grows(dst));
  CommandResult back = run("rollback");
  ASSERT_EQ(back.exit_code, 0) << back.out << back.err;
  ASSERT_TRUE(grows(src));
  const ProcessOutput& out = bench.Wait();
  ASSERT_EQ(out.exit_code, 0) << out.out << out.err;
  *committed = PgBench::Processed(out);
}

}  // namespace dbr::test
