#include "mysql/deferred_indexes.h"

#include <string_view>
#include <vector>

#include "mariadb/quote.h"
#include "util/text.h"

namespace dbr::mysql {
namespace {

// The backtick-quoted identifier at the start of `s` (`a``b` counts as one), or "".
std::string_view LeadingQuotedName(std::string_view s) {
  if (s.empty() || s[0] != '`') return {};
  for (size_t i = 1; i < s.size(); ++i) {
    if (s[i] != '`') continue;
    if (i + 1 < s.size() && s[i + 1] == '`') {
      ++i;
      continue;
    }
    return s.substr(0, i + 1);
  }
  return {};
}

std::string_view Unindented(std::string_view line) {
  const size_t start = line.find_first_not_of(' ');
  return start == std::string_view::npos ? std::string_view{} : line.substr(start);
}

// Whether `line`, a key of SHOW CREATE TABLE without its indent, lists `column` (quoted).
bool KeyHolds(std::string_view line, std::string_view column) {
  const size_t name = line.find('`');
  if (name == std::string_view::npos) return false;
  const std::string_view key_name = LeadingQuotedName(line.substr(name));
  return line.substr(name + key_name.size()).find(column) != std::string_view::npos;
}

}  // namespace

SplitTable DeferSecondaryKeys(const std::string& table, const std::string& create,
                              bool referenced) {
  SplitTable whole{create, ""};
  if (referenced) return whole;
  const std::vector<std::string> lines = SplitLines(create);
  // SHOW CREATE TABLE gives "CREATE TABLE `t` (", one line per column, key and constraint
  // (each but the last ending in a comma), then ") ENGINE=..." and the options.
  size_t close = 1;
  while (close < lines.size() && (lines[close].empty() || lines[close][0] != ')')) ++close;
  if (close >= lines.size()) return whole;  // another shape: made as it is
  // Only InnoDB's sorted index build is known to be faster; a system-versioned table refuses
  // most ALTERs (system_versioning_alter_history).
  std::string options;
  for (size_t i = close; i < lines.size(); ++i) options += lines[i] + "\n";
  if (options.find("ENGINE=InnoDB") == std::string::npos ||
      options.find("WITH SYSTEM VERSIONING") != std::string::npos)
    return whole;
  std::vector<std::string> body;
  std::string_view auto_increment_column;
  bool primary_key = false;
  for (size_t i = 1; i < close; ++i) {
    std::string_view line = lines[i];
    if (!line.empty() && line.back() == ',') line.remove_suffix(1);
    const std::string_view text = Unindented(line);
    if (text.starts_with("CONSTRAINT") && text.find(" FOREIGN KEY ") != std::string_view::npos)
      return whole;
    if (text.starts_with("PRIMARY KEY")) primary_key = true;
    if (text.starts_with("`") && text.find(" AUTO_INCREMENT") != std::string_view::npos)
      auto_increment_column = LeadingQuotedName(text);
    body.emplace_back(line);
  }
  // Without a primary key, InnoDB orders the rows by the first unique key that is NOT NULL:
  // added later, it would rebuild the table.
  if (!primary_key) return whole;
  std::vector<std::string> kept, deferred;
  for (const std::string& line : body) {
    const std::string_view text = Unindented(line);
    const bool secondary = text.starts_with("KEY `") || text.starts_with("UNIQUE KEY `");
    if (secondary && !(auto_increment_column.size() > 0 && KeyHolds(text, auto_increment_column)))
      deferred.emplace_back(text);
    else
      kept.push_back(line);
  }
  if (deferred.empty()) return whole;
  options.pop_back();  // the last line end
  return {lines[0] + "\n" + Join(kept, ",\n") + "\n" + options,
          "ALTER TABLE " + mariadb::QuoteIdent(table) + " ADD " + Join(deferred, ", ADD ")};
}

void DeferSecondaryKeys(SchemaDefinitions& schema) {
  for (Definition& t : schema.tables) {
    // Another table's foreign key needs the referenced key from the start ("REFERENCES `t` (",
    // or "REFERENCES `db`.`t` (").
    const std::string name = mariadb::QuoteIdent(t.name) + " (";
    bool referenced = false;
    for (const Definition& other : schema.tables)
      referenced = referenced ||
                   (&other != &t && (other.sql.find(" REFERENCES " + name) != std::string::npos ||
                                     other.sql.find("`." + name) != std::string::npos));
    SplitTable split = DeferSecondaryKeys(t.name, t.sql, referenced);
    t.sql = std::move(split.create);
    t.after_rows = std::move(split.add_later);
  }
}

}  // namespace dbr::mysql
