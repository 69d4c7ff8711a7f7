// What an RDS instance logged and what AWS said about it: its PostgreSQL log files
// (DescribeDBLogFiles, DownloadDBLogFilePortion) and its events (DescribeEvents), read for the
// snapshot's LSN and for the reason an upgrade did not happen.
#pragma once

#include <chrono>
#include <string>

#include "aws/rds.h"
#include "util/status.h"

namespace dbr {

// One log file of instance `id`, whole (portion by portion).
Result<std::string> DownloadLog(aws::Rds& rds, const std::string& id, const std::string& file);

// Every log file of `id` written since `since`, as one text in the order the files were written
// (a recovery may span a log rotation); `files` gets their number.
Result<std::string> LogsSince(aws::Rds& rds, const std::string& id,
                              std::chrono::system_clock::time_point since, size_t* files);

// The events of `id` (a `source_type`: "db-instance", "db-snapshot") since `since` (ISO 8601)
// that report a failure, one per line; "" when none does.
Result<std::string> FailureEvents(aws::Rds& rds, const std::string& source_type,
                                  const std::string& id, const std::string& since);

// Why AWS did not upgrade instance `id` as asked at `since`: its failure events and the end of
// the pg_upgrade_precheck.log it wrote; "" when it reported no failure.
Result<std::string> UpgradeRefusal(aws::Rds& rds, const std::string& id, const std::string& since);

}  // namespace dbr
