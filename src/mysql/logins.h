// The application's accounts on the new side of a switch (issue #25): it logs in through the
// proxy with the same name and password on either side, and `run` copies the database, not the
// server's accounts.
#pragma once

#include <string>
#include <vector>

#include "mariadb/connection.h"
#include "util/status.h"

namespace dbr::mysql {

// Each account holding privileges on `from_database` (or on its tables) on `from`, bar the users
// of `except`, that `to` lacks is created there as on `from` (SHOW CREATE USER, with its password
// hash) with the same grants (SHOW GRANTS), those on the database given on `to_database`.
// Accounts `to` has already are left as they are. The number created. The statements carry
// password hashes: they are never printed.
Result<int> SyncAccounts(mariadb::Connection& from, mariadb::Connection& to,
                         const std::string& from_database, const std::string& to_database,
                         const std::vector<std::string>& except);

}  // namespace dbr::mysql
