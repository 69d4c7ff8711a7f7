#include "mysql/events.h"

#include <fmt/format.h>

#include "mariadb/quote.h"
#include "util/log.h"

namespace dbr::mysql {

Result<int> MoveEvents(mariadb::Connection& old_side, const std::string& old_database,
                       mariadb::Connection& new_side, const std::string& new_database) {
  DBR_ASSIGN_OR_RETURN(
      mariadb::Rows running,
      old_side.Query(
          "SELECT EVENT_NAME, DEFINER FROM information_schema.EVENTS WHERE EVENT_SCHEMA = " +
          old_side.Literal(old_database) + " AND STATUS = 'ENABLED' ORDER BY 1"));
  if (running.rows() == 0) return 0;
  DBR_RETURN_IF_ERROR(new_side.Exec("USE " + mariadb::QuoteIdent(new_database)));
  DBR_RETURN_IF_ERROR(old_side.Exec("USE " + mariadb::QuoteIdent(old_database)));
  for (int i = 0; i < running.rows(); ++i) {
    const std::string event = mariadb::QuoteIdent(running.Get(i, 0));
    // Whoever alters an event becomes its definer, unless the statement names one.
    const std::string& definer = running.Get(i, 1);
    const size_t at = definer.rfind('@');
    const std::string alter =
        at == std::string::npos
            ? "ALTER EVENT " + event
            : fmt::format("ALTER DEFINER = {}@{} EVENT {}", new_side.Literal(definer.substr(0, at)),
                          new_side.Literal(definer.substr(at + 1)), event);
    DBR_RETURN_IF_ERROR(
        new_side.Exec(alter + " ENABLE").Wrap("starting event " + event + " on the new side"));
    // Fenced read-only, the old side refuses it to a user without READ_ONLY ADMIN (or SUPER);
    // the event's own writes are then refused alike, unless its definer holds that privilege.
    Status stopped = old_side.Exec(alter + " DISABLE ON SLAVE");
    if (!stopped.ok())
      log::warn(
          "event {} stays enabled on the old side ({}): the read-only fence refuses its writes "
          "unless its definer may write past it; run ALTER EVENT {} DISABLE ON SLAVE there",
          event, stopped.message(), event);
  }
  log::info("{} scheduled event(s) moved with the application", running.rows());
  return running.rows();
}

}  // namespace dbr::mysql
