#include "pg/cursor.h"

#include <fmt/format.h>

#include <atomic>

namespace dbr::pg {

Result<Cursor> Cursor::Open(Connection& conn, std::string_view sql, int batch_rows) {
  static std::atomic<int> next{0};
  const bool own = PQtransactionStatus(conn.raw()) == PQTRANS_IDLE;
  if (own) DBR_RETURN_IF_ERROR(conn.Exec("BEGIN"));
  std::string name = fmt::format("dbr_cursor_{}", next++);
  Status declared = conn.Exec(fmt::format("DECLARE {} NO SCROLL CURSOR FOR {}", name, sql));
  if (!declared.ok()) {
    if (own) (void)conn.Exec("ROLLBACK");
    return declared;
  }
  return Cursor(&conn, std::move(name), batch_rows, own);
}

Cursor::Cursor(Cursor&& other) noexcept
    : conn_(other.conn_),
      name_(std::move(other.name_)),
      batch_rows_(other.batch_rows_),
      own_(other.own_) {
  other.conn_ = nullptr;
}

Cursor::~Cursor() {
  if (conn_ == nullptr || conn_->IsBroken()) return;
  // In a failed transaction the cursor is gone with it; the caller's transaction stays as it is.
  if (own_)
    (void)conn_->Exec("ROLLBACK");  // it only read
  else if (PQtransactionStatus(conn_->raw()) == PQTRANS_INTRANS)
    (void)conn_->Exec("CLOSE " + name_);
}

Result<QueryResult> Cursor::Fetch() {
  return conn_->Query(fmt::format("FETCH FORWARD {} FROM {}", batch_rows_, name_));
}

}  // namespace dbr::pg
