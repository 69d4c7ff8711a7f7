// The Cloud SQL Admin API v1 (JSON over HTTPS, https://sqladmin.googleapis.com): the instances,
// users and operations db_relocate reads and makes. Every call carries a token of the
// TokenCache; 429 and 5xx are retried with the project's one retry policy; an error names the
// call and Google's status and message. A mutating call answers with an Operation: record its
// name before waiting on it (WaitForOperation), so that a run killed meanwhile waits again.
#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
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
  nlohmann::json settings;                   // the whole settings object, as Google gave it
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

  // instances.insert of `instance` (a DatabaseInstance); an error when the name is taken.
  Result<SqlOperation> InsertInstance(const std::string& project, const nlohmann::json& instance);
  // instances.delete; nullopt when there is no such instance.
  Result<std::optional<SqlOperation>> DeleteInstance(const std::string& project,
                                                     const std::string& instance);
  // instances.patch: the fields `patch` (a partial DatabaseInstance) sets; databaseFlags replace
  // every flag, and a flag that needs one restarts the instance.
  Result<SqlOperation> PatchInstance(const std::string& project, const std::string& instance,
                                     const nlohmann::json& patch);
  // instances.clone of `instance` as a new instance `clone` (a physical copy, same version).
  Result<SqlOperation> CloneInstance(const std::string& project, const std::string& instance,
                                     const std::string& clone);
  // users.insert of a built-in (password) user, and users.update of its password.
  Result<SqlOperation> InsertUser(const std::string& project, const std::string& instance,
                                  const std::string& name, const std::string& password);
  Result<SqlOperation> UpdateUser(const std::string& project, const std::string& instance,
                                  const std::string& name, const std::string& password);
  // Polls the operation every `interval` until DONE, logging its status when it changes: an
  // error when it ended with errors, or when it is not done after `timeout`.
  Result<SqlOperation> WaitForOperation(const std::string& project, const std::string& operation,
                                        Clock::Duration timeout, Clock::Duration interval,
                                        Clock& clock = RealClock());

 private:
  // `verb` `path` (after /v1/) with a JSON `body` ("" for none): the JSON answer of a 2xx, or
  // nullopt for a 404.
  Result<std::optional<nlohmann::json>> Call(const char* verb, const std::string& path,
                                             const std::string& body = "");
  Result<SqlOperation> Mutate(const char* verb, const std::string& path,
                              const nlohmann::json& body);

  std::string base_;
  TokenCache& tokens_;
};

}  // namespace dbr::gcp
