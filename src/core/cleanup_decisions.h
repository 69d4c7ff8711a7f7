// The choices of `cleanup` (core/cleanup.cpp) that depend on facts alone: what the proxy reports,
// and what the run state recorded of the replication user before the relocation set it up. Pure,
// so that each one is unit-tested (tests/unit/cleanup_decisions_test.cpp).
#pragma once

#include <optional>
#include <string>

#include "model/run_state.h"
#include "model/side.h"
#include "proxy/proxy.h"
#include "util/status.h"

namespace dbr {

// Whether replication may be dropped, from what the proxy `proxy_name` reports (`read`: its
// state, or why it could not be read): only when it answers and sends the application to the
// `primary` (or to neither). A proxy that cannot be read might send the application to the other
// side, whose writes dropping replication would strand: the error says so and what to do.
Status ProxyAllowsCleanup(const Result<ProxyState>& read, const std::string& proxy_name,
                          Side primary);

// What `cleanup` does with the replication user on a side.
enum class ReplicationUserCleanup {
  kDrop,           // this relocation created it
  kRestore,        // it was there before: keep it, put its comment back
  kKeepUnrecorded  // the state does not say (a state of an older version, or none): keep it
};
// `before`: the state's record for the side (RunState::replication_user_before), which says
// nothing of `user` when it is of another role (upgrade.user changed since); `created`: the
// relocation is known to have created `user` otherwise (on the destination,
// RunState::created_roles).
ReplicationUserCleanup PlanReplicationUserCleanup(const std::optional<RoleBefore>& before,
                                                  const std::string& user, bool created);

}  // namespace dbr
