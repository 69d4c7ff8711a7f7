// A small RAII wrapper over libpq: a connection, its results, and errors as values.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace dbr::pg {

struct ConnParams {
  std::string label = "server";  // "source" or "destination": names the side in every message
  std::string host = "127.0.0.1";
  int port = 5432;
  std::string user;
  std::string password;  // handed to libpq as a separate value; never printed
  std::string dbname;
  std::string application_name = "db_relocate";
  bool replication = false;  // a logical replication connection (replication=database)
  int connect_timeout_s = 10;
  std::string sslmode;  // empty: libpq's default
  std::string sslrootcert;

  // "source ops@127.0.0.1:5432/postgres": safe to print, never holds the password.
  std::string Describe() const;
};

using Params = std::vector<std::optional<std::string>>;

class QueryResult {
 public:
  explicit QueryResult(PGresult* res) : res_(res, &PQclear) {}
  int rows() const { return PQntuples(res_.get()); }
  int cols() const { return PQnfields(res_.get()); }
  bool IsNull(int row, int col) const { return PQgetisnull(res_.get(), row, col) != 0; }
  std::string Get(int row, int col) const { return PQgetvalue(res_.get(), row, col); }
  // For a column of an integer type: 0 when NULL (and for text that is not an integer, which
  // such a column never holds).
  int64_t GetInt(int row, int col) const;
  bool GetBool(int row, int col) const;  // PostgreSQL's 't'
  // Column number by name, -1 when absent (for results whose columns vary between versions).
  int Column(const char* name) const { return PQfnumber(res_.get(), name); }

 private:
  std::unique_ptr<PGresult, decltype(&PQclear)> res_;
};

class Connection {
 public:
  static Result<Connection> Open(const ConnParams& params);
  // For a reader that goes on without the server (status, samplers): the connection, or none
  // with the reason in `why` when given.
  static std::optional<Connection> OpenOrNone(const ConnParams& params, std::string* why = nullptr);

  Connection(Connection&&) noexcept = default;
  Connection& operator=(Connection&&) noexcept = default;

  // Runs one statement; SQL is logged at debug level.
  Result<QueryResult> Query(std::string_view sql, const Params& params = {});
  Status Exec(std::string_view sql, const Params& params = {});
  // For statements that carry a secret (a password, a connection string): never logged, nor
  // shown in an error; kept out of the server's log and pg_stat_statements too when this
  // session may turn their recording off (see the .cpp).
  Status ExecSensitive(std::string_view sql);
  // For a script's part, too long to log (a megabyte of schema): the debug log and an error
  // give its size in place of its text (the error with the server's line and position).
  Status ExecScript(std::string_view sql);
  // A statement in the simple query protocol that must finish within `timeout`; on timeout the
  // error says so and the connection is left busy (close it). For consoles that answer slowly
  // by design, such as PgBouncer's PAUSE.
  Result<QueryResult> QueryWithin(std::string_view sql, std::chrono::milliseconds timeout);
  // Sends one statement without waiting for it, so one thread can keep two servers busy at
  // once; Finish() collects its result.
  Status Send(std::string_view sql, const Params& params = {});
  Result<QueryResult> Finish();
  // A single value (first row, first column); error when there is no row.
  Result<std::string> QueryValue(std::string_view sql, const Params& params = {});
  // A single integer value; error when there is no row or the value is not an integer.
  Result<int64_t> QueryInt(std::string_view sql, const Params& params = {});

  // Makes everything this server has committed so far durable, whatever its
  // synchronous_commit: a synchronous commit of a transaction that wrote WAL flushes all WAL
  // before it. Call before recording work on this server as done.
  Status FlushCommitted();

  // Starts a read-only REPEATABLE READ transaction that sees exactly what the exported snapshot
  // `snapshot` (pg_export_snapshot, or a replication slot's) saw.
  Status BeginAtSnapshot(const std::string& snapshot);

  int server_version_num() const { return PQserverVersion(conn_.get()); }
  int server_major() const { return server_version_num() / 10000; }
  // The database's encoding, as the server reported it at connect ("UTF8", "LATIN1", ...).
  std::string server_encoding() const {
    const char* e = PQparameterStatus(conn_.get(), "server_encoding");
    return e != nullptr ? e : "";
  }
  const ConnParams& params() const { return params_; }
  std::string Describe() const { return params_.Describe(); }
  PGconn* raw() { return conn_.get(); }
  // Asks the server to cancel whatever this connection is running (safe from another thread).
  void Cancel();
  bool IsBroken() const { return PQstatus(conn_.get()) != CONNECTION_OK; }
  // Whether the server is still there, without sending anything (a replication connection
  // holding an exported snapshot must not run a statement): false once it has closed the
  // connection or the network has reset it.
  bool Alive();

 private:
  friend class RowStream;  // reads the rows of a statement sent here, one at a time
  Connection(PGconn* conn, ConnParams params)
      : conn_(conn, &PQfinish), params_(std::move(params)) {}
  Result<QueryResult> Run(std::string_view sql, const Params& params, bool log_sql);
  // Those of the server's settings that record a statement's text (superuser ones) which this
  // session may set.
  Result<std::vector<std::string>> StatementRecordingSettingsWeMaySet();
  // Takes ownership of `res`; an error names this side and (when loggable) the statement.
  Result<QueryResult> Checked(PGresult* res, std::string_view sql, bool log_sql);
  // libpq's last error on this connection; Unavailable when the connection is gone.
  Status LinkError() const;

  std::unique_ptr<PGconn, decltype(&PQfinish)> conn_;
  ConnParams params_;
  std::string sent_;  // the statement Send() started, for Finish()'s messages
};

}  // namespace dbr::pg
