// The MySQL-family client: a connection through MariaDB Connector/C (which speaks to MySQL
// servers too), its results, and errors as values. The counterpart of pg/connection.h.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mariadb/server_version.h"
#include "util/status.h"

struct st_mysql;

namespace dbr::mariadb {

struct ConnParams {
  std::string label = "server";  // "source" or "destination": names the side in every message
  std::string host = "127.0.0.1";
  int port = 3306;
  std::string user;
  std::string password;  // handed to the library as a separate value; never printed
  std::string database;  // empty: none selected
  int connect_timeout_s = 10;

  // "source ops@127.0.0.1:3306/shop": safe to print, never holds the password.
  std::string Describe() const;
};

// A whole result in memory: for catalog and status queries, not for table rows.
class Rows {
 public:
  int rows() const { return static_cast<int>(values_.size()); }
  int cols() const { return static_cast<int>(columns_.size()); }
  bool IsNull(int row, int col) const { return !values_[row][col].has_value(); }
  // "" for NULL.
  const std::string& Get(int row, int col) const;
  // Column number by name (as the server spells it), -1 when absent.
  int Column(std::string_view name) const;

 private:
  friend class Connection;
  std::vector<std::string> columns_;
  std::vector<std::vector<std::optional<std::string>>> values_;
};

// One column of a streamed result: binary columns (BLOB, BINARY, BIT, geometry) travel as hex.
struct Column {
  std::string name;
  bool binary = false;
};

// One value of a streamed row: valid only inside the callback it is handed to.
struct Value {
  const char* data = nullptr;  // nullptr: SQL NULL
  size_t size = 0;
  bool null() const { return data == nullptr; }
};

class Connection {
 public:
  // Over TCP (also for "localhost"), utf8mb4, no option files read.
  static Result<Connection> Open(const ConnParams& params);
  // For a reader that goes on without the server (status, samplers): the connection, or none
  // with the reason in `why` when given.
  static std::optional<Connection> OpenOrNone(const ConnParams& params, std::string* why = nullptr);

  Connection(Connection&&) noexcept = default;
  Connection& operator=(Connection&&) noexcept = default;
  ~Connection();

  // Runs one statement, ignoring any rows; SQL is logged at debug level.
  Status Exec(std::string_view sql);
  Result<Rows> Query(std::string_view sql);
  // First column of the first row; an error when there is no row. NULL reads as "".
  Result<std::string> QueryValue(std::string_view sql);
  Result<int64_t> QueryInt(std::string_view sql);
  // For statements that carry a secret (a password): never logged, nor shown in an error.
  Status ExecSensitive(std::string_view sql);
  // Rows read one at a time as the server sends them (nothing held but the row at hand); `row`
  // may stop the stream by returning an error, which Stream returns. The connection reads the
  // whole result before it takes another statement, so the callback must not use it.
  using RowFn =
      std::function<Status(const std::vector<Column>& columns, const std::vector<Value>& row)>;
  Status Stream(std::string_view sql, const RowFn& row);

  // A string literal for this connection's character set and sql_mode (NO_BACKSLASH_ESCAPES
  // included): the only way values become SQL text for this engine.
  std::string Literal(std::string_view value) const;
  // Appends `value` of `column` as SQL text: NULL, X'hex' for binary columns, else Literal().
  void AppendValue(std::string& out, const Column& column, const Value& value) const;

  // A round trip to the server fails (it restarted, the network is cut).
  bool IsBroken();

  const ServerVersion& version() const { return version_; }
  const ConnParams& params() const { return params_; }

 private:
  struct Closer {
    void operator()(st_mysql* handle) const;
  };
  Connection() = default;
  Status Failure(std::string_view what) const;

  std::unique_ptr<st_mysql, Closer> handle_;
  ConnParams params_;
  ServerVersion version_;
};

// Whether `st` is the server's refusal of a table (error 1146) or database (1049) that is not
// there.
bool IsMissingTableOrDatabase(const Status& st);

}  // namespace dbr::mariadb
