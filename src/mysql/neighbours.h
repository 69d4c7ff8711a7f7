// Relocations that share a MySQL server (issue #25). Each relocation has a database of its own
// (mysql/servers.h's RelocationNames) on its source, copied and replicated into its destination:
// its heartbeat, and the replication user it uses. What relocations share on a server (the server's
// marker, mysql/identity.h; a replication user) is kept while another relocation there uses it,
// and a replication user serves one relocation only: a second one would set a new password and
// lock the first one's replication out at its next reconnect.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "mariadb/connection.h"
#include "mysql/servers.h"
#include "util/status.h"

namespace dbr::mysql {

// The own databases of the other relocations on `server` (as their source, or replicated into
// it as their destination): databases named db_relocate or db_relocate_... that hold a heartbeat
// table, but `names.database`; in name order.
Result<std::vector<std::string>> OtherRelocations(mariadb::Connection& server,
                                                  const RelocationNames& names);

// Records in the relocation's own database on `source` that it replicates as `user`.
Status RecordReplicationUser(mariadb::Connection& source, const RelocationNames& names,
                             const std::string& user);

// The own database of another relocation on `server` that records `user` as its replication
// user; "" when none does.
Result<std::string> RelocationUsingUser(mariadb::Connection& server, const RelocationNames& names,
                                        const std::string& user);

// The error for `user`, which `other` (a relocation's own database on `server`) records.
Status UserTakenError(const std::string& user, const mariadb::Connection& server,
                      const std::string& other);

// Runs `work` holding a server-wide named lock for `user` (GET_LOCK, released at the end or with
// the session), so that two relocations started at once with one user cannot both find it free.
// Waits at most `wait_seconds` for another holder.
Status WithReplicationUserClaimed(mariadb::Connection& server, const std::string& user,
                                  int wait_seconds, const std::function<Status()>& work);

}  // namespace dbr::mysql
