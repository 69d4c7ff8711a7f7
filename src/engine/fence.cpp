#include "engine/fence.h"

#include <fmt/format.h>

#include "model/timings.h"
#include "pg/quote.h"
#include "util/log.h"

namespace dbr {

Result<std::vector<std::string>> RolesToFence(const Config& config, pg::Connection& conn) {
  if (!config.cutover.fence_roles.empty()) {
    auto known = conn.Query("SELECT rolname FROM pg_roles WHERE rolname = ANY($1::text[])",
                            {pg::TextArrayLiteral(config.cutover.fence_roles)});
    if (!known.ok()) return known.status();
    if (known->rows() != static_cast<int>(config.cutover.fence_roles.size())) {
      std::string missing;
      for (const auto& r : config.cutover.fence_roles) {
        bool found = false;
        for (int i = 0; i < known->rows(); ++i) found = found || known->Get(i, 0) == r;
        if (!found) missing += (missing.empty() ? "" : ", ") + r;
      }
      return Status::BadConfig("cutover.fence_roles: no such role on the " + conn.params().label +
                               ": " + missing);
    }
    return config.cutover.fence_roles;
  }
  // A user that is not a superuser (a managed server's administrator) cannot fence superusers:
  // there they are the provider's own.
  auto r = conn.Query(
      "SELECT rolname FROM pg_roles WHERE rolcanlogin AND NOT rolname = ANY($1::text[]) "
      "AND rolname !~ '^(pg_|rds)' AND (NOT rolsuper OR (SELECT rolsuper FROM pg_roles WHERE "
      "rolname = current_user)) ORDER BY rolname",
      {pg::TextArrayLiteral({config.src.user, config.dst.user, config.upgrade.user})});
  if (!r.ok()) return r.status();
  std::vector<std::string> roles;
  for (int i = 0; i < r->rows(); ++i) roles.push_back(r->Get(i, 0));
  return roles;
}

Result<std::vector<FencedRole>> CurrentReadOnlySettings(pg::Connection& conn,
                                                        const std::vector<std::string>& roles) {
  std::vector<FencedRole> out;
  for (const auto& role : roles) {
    auto r = conn.Query(R"sql(
      SELECT split_part(c, '=', 2)
        FROM pg_db_role_setting s
        JOIN pg_database d ON d.oid = s.setdatabase AND d.datname = current_database()
        JOIN pg_roles r ON r.oid = s.setrole AND r.rolname = $1,
             unnest(s.setconfig) AS c
       WHERE c LIKE 'default_transaction_read_only=%')sql",
                        {role});
    if (!r.ok()) return r.status();
    out.push_back({role, r->rows() > 0 ? r->Get(0, 0) : ""});
  }
  return out;
}

Status Fence(pg::Connection& conn, const std::vector<FencedRole>& roles) {
  if (roles.empty()) return Status::Ok();
  std::vector<std::string> names;
  for (const auto& f : roles) {
    DBR_RETURN_IF_ERROR(conn.Exec("ALTER ROLE " + pg::QuoteIdent(f.role) + " IN DATABASE " +
                                  pg::QuoteIdent(conn.params().dbname) +
                                  " SET default_transaction_read_only = on"));
    names.push_back(f.role);
  }
  // Sessions opened before the setting keep writing: end them.
  auto ended = conn.QueryValue(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
      "WHERE datname = current_database() AND usename = ANY($1::text[]) "
      "AND pid <> pg_backend_pid()",
      {pg::TextArrayLiteral(names)});
  if (!ended.ok()) return ended.status();
  // pg_terminate_backend only signals: wait until they are gone (one may be mid-commit).
  const PolledWait& wait = Timings::Default().replication.fenced_sessions_end;
  for (int i = 0;; ++i) {
    auto left = conn.QueryValue(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
        "usename = ANY($1::text[]) AND pid <> pg_backend_pid()",
        {pg::TextArrayLiteral(names)});
    if (!left.ok()) return left.status();
    if (*left == "0") break;
    if (i >= wait.Checks())
      return Status::Error(
          fmt::format("{}: {} sessions of the fenced roles did not end within {} s",
                      conn.params().label, *left, wait.LimitSeconds()));
    RealClock().SleepFor(wait.poll);
  }
  log::info("{} fenced: {} roles read-only, {} sessions ended", conn.params().label, roles.size(),
            *ended);
  return Status::Ok();
}

Status LiftFence(pg::Connection& conn, const std::vector<FencedRole>& roles) {
  for (const auto& f : roles) {
    const std::string target = "ALTER ROLE " + pg::QuoteIdent(f.role) + " IN DATABASE " +
                               pg::QuoteIdent(conn.params().dbname);
    DBR_RETURN_IF_ERROR(conn.Exec(
        f.previous.empty()
            ? target + " RESET default_transaction_read_only"
            : target + " SET default_transaction_read_only = " + pg::QuoteLiteral(f.previous)));
  }
  if (!roles.empty())
    log::info("{}: fence lifted from {} roles", conn.params().label, roles.size());
  return Status::Ok();
}

}  // namespace dbr
