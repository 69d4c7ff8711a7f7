// Where the destination's initial data comes from. The engine's steps are the same for every
// provider; only this differs: a logical copy under the replication slot's exported snapshot
// (any PostgreSQL), or a snapshot of the source instance restored by a cloud service as a new
// instance (cloud/cloud.h).
#pragma once

#include <memory>

#include "model/run_context.h"
#include "util/status.h"

namespace dbr {

class SnapshotSource {
 public:
  virtual ~SnapshotSource() = default;
  virtual const char* name() const = 0;
  // Brings the destination to the source's schema and rows as of ctx.state.snapshot_lsn (the
  // position the subscription's origin is advanced to). Resumable: what is recorded as done in
  // ctx.state is not redone.
  virtual Status Take(RunContext& ctx) = 0;
  // True when Take reads under the slot's exported snapshot (the slot is then created with one,
  // and its connection held open until the copy has imported it).
  virtual bool ExportsSnapshot() const = 0;
  // After the whole run succeeded: remove what only the snapshot needed.
  virtual Status Finish(RunContext& ctx) {
    (void)ctx;
    return Status::Ok();
  }
};

// The logical copy under the slot's exported snapshot (any PostgreSQL: provider `postgres`).
std::unique_ptr<SnapshotSource> MakeLogicalCopySource();

}  // namespace dbr
