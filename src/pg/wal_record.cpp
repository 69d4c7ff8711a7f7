#include "pg/wal_record.h"

#include "util/log.h"

namespace dbr::pg {

Result<std::optional<Lsn>> EndOfWalRecord(Connection& conn, Lsn start) {
  std::optional<Lsn> none;
  DBR_ASSIGN_OR_RETURN(int64_t version,
                       conn.QueryInt("SELECT current_setting('server_version_num')::int"));
  if (version < 150000) return none;
  DBR_ASSIGN_OR_RETURN(
      std::string had,
      conn.QueryValue("SELECT count(*) FROM pg_extension WHERE extname = 'pg_walinspect'"));
  if (had == "0") {
    if (Status created = conn.Exec("CREATE EXTENSION pg_walinspect"); !created.ok()) {
      log::info("pg_walinspect is not available on the {} ({})", conn.params().label,
                created.message());
      return none;
    }
  }
  auto end = conn.QueryValue("SELECT end_lsn::text FROM pg_get_wal_record_info($1::pg_lsn)",
                             {start.ToString()});
  if (had == "0") DBR_RETURN_IF_ERROR(conn.Exec("DROP EXTENSION pg_walinspect"));
  if (!end.ok()) {
    log::info("the WAL record at {} cannot be read on the {} ({})", start.ToString(),
              conn.params().label, end.message());
    return none;
  }
  return Lsn::Parse(*end);
}

}  // namespace dbr::pg
