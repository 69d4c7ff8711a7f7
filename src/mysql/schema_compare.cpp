#include "mysql/schema_compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "mysql/database_rename.h"

namespace dbr::mysql {
namespace {

// One kind of object: a query giving, for the database (`{db}`), each object's name, the text
// compared, and a text only shown; and MariaDB's, where it needs another.
struct Kind {
  const char* name;
  const char* query;
  const char* mariadb_query = nullptr;
};

constexpr Kind kKinds[] = {
    {"table",
     "SELECT TABLE_NAME, CONCAT_WS(' ', TABLE_TYPE, ENGINE, TABLE_COLLATION, "
     "NULLIF(CREATE_OPTIONS, '')), '' FROM information_schema.TABLES WHERE TABLE_SCHEMA = {db}"},
    {"column",
     "SELECT CONCAT(TABLE_NAME, '.', COLUMN_NAME), CONCAT_WS(' ', CONCAT('#', ORDINAL_POSITION), "
     "COLUMN_TYPE, IF(IS_NULLABLE = 'YES', 'NULL', 'NOT NULL'), CONCAT('DEFAULT ', "
     "COLUMN_DEFAULT), NULLIF(EXTRA, ''), CONCAT('AS (', NULLIF(GENERATION_EXPRESSION, ''), ')'), "
     "CONCAT('COLLATE ', COLLATION_NAME)), '' FROM information_schema.COLUMNS WHERE TABLE_SCHEMA "
     "= {db}"},
    {"index",
     "SELECT CONCAT(TABLE_NAME, '.', INDEX_NAME), CONCAT(IF(MAX(NON_UNIQUE) = 0, 'UNIQUE ', ''), "
     "MAX(INDEX_TYPE), ' (', GROUP_CONCAT(CONCAT(COLUMN_NAME, IFNULL(CONCAT('(', SUB_PART, ')'), "
     "'')) ORDER BY SEQ_IN_INDEX SEPARATOR ', '), ')'), '' FROM information_schema.STATISTICS "
     "WHERE TABLE_SCHEMA = {db} GROUP BY TABLE_NAME, INDEX_NAME"},
    {"foreign key",
     "SELECT CONCAT(k.TABLE_NAME, '.', k.CONSTRAINT_NAME), CONCAT('(', GROUP_CONCAT(k.COLUMN_NAME "
     "ORDER BY k.ORDINAL_POSITION SEPARATOR ', '), ') REFERENCES ', MAX(k.REFERENCED_TABLE_NAME), "
     "' (', GROUP_CONCAT(k.REFERENCED_COLUMN_NAME ORDER BY k.ORDINAL_POSITION SEPARATOR ', '), "
     "') ON UPDATE ', MAX(r.UPDATE_RULE), ' ON DELETE ', MAX(r.DELETE_RULE)), '' FROM "
     "information_schema.KEY_COLUMN_USAGE k JOIN information_schema.REFERENTIAL_CONSTRAINTS r ON "
     "r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.TABLE_NAME = k.TABLE_NAME AND "
     "r.CONSTRAINT_NAME = k.CONSTRAINT_NAME WHERE k.TABLE_SCHEMA = {db} GROUP BY k.TABLE_NAME, "
     "k.CONSTRAINT_NAME"},
    // MySQL names a CHECK constraint uniquely in its schema; MariaDB only in its table (a
    // column's is named after the column), and gives the table in CHECK_CONSTRAINTS.
    {"check constraint",
     "SELECT CONCAT(t.TABLE_NAME, '.', t.CONSTRAINT_NAME), CONCAT_WS(' ', c.CHECK_CLAUSE, "
     "IF(t.ENFORCED = 'NO', 'NOT ENFORCED', NULL)), '' FROM information_schema.TABLE_CONSTRAINTS t "
     "JOIN information_schema.CHECK_CONSTRAINTS c ON c.CONSTRAINT_SCHEMA = t.CONSTRAINT_SCHEMA AND "
     "c.CONSTRAINT_NAME = t.CONSTRAINT_NAME WHERE t.CONSTRAINT_TYPE = 'CHECK' AND t.TABLE_SCHEMA = "
     "{db}",
     "SELECT CONCAT(TABLE_NAME, '.', CONSTRAINT_NAME), CONCAT_WS(' ', LEVEL, CHECK_CLAUSE), '' "
     "FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = {db}"},
    {"view",
     "SELECT TABLE_NAME, CONCAT_WS(' ', DEFINER, SECURITY_TYPE, CHECK_OPTION, VIEW_DEFINITION), "
     "'' FROM information_schema.VIEWS WHERE TABLE_SCHEMA = {db}"},
    {"routine",
     "SELECT CONCAT(r.ROUTINE_NAME, ' (', LOWER(r.ROUTINE_TYPE), ')'), CONCAT_WS(' ', r.DEFINER, "
     "r.SECURITY_TYPE, CONCAT('(', (SELECT GROUP_CONCAT(CONCAT_WS(' ', p.PARAMETER_MODE, "
     "p.PARAMETER_NAME, p.DTD_IDENTIFIER) ORDER BY p.ORDINAL_POSITION SEPARATOR ', ') FROM "
     "information_schema.PARAMETERS p WHERE p.SPECIFIC_SCHEMA = r.ROUTINE_SCHEMA AND "
     "p.SPECIFIC_NAME = r.SPECIFIC_NAME AND p.ORDINAL_POSITION > 0), ')'), CONCAT('RETURNS ', "
     "r.DTD_IDENTIFIER), r.SQL_MODE, r.ROUTINE_DEFINITION), '' FROM information_schema.ROUTINES r "
     "WHERE r.ROUTINE_SCHEMA = {db}"},
    {"trigger",
     "SELECT TRIGGER_NAME, CONCAT_WS(' ', DEFINER, ACTION_TIMING, EVENT_MANIPULATION, 'ON', "
     "EVENT_OBJECT_TABLE, SQL_MODE, ACTION_STATEMENT), '' FROM information_schema.TRIGGERS WHERE "
     "TRIGGER_SCHEMA = {db}"},
    {"event",
     "SELECT EVENT_NAME, CONCAT_WS(' ', DEFINER, EVENT_TYPE, EXECUTE_AT, INTERVAL_VALUE, "
     "INTERVAL_FIELD, ON_COMPLETION, SQL_MODE, EVENT_DEFINITION), STATUS FROM "
     "information_schema.EVENTS WHERE EVENT_SCHEMA = {db}"},
};

struct Defined {
  std::string text, shown;
};

// Texts of either sql_mode compared: "x" read as an identifier, as ANSI_QUOTES has it (a string
// "shop.x" is one token either way, so it is never renamed).
constexpr SqlQuoting kEitherQuoting{.ansi_quotes = true};

// The objects of `database` on `c`, named as if it were named `as`. With `renamed`, each text's
// qualifiers of the database are made `as`, back-quoted, on either side alike (a view's text
// names its database; a trigger's names it as its author wrote it).
Result<std::map<std::string, Defined>> Read(mariadb::Connection& c, const Kind& kind,
                                            const std::string& database, const std::string& as,
                                            bool renamed) {
  const char* query =
      kind.mariadb_query != nullptr && c.version().flavor == mariadb::Flavor::kMariaDb
          ? kind.mariadb_query
          : kind.query;
  DBR_ASSIGN_OR_RETURN(
      mariadb::Rows rows,
      c.Query(fmt::format(fmt::runtime(query), fmt::arg("db", c.Literal(database)))));
  std::map<std::string, Defined> objects;
  for (int i = 0; i < rows.rows(); ++i)
    objects[as + "." + rows.Get(i, 0)] = {
        renamed ? RenameDatabaseIn(rows.Get(i, 1), database, as, kEitherQuoting) : rows.Get(i, 1),
        rows.Get(i, 2)};
  return objects;
}

}  // namespace

std::string WhereTextsDiffer(const std::string& a, const std::string& b, const std::string& a_label,
                             const std::string& b_label) {
  constexpr size_t kBefore = 20, kLength = 80;
  const size_t first = static_cast<size_t>(
      std::mismatch(a.begin(),
                    a.begin() + static_cast<std::ptrdiff_t>(std::min(a.size(), b.size())),
                    b.begin())
          .first -
      a.begin());
  const size_t from = first > kBefore ? first - kBefore : 0;
  // Cut at the start of a UTF-8 character, never inside one (the detail goes into JSON).
  auto boundary = [](const std::string& s, size_t at) {
    while (at > 0 && at < s.size() && (static_cast<unsigned char>(s[at]) & 0xC0) == 0x80) --at;
    return std::min(at, s.size());
  };
  auto cut = [&](const std::string& s) {
    if (from >= s.size()) return std::string("(ends)");
    const size_t begin = boundary(s, from), end = boundary(s, from + kLength);
    return (begin > 0 ? "..." : "") + s.substr(begin, end - begin) + (end < s.size() ? "..." : "");
  };
  return fmt::format("{} `{}`, {} `{}`", a_label, cut(a), b_label, cut(b));
}

Result<std::vector<ObjectComparison>> CompareSchemas(mariadb::Connection& primary,
                                                     mariadb::Connection& follower,
                                                     const std::string& primary_database,
                                                     const std::string& follower_database,
                                                     const std::string& primary_label,
                                                     const std::string& follower_label) {
  std::vector<ObjectComparison> out;
  for (const Kind& kind : kKinds) {
    const bool renamed = primary_database != follower_database;
    DBR_ASSIGN_OR_RETURN(auto ours,
                         Read(primary, kind, primary_database, primary_database, renamed));
    DBR_ASSIGN_OR_RETURN(auto theirs,
                         Read(follower, kind, follower_database, primary_database, renamed));
    for (const auto& [name, mine] : ours) {
      ObjectComparison o{kind.name, name};
      auto it = theirs.find(name);
      if (it == theirs.end()) {
        o.verdict = ObjectVerdict::kMissing;
        o.detail = "absent on the " + follower_label;
      } else if (it->second.text != mine.text) {
        o.verdict = ObjectVerdict::kDiffers;
        o.detail = WhereTextsDiffer(mine.text, it->second.text, primary_label, follower_label);
      } else if (it->second.shown != mine.shown) {
        o.detail = fmt::format("{} {}, {} {}", primary_label, mine.shown, follower_label,
                               it->second.shown);
      }
      out.push_back(std::move(o));
    }
    for (const auto& [name, _] : theirs)
      if (!ours.count(name))
        out.push_back({kind.name, name, ObjectVerdict::kExtra, "only on the " + follower_label});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const ObjectComparison& a, const ObjectComparison& b) {
                     return a.kind != b.kind ? a.kind < b.kind : a.name < b.name;
                   });
  return out;
}

}  // namespace dbr::mysql
