// The Cloud SQL Admin API v1 (JSON over HTTPS, https://sqladmin.googleapis.com): the instances
// and operations db_relocate reads. Every call carries a token of the TokenCache; 429 and 5xx
// are retried with the project's one retry policy; an error names the call and Google's status
// and message. More calls (insert, clone, patch, delete, users) come with provider cloudsql.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "gcp/credentials.h"
#include "util/clock.h"
#include "util/status.h"

namespace dbr::gcp {

struct SqlInstance {
  std::string name;
  std::string region;
  std::string database_version;              // POSTGRES_15
  std::string state;                         // RUNNABLE, STOPPED, MAINTENANCE, ...
  std::string tier;                          // settings.tier
  std::string primary_ip;                    // ipAddresses[type = PRIMARY]
  std::map<std::string, std::string> flags;  // settings.databaseFlags
};

struct SqlOperation {
  std::string name;
  std::string status;  // PENDING, RUNNING, DONE
  std::string operation_type;
  std::string target_id;
  std::string error;  // the operation's errors, "" when none
  bool done() const { return status == "DONE"; }
};

class SqlAdmin {
 public:
  // `endpoint_url` "" means Google's; a test double's otherwise (gcp.endpoint_url).
  SqlAdmin(std::string endpoint_url, TokenCache& tokens);

  // nullopt when there is no such instance (404).
  Result<std::optional<SqlInstance>> GetInstance(const std::string& project,
                                                 const std::string& instance);
  Result<SqlOperation> GetOperation(const std::string& project, const std::string& operation);
  // Polls the operation every `interval` until DONE, logging its status when it changes: an
  // error when it ended with errors, or when it is not done after `timeout`.
  Result<SqlOperation> WaitForOperation(const std::string& project, const std::string& operation,
                                        Clock::Duration timeout, Clock::Duration interval,
                                        Clock& clock = RealClock());

 private:
  // GET `path` (after /v1/); the JSON body of a 2xx, or nullopt for a 404.
  Result<std::optional<std::string>> Get(const std::string& path);

  std::string base_;
  TokenCache& tokens_;
};

}  // namespace dbr::gcp
