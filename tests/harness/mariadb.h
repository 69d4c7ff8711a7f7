// Test harness: real MariaDB servers (Debian's mariadb-server-core) on loopback, one throwaway
// data directory each, for engine mysql's tests (issue #25). Every server has the user ops /
// secret with every privilege; root has no password (over TCP from loopback).
//
// The first server of a process initialises a template data directory (mariadb-install-db,
// ~2 s); later ones copy it. Servers are killed when their object dies and at exit; servers
// left by a test process that was itself killed are killed by the next Start(). DBR_KEEP_TEMP=1
// keeps the directories (error log: <root>/error.log).
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "mariadb/connection.h"
#include "util/status.h"

namespace dbr::test {

struct MariaDbOptions {
  bool log_bin = true;
  // Extra or overriding mariadbd options, without the leading "--" ("binlog_format": "MIXED").
  std::map<std::string, std::string> settings;
};

class TestMariaDb {
 public:
  static Result<std::unique_ptr<TestMariaDb>> Start(const MariaDbOptions& options = {});
  ~TestMariaDb();  // kills the server and removes its directory
  TestMariaDb(const TestMariaDb&) = delete;
  TestMariaDb& operator=(const TestMariaDb&) = delete;

  int port() const { return port_; }
  int server_id() const { return server_id_; }
  std::string host() const { return "127.0.0.1"; }

  mariadb::ConnParams Params(const std::string& user = "ops",
                             const std::string& password = "secret",
                             const std::string& database = "") const;
  Result<mariadb::Connection> Connect(const std::string& user = "ops",
                                      const std::string& password = "secret",
                                      const std::string& database = "") const;
  // As ops, on one fresh connection each call, in order; stops at the first that fails.
  Status Exec(const std::vector<std::string>& statements);
  Result<std::string> QueryValue(const std::string& sql);

  // Stops the server with SIGKILL (a crash), or starts it again with these options.
  void Kill();
  Status StartAgain();

  std::string LogTail(int lines = 30) const;

 private:
  TestMariaDb() = default;
  Status Launch();

  MariaDbOptions options_;
  std::filesystem::path root_;  // /tmp/dbr-mariadb-XXXXXX: data/, error.log, owner
  int port_ = 0;
  int server_id_ = 0;
  pid_t pid_ = -1;
};

// Two servers started at once (each ~1 s).
struct MariaDbPair {
  std::unique_ptr<TestMariaDb> src, dst;
};
Result<MariaDbPair> StartMariaDbPair();

// Where mariadbd and mariadb-install-db are; an error naming scripts/install-deps.sh if absent.
Result<std::filesystem::path> MariaDbServerBinary();

}  // namespace dbr::test
