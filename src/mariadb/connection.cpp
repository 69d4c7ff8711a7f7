#include "mariadb/connection.h"

#include <errmsg.h>
#include <fmt/format.h>
#include <mysql.h>

#include <mutex>

#include "util/log.h"
#include "util/parse.h"

namespace dbr::mariadb {
namespace {

// The library's global state, set up once before any thread opens a connection.
void InitLibraryOnce() {
  static std::once_flag once;
  std::call_once(once, [] { mysql_library_init(0, nullptr, nullptr); });
}

// Client errors where the server was not reached or went away: worth trying again later.
bool IsTransient(unsigned int code) {
  return code == CR_CONNECTION_ERROR || code == CR_CONN_HOST_ERROR ||
         code == CR_SERVER_GONE_ERROR || code == CR_SERVER_LOST || code == CR_UNKNOWN_HOST;
}

const std::string kEmpty;

// A statement as messages and logs show it: a multi-row INSERT is cut after its start.
std::string Shown(std::string_view sql) {
  constexpr size_t kShown = 300;
  if (sql.size() <= kShown) return std::string(sql);
  return fmt::format("{}... ({} bytes)", sql.substr(0, kShown), sql.size());
}

// BLOB, BINARY, VARBINARY, BIT and geometry values: bytes, not text.
bool IsBinaryColumn(const MYSQL_FIELD& f) {
  constexpr unsigned int kBinaryCharset = 63;
  switch (f.type) {
    case MYSQL_TYPE_BIT:
    case MYSQL_TYPE_GEOMETRY:
      return true;
    case MYSQL_TYPE_TINY_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
    case MYSQL_TYPE_LONG_BLOB:
    case MYSQL_TYPE_BLOB:
    case MYSQL_TYPE_VAR_STRING:
    case MYSQL_TYPE_STRING:
    case MYSQL_TYPE_VARCHAR:
      return f.charsetnr == kBinaryCharset;
    default:
      return false;
  }
}

}  // namespace

std::string ConnParams::Describe() const {
  return fmt::format("{} {}@{}:{}/{}", label, user, host, port, database);
}

const std::string& Rows::Get(int row, int col) const {
  const auto& v = values_[row][col];
  return v ? *v : kEmpty;
}

int Rows::Column(std::string_view name) const {
  for (size_t i = 0; i < columns_.size(); ++i)
    if (columns_[i] == name) return static_cast<int>(i);
  return -1;
}

void Connection::Closer::operator()(st_mysql* handle) const {
  mysql_close(handle);
}

Connection::~Connection() = default;

std::optional<Connection> Connection::OpenOrNone(const ConnParams& params, std::string* why) {
  return Open(params).ValueOrNone(why);
}

Result<Connection> Connection::Open(const ConnParams& p) {
  InitLibraryOnce();
  Connection c;
  c.params_ = p;
  c.handle_.reset(mysql_init(nullptr));
  if (!c.handle_) return Status::Error("out of memory connecting to " + p.Describe());
  MYSQL* h = c.handle_.get();
  const unsigned int timeout = static_cast<unsigned int>(p.connect_timeout_s);
  const unsigned int tcp = MYSQL_PROTOCOL_TCP;
  mysql_options(h, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  mysql_options(h, MYSQL_OPT_PROTOCOL, &tcp);
  mysql_options(h, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  if (mysql_real_connect(h, p.host.c_str(), p.user.c_str(), p.password.c_str(),
                         p.database.empty() ? nullptr : p.database.c_str(),
                         static_cast<unsigned int>(p.port), nullptr, 0) == nullptr) {
    const unsigned int code = mysql_errno(h);
    std::string message = fmt::format("cannot connect to {}: {}", p.Describe(), mysql_error(h));
    return IsTransient(code) ? Status::Unavailable(message) : Status::Error(message);
  }
  auto version = ParseServerVersion(mysql_get_server_info(h));
  if (!version.ok()) return version.status().Wrap(p.Describe());
  c.version_ = *version;
  return c;
}

Status Connection::Failure(std::string_view what) const {
  MYSQL* h = handle_.get();
  const unsigned int code = mysql_errno(h);
  std::string message = fmt::format("{}: {} (error {}, SQLSTATE {}) on {}", Shown(what),
                                    mysql_error(h), code, mysql_sqlstate(h), params_.Describe());
  return IsTransient(code) ? Status::Unavailable(message) : Status::Error(message);
}

bool Connection::IsBroken() {
  return mysql_ping(handle_.get()) != 0;
}

Status Connection::Exec(std::string_view sql) {
  auto rows = Query(sql);
  return rows.ok() ? Status::Ok() : rows.status();
}

Result<Rows> Connection::Query(std::string_view sql) {
  log::debug("{}: {}", params_.label, Shown(sql));
  MYSQL* h = handle_.get();
  if (mysql_real_query(h, sql.data(), sql.size()) != 0) return Failure(sql);
  Rows rows;
  // Every result of the statement is read (a CALL gives several), the first one kept.
  bool first = true;
  do {
    MYSQL_RES* res = mysql_store_result(h);
    if (res == nullptr) {
      if (mysql_field_count(h) != 0) return Failure(sql);
      continue;
    }
    std::unique_ptr<MYSQL_RES, decltype(&mysql_free_result)> owned(res, &mysql_free_result);
    if (!first) continue;
    first = false;
    const unsigned int n = mysql_num_fields(res);
    MYSQL_FIELD* fields = mysql_fetch_fields(res);
    for (unsigned int i = 0; i < n; ++i) rows.columns_.emplace_back(fields[i].name);
    while (MYSQL_ROW row = mysql_fetch_row(res)) {
      const unsigned long* lengths = mysql_fetch_lengths(res);
      auto& out = rows.values_.emplace_back(n);
      for (unsigned int i = 0; i < n; ++i)
        if (row[i] != nullptr) out[i].emplace(row[i], lengths[i]);
    }
  } while (mysql_next_result(h) == 0);
  if (mysql_errno(h) != 0) return Failure(sql);
  return rows;
}

Status Connection::ExecSensitive(std::string_view sql) {
  MYSQL* h = handle_.get();
  if (mysql_real_query(h, sql.data(), sql.size()) != 0)
    return Failure("a statement holding a secret");
  if (MYSQL_RES* res = mysql_store_result(h)) mysql_free_result(res);
  return Status::Ok();
}

Status Connection::Stream(std::string_view sql, const RowFn& fn) {
  log::debug("{}: {}", params_.label, Shown(sql));
  MYSQL* h = handle_.get();
  if (mysql_real_query(h, sql.data(), sql.size()) != 0) return Failure(sql);
  MYSQL_RES* res = mysql_use_result(h);
  if (res == nullptr) return mysql_field_count(h) == 0 ? Status::Ok() : Failure(sql);
  std::unique_ptr<MYSQL_RES, decltype(&mysql_free_result)> owned(res, &mysql_free_result);
  const unsigned int n = mysql_num_fields(res);
  MYSQL_FIELD* fields = mysql_fetch_fields(res);
  std::vector<Column> columns(n);
  for (unsigned int i = 0; i < n; ++i) columns[i] = {fields[i].name, IsBinaryColumn(fields[i])};
  std::vector<Value> values(n);
  Status stopped;
  while (MYSQL_ROW row = mysql_fetch_row(res)) {
    const unsigned long* lengths = mysql_fetch_lengths(res);
    for (unsigned int i = 0; i < n; ++i) values[i] = {row[i], row[i] ? lengths[i] : 0};
    stopped = fn(columns, values);
    if (!stopped.ok()) break;
  }
  // The rest of an abandoned result is read off the wire by mysql_free_result.
  if (stopped.ok() && mysql_errno(h) != 0) return Failure(sql);
  return stopped;
}

void Connection::AppendValue(std::string& out, const Column& column, const Value& value) const {
  if (value.null()) {
    out += "NULL";
  } else if (column.binary) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    out += "X'";
    for (size_t i = 0; i < value.size; ++i) {
      const auto byte = static_cast<unsigned char>(value.data[i]);
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    }
    out += '\'';
  } else {
    out += Literal(std::string_view(value.data, value.size));
  }
}

Result<std::string> Connection::QueryValue(std::string_view sql) {
  DBR_ASSIGN_OR_RETURN(Rows rows, Query(sql));
  if (rows.rows() == 0 || rows.cols() == 0)
    return Status::Error(fmt::format("{}: no row on {}", sql, params_.Describe()));
  return rows.Get(0, 0);
}

Result<int64_t> Connection::QueryInt(std::string_view sql) {
  DBR_ASSIGN_OR_RETURN(std::string value, QueryValue(sql));
  auto n = ParseInt(value);
  if (!n) return Status::Error(fmt::format("{}: \"{}\" is not an integer", sql, value));
  return *n;
}

std::string Connection::Literal(std::string_view value) const {
  std::string out(value.size() * 2 + 1, '\0');
  const unsigned long n = mysql_real_escape_string(handle_.get(), out.data(), value.data(),
                                                   static_cast<unsigned long>(value.size()));
  out.resize(n);
  return "'" + out + "'";
}

bool IsMissingTableOrDatabase(const Status& st) {
  for (const char* code : {"(error 1146,", "(error 1049,"})
    if (st.message().find(code) != std::string::npos) return true;
  return false;
}

}  // namespace dbr::mariadb
