// How engine mysql connects to the two sides (the counterpart of model/servers.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "mariadb/connection.h"
#include "model/side.h"
#include "mysql/dialect.h"

namespace dbr::mysql {

mariadb::ConnParams SourceParams(const Config& config);
mariadb::ConnParams DestinationParams(const Config& config);
mariadb::ConnParams ParamsOf(const Config& config, Side side);

// The relocated database's name on `side`: dst.name may differ from src.name.
const std::string& DatabaseOn(const Config& config, Side side);
// The databases the copy and the replication carry, as named on `side`: the relocated one and
// db_relocate's own (the heartbeat).
std::vector<std::string> ReplicatedDatabases(const Config& config, Side side);
// The renaming a replication into `side` from the other side applies, when the names differ.
std::optional<DatabaseRewrite> RewriteInto(const Config& config, Side side);

}  // namespace dbr::mysql
