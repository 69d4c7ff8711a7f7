// Helpers for end-to-end relocation tests: a schema that exercises what the engine must carry,
// a live writer that keeps changing it, and a row-for-row comparison of two databases.
#pragma once

#include <atomic>
#include <filesystem>
#include <map>
#include <string>
#include <thread>

#include "harness/cluster.h"

namespace dbr::test {

// Multiple schemas, quoted/mixed-case/keyword names, a partitioned table, tables without a
// primary key (REPLICA IDENTITY FULL, and a unique index as identity), arrays, jsonb, json,
// bytea, numeric, timestamptz, enums, domains, a composite type, generated and identity
// columns, a multi-MB TOASTed value, an empty table, a hot table and a large table.
// `rows` scales the bigger tables.
Status LoadRichSchema(TestCluster& cluster, const std::string& db, int rows);
// The rich schema's schemas, with the relocation's own.
inline const std::vector<std::string> kRichSchemas = {"public", "Sales Ops", "db_relocate"};

// Keeps inserting, updating and deleting across the rich schema's tables from its own
// connection until destroyed (or Stop()). Counts what it did.
class LiveWriter {
 public:
  LiveWriter(const TestCluster& cluster, std::string db);
  ~LiveWriter();
  void Stop();
  int64_t operations() const { return ops_.load(); }
  const std::string& error() const { return error_; }

 private:
  void Loop(pg::ConnParams params);
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> ops_{0};
  std::string error_;
  std::thread thread_;
};

// "schema"."table" (quoted as by format(%I.%I)) -> "<count> <md5 of every row's text, in order>"
// for every table in `schemas`.
Result<std::map<std::string, std::string>> TableChecksums(TestCluster& cluster,
                                                          const std::string& db,
                                                          const std::vector<std::string>& schemas);
// The same for a server the harness did not start (an instance the RDS double restored).
Result<std::map<std::string, std::string>> TableChecksums(const pg::ConnParams& params,
                                                          const std::vector<std::string>& schemas);

// Every table in `schemas` has the same rows on both sides (gtest expectations naming each table
// that differs or is missing); `at_least` tables must be compared.
void ExpectSameTables(const pg::ConnParams& a, const pg::ConnParams& b,
                      const std::vector<std::string>& schemas, size_t at_least);

// The end of an end-to-end test: stops the application `writer` (when given; it must have
// written, without error) and the relocation's heartbeat writer, waits until the destination
// has applied everything, then expects every table in `schemas` equal on both sides.
// `at_least` tables must be compared: by default the rich schema's 9 tables in public (2 of them
// partitions), 1 in "Sales Ops" and the heartbeat.
void StopWritersAndExpectSynced(LiveWriter* writer, const std::filesystem::path& state_dir,
                                TestCluster& src, const std::string& db, const pg::ConnParams& dst,
                                const std::vector<std::string>& schemas, size_t at_least = 11);

// Waits until the relocation's slot has confirmed everything the source has written so far.
Status WaitUntilApplied(TestCluster& src, const std::string& db, int timeout_s = 60);

// Asks the detached heartbeat writer of a relocation to stop and waits for it.
void StopHeartbeatWriter(const std::filesystem::path& state_dir);

// A provider-postgres config for `src` -> `dst` (database `db` on both), plus `extra` YAML lines.
std::filesystem::path WriteConfig(const std::filesystem::path& dir, const TestCluster& src,
                                  const TestCluster& dst, const std::string& db,
                                  const std::string& extra = "");

}  // namespace dbr::test
