// Connection parameters of the two sides, built from the config in one place.
#pragma once

#include "config/config.h"
#include "pg/connection.h"

namespace dbr {

pg::ConnParams SourceParams(const Config& config);
pg::ConnParams DestinationParams(const Config& config);

}  // namespace dbr
