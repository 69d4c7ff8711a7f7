#include "mysql/fence.h"

#include "util/log.h"
#include "util/parse.h"

namespace dbr::mysql {
namespace {

std::vector<std::string> FenceVariables(const mariadb::ServerVersion& version) {
  if (version.flavor == mariadb::Flavor::kMariaDb) return {"read_only"};
  return {"read_only", "super_read_only"};
}

// Threads that are not an application's: the server's own, and replication in either direction.
constexpr const char* kClientSessions =
    "SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND "
    "USER NOT IN ('system user', 'event_scheduler') AND "
    "COMMAND NOT IN ('Binlog Dump', 'Binlog Dump GTID', 'Daemon', 'Killed', 'Slave_IO', "
    "'Slave_SQL', 'Slave_worker')";

}  // namespace

Result<std::vector<FencedRole>> ReadOnlySettings(mariadb::Connection& c) {
  std::vector<FencedRole> settings;
  for (const std::string& variable : FenceVariables(c.version())) {
    DBR_ASSIGN_OR_RETURN(std::string value, c.QueryValue("SELECT @@GLOBAL." + variable));
    settings.push_back({variable, value});
  }
  return settings;
}

Status Fence(mariadb::Connection& c, const std::vector<FencedRole>& settings) {
  for (const FencedRole& s : settings)
    DBR_RETURN_IF_ERROR(c.Exec("SET GLOBAL " + s.role + " = ON"));
  return Status::Ok();
}

Status LiftFence(mariadb::Connection& c, const std::vector<FencedRole>& settings) {
  for (auto it = settings.rbegin(); it != settings.rend(); ++it) {
    const std::string value = it->previous == "1" || it->previous == "ON" ? "ON" : "OFF";
    DBR_RETURN_IF_ERROR(c.Exec("SET GLOBAL " + it->role + " = " + value));
  }
  return Status::Ok();
}

Result<int> EndClientSessions(mariadb::Connection& c) {
  DBR_ASSIGN_OR_RETURN(mariadb::Rows rows, c.Query(kClientSessions));
  int ended = 0;
  for (int r = 0; r < rows.rows(); ++r) {
    const std::optional<int64_t> id = ParseInt(rows.Get(r, 0), 1);
    if (!id) continue;
    // A session that ended by itself meanwhile is no error.
    Status killed = c.Exec("KILL CONNECTION " + std::to_string(*id));
    if (killed.ok())
      ++ended;
    else if (killed.message().find("Unknown thread") == std::string::npos)
      return killed;
  }
  if (ended > 0) log::info("{} client sessions ended on the fenced server", ended);
  return ended;
}

}  // namespace dbr::mysql
