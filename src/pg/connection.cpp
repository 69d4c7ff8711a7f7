#include "pg/connection.h"

#include <fmt/format.h>
#include <poll.h>

#include <utility>

#include "pg/quote.h"
#include "util/log.h"
#include "util/parse.h"

namespace dbr::pg {
namespace {

// libpq's messages span lines ("...failed: Connection refused\n\tIs the server running...");
// ours stay on one line.
std::string OneLine(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\n' || c == '\t') {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string ResultError(PGresult* res, PGconn* conn) {
  return OneLine(res == nullptr ? PQerrorMessage(conn) : PQresultErrorMessage(res));
}

// libpq's default message quotes the statement around an error's position ("LINE 1: ...");
// for a statement that carries a secret, the terse form: severity, message and position only.
std::string TerseResultError(PGresult* res, PGconn* conn) {
  if (res == nullptr) return ResultError(res, conn);
  char* text = PQresultVerboseErrorMessage(res, PQERRORS_TERSE, PQSHOW_CONTEXT_NEVER);
  if (text == nullptr) return "out of memory formatting an error";
  std::string out = OneLine(text);
  PQfreemem(text);
  return out;
}

// A connection attempt that failed for a reason that may go away (the server is down,
// restarting, or out of reach), as opposed to one the server refused (password, database).
bool ConnectFailureIsTransient(const std::string& message) {
  for (const char* refused :
       {"authentication failed", "does not exist", "no pg_hba.conf entry", "permission denied",
        "certificate", "SSL error", "server does not support SSL"})
    if (message.find(refused) != std::string::npos) return false;
  return true;
}

// The TCP settings of every connection: a peer that vanished without a word (a network
// partition, a host that died) is noticed within about 30 s, not after the kernel's 2 hours.
constexpr const char* kKeepalivesIdle = "10";
constexpr const char* kKeepalivesInterval = "5";
constexpr const char* kKeepalivesCount = "3";
constexpr const char* kTcpUserTimeoutMs = "30000";

}  // namespace

std::string ConnParams::Describe() const {
  return fmt::format("{} {}@{}:{}/{}", label, user, host, port, dbname);
}

int64_t QueryResult::GetInt(int row, int col) const {
  if (IsNull(row, col)) return 0;
  return ParseInt(Get(row, col)).value_or(0);
}

bool QueryResult::GetBool(int row, int col) const {
  return !IsNull(row, col) && Get(row, col) == "t";
}

std::optional<Connection> Connection::OpenOrNone(const ConnParams& params, std::string* why) {
  return Open(params).ValueOrNone(why);
}

Result<Connection> Connection::Open(const ConnParams& p) {
  std::string port = std::to_string(p.port);
  std::string timeout = std::to_string(p.connect_timeout_s);
  std::vector<const char*> keys = {"host",
                                   "port",
                                   "user",
                                   "dbname",
                                   "application_name",
                                   "connect_timeout",
                                   "keepalives_idle",
                                   "keepalives_interval",
                                   "keepalives_count",
                                   "tcp_user_timeout"};
  std::vector<const char*> values = {p.host.c_str(),
                                     port.c_str(),
                                     p.user.c_str(),
                                     p.dbname.c_str(),
                                     p.application_name.c_str(),
                                     timeout.c_str(),
                                     kKeepalivesIdle,
                                     kKeepalivesInterval,
                                     kKeepalivesCount,
                                     kTcpUserTimeoutMs};
  if (!p.password.empty()) {
    keys.push_back("password");
    values.push_back(p.password.c_str());
  }
  if (!p.sslmode.empty()) {
    keys.push_back("sslmode");
    values.push_back(p.sslmode.c_str());
  }
  if (!p.sslrootcert.empty()) {
    keys.push_back("sslrootcert");
    values.push_back(p.sslrootcert.c_str());
  }
  if (p.replication) {
    keys.push_back("replication");
    values.push_back("database");
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* conn = PQconnectdbParams(keys.data(), values.data(), 0);
  if (conn == nullptr) return Status::Error("out of memory connecting to " + p.Describe());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string err = OneLine(PQerrorMessage(conn));
    PQfinish(conn);
    std::string message = fmt::format("cannot connect to {}: {}", p.Describe(), err);
    return ConnectFailureIsTransient(err) ? Status::Unavailable(message) : Status::Error(message);
  }
  Connection c(conn, p);
  // Our literals (pg/quote.h) and the expressions the server deparses for the schema comparison
  // are read and written as standard strings; a database or role set to read backslashes as
  // escapes gets standard strings back for this session. The server reports the setting at
  // connection, so the usual case costs no round trip.
  const char* standard = PQparameterStatus(conn, "standard_conforming_strings");
  if (standard != nullptr && std::string_view(standard) == "off")
    DBR_RETURN_IF_ERROR(c.Exec("SET standard_conforming_strings = on"));
  return c;
}

namespace {
std::vector<const char*> ParamValues(const Params& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& v : params) values.push_back(v ? v->c_str() : nullptr);
  return values;
}
}  // namespace

Result<QueryResult> Connection::Run(std::string_view sql, const Params& params, bool log_sql) {
  if (log_sql) log::debug("[{}] {}", params_.label, sql);
  std::string text(sql);
  std::vector<const char*> values = ParamValues(params);
  PGresult* res = params.empty()
                      ? PQexec(conn_.get(), text.c_str())
                      : PQexecParams(conn_.get(), text.c_str(), static_cast<int>(values.size()),
                                     nullptr, values.data(), nullptr, nullptr, 0);
  return Checked(res, sql, log_sql);
}

Result<QueryResult> Connection::Checked(PGresult* res, std::string_view sql, bool log_sql) {
  QueryResult result(res);
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_COPY_OUT ||
      st == PGRES_COPY_IN || st == PGRES_COPY_BOTH)
    return result;
  std::string what = log_sql ? std::string(sql.substr(0, 200)) : "(statement not shown)";
  std::string message = fmt::format(
      "on {}: {} [while running: {}]", params_.label,
      log_sql ? ResultError(res, conn_.get()) : TerseResultError(res, conn_.get()), what);
  return IsBroken() ? Status::Unavailable(message) : Status::Error(message);
}

Result<QueryResult> Connection::Query(std::string_view sql, const Params& params) {
  return Run(sql, params, true);
}

Status Connection::Exec(std::string_view sql, const Params& params) {
  return Run(sql, params, true).status();
}

namespace {
// The settings that make a server keep a statement's text: in its log (log_statement 'all' or
// 'ddl', the STATEMENT line of an error, duration logging, sampled or not), in pg_stat_activity
// while it runs, and in pg_stat_statements (utility statements are stored verbatim, constants
// and all); each with the value that keeps nothing. All are superuser settings (PGC_SUSET).
constexpr std::pair<std::string_view, std::string_view> kStatementRecordingOff[] = {
    {"log_statement", "none"},
    {"log_min_error_statement", "panic"},
    {"log_min_duration_statement", "-1"},
    {"log_min_duration_sample", "-1"},
    {"log_transaction_sample_rate", "0"},
    {"track_activities", "off"},
    {"pg_stat_statements.track_utility", "off"}};

std::string_view OffValue(std::string_view name) {
  for (const auto& [setting, off] : kStatementRecordingOff)
    if (setting == name) return off;
  return {};
}

// "SET a = 'x'; SET b = 'y'" (reset: "RESET a; RESET b"): one round trip.
std::string SettingCommands(const std::vector<std::string>& names, bool reset) {
  std::string sql;
  for (const auto& name : names)
    sql += reset ? fmt::format("RESET {}; ", name)
                 : fmt::format("SET {} = '{}'; ", name, OffValue(name));
  return sql;
}
}  // namespace

Result<std::vector<std::string>> Connection::StatementRecordingSettingsWeMaySet() {
  const char* superuser = PQparameterStatus(conn_.get(), "is_superuser");
  const bool is_superuser = superuser != nullptr && std::string_view(superuser) == "on";
  // From 15 on, SET on a superuser setting can be granted to a role (GRANT SET ON PARAMETER).
  if (!is_superuser && server_major() < 15) return std::vector<std::string>{};
  std::string names;
  for (const auto& setting : kStatementRecordingOff)
    names += (names.empty() ? "" : ",") + std::string(setting.first);
  // Only the settings this server knows: pg_stat_statements' exists when it is loaded.
  auto settings = Run(fmt::format("SELECT p FROM unnest(string_to_array($1, ',')) p WHERE CASE "
                                  "WHEN current_setting(p, true) IS NULL THEN false ELSE {} END",
                                  is_superuser ? "true" : "has_parameter_privilege(p, 'SET')"),
                      {names}, true);
  if (!settings.ok()) return settings.status();
  std::vector<std::string> ours;
  for (int row = 0; row < settings->rows(); ++row) ours.push_back(settings->Get(row, 0));
  return ours;
}

Status Connection::ExecScript(std::string_view sql) {
  const std::string what = fmt::format("a script's part of {} bytes", sql.size());
  log::debug("[{}] ({})", params_.label, what);
  return Checked(PQexec(conn_.get(), std::string(sql).c_str()), what, true).status();
}

Status Connection::ExecSensitive(std::string_view sql) {
  // The statement is never in our log or our errors. To keep it out of the server's log and
  // statistics as well, the settings that record it are turned off for this session around it,
  // those the session may set (all for a superuser; on 15+ those granted SET to the role). What
  // it may not set, the server's settings decide: RDS's master user is no superuser, so there a
  // log_statement of 'all' or 'ddl' logs it, and pg_stat_statements keeps it. Role passwords
  // are hashed on the client besides, so only a connection string (a subscription's) can be
  // kept that way.
  auto settings = StatementRecordingSettingsWeMaySet();
  if (!settings.ok()) return settings.status();
  if (settings->empty()) return Run(sql, {}, false).status();
  DBR_RETURN_IF_ERROR(Run(SettingCommands(*settings, false), {}, true).status());
  Status st = Run(sql, {}, false).status();
  // After a failure inside a transaction block the RESET fails too, and the rollback undoes
  // the SETs anyway.
  Status reset = Run(SettingCommands(*settings, true), {}, true).status();
  return st.ok() ? reset : st;
}

Result<QueryResult> Connection::QueryWithin(std::string_view sql,
                                            std::chrono::milliseconds timeout) {
  log::debug("[{}] {}", params_.label, sql);
  const std::string text(sql);
  if (PQsendQuery(conn_.get(), text.c_str()) == 0) return LinkError();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (PQconsumeInput(conn_.get()) == 0) return LinkError();
    if (PQisBusy(conn_.get()) == 0) break;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return Status::Error(fmt::format("on {}: {} did not finish within {} ms", params_.label,
                                       sql.substr(0, 200), timeout.count()));
    pollfd pfd{PQsocket(conn_.get()), POLLIN, 0};
    (void)poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), 100)));
  }
  // One statement, one result; drain to the end so the connection is ready again.
  PGresult* first = PQgetResult(conn_.get());
  while (PGresult* extra = PQgetResult(conn_.get())) PQclear(extra);
  return Checked(first, sql, true);
}

Status Connection::Send(std::string_view sql, const Params& params) {
  log::debug("[{}] {}", params_.label, sql);
  sent_ = std::string(sql);
  std::vector<const char*> values = ParamValues(params);
  if (PQsendQueryParams(conn_.get(), sent_.c_str(), static_cast<int>(values.size()), nullptr,
                        values.data(), nullptr, nullptr, 0) == 0)
    return LinkError();
  return Status::Ok();
}

Result<QueryResult> Connection::Finish() {
  PGresult* first = PQgetResult(conn_.get());
  while (PGresult* extra = PQgetResult(conn_.get())) PQclear(extra);
  return Checked(first, sent_, true);
}

Result<std::string> Connection::QueryValue(std::string_view sql, const Params& params) {
  auto r = Query(sql, params);
  if (!r.ok()) return r.status();
  if (r->rows() < 1 || r->cols() < 1)
    return Status::Error(fmt::format("on {}: query returned no row: {}", params_.label, sql));
  return r->Get(0, 0);
}

Result<int64_t> Connection::QueryInt(std::string_view sql, const Params& params) {
  auto value = QueryValue(sql, params);
  if (!value.ok()) return value.status();
  if (auto n = ParseInt(*value)) return *n;
  return Status::Error(
      fmt::format("on {}: expected an integer, got \"{}\": {}", params_.label, *value, sql));
}

Status Connection::BeginAtSnapshot(const std::string& snapshot) {
  DBR_RETURN_IF_ERROR(Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  return Exec("SET TRANSACTION SNAPSHOT " + QuoteLiteral(snapshot))
      .Wrap("importing the exported snapshot " + snapshot);
}

Status Connection::FlushCommitted() {
  DBR_RETURN_IF_ERROR(Exec("BEGIN"));
  Status st = Exec("SET LOCAL synchronous_commit = on");
  // The transaction must write WAL of its own: one that only took an xid commits
  // asynchronously all the same. A logical message is the lightest write there is.
  if (st.ok()) st = Exec("SELECT pg_logical_emit_message(true, 'db_relocate', 'flush')");
  if (!st.ok()) {
    (void)Exec("ROLLBACK");
    return st;
  }
  return Exec("COMMIT");
}

Status Connection::LinkError() const {
  std::string message =
      fmt::format("on {}: {}", params_.label, OneLine(PQerrorMessage(conn_.get())));
  return IsBroken() ? Status::Unavailable(message) : Status::Error(message);
}

bool Connection::Alive() {
  // Something to read on an idle connection is a server's goodbye: an error, then the close.
  for (int i = 0; i < 3 && !IsBroken(); ++i) {
    pollfd pfd{PQsocket(conn_.get()), POLLIN, 0};
    if (poll(&pfd, 1, 0) <= 0) break;
    if (PQconsumeInput(conn_.get()) == 0) return false;
  }
  return !IsBroken();
}

void Connection::Cancel() {
  PGcancel* cancel = PQgetCancel(conn_.get());
  if (cancel == nullptr) return;
  char buf[256];
  PQcancel(cancel, buf, sizeof buf);
  PQfreeCancel(cancel);
}

}  // namespace dbr::pg
