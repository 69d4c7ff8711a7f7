// Relocations that share a MySQL server (issue #25). Each server records the relocations that use
// it, beside its marker (mysql/identity.h), in db_relocate_identity.relocations: a row per
// relocation, named by its own database (mysql/servers.h's RelocationNames), with the marker of
// the server at its other end, the run state it belongs to and the replication user it uses. The
// marker stays while another relocation is recorded; a replication user serves one relocation only
// (a second one would set a new password and lock the first one's replication out at its next
// reconnect); and one database of a source is relocated into one server at a time (both would have
// one name).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "mariadb/connection.h"
#include "util/status.h"

namespace dbr::mysql {

struct RelocationRecord {
  std::string name;   // its own database (RelocationNames::database)
  std::string peer;   // the marker of the server at its other end
  std::string owner;  // the run state's id (MysqlState::relocation_id); "": any, for pre-flight
};

// Records `r` on `server`; refused as NotAnotherRelocation says. Run again, it changes nothing.
Status RecordRelocation(mariadb::Connection& server, const RelocationRecord& r);
// Ok when `recorded` (what `server` records of r.name) is r's own, with r's peer and owner, or
// nothing; else a bad config naming the other relocation and how to forget it: the same database
// relocated into, or from, another server, or between the same two from another run state
// (another state_dir).
Status NotAnotherRelocation(const mariadb::Connection& server,
                            const std::optional<RelocationRecord>& recorded,
                            const RelocationRecord& r);
// The same, for what `server` records now.
Status NotAnotherRelocation(mariadb::Connection& server, const RelocationRecord& r);
// The same on both servers, each record's peer being the other server's live marker (none when
// it has none yet): the check made before a run binds its markers, and by pre-flight.
Status NotAnotherRelocationOnEither(mariadb::Connection& source, mariadb::Connection& destination,
                                    const std::string& name, const std::string& owner);
// Forgets it on `server` (cleanup).
Status ForgetRelocation(mariadb::Connection& server, const std::string& name);

// The other relocations recorded on `server`, by name.
Result<std::vector<std::string>> OtherRelocations(mariadb::Connection& server,
                                                  const std::string& name);

// Records that the relocation `name` replicates as `user` on `server`.
Status RecordReplicationUser(mariadb::Connection& server, const std::string& name,
                             const std::string& user);

// The other relocation recorded on `server` with `user` as its replication user; "" when none.
Result<std::string> RelocationUsingUser(mariadb::Connection& server, const std::string& name,
                                        const std::string& user);

// Ok when no other relocation recorded on `source` or `destination` uses `user`; else a bad
// config naming it.
Status UserIsFree(mariadb::Connection& source, mariadb::Connection& destination,
                  const std::string& name, const std::string& user);

// The record of `name` on `server`, when there is one.
Result<std::optional<RelocationRecord>> RecordOf(mariadb::Connection& server,
                                                 const std::string& name);

// Runs `work` holding a server-wide named lock for `user` (GET_LOCK, released at the end or with
// the session), so that two relocations started at once with one user cannot both find it free.
// Waits at most `wait_seconds` for another holder.
Status WithReplicationUserClaimed(mariadb::Connection& server, const std::string& user,
                                  int wait_seconds, const std::function<Status()>& work);

}  // namespace dbr::mysql
