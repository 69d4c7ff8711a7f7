#include "mysql/database_rename.h"

#include <algorithm>

#include "mariadb/quote.h"

namespace dbr::mysql {
namespace {

bool IsIdentifierByte(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || c == '_' ||
         c == '$' || u >= 0x80;
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Whether `c` opens a quoted identifier.
bool OpensIdentifier(char c, const SqlQuoting& quoting) {
  return c == '`' || (c == '"' && quoting.ansi_quotes);
}

// The end of the quoted text starting at `at` (a quote): a doubled quote or, in a string, a
// backslash (where it escapes) does not end it.
size_t EndOfQuoted(std::string_view sql, size_t at, const SqlQuoting& quoting) {
  const char quote = sql[at];
  const bool escapes = quoting.backslash_escapes && !OpensIdentifier(quote, quoting);
  size_t i = at + 1;
  while (i < sql.size()) {
    if (sql[i] == '\\' && escapes) {
      i += 2;
    } else if (sql[i] == quote) {
      if (i + 1 < sql.size() && sql[i + 1] == quote) {
        i += 2;
      } else {
        return i + 1;
      }
    } else {
      ++i;
    }
  }
  return sql.size();
}

// The end of the comment starting at `at`, or `at` when none starts there. MySQL's
// version comments (/*! ... */) hold SQL and are not skipped.
size_t EndOfComment(std::string_view sql, size_t at) {
  const std::string_view rest = sql.substr(at);
  if (rest.starts_with("/*") && !rest.starts_with("/*!")) {
    const size_t end = sql.find("*/", at + 2);
    return end == std::string_view::npos ? sql.size() : end + 2;
  }
  if (rest.starts_with("#") || (rest.starts_with("--") && (rest.size() == 2 || IsSpace(rest[2])))) {
    const size_t end = sql.find('\n', at);
    return end == std::string_view::npos ? sql.size() : end;
  }
  return at;
}

// The identifier's name: a quoted one unquoted.
std::string UnquotedName(std::string_view token, const SqlQuoting& quoting) {
  if (token.empty() || !OpensIdentifier(token.front(), quoting)) return std::string(token);
  const char quote = token.front();
  std::string name;
  for (size_t i = 1; i + 1 < token.size(); ++i) {
    name += token[i];
    if (token[i] == quote) ++i;  // a doubled quote
  }
  return name;
}

bool FollowedByDot(std::string_view sql, size_t at) {
  while (at < sql.size() && IsSpace(sql[at])) ++at;
  return at < sql.size() && sql[at] == '.';
}

}  // namespace

SqlQuoting SqlQuoting::OfSqlMode(std::string_view sql_mode) {
  SqlQuoting q;
  size_t begin = 0;
  while (begin <= sql_mode.size()) {
    const size_t end = std::min(sql_mode.find(',', begin), sql_mode.size());
    const std::string_view mode = sql_mode.substr(begin, end - begin);
    if (mode == "ANSI_QUOTES" || mode == "ANSI") q.ansi_quotes = true;
    if (mode == "NO_BACKSLASH_ESCAPES") q.backslash_escapes = false;
    begin = end + 1;
  }
  return q;
}

std::string RenameDatabaseIn(std::string_view sql, std::string_view from, std::string_view to,
                             SqlQuoting quoting) {
  std::string out;
  out.reserve(sql.size());
  bool after_dot = false;  // the last token was a dot
  size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    if (const size_t end = EndOfComment(sql, i); end != i) {
      out.append(sql.substr(i, end - i));
      i = end;
      continue;
    }
    if ((c == '\'' || c == '"') && !OpensIdentifier(c, quoting)) {
      const size_t end = EndOfQuoted(sql, i, quoting);
      out.append(sql.substr(i, end - i));
      i = end;
      after_dot = false;
      continue;
    }
    if (OpensIdentifier(c, quoting) || IsIdentifierByte(c)) {
      size_t end = i + 1;
      if (OpensIdentifier(c, quoting)) {
        end = EndOfQuoted(sql, i, quoting);
      } else {
        while (end < sql.size() && IsIdentifierByte(sql[end])) ++end;
      }
      const std::string_view token = sql.substr(i, end - i);
      if (!after_dot && UnquotedName(token, quoting) == from && FollowedByDot(sql, end)) {
        out += mariadb::QuoteIdent(to);
      } else {
        out.append(token);
      }
      i = end;
      after_dot = false;
      continue;
    }
    out += c;
    if (!IsSpace(c)) after_dot = c == '.';
    ++i;
  }
  return out;
}

std::string LikePattern(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == '_' || c == '%' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace dbr::mysql
