// How engine mysql connects to the two sides (the counterpart of model/servers.h).
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "mariadb/connection.h"
#include "model/side.h"

namespace dbr::mysql {

mariadb::ConnParams SourceParams(const Config& config);
mariadb::ConnParams DestinationParams(const Config& config);
mariadb::ConnParams ParamsOf(const Config& config, Side side);

// The databases the copy and the replication carry: the relocated one and db_relocate's own
// (the heartbeat).
std::vector<std::string> ReplicatedDatabases(const Config& config);

}  // namespace dbr::mysql
