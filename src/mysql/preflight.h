// Pre-flight checks of engine mysql (issue #25): what a relocation of a MySQL or MariaDB
// database needs of the two servers, checked before anything is changed. The same report as
// PostgreSQL's (model/checks.h): PASS, WARN or FAIL, the objects at fault and how to fix them.
#pragma once

#include <cstdint>

#include "config/config.h"
#include "mariadb/server_version.h"
#include "model/checks.h"

namespace dbr::mysql {

// `destination_is_ours`: a run resuming after its copy started: the destination's tables are
// the relocation's own.
PreflightReport RunPreflight(const Config& config, bool destination_is_ours = false);

// The rules that need no server, for tests of the cases one machine cannot hold (MySQL and
// MariaDB of several versions).

// Same flavour, a supported release on both sides, the destination not older than the source.
CheckResult CompareVersions(const mariadb::ServerVersion& src, const mariadb::ServerVersion& dst);
// The source keeps its binary logs long enough for a copy of `bytes` (0 seconds: never purged).
CheckResult CompareRetention(int64_t retention_seconds, int64_t bytes);

}  // namespace dbr::mysql
