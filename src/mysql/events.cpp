#include "mysql/events.h"

#include <fmt/format.h>

#include <vector>

#include "mariadb/quote.h"
#include "mysql/replication.h"
#include "util/log.h"

namespace dbr::mysql {
namespace {

// MySQL 8.0.22 renamed the status that MariaDB still calls SLAVESIDE_DISABLED.
constexpr const char* kReplicaSideDisabled = "('SLAVESIDE_DISABLED', 'REPLICA_SIDE_DISABLED')";

Result<std::vector<std::string>> EventsIn(mariadb::Connection& c, const std::string& database,
                                          const std::string& statuses) {
  DBR_ASSIGN_OR_RETURN(mariadb::Rows rows,
                       c.Query(fmt::format("SELECT EVENT_NAME FROM information_schema.EVENTS "
                                           "WHERE EVENT_SCHEMA = {} AND STATUS IN {} ORDER BY 1",
                                           c.Literal(database), statuses)));
  std::vector<std::string> names;
  for (int i = 0; i < rows.rows(); ++i) names.push_back(rows.Get(i, 0));
  return names;
}

}  // namespace

Result<int> MoveEvents(mariadb::Connection& old_side, const std::string& old_database,
                       mariadb::Connection& new_side, const std::string& new_database,
                       std::chrono::seconds timeout) {
  DBR_ASSIGN_OR_RETURN(const std::vector<std::string> running,
                       EventsIn(old_side, old_database, "('ENABLED')"));
  int stopped = 0;
  for (const auto& e : running) {
    // Fenced read-only, the old side refuses it to a user without READ_ONLY ADMIN (or SUPER);
    // the event's own writes are then refused alike, unless its definer holds that privilege.
    Status st = old_side.Exec("ALTER EVENT " + mariadb::QualifiedName(old_database, e) +
                              " DISABLE ON SLAVE");
    if (st.ok()) {
      ++stopped;
      continue;
    }
    log::warn(
        "event {} stays enabled on the old side ({}): the read-only fence refuses its writes "
        "unless its definer may write past it; disable it there (ALTER EVENT ... DISABLE ON SLAVE)",
        e, st.message());
  }
  // The statements replicate: applied on the new side before its events are enabled there.
  if (stopped > 0) {
    DBR_ASSIGN_OR_RETURN(const BinlogPosition now, SourcePositionNow(old_side));
    DBR_RETURN_IF_ERROR(WaitApplied(new_side, now, timeout));
  }
  DBR_ASSIGN_OR_RETURN(const std::vector<std::string> waiting,
                       EventsIn(new_side, new_database, kReplicaSideDisabled));
  for (const auto& e : waiting)
    DBR_RETURN_IF_ERROR(
        new_side.Exec("ALTER EVENT " + mariadb::QualifiedName(new_database, e) + " ENABLE")
            .Wrap("starting event " + e + " on the new side"));
  if (!waiting.empty())
    log::info("{} scheduled event(s) moved with the application", waiting.size());
  return static_cast<int>(waiting.size());
}

}  // namespace dbr::mysql
