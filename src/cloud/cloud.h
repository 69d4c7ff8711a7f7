// A managed database service the relocation works with (providers `rds` and `cloudsql`): its
// pre-flight checks, the destination it makes (a new instance filled by the engine's logical
// copy, or one made from a snapshot of the source instance), and the service's objects left to
// delete afterwards. Provider `postgres` has none: the engine's
// logical copy fills a destination the user runs. The service's API client sits below this
// (aws/ for RDS); nothing above this interface talks to it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "model/checks.h"
#include "model/run_state.h"
#include "snapshot/snapshot_source.h"
#include "util/status.h"

namespace dbr {

struct CleanupRequest {
  bool dry_run = false;
  std::string delete_instance;  // `cleanup --delete-instance NAME`; "" deletes none
  bool source_gone = false;     // `cleanup --source-gone`: after a cut-over, the destination alone
};

class Cloud {
 public:
  virtual ~Cloud() = default;
  virtual const char* name() const = 0;

  // How far an interrupted run got: what it made is expected to exist.
  struct Progress {
    bool snapshot_requested = false;
    std::string recorded_destination;  // the instance it recorded as made by it ("": none)
  };
  // The service's checks: the source instance, the upgrade path, the new instance's settings.
  virtual std::vector<CheckResult> Check(const Config& config, const Progress& progress) = 0;
  // The report shows logical replication off at the service level, and the config lets
  // db_relocate turn it on (which restarts the source: downtime).
  virtual bool CanEnableLogicalReplication(const Config& config,
                                           const PreflightReport& report) const = 0;
  virtual Status EnableLogicalReplication(const Config& config) = 0;

  // Before the copy: makes the destination instance the logical copy will fill, records it in
  // ctx.state and points ctx.config.dst at it (DestinationReachable is then true). Resumable.
  // Nothing for a service whose destination comes from a snapshot (MakeSnapshotSource).
  virtual Status MakeDestination(RunContext& ctx) {
    (void)ctx;
    return Status::Ok();
  }
  // Where the destination's data comes from: the service's snapshot, or the logical copy.
  virtual std::unique_ptr<SnapshotSource> MakeSnapshotSource(const Config& config) = 0;

  // Cleanup: deletes the intermediate snapshots `state` records (unless the config keeps
  // them), and the instance request.delete_instance names when the relocation made it and it
  // does not take the application's writes; a line in `actions` for each; with
  // request.dry_run it only lists them.
  virtual Status DeleteIntermediates(const Config& config, const RunState& state,
                                     const CleanupRequest& request,
                                     std::vector<std::string>* actions) = 0;
};

// How far the relocation `state` records got with the service.
Cloud::Progress ProgressOf(const Config& config, const RunState& state);

// The service of config.provider, or nullptr for provider `postgres`.
std::unique_ptr<Cloud> MakeCloud(const Config& config);

}  // namespace dbr
