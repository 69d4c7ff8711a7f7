// Test harness: real PostgreSQL clusters on loopback, one throwaway data directory each, plus
// helpers to run the built db_relocate binary.
//
// Binaries: PostgreSQL 15 is Debian's (/usr/lib/postgresql/15/bin); other majors come from
// scripts/install-deps.sh (<repo>/.cache/pg/<major>/bin, or the copy its .dbr-location names).
// $DBR_PG_BIN_<major> overrides either. scripts/pg-bin.sh follows the same rules.
//
// Data directories: initdb runs once per (test process, major, bin dir) into a template
// (/tmp/dbr-test-*, removed at exit); each cluster starts on a copy of it whose system identifier
// is made its own (harness/pg_control.h), so that no two clusters look like one server.
//
// Servers refuse to run as root: when the tests run as root, initdb/pg_ctl run as the `postgres`
// OS user (runuser), which owns the data directory. Every cluster is stopped when its object
// dies, at exit, and (best effort, SIGQUIT = immediate shutdown) on SIGINT/SIGTERM; clusters
// left by a test process that was killed outright are cleaned up by the next Start().
// DBR_KEEP_TEMP=1 keeps data directories, logs and TempDirs for a post-mortem.
#pragma once

#include <chrono>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pg/connection.h"
#include "util/status.h"

namespace dbr::test {

struct ClusterOptions {
  std::map<std::string, std::string> settings;  // extra/override postgresql.conf settings
  std::string wal_level = "logical";
};

class TestCluster {
 public:
  // A copy of the major's template data directory, started on a free loopback port (superuser
  // ops/secret, scram-sha-256 over TCP).
  static Result<std::unique_ptr<TestCluster>> Start(int major, const ClusterOptions& options = {});

  // Stops the server (pg_ctl -m immediate) and deletes the cluster's directory.
  ~TestCluster();
  TestCluster(const TestCluster&) = delete;
  TestCluster& operator=(const TestCluster&) = delete;

  int major() const { return major_; }
  int port() const { return port_; }
  std::string host() const { return "127.0.0.1"; }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  const std::filesystem::path& bin_dir() const { return bin_dir_; }
  std::filesystem::path log_file() const;
  bool running() const { return running_; }
  // The settings written to the cluster's dbr.conf (defaults, then options, then Restart()s).
  const std::map<std::string, std::string>& settings() const { return settings_; }

  pg::ConnParams Params(const std::string& dbname = "postgres", const std::string& user = "ops",
                        const std::string& password = "secret") const;
  Result<pg::Connection> Connect(const std::string& dbname = "postgres",
                                 const std::string& user = "ops",
                                 const std::string& password = "secret") const;

  // Convenience, as ops, on a fresh connection each call.
  Status Exec(const std::string& sql, const std::string& dbname = "postgres");
  Result<std::string> QueryValue(const std::string& sql, const std::string& dbname = "postgres");

  // pg_ctl stop -m <mode> (smart | fast | immediate).
  Status Stop(const std::string& mode = "fast");
  // Starts the stopped server again on the same port.
  Status StartAgain();
  // Merges new_settings into the settings, rewrites them, and restarts (fast stop) the server.
  Status Restart(const std::map<std::string, std::string>& new_settings = {});
  Status CreateDatabase(const std::string& name);

  // The last `lines` lines of the server log (for failure messages).
  std::string LogTail(int lines = 30) const;

 private:
  TestCluster() = default;
  Status WriteSettings();
  Status StartServer();  // pg_ctl start; on failure the status carries the log tail
  Status RunPgCtl(const std::vector<std::string>& args, const std::string& what);

  int major_ = 0;
  int port_ = 0;
  int slot_ = -1;  // index in the process-wide registry of live clusters
  bool running_ = false;
  std::filesystem::path root_dir_;  // /tmp/dbr-test-XXXXXX, owned by postgres
  std::filesystem::path data_dir_;  // root_dir_/data
  std::filesystem::path bin_dir_;
  std::map<std::string, std::string> settings_;
};

// Where initdb/pg_ctl/postgres of a major live (rules above); an error naming
// scripts/install-deps.sh when they are missing.
Result<std::filesystem::path> PgBinDir(int major);
// /usr/lib/postgresql/<major>/bin: Debian's client tools (pg_dump, pg_restore, psql, pgbench).
// Only 15 is installed; the npm builds of other majors ship no client tools, and pg_dump 15
// refuses a 16+ server ("aborting because of server version mismatch").
std::filesystem::path DebianPgBinDir(int major);

struct CommandResult {
  int exit_code = -1;  // -1: could not start (err says why); 128+N: killed by signal N
  std::string out, err;
};
// The db_relocate the tests run: $DBR_BINARY when set, else the one built with these tests.
std::string DbRelocateBinary();
// Runs DbRelocateBinary() with extra environment, in `cwd` when given (else in the test's own
// working directory).
CommandResult RunDbRelocate(const std::vector<std::string>& args,
                            const std::map<std::string, std::string>& env = {},
                            const std::filesystem::path& cwd = {});

// `db_relocate args` started in the background (as RunDbRelocate), its stderr (the log) written
// to `log_file` as it goes, so that a test can wait for a line of it while it runs.
class BackgroundDbRelocate {
 public:
  BackgroundDbRelocate(std::vector<std::string> args, std::filesystem::path log_file,
                       std::map<std::string, std::string> env = {});
  ~BackgroundDbRelocate();  // waits for it to end
  BackgroundDbRelocate(const BackgroundDbRelocate&) = delete;
  BackgroundDbRelocate& operator=(const BackgroundDbRelocate&) = delete;

  // What it has logged so far.
  std::string Log() const;
  // True as soon as its log holds `text`; false when it ended without it or `timeout` passed.
  bool WaitForLog(const std::string& text,
                  std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;
  // Waits for it to end: its exit code and stdout, and its whole log as `err`.
  CommandResult Wait();

 private:
  std::filesystem::path log_file_;
  std::future<CommandResult> done_;
};

// A unique directory under /tmp, removed with its contents on destruction (kept, and its path
// printed, when DBR_KEEP_TEMP=1).
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "dbr-tmp");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// True when DBR_KEEP_TEMP=1.
bool KeepTemp();

// A loopback port nobody listens on now (also: a closed port for "unreachable server" tests).
Result<int> PickFreePort();
inline int ClosedPort() {
  return *PickFreePort();
}

// Two clusters started concurrently (each start is a copy + boot; a major's first also initdb).
struct ClusterPair {
  std::unique_ptr<TestCluster> first, second;
};
Result<ClusterPair> StartPair(int first_major, int second_major);

}  // namespace dbr::test
