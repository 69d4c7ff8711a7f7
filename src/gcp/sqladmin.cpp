#include "gcp/sqladmin.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "gcp/google_error.h"
#include "gcp/json_field.h"
#include "util/http.h"
#include "util/log.h"
#include "util/poll.h"
#include "util/retry.h"

namespace dbr::gcp {
namespace {

constexpr const char* kGoogleEndpoint = "https://sqladmin.googleapis.com";

SqlInstance ParseInstance(const nlohmann::json& json) {
  SqlInstance out{StringField(json, "name"),
                  StringField(json, "region"),
                  StringField(json, "databaseVersion"),
                  StringField(json, "state"),
                  "",
                  "",
                  {}};
  if (auto settings = json.find("settings"); settings != json.end() && settings->is_object()) {
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
    : base_((endpoint_url.empty() ? kGoogleEndpoint : endpoint_url) + std::string("/v1/")),
      tokens_(tokens) {}

Result<std::optional<std::string>> SqlAdmin::Get(const std::string& path) {
  const std::string what = "Cloud SQL Admin API GET /v1/" + path;
  std::optional<std::string> body;
  Status st = RetryIf(
      RetryPolicy{.attempts = 5}, what,
      [&]() -> Status {
        auto token = tokens_.Get();
        if (!token.ok()) return token.status();
        auto sent = HttpSend({"GET", base_ + path, {{"Authorization", "Bearer " + *token}}, ""});
        if (!sent.ok()) return Status::Unavailable(what + ": " + sent.message());
        if (sent->status / 100 == 2) {
          body = sent->body;
          return Status::Ok();
        }
        if (sent->status == 404) {
          body.reset();
          return Status::Ok();
        }
        return GoogleFailure(*sent, what + ": " + GoogleErrorText(*sent));
      },
      [](const Status& failed) { return failed.is_unavailable(); });
  if (!st.ok()) return st;
  return body;
}

Result<std::optional<SqlInstance>> SqlAdmin::GetInstance(const std::string& project,
                                                         const std::string& instance) {
  DBR_ASSIGN_OR_RETURN(auto body, Get("projects/" + project + "/instances/" + instance));
  if (!body) return std::optional<SqlInstance>();
  auto json = nlohmann::json::parse(*body, nullptr, false);
  if (!json.is_object())
    return Status::Error("Cloud SQL Admin API: instance " + instance + ": the answer is not JSON");
  return std::optional<SqlInstance>(ParseInstance(json));
}

Result<SqlOperation> SqlAdmin::GetOperation(const std::string& project,
                                            const std::string& operation) {
  DBR_ASSIGN_OR_RETURN(auto body, Get("projects/" + project + "/operations/" + operation));
  if (!body) return Status::Error("Cloud SQL operation " + operation + " does not exist");
  auto json = nlohmann::json::parse(*body, nullptr, false);
  if (!json.is_object())
    return Status::Error("Cloud SQL Admin API: operation " + operation +
                         ": the answer is not JSON");
  return ParseOperation(json);
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
