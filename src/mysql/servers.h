// How engine mysql connects to the two sides (the counterpart of model/servers.h).
#pragma once

#include "config/config.h"
#include "mariadb/connection.h"

namespace dbr::mysql {

mariadb::ConnParams SourceParams(const Config& config);
mariadb::ConnParams DestinationParams(const Config& config);

}  // namespace dbr::mysql
