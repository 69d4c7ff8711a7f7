// Finding PostgreSQL's client programs (pg_dump, pg_restore) of a suitable version.
#pragma once

#include <filesystem>
#include <string>

#include "util/status.h"

namespace dbr::pg {

struct PgTool {
  std::filesystem::path path;
  int major = 0;
  std::string version;  // e.g. "15.18"
};

// The newest `tool` found in `preferred_dir`, /usr/lib/postgresql/*/bin and $PATH, which must be
// of major `min_major` or newer (pg_dump cannot dump a server newer than itself). The error names
// the version needed and what was found.
Result<PgTool> FindPgTool(const std::string& tool, int min_major,
                          const std::string& preferred_dir = "");

}  // namespace dbr::pg
