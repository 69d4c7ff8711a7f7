#include "verify/schema_normalize.h"

#include <cctype>

namespace dbr::verify {
namespace {

bool IsIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' ||
         static_cast<unsigned char>(c) >= 0x80;
}

// Length of the quoted token (literal or quoted identifier) starting at `i`, quotes included.
size_t QuotedLength(std::string_view s, size_t i) {
  char q = s[i];
  bool backslash_escapes = q == '\'' && i > 0 && (s[i - 1] == 'E' || s[i - 1] == 'e');
  size_t j = i + 1;
  while (j < s.size()) {
    if (backslash_escapes && s[j] == '\\') {
      j += 2;
      continue;
    }
    if (s[j] == q) {
      if (j + 1 < s.size() && s[j + 1] == q) {
        j += 2;
        continue;
      }
      return j + 1 - i;
    }
    ++j;
  }
  return s.size() - i;
}

std::string Unquote(std::string_view token) {
  if (token.empty() || token.front() != '"') return std::string(token);
  std::string out;
  for (size_t i = 1; i + 1 < token.size(); ++i) {
    out.push_back(token[i]);
    if (token[i] == '"') ++i;
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string CollapseWhitespace(std::string_view sql) {
  std::string out;
  bool pending_space = false;
  for (size_t i = 0; i < sql.size();) {
    char c = sql[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      pending_space = true;
      ++i;
      continue;
    }
    if (pending_space && !out.empty()) out.push_back(' ');
    pending_space = false;
    if (c == '\'' || c == '"') {
      size_t n = QuotedLength(sql, i);
      out.append(sql.substr(i, n));
      i += n;
      continue;
    }
    out.push_back(c);
    ++i;
  }
  if (!out.empty() && out.back() == ';') out.pop_back();
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string StripColumnQualifiers(std::string_view sql, const std::set<std::string>& schemas) {
  std::string out;
  for (size_t i = 0; i < sql.size();) {
    char c = sql[i];
    if (c == '\'') {
      size_t n = QuotedLength(sql, i);
      out.append(sql.substr(i, n));
      i += n;
      continue;
    }
    if (c != '"' && !IsIdentChar(c)) {
      out.push_back(c);
      ++i;
      continue;
    }
    // A name: bare or quoted.
    size_t len = c == '"' ? QuotedLength(sql, i) : 0;
    if (c != '"')
      while (i + len < sql.size() && IsIdentChar(sql[i + len])) ++len;
    std::string_view token = sql.substr(i, len);
    size_t next = i + len;
    bool qualified = !out.empty() && out.back() == '.';
    bool qualifies = next + 1 < sql.size() && sql[next] == '.' &&
                     (IsIdentChar(sql[next + 1]) || sql[next + 1] == '"');
    bool is_number = std::isdigit(static_cast<unsigned char>(c));
    if (qualifies && !qualified && !is_number && !schemas.count(Unquote(token))) {
      i = next + 1;
      continue;
    }
    out.append(token);
    i = next;
  }
  return out;
}

std::string StripInModes(std::string_view args) {
  std::string out;
  int depth = 0;
  size_t start = 0;
  auto flush = [&](size_t end) {
    std::string_view arg = Trim(args.substr(start, end - start));
    if (arg.substr(0, 3) == "IN ") arg.remove_prefix(3);
    if (!out.empty()) out += ", ";
    out.append(arg);
  };
  for (size_t i = 0; i < args.size();) {
    char c = args[i];
    if (c == '\'' || c == '"') {
      i += QuotedLength(args, i);
      continue;
    }
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if (c == ',' && depth == 0) {
      flush(i);
      start = i + 1;
    }
    ++i;
  }
  if (!Trim(args).empty()) flush(args.size());
  return out;
}

std::string SqlStandardBody(std::string_view functiondef) {
  for (std::string_view marker : {"\nBEGIN ATOMIC", "\nRETURN "}) {
    size_t at = functiondef.find(marker);
    if (at != std::string_view::npos) return std::string(Trim(functiondef.substr(at)));
  }
  return std::string(Trim(functiondef));
}

}  // namespace dbr::verify
