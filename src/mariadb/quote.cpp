#include "mariadb/quote.h"

namespace dbr::mariadb {

std::string QuoteIdent(std::string_view name) {
  std::string out = "`";
  for (char c : name) {
    if (c == '`') out += '`';
    out += c;
  }
  return out + "`";
}

std::string QualifiedName(std::string_view database, std::string_view name) {
  return QuoteIdent(database) + "." + QuoteIdent(name);
}

}  // namespace dbr::mariadb
