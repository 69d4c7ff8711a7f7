// Cloud Logging API v2 (https://logging.googleapis.com): entries.list, read for a Cloud SQL
// instance's PostgreSQL log (its crash recovery after a clone). Every page is read, oldest first.
#pragma once

#include <string>
#include <vector>

#include "gcp/credentials.h"
#include "util/status.h"

namespace dbr::gcp {

struct LogEntry {
  std::string timestamp;  // RFC 3339, as Google gave it
  std::string text;       // textPayload
};

class CloudLogging {
 public:
  // `endpoint_url` "" means Google's; a test double's otherwise (gcp.endpoint_url).
  CloudLogging(std::string endpoint_url, TokenCache& tokens);

  // The entries of `project` matching `filter` (Google's logging query language), in timestamp
  // order; an error when there are more than `max_entries`.
  Result<std::vector<LogEntry>> List(const std::string& project, const std::string& filter,
                                     size_t max_entries = 100000);

 private:
  std::string url_;
  TokenCache& tokens_;
};

// The filter for the PostgreSQL log of Cloud SQL instance `instance` between two times (RFC 3339).
std::string CloudSqlPostgresLogFilter(const std::string& project, const std::string& instance,
                                      const std::string& from, const std::string& to);

}  // namespace dbr::gcp
