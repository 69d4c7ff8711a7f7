// PgBouncer's config files as text: what a managed PgBouncer runs with, and the one change a
// cut-over makes to any pgbouncer.ini (the database entry's host and port). Pure functions.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "proxy/proxy.h"
#include "util/status.h"

namespace dbr {

struct PgBouncerFiles {
  std::string logfile;
  std::string pidfile;
};

// An error when cutover.listen is not host:port.
Result<std::string> RenderPgBouncerIni(const CutoverConfig& cutover, const Backend& active,
                                       const PgBouncerFiles& files);

// `text` with the [databases] entry of `database` sending connections to `backend` (its host,
// port and dbname; every other setting of the entry, and every other line, kept as it was).
Result<std::string> PointDatabaseAt(const std::string& text, const std::string& database,
                                    const Backend& backend);

// The host, port and dbname the [databases] entry of `database` names ("" / 0 when unset).
Result<Backend> DatabaseEntry(const std::string& text, const std::string& database);

// auth_file lines: "user" "secret", quotes doubled.
std::string RenderUserlist(const std::vector<std::pair<std::string, std::string>>& users);
// The users an auth_file names: each line's first quoted word (quotes doubled inside), lines of
// another shape skipped, as PgBouncer skips them.
std::vector<std::string> UserlistUsers(const std::string& text);

}  // namespace dbr
