// Fencing: keeping the side that no longer takes the application's writes from taking any that
// bypass the proxy. The application's roles get default_transaction_read_only in this database
// and their sessions are ended; lifting the fence puts back what they had.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "model/run_state.h"
#include "pg/connection.h"

namespace dbr {

// The roles to fence: cutover.fence_roles, or every login role but db_relocate's own.
Result<std::vector<std::string>> RolesToFence(const Config& config, pg::Connection& conn);

// The roles with the setting they have now, to be recorded before Fence() changes it.
Result<std::vector<FencedRole>> CurrentReadOnlySettings(pg::Connection& conn,
                                                        const std::vector<std::string>& roles);
Status Fence(pg::Connection& conn, const std::vector<FencedRole>& roles);
Status LiftFence(pg::Connection& conn, const std::vector<FencedRole>& roles);

}  // namespace dbr
