// engine mysql's fence (issue #25): the old side of a switch made read-only, server-wide
// (MariaDB: read_only; MySQL: read_only and super_read_only, which holds even accounts with
// SUPER), and the application's sessions still open there ended, so that nothing commits on it
// after the switch has read its last position. The settings are recorded as FencedRole entries
// (role: the variable, previous: its value before), the shape the state keeps for either engine.
#pragma once

#include <vector>

#include "mariadb/connection.h"
#include "model/run_state.h"
#include "util/status.h"

namespace dbr::mysql {

// The variables the fence sets, with their values now, in the order they are set.
Result<std::vector<FencedRole>> ReadOnlySettings(mariadb::Connection& c);

// Every variable of `settings` ON.
Status Fence(mariadb::Connection& c, const std::vector<FencedRole>& settings);

// Every variable of `settings` back to its previous value, in the reverse order.
Status LiftFence(mariadb::Connection& c, const std::vector<FencedRole>& settings);

// Ends every client session but this one, the server's own threads and the replication threads
// (a binary log dump feeds the other side): what they had not committed is rolled back. The
// number ended.
Result<int> EndClientSessions(mariadb::Connection& c);

}  // namespace dbr::mysql
