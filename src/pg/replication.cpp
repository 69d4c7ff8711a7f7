#include "pg/replication.h"

#include "pg/quote.h"

namespace dbr::pg {

Result<CreatedSlot> CreateLogicalSlotExportingSnapshot(Connection& conn, const std::string& slot) {
  // The pre-PostgreSQL-15 spelling: every major from 10 to 18 accepts it.
  auto res = conn.Query("CREATE_REPLICATION_SLOT " + QuoteIdent(slot) +
                        " LOGICAL pgoutput EXPORT_SNAPSHOT");
  if (!res.ok()) return res.status();
  if (res->rows() != 1 || res->cols() < 4)
    return Status::Error("on " + conn.params().label +
                         ": unexpected reply to CREATE_REPLICATION_SLOT");
  auto lsn = Lsn::Parse(res->Get(0, 1));
  if (!lsn)
    return Status::Error("on " + conn.params().label + ": bad consistent point " + res->Get(0, 1));
  return CreatedSlot{res->Get(0, 0), *lsn, res->Get(0, 2)};
}

Result<std::string> IdentifySystem(Connection& conn) {
  auto res = conn.Query("IDENTIFY_SYSTEM");
  if (!res.ok()) return res.status();
  if (res->rows() != 1 || res->cols() < 1 || res->IsNull(0, 0))
    return Status::Error("on " + conn.params().label + ": unexpected reply to IDENTIFY_SYSTEM");
  return res->Get(0, 0);
}

}  // namespace dbr::pg
