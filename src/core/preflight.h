// Pre-flight checks: every condition the relocation needs, checked against the live servers
// before anything is changed. Each check is PASS, WARN or FAIL, names the objects at fault and
// says how to fix it.
#pragma once

#include <string>

#include "config/config.h"
#include "model/checks.h"

namespace dbr {

class Cloud;

// How far the relocation in state_dir got is read from its state, by `run` and `check` alike:
// tables on the destination restored by it are its own, a slot it keeps (RunState::
// DestinationDependsOnSlot) makes what would hold up a slot's creation moot, an instance it
// recorded is not "taken".
struct PreflightOptions {
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
