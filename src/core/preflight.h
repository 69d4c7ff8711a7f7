// Pre-flight checks: every condition the relocation needs, checked against the live servers
// before anything is changed. Each check is PASS, WARN or FAIL, names the objects at fault and
// says how to fix it.
#pragma once

#include <string>

#include "config/config.h"
#include "model/checks.h"

namespace dbr {

class Cloud;

struct PreflightOptions {
  // `run` resuming after its schema was restored: tables on the destination are its own.
  bool destination_schema_is_ours = false;
  // `run` resuming with a slot it keeps (RunState::DestinationDependsOnSlot): what would hold up
  // a slot's creation is moot.
  bool slot_kept = false;
  // The run's cloud, whose checks then make the plan its snapshot source follows; null: one of
  // pre-flight's own (`check`).
  Cloud* cloud = nullptr;
};

PreflightReport RunPreflight(const Config& config, const PreflightOptions& options = {});

// Names of the checks that other steps look up.
namespace checks {
inline constexpr const char* kReplicaIdentity = "replica identity";
}  // namespace checks

}  // namespace dbr
