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
// What one relocation makes on the servers, named after its databases (model/names.h's SlotName
// of "db_relocate" and src.name, or src.name->dst.name when they differ), so that relocations
// sharing a server keep apart: a second relocation from one source, or into one destination,
// never reads, replicates or drops the first one's.
struct RelocationNames {
  std::string database;  // db_relocate's own database: made on the source, copied and replicated
  std::string channel;   // the replication into the destination (and the way back's into the
                         // source)
};
RelocationNames NamesOf(const Config& config);

// The databases the copy and the replication carry, as named on `side`: the relocated one and
// the relocation's own (RelocationNames::database).
std::vector<std::string> ReplicatedDatabases(const Config& config, Side side);
// The renaming a replication into `side` from the other side applies, when the names differ.
std::optional<DatabaseRewrite> RewriteInto(const Config& config, Side side);

}  // namespace dbr::mysql
