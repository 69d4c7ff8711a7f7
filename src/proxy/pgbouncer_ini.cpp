#include "proxy/pgbouncer_ini.h"

#include <fmt/format.h>

#include <sstream>

#include "util/host_port.h"
#include "util/parse.h"
#include "util/text.h"

namespace dbr {
namespace {

std::string Unquoted(const std::string& s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

// PgBouncer quotes connection string values with single quotes, doubling embedded ones.
std::string QuoteValue(const std::string& v) {
  if (!v.empty() && v.find_first_of(" '\\=") == std::string::npos) return v;
  std::string out = "'";
  for (char c : v) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

Result<Pairs> ParseConnstr(const std::string& s) {
  Pairs out;
  size_t i = 0;
  while (true) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    if (i >= s.size()) break;
    const size_t eq = s.find('=', i);
    if (eq == std::string::npos) return Status::Error("expected key=value in \"" + s + "\"");
    std::string key = Trim(s.substr(i, eq - i));
    i = eq + 1;
    while (i < s.size() && s[i] == ' ') ++i;
    std::string value;
    if (i < s.size() && s[i] == '\'') {
      ++i;
      while (true) {
        if (i >= s.size()) return Status::Error("unterminated quote in \"" + s + "\"");
        if (s[i] == '\'') {
          if (i + 1 < s.size() && s[i + 1] == '\'') {
            value += '\'';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        value += s[i++];
      }
    } else {
      while (i < s.size() && s[i] != ' ' && s[i] != '\t') value += s[i++];
    }
    out.emplace_back(key, value);
  }
  return out;
}

struct Entry {
  size_t line = 0;
  std::string key;  // as written
  Pairs pairs;
};

Result<Entry> FindEntry(const std::vector<std::string>& lines, const std::string& database) {
  bool in_databases = false;
  for (size_t n = 0; n < lines.size(); ++n) {
    const std::string line = Trim(lines[n]);
    if (line.empty() || line[0] == ';' || line[0] == '#') continue;
    if (line[0] == '[') {
      in_databases = line == "[databases]";
      continue;
    }
    if (!in_databases) continue;
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = Trim(line.substr(0, eq));
    if (Unquoted(key) != database) continue;
    auto pairs = ParseConnstr(line.substr(eq + 1));
    if (!pairs.ok())
      return pairs.status().Wrap(fmt::format("line {}, database {}", n + 1, database));
    return Entry{n, key, std::move(*pairs)};
  }
  return Status::Error("no entry for database \"" + database + "\" in its [databases] section");
}

}  // namespace

Result<std::string> RenderPgBouncerIni(const CutoverConfig& cutover, const Backend& active,
                                       const PgBouncerFiles& files) {
  auto listen = ParseHostPort(cutover.listen);
  if (!listen.ok()) return listen.status().Wrap("cutover.listen");
  return fmt::format(
      "; Written by db_relocate (cutover.manage: true); rewritten by cutover and rollback.\n"
      "[databases]\n"
      "{} = host={} port={} dbname={}\n"
      "\n"
      "[pgbouncer]\n"
      "listen_addr = {}\n"
      "listen_port = {}\n"
      "unix_socket_dir =\n"
      // md5 accepts MD5 and SCRAM secrets alike, and with a SCRAM secret PgBouncer logs in to
      // the server with the client's own credentials.
      "auth_type = md5\n"
      "auth_file = {}\n"
      "admin_users = {}\n"
      "pool_mode = {}\n"
      "max_client_conn = 1000\n"
      "default_pool_size = 20\n"
      "ignore_startup_parameters = extra_float_digits,options\n"
      // After a server restart PgBouncer refuses every client until its next login attempt
      // (default 15 s): a restarted primary would stay unreachable that long.
      "server_login_retry = 1\n"
      "logfile = {}\n"
      "pidfile = {}\n",
      QuoteValue(cutover.database), QuoteValue(active.host), active.port, QuoteValue(active.dbname),
      listen->host, listen->port, cutover.auth_file, cutover.admin_user, cutover.pool_mode,
      files.logfile, files.pidfile);
}

Result<std::string> PointDatabaseAt(const std::string& text, const std::string& database,
                                    const Backend& backend) {
  std::vector<std::string> lines = SplitLines(text);
  auto entry = FindEntry(lines, database);
  if (!entry.ok()) return entry.status();
  const std::pair<std::string, std::string> wanted[] = {
      {"host", backend.host}, {"port", std::to_string(backend.port)}, {"dbname", backend.dbname}};
  for (const auto& [key, value] : wanted) {
    bool set = false;
    for (auto& p : entry->pairs)
      if (p.first == key) {
        p.second = value;
        set = true;
      }
    if (!set) entry->pairs.emplace_back(key, value);
  }
  std::string connstr;
  for (const auto& [k, v] : entry->pairs)
    connstr += (connstr.empty() ? "" : " ") + k + "=" + QuoteValue(v);
  lines[entry->line] = entry->key + " = " + connstr;
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

Result<Backend> DatabaseEntry(const std::string& text, const std::string& database) {
  auto entry = FindEntry(SplitLines(text), database);
  if (!entry.ok()) return entry.status();
  Backend b;
  for (const auto& [k, v] : entry->pairs) {
    if (k == "host") b.host = v;
    if (k == "dbname") b.dbname = v;
    if (k == "port") b.port = static_cast<int>(ParseInt(v, 1, 65535).value_or(0));
  }
  return b;
}

std::string RenderUserlist(const std::vector<std::pair<std::string, std::string>>& users) {
  auto quote = [](const std::string& s) {
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
  };
  std::string out;
  for (const auto& [user, secret] : users) out += quote(user) + " " + quote(secret) + "\n";
  return out;
}

std::vector<std::string> UserlistUsers(const std::string& text) {
  std::vector<std::string> users;
  for (const std::string& line : SplitLines(text)) {
    size_t at = line.find_first_not_of(" \t");
    if (at == std::string::npos || line[at] != '"') continue;
    std::string user;
    bool closed = false;
    for (size_t i = at + 1; i < line.size(); ++i) {
      if (line[i] != '"') {
        user += line[i];
      } else if (i + 1 < line.size() && line[i + 1] == '"') {
        user += '"';
        ++i;
      } else {
        closed = true;
        break;
      }
    }
    if (closed) users.push_back(user);
  }
  return users;
}

}  // namespace dbr
