// The engine seam: what `run` asks of a database engine, one method per step that differs
// between engines (pipeline.cpp's kSteps names which method each step calls), and the few
// things the pipeline does around the steps (connecting, binding the state to the servers, the
// summary). core/postgres_engine.cpp binds engine/ (replication, heartbeat, sequences),
// snapshot/ (the logical copy) and verify/ to these methods; core/mysql_engine.cpp binds mysql/
// (issue #25). Every step method is idempotent: it looks at what exists before it acts
// (docs/resume.md).
#pragma once

#include <memory>

#include "config/config.h"
#include "model/run_context.h"
#include "snapshot/snapshot_source.h"
#include "util/status.h"
#include "verify/verify.h"

namespace dbr {

class Engine {
 public:
  virtual ~Engine() = default;
  virtual const char* name() const = 0;

  // Around the steps.
  // The engine's control sessions to both sides, opened where missing or broken; a server that
  // was reached before is waited for up to reconnect_timeout (before every step).
  virtual Status Connect(RunContext& ctx) = 0;
  // After a failed step: whether a server was lost meanwhile (the run then resumes).
  virtual bool LostAServer(RunContext& ctx) = 0;
  // The servers reached are the ones the state was recorded on (docs/resume.md).
  virtual Status BindToServers(RunContext& ctx) = 0;
  // What the steps read once before they start (PostgreSQL: the tables in scope).
  virtual Status Prepare(RunContext& ctx) = 0;
  // Held from the pre-flight checks until the change stream exists: two relocations started at
  // once with one replication user cannot both find it free.
  virtual Status ClaimReplicationUser(RunContext& ctx) = 0;
  // One line on the replication for the run's summary.
  virtual std::string ReplicationSummary(RunContext& ctx) = 0;

  // The steps.

  // The heartbeat table on the source and its detached writer.
  virtual Status StartHeartbeat(RunContext& ctx) = 0;
  // Where the changes after the snapshot are kept for the destination (PostgreSQL: the
  // replication user, the publication and the slot, exporting a snapshot when
  // ctx.snapshot_source reads under one).
  virtual Status OpenChangeStream(RunContext& ctx) = 0;
  // The engine's own copy of the source's schema and rows (provider postgres).
  virtual std::unique_ptr<SnapshotSource> MakeLogicalCopy() = 0;
  // The destination follows the change stream from exactly where its data ends.
  virtual Status Subscribe(RunContext& ctx) = 0;
  virtual Status CatchUp(RunContext& ctx) = 0;
  // Every heartbeat up to a fresh marker arrived on the destination exactly once.
  virtual Status VerifyHeartbeats(RunContext& ctx) = 0;
  virtual Status SetSequencesAhead(RunContext& ctx) = 0;
  // Every table and schema object compared on both sides.
  virtual Result<verify::VerifyReport> Verify(RunContext& ctx) = 0;
};

// The engine of `config` (config.engine).
std::unique_ptr<Engine> MakeEngine(const Config& config);

}  // namespace dbr
