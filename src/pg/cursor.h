// A query's rows a batch at a time, through a server-side cursor: a result larger than memory
// (a large table's row hashes) is never held whole.
#pragma once

#include <string>
#include <string_view>

#include "pg/connection.h"

namespace dbr::pg {

class Cursor {
 public:
  // Declares the cursor in the connection's open transaction (a snapshot's), or, when none is
  // open, in a transaction of its own that the cursor ends.
  static Result<Cursor> Open(Connection& conn, std::string_view sql, int batch_rows);

  Cursor(Cursor&& other) noexcept;
  Cursor& operator=(Cursor&&) = delete;
  Cursor(const Cursor&) = delete;
  ~Cursor();

  // The next rows, at most batch_rows of them; none once the query's rows are all read.
  Result<QueryResult> Fetch();

 private:
  Cursor(Connection* conn, std::string name, int batch_rows, bool own_transaction)
      : conn_(conn), name_(std::move(name)), batch_rows_(batch_rows), own_(own_transaction) {}

  Connection* conn_;  // null once moved from
  std::string name_;
  int batch_rows_;
  bool own_;  // the transaction is the cursor's: ended with it
};

}  // namespace dbr::pg
