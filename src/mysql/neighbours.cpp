#include "mysql/neighbours.h"

#include <fmt/format.h>

#include "mariadb/quote.h"
#include "model/names.h"

namespace dbr::mysql {
namespace {

std::string RegistryTable(const std::string& database) {
  return mariadb::QualifiedName(database, "relocation");
}

}  // namespace

Result<std::vector<std::string>> OtherRelocations(mariadb::Connection& server,
                                                  const RelocationNames& names) {
  DBR_ASSIGN_OR_RETURN(
      mariadb::Rows rows,
      server.Query("SELECT TABLE_SCHEMA FROM information_schema.TABLES WHERE TABLE_NAME = "
                   "'heartbeat' AND (TABLE_SCHEMA = 'db_relocate' OR TABLE_SCHEMA LIKE " +
                   server.Literal("db\\_relocate\\_%") + ") AND TABLE_SCHEMA <> " +
                   server.Literal(names.database) + " ORDER BY TABLE_SCHEMA"));
  std::vector<std::string> out;
  for (int i = 0; i < rows.rows(); ++i) out.push_back(rows.Get(i, 0));
  return out;
}

Status RecordReplicationUser(mariadb::Connection& source, const RelocationNames& names,
                             const std::string& user) {
  const std::string table = RegistryTable(names.database);
  DBR_RETURN_IF_ERROR(source.Exec("CREATE TABLE IF NOT EXISTS " + table +
                                  " (replication_user VARCHAR(128) CHARACTER SET utf8mb4 COLLATE "
                                  "utf8mb4_bin PRIMARY KEY) ENGINE=InnoDB"));
  DBR_RETURN_IF_ERROR(
      source.Exec("DELETE FROM " + table + " WHERE replication_user <> " + source.Literal(user)));
  return source.Exec("INSERT IGNORE INTO " + table + " VALUES (" + source.Literal(user) + ")");
}

Result<std::string> RelocationUsingUser(mariadb::Connection& server, const RelocationNames& names,
                                        const std::string& user) {
  DBR_ASSIGN_OR_RETURN(std::vector<std::string> others, OtherRelocations(server, names));
  for (const std::string& database : others) {
    auto n = server.QueryInt("SELECT COUNT(*) FROM " + RegistryTable(database) +
                             " WHERE replication_user = " + server.Literal(user));
    // error 1146: a relocation made before it recorded its user (or by an older db_relocate).
    if (!n.ok() && n.message().find("error 1146") != std::string::npos) continue;
    if (!n.ok()) return n.status();
    if (*n > 0) return database;
  }
  return std::string();
}

Status UserTakenError(const std::string& user, const mariadb::Connection& server,
                      const std::string& other) {
  return Status::BadConfig(fmt::format(
      "upgrade.user {} is the replication user of another relocation on the {} (its database "
      "{}): a new password would lock that relocation's replication out. Give each relocation "
      "its own upgrade.user",
      user, server.params().label, other));
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
