// A query's rows one at a time, as the server sends them (libpq's single-row mode): a result
// larger than memory (a large table's row hashes) is never held whole, and the query runs as
// any other, a parallel plan included.
#pragma once

#include <optional>
#include <string_view>

#include "pg/connection.h"

namespace dbr::pg {

class RowStream {
 public:
  // Sends `sql`; the connection runs nothing else until the stream has ended (Next() returned
  // no row or an error) or is destroyed, which cancels the rows not read: inside a transaction,
  // that aborts it (a caller that stops early rolls back to a savepoint).
  static Result<RowStream> Start(Connection& conn, std::string_view sql);

  RowStream(RowStream&& other) noexcept : conn_(other.conn_) { other.conn_ = nullptr; }
  RowStream& operator=(RowStream&&) = delete;
  RowStream(const RowStream&) = delete;
  ~RowStream();

  // The next row (a result of one row), or none after the last.
  Result<std::optional<QueryResult>> Next();

 private:
  explicit RowStream(Connection* conn) : conn_(conn) {}
  void Drain();

  Connection* conn_;  // null once ended or moved from
};

}  // namespace dbr::pg
