// What the steps of one `run` share: the config, the persisted state, connections to both sides
// and the tables in scope.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "model/catalog.h"
#include "model/run_state.h"
#include "model/servers.h"
#include "pg/connection.h"
#include "pg/lsn.h"
#include "util/clock.h"
#include "util/retry.h"

namespace dbr {

class Cloud;
class Engine;
class SnapshotSource;

// Parallel workers: `jobs` from the config, or the number of cores.
int JobsOf(const Config& config);

struct RunContext {
  // A copy: with provider rds the destination's endpoint is known only once it is restored.
  Config config;
  names::Links links;
  StateStore store;
  RunState state;
  std::mutex state_mutex;  // copy workers record finished tables concurrently

  std::optional<pg::Connection> src;  // control connections, one per side
  std::optional<pg::Connection> dst;
  std::vector<TableInfo> tables;  // replicable tables in scope, heartbeat table included
  // What the steps call, made once per run by the pipeline (core/): the database engine, the
  // cloud service of config.provider (none for provider postgres), and where the destination's
  // data comes from (the cloud's snapshot, else the engine's logical copy).
  std::shared_ptr<Engine> engine;
  std::shared_ptr<Cloud> cloud;
  std::shared_ptr<SnapshotSource> snapshot_source;

  // Held open from slot creation until the copy has imported its snapshot: closing it (or a
  // crash) loses the exported snapshot.
  std::optional<pg::Connection> slot_connection;
  std::string exported_snapshot;

  // Holds the claim on upgrade.user on the source (ClaimReplicationUser) from the pre-flight
  // checks until the publication step has created the slot; closing it lets go.
  std::optional<pg::Connection> user_claim;

  // What the steps wait and measure time with.
  Clock& clock;
  // Since when a server that was connected cannot be reached again (Reconnect's budget).
  std::optional<Clock::TimePoint> outage_since;

  // Figures for the summary.
  int64_t rows_copied = 0;
  int64_t bytes_copied = 0;
  double copy_seconds = 0;

  RunContext(const Config& c, std::filesystem::path state_dir, Clock& clock = RealClock())
      : config(c), links(LinksOf(c)), store(std::move(state_dir)), clock(clock) {}

  // False while there is no destination server to connect to (DestinationReachable).
  bool DestinationExists() const;

  // Saves the state under the lock, after flushing the destination's WAL; a failure to persist
  // stops the run. Refused (unavailable) while the destination's connection is lost.
  Status SaveState();
  // Back to the state as last saved (after a lost server, as a new `run` would start): the state
  // in memory may count work a lost destination never made durable.
  Status ReloadState();
  // The replication user's password: from the config, else generated once and kept in the state.
  std::string ReplicationPassword();
  // Opens the control connections that are missing or broken (a server restarted, the network
  // was cut), retrying with backoff for up to `reconnect_timeout`.
  Status Reconnect();
  // After a failed step: whether a server was lost meanwhile (then the step can be resumed once
  // it is back). Forgets an exported snapshot whose connection is gone.
  bool LostAServer();
  // How long and how often a lost server is tried again.
  RetryPolicy OutagePolicy() const;
  // Reads the replicable tables in scope from the source into `tables`, less
  // CreatedSinceTheSchema.
  Status LoadTables();
  // Of `tables` (in scope on the source), those created since the logical copy restored the
  // destination's schema (its snapshot phase is past `schema`): they are not there, and are left
  // to the drift check, which names them and the fix, as for a table created during catch-up.
  // None before, nor with `ddl: replicate` (the stream creates them).
  Result<std::set<std::string>> CreatedSinceTheSchema(const std::vector<TableInfo>& tables);
  // Parallel workers: `jobs` from the config, or the number of cores.
  int Jobs() const;
  const TableInfo* FindTable(const std::string& qualified) const;
};

}  // namespace dbr
