#include "mysql/logins.h"

#include <algorithm>

#include "mysql/database_rename.h"
#include "util/log.h"

namespace dbr::mysql {
namespace {

// 'user'@'host' as information_schema spells a grantee.
struct Account {
  std::string user, host;
};

std::optional<Account> ParseGrantee(const std::string& grantee) {
  const size_t at = grantee.rfind("'@'");
  if (grantee.size() < 5 || grantee.front() != '\'' || grantee.back() != '\'' ||
      at == std::string::npos)
    return std::nullopt;
  return Account{grantee.substr(1, at - 1), grantee.substr(at + 3, grantee.size() - at - 4)};
}

// A grant on `from` (`shop`.*, or as a pattern `shop\_db`.*) made one on `to`.
std::string GrantOn(const std::string& grant, const std::string& from, const std::string& to) {
  if (from == to) return grant;
  return RenameDatabaseIn(RenameDatabaseIn(grant, from, to), LikePattern(from), LikePattern(to));
}

}  // namespace

Result<int> SyncAccounts(mariadb::Connection& from, mariadb::Connection& to,
                         const std::string& from_database, const std::string& to_database,
                         const std::vector<std::string>& except) {
  const std::string db = from.Literal(from_database);
  DBR_ASSIGN_OR_RETURN(
      mariadb::Rows grantees,
      from.Query("SELECT GRANTEE FROM information_schema.SCHEMA_PRIVILEGES WHERE TABLE_SCHEMA = " +
                 db + " UNION SELECT GRANTEE FROM information_schema.TABLE_PRIVILEGES WHERE " +
                 "TABLE_SCHEMA = " + db));
  int created = 0;
  for (int r = 0; r < grantees.rows(); ++r) {
    const std::optional<Account> account = ParseGrantee(grantees.Get(r, 0));
    if (!account || std::find(except.begin(), except.end(), account->user) != except.end())
      continue;
    const std::string name = from.Literal(account->user) + "@" + from.Literal(account->host);
    DBR_ASSIGN_OR_RETURN(
        int64_t exists,
        to.QueryInt("SELECT COUNT(*) FROM mysql.user WHERE User = " + to.Literal(account->user) +
                    " AND Host = " + to.Literal(account->host)));
    if (exists > 0) continue;
    DBR_ASSIGN_OR_RETURN(std::string create, from.QueryValue("SHOW CREATE USER " + name));
    DBR_RETURN_IF_ERROR(to.ExecSensitive(create).Wrap("creating the account " + name));
    DBR_ASSIGN_OR_RETURN(mariadb::Rows grants, from.Query("SHOW GRANTS FOR " + name));
    for (int g = 0; g < grants.rows(); ++g)
      DBR_RETURN_IF_ERROR(to.ExecSensitive(GrantOn(grants.Get(g, 0), from_database, to_database))
                              .Wrap("granting to " + name));
    log::info("account {} created as on the other side, with its grants", name);
    ++created;
  }
  return created;
}

}  // namespace dbr::mysql
