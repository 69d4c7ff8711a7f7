#include "gcp/sqladmin.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "gcp/google_api.h"
#include "gcp/json_field.h"
#include "gcp/percent_encode.h"
#include "util/log.h"
#include "util/poll.h"

namespace dbr::gcp {
namespace {

constexpr const char* kSqlAdminEndpoint = "https://sqladmin.googleapis.com";

SqlInstance ParseInstance(const nlohmann::json& json) {
  SqlInstance out{StringField(json, "name"),
                  StringField(json, "region"),
                  StringField(json, "databaseVersion"),
                  StringField(json, "state"),
                  "",
                  "",
                  {},
                  nlohmann::json::object()};
  if (auto settings = json.find("settings"); settings != json.end() && settings->is_object()) {
    out.settings = *settings;
    out.tier = StringField(*settings, "tier");
    if (auto flags = settings->find("databaseFlags"); flags != settings->end() && flags->is_array())
      for (const auto& flag : *flags)
        if (flag.is_object()) out.flags[StringField(flag, "name")] = StringField(flag, "value");
  }
  if (auto ips = json.find("ipAddresses"); ips != json.end() && ips->is_array())
    for (const auto& ip : *ips)
      if (ip.is_object() && StringField(ip, "type") == "PRIMARY")
        out.primary_ip = StringField(ip, "ipAddress");
  return out;
}

SqlOperation ParseOperation(const nlohmann::json& json) {
  SqlOperation out{StringField(json, "name"), StringField(json, "status"),
                   StringField(json, "operationType"), StringField(json, "targetId"), ""};
  if (auto error = json.find("error"); error != json.end() && error->is_object()) {
    if (auto errors = error->find("errors"); errors != error->end() && errors->is_array())
      for (const auto& e : *errors)
        if (e.is_object())
          out.error += (out.error.empty() ? "" : "; ") + StringField(e, "code") + ": " +
                       StringField(e, "message");
  }
  return out;
}

}  // namespace

SqlAdmin::SqlAdmin(std::string endpoint_url, TokenCache& tokens)
    : base_((endpoint_url.empty() ? kSqlAdminEndpoint : endpoint_url) + std::string("/v1/")),
      tokens_(tokens) {}

Result<std::optional<nlohmann::json>> SqlAdmin::Call(const char* verb, const std::string& path,
                                                     const std::string& body) {
  return CallGoogleApi(tokens_, verb, base_ + path, body,
                       fmt::format("Cloud SQL Admin API {} /v1/{}", verb, path));
}

Result<SqlOperation> SqlAdmin::Mutate(const char* verb, const std::string& path,
                                      const nlohmann::json& body) {
  DBR_ASSIGN_OR_RETURN(auto answer, Call(verb, path, body.is_null() ? "" : body.dump()));
  if (!answer)
    return Status::Error(fmt::format("Cloud SQL Admin API {} /v1/{}: not found", verb, path));
  return ParseOperation(*answer);
}

Result<std::optional<SqlInstance>> SqlAdmin::GetInstance(const std::string& project,
                                                         const std::string& instance) {
  DBR_ASSIGN_OR_RETURN(auto answer, Call("GET", "projects/" + project + "/instances/" + instance));
  if (!answer) return std::optional<SqlInstance>();
  return std::optional<SqlInstance>(ParseInstance(*answer));
}

Result<SqlOperation> SqlAdmin::GetOperation(const std::string& project,
                                            const std::string& operation) {
  DBR_ASSIGN_OR_RETURN(auto answer,
                       Call("GET", "projects/" + project + "/operations/" + operation));
  if (!answer) return Status::Error("Cloud SQL operation " + operation + " does not exist");
  return ParseOperation(*answer);
}

Result<SqlOperation> SqlAdmin::InsertInstance(const std::string& project,
                                              const nlohmann::json& instance) {
  return Mutate("POST", "projects/" + project + "/instances", instance);
}

Result<SqlOperation> SqlAdmin::PatchInstance(const std::string& project,
                                             const std::string& instance,
                                             const nlohmann::json& patch) {
  return Mutate("PATCH", "projects/" + project + "/instances/" + instance, patch);
}

Result<SqlOperation> SqlAdmin::CloneInstance(const std::string& project,
                                             const std::string& instance,
                                             const std::string& clone) {
  return Mutate(
      "POST", "projects/" + project + "/instances/" + instance + "/clone",
      {{"cloneContext", {{"kind", "sql#cloneContext"}, {"destinationInstanceName", clone}}}});
}

Result<std::optional<SqlOperation>> SqlAdmin::DeleteInstance(const std::string& project,
                                                             const std::string& instance) {
  DBR_ASSIGN_OR_RETURN(auto answer,
                       Call("DELETE", "projects/" + project + "/instances/" + instance));
  if (!answer) return std::optional<SqlOperation>();
  return std::optional<SqlOperation>(ParseOperation(*answer));
}

Result<SqlOperation> SqlAdmin::InsertUser(const std::string& project, const std::string& instance,
                                          const std::string& name, const std::string& password) {
  return Mutate("POST", "projects/" + project + "/instances/" + instance + "/users",
                {{"name", name}, {"password", password}});
}

Result<SqlOperation> SqlAdmin::UpdateUser(const std::string& project, const std::string& instance,
                                          const std::string& name, const std::string& password) {
  return Mutate(
      "PUT",
      "projects/" + project + "/instances/" + instance + "/users?name=" + PercentEncode(name),
      {{"name", name}, {"password", password}});
}

Result<SqlOperation> SqlAdmin::WaitForOperation(const std::string& project,
                                                const std::string& operation,
                                                Clock::Duration timeout, Clock::Duration interval,
                                                Clock& clock) {
  SqlOperation last;
  auto done = PollUntil(clock, timeout, interval, [&]() -> Result<bool> {
    DBR_ASSIGN_OR_RETURN(SqlOperation now, GetOperation(project, operation));
    if (now.status != last.status)
      log::info("Cloud SQL operation {} ({} of {}): {}", operation, now.operation_type,
                now.target_id, now.status);
    last = std::move(now);
    return last.done();
  });
  if (!done.ok()) return done.status();
  if (!*done)
    return Status::Error(
        fmt::format("Cloud SQL operation {} ({} of {}) is still {} after {} s", operation,
                    last.operation_type, last.target_id, last.status,
                    std::chrono::duration_cast<std::chrono::seconds>(timeout).count()));
  if (!last.error.empty())
    return Status::Error(fmt::format("Cloud SQL operation {} ({} of {}) failed: {}", operation,
                                     last.operation_type, last.target_id, last.error));
  return last;
}

}  // namespace dbr::gcp
