#include "core/state_servers.h"

#include "cli/commands.h"
#include "util/log.h"

namespace dbr::cli {

int CheckStateServers(const Config& config, const std::string& command) {
  const bool lost_slot_refuses = command != "status" && command != "cleanup";
  Status st = dbr::CheckStateServers(config, lost_slot_refuses);
  if (st.ok()) return kExitOk;
  log::failure("{}", st.message());
  return st.is_bad_config() ? kExitUsage : kExitFailed;
}

}  // namespace dbr::cli
