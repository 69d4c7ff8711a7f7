// engine mysql's server identity (model/identity.h's counterpart, issue #25): a run state is
// never resumed against servers recreated at the same addresses. MariaDB has no server UUID (and
// MySQL's server_uuid survives in a clone that copied auto.cnf), so each server gets a marker of
// its own at its first contact with a relocation: a random UUID in db_relocate_identity.server,
// a database the replication filter leaves out, so each side keeps its own. The state records it
// as the side's system_identifier.
#pragma once

#include <string>

#include "mariadb/connection.h"
#include "model/run_state.h"
#include "util/status.h"

namespace dbr::mysql {

inline constexpr const char* kIdentityDatabase = "db_relocate_identity";

// The marker of the server `c` is connected to, made first when it has none and `make`; "" when
// it has none.
Result<std::string> ReadMarker(mariadb::Connection& c, bool make);

// Compares the marker of each side reached (null: not reached) with the one `state` recorded: a
// bad config (exit 2) naming both when they differ, or when the recorded one is gone. With
// `make`, a side the state records no marker of gets one, recorded in `state` (`changed`).
Status BindStateToServers(RunState& state, const std::string& state_dir, mariadb::Connection* src,
                          mariadb::Connection* dst, bool make, bool& changed);

}  // namespace dbr::mysql
