#include "core/cleanup_decisions.h"

#include <fmt/format.h>

namespace dbr {

Status ProxyAllowsCleanup(const Result<ProxyState>& read, const std::string& proxy_name,
                          Side primary) {
  if (!read.ok() || !read->running)
    return Status::Error(fmt::format(
        "cannot read where {} sends the application ({}): were it sending it to the other side, "
        "dropping replication would strand the writes made there. Nothing was dropped. Start "
        "the proxy (`db_relocate proxy` starts a managed one) or correct cutover.admin, then run "
        "`cleanup` again; if no proxy fronts this database any more, remove the cutover block "
        "from the config",
        proxy_name, read.ok() ? read->detail : read.message()));
  if (read->active && *read->active != primary)
    return Status::Error(fmt::format(
        "{} sends the application to the {} but the relocation's primary is the {}: both may "
        "hold writes the other lacks. Point the proxy back, or run cutover/rollback; nothing was "
        "dropped",
        proxy_name, SideName(*read->active), SideName(primary)));
  return Status::Ok();
}

ReplicationUserCleanup PlanReplicationUserCleanup(const std::optional<RoleBefore>& before,
                                                  const std::string& user, bool created) {
  if (created) return ReplicationUserCleanup::kDrop;
  if (!before || before->role != user) return ReplicationUserCleanup::kKeepUnrecorded;
  return before->existed ? ReplicationUserCleanup::kRestore : ReplicationUserCleanup::kDrop;
}

}  // namespace dbr
