#include "mysql/neighbours.h"

#include <fmt/format.h>

#include "mariadb/quote.h"
#include "model/names.h"
#include "mysql/identity.h"

namespace dbr::mysql {
namespace {

std::string RecordsTable() {
  return mariadb::QualifiedName(kIdentityDatabase, "relocations");
}

}  // namespace

Status RecordRelocation(mariadb::Connection& server, const RelocationRecord& r) {
  DBR_RETURN_IF_ERROR(
      server.Exec("CREATE DATABASE IF NOT EXISTS " + mariadb::QuoteIdent(kIdentityDatabase)));
  DBR_RETURN_IF_ERROR(server.Exec(
      "CREATE TABLE IF NOT EXISTS " + RecordsTable() +
      " (name VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin PRIMARY KEY, peer CHAR(36) "
      "NOT NULL, owner CHAR(36) NOT NULL, replication_user VARCHAR(128) CHARACTER SET utf8mb4 "
      "COLLATE utf8mb4_bin NULL) ENGINE=InnoDB"));
  DBR_RETURN_IF_ERROR(server.Exec("INSERT IGNORE INTO " + RecordsTable() +
                                  " (name, peer, owner) VALUES (" + server.Literal(r.name) + ", " +
                                  server.Literal(r.peer) + ", " + server.Literal(r.owner) + ")"));
  return NotAnotherRelocation(server, r);
}

Status NotAnotherRelocation(mariadb::Connection& server, const RelocationRecord& r) {
  DBR_ASSIGN_OR_RETURN(const std::optional<RelocationRecord> recorded, RecordOf(server, r.name));
  return NotAnotherRelocation(server, recorded, r);
}

Status NotAnotherRelocationOnEither(mariadb::Connection& source, mariadb::Connection& destination,
                                    const std::string& name, const std::string& owner) {
  DBR_ASSIGN_OR_RETURN(const std::string src_marker, ReadMarker(source, /*make=*/false));
  DBR_ASSIGN_OR_RETURN(const std::string dst_marker, ReadMarker(destination, /*make=*/false));
  DBR_RETURN_IF_ERROR(NotAnotherRelocation(source, {name, dst_marker, owner}));
  return NotAnotherRelocation(destination, {name, src_marker, owner});
}

Status NotAnotherRelocation(const mariadb::Connection& server,
                            const std::optional<RelocationRecord>& recorded,
                            const RelocationRecord& r) {
  if (!recorded) return Status::Ok();
  std::string why;
  if (recorded->peer != r.peer)
    why = fmt::format(
        "with another server at its other end (marker {}; this one's is {}): the same database "
        "relocated between other servers",
        recorded->peer, r.peer.empty() ? "none yet" : r.peer);
  else if (!r.owner.empty() && recorded->owner != r.owner)
    why = "between these same servers, from another run state (another state_dir)";
  else
    return Status::Ok();
  return Status::BadConfig(fmt::format(
      "the {} records another relocation named {}, {}. Finish and clean up that relocation first "
      "(from its own state_dir); if it is gone for good, forget it there: DELETE FROM {} WHERE "
      "name = {}",
      server.params().label, r.name, why, RecordsTable(), server.Literal(r.name)));
}

Status ForgetRelocation(mariadb::Connection& server, const std::string& name) {
  Status st =
      server.Exec("DELETE FROM " + RecordsTable() + " WHERE name = " + server.Literal(name));
  return st.ok() || mariadb::IsMissingTableOrDatabase(st) ? Status::Ok() : st;
}

Result<std::vector<std::string>> OtherRelocations(mariadb::Connection& server,
                                                  const std::string& name) {
  auto rows = server.Query("SELECT name FROM " + RecordsTable() + " WHERE name <> " +
                           server.Literal(name) + " ORDER BY name");
  if (!rows.ok() && mariadb::IsMissingTableOrDatabase(rows.status()))
    return std::vector<std::string>{};
  if (!rows.ok()) return rows.status();
  std::vector<std::string> out;
  for (int i = 0; i < rows->rows(); ++i) out.push_back(rows->Get(i, 0));
  return out;
}

Status RecordReplicationUser(mariadb::Connection& server, const std::string& name,
                             const std::string& user) {
  return server.Exec("UPDATE " + RecordsTable() + " SET replication_user = " +
                     server.Literal(user) + " WHERE name = " + server.Literal(name));
}

Result<std::string> RelocationUsingUser(mariadb::Connection& server, const std::string& name,
                                        const std::string& user) {
  auto other = server.Query("SELECT name FROM " + RecordsTable() +
                            " WHERE replication_user = " + server.Literal(user) + " AND name <> " +
                            server.Literal(name) + " ORDER BY name LIMIT 1");
  if (!other.ok() && mariadb::IsMissingTableOrDatabase(other.status())) return std::string();
  if (!other.ok()) return other.status();
  return other->rows() > 0 ? other->Get(0, 0) : std::string();
}

Status UserIsFree(mariadb::Connection& source, mariadb::Connection& destination,
                  const std::string& name, const std::string& user) {
  for (mariadb::Connection* server : {&source, &destination}) {
    DBR_ASSIGN_OR_RETURN(const std::string other, RelocationUsingUser(*server, name, user));
    if (!other.empty())
      return Status::BadConfig(fmt::format(
          "upgrade.user {} is the replication user of another relocation on the {} ({}): a new "
          "password would lock that relocation's replication out. Give each relocation its own "
          "upgrade.user",
          user, server->params().label, other));
  }
  return Status::Ok();
}

Result<std::optional<RelocationRecord>> RecordOf(mariadb::Connection& server,
                                                 const std::string& name) {
  auto rows = server.Query("SELECT peer, owner FROM " + RecordsTable() +
                           " WHERE name = " + server.Literal(name));
  if (!rows.ok() && mariadb::IsMissingTableOrDatabase(rows.status()))
    return std::optional<RelocationRecord>();
  if (!rows.ok()) return rows.status();
  if (rows->rows() == 0) return std::optional<RelocationRecord>();
  return std::optional<RelocationRecord>(RelocationRecord{name, rows->Get(0, 0), rows->Get(0, 1)});
}

Status WithReplicationUserClaimed(mariadb::Connection& server, const std::string& user,
                                  int wait_seconds, const std::function<Status()>& work) {
  // Lock names are at most 64 characters; a user name may be longer.
  const std::string lock = server.Literal(names::SlotName("db_relocate_user", user));
  DBR_ASSIGN_OR_RETURN(std::string got, server.QueryValue(fmt::format("SELECT GET_LOCK({}, {})",
                                                                      lock, wait_seconds)));
  if (got != "1")
    return Status::Error(fmt::format(
        "upgrade.user {} is being claimed by another relocation starting on the {} (waited {} s "
        "for its lock {}): run again once it has started",
        user, server.params().label, wait_seconds, lock));
  Status result = work();
  Status released = server.QueryValue("SELECT RELEASE_LOCK(" + lock + ")").status();
  return result.ok() ? released : result;
}

}  // namespace dbr::mysql
