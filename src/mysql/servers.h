// How engine mysql connects to the two sides (the counterpart of model/servers.h).
#pragma once

#include "config/config.h"
#include "mariadb/connection.h"
#include "model/side.h"

namespace dbr::mysql {

mariadb::ConnParams SourceParams(const Config& config);
mariadb::ConnParams DestinationParams(const Config& config);
mariadb::ConnParams ParamsOf(const Config& config, Side side);

}  // namespace dbr::mysql
