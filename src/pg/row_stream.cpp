#include "pg/row_stream.h"

namespace dbr::pg {

Result<RowStream> RowStream::Start(Connection& conn, std::string_view sql) {
  DBR_RETURN_IF_ERROR(conn.Send(sql));
  if (PQsetSingleRowMode(conn.raw()) == 0) {
    (void)conn.Finish();
    return Status::Error("on " + conn.params().label + ": libpq refused single-row mode");
  }
  return RowStream(&conn);
}

RowStream::~RowStream() {
  if (conn_ == nullptr) return;
  if (!conn_->IsBroken()) conn_->Cancel();
  Drain();
}

void RowStream::Drain() {
  while (PGresult* rest = PQgetResult(conn_->raw())) PQclear(rest);
  conn_ = nullptr;
}

Result<std::optional<QueryResult>> RowStream::Next() {
  if (conn_ == nullptr) return std::optional<QueryResult>();
  PGresult* res = PQgetResult(conn_->raw());
  if (res != nullptr && PQresultStatus(res) == PGRES_SINGLE_TUPLE)
    return std::optional<QueryResult>(QueryResult(res));
  // The end: an empty result closing the rows, or the error that ended them.
  auto last = conn_->Checked(res, conn_->sent_, true);
  Drain();
  if (!last.ok()) return last.status();
  return std::optional<QueryResult>();
}

}  // namespace dbr::pg
