#include "mysql/database_rename.h"

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

// The end of the quoted text starting at `at` (a quote): a doubled quote or, in a string, a
// backslash does not end it.
size_t EndOfQuoted(std::string_view sql, size_t at) {
  const char quote = sql[at];
  size_t i = at + 1;
  while (i < sql.size()) {
    if (sql[i] == '\\' && quote != '`') {
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

// The identifier's name: a back-quoted one unquoted.
std::string NameOf(std::string_view token) {
  if (token.empty() || token.front() != '`') return std::string(token);
  std::string name;
  for (size_t i = 1; i + 1 < token.size(); ++i) {
    name += token[i];
    if (token[i] == '`') ++i;  // a doubled back-quote
  }
  return name;
}

bool FollowedByDot(std::string_view sql, size_t at) {
  while (at < sql.size() && IsSpace(sql[at])) ++at;
  return at < sql.size() && sql[at] == '.';
}

}  // namespace

std::string RenameDatabaseIn(std::string_view sql, std::string_view from, std::string_view to) {
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
    if (c == '\'' || c == '"') {
      const size_t end = EndOfQuoted(sql, i);
      out.append(sql.substr(i, end - i));
      i = end;
      after_dot = false;
      continue;
    }
    if (c == '`' || IsIdentifierByte(c)) {
      size_t end = i + 1;
      if (c == '`') {
        end = EndOfQuoted(sql, i);
      } else {
        while (end < sql.size() && IsIdentifierByte(sql[end])) ++end;
      }
      const std::string_view token = sql.substr(i, end - i);
      if (!after_dot && NameOf(token) == from && FollowedByDot(sql, end)) {
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

}  // namespace dbr::mysql
