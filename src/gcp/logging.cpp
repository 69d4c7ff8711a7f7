#include "gcp/logging.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "gcp/google_api.h"
#include "gcp/json_field.h"

namespace dbr::gcp {
namespace {

constexpr const char* kLoggingEndpoint = "https://logging.googleapis.com";
constexpr int kPageSize = 1000;

}  // namespace

CloudLogging::CloudLogging(std::string endpoint_url, TokenCache& tokens)
    : url_((endpoint_url.empty() ? kLoggingEndpoint : endpoint_url) +
           std::string("/v2/entries:list")),
      tokens_(tokens) {}

Result<std::vector<LogEntry>> CloudLogging::List(const std::string& project,
                                                 const std::string& filter, size_t max_entries) {
  std::vector<LogEntry> out;
  std::string page;
  do {
    nlohmann::json request = {{"resourceNames", {"projects/" + project}},
                              {"filter", filter},
                              {"orderBy", "timestamp asc"},
                              {"pageSize", kPageSize}};
    if (!page.empty()) request["pageToken"] = page;
    DBR_ASSIGN_OR_RETURN(auto answer, CallGoogleApi(tokens_, "POST", url_, request.dump(),
                                                    "Cloud Logging entries.list"));
    if (!answer) return Status::Error("Cloud Logging entries.list: not found (" + url_ + ")");
    if (auto entries = answer->find("entries"); entries != answer->end() && entries->is_array())
      for (const auto& e : *entries)
        out.push_back({StringField(e, "timestamp"), StringField(e, "textPayload")});
    if (out.size() > max_entries)
      return Status::Error(fmt::format(
          "Cloud Logging entries.list: more than {} entries match; narrow the time window",
          max_entries));
    page = StringField(*answer, "nextPageToken");
  } while (!page.empty());
  return out;
}

std::string CloudSqlPostgresLogFilter(const std::string& project, const std::string& instance,
                                      const std::string& from, const std::string& to) {
  return fmt::format(
      "resource.type=\"cloudsql_database\" AND resource.labels.database_id=\"{0}:{1}\" AND "
      "logName=\"projects/{0}/logs/cloudsql.googleapis.com%2Fpostgres.log\" AND "
      "timestamp>=\"{2}\" AND timestamp<=\"{3}\"",
      project, instance, from, to);
}

}  // namespace dbr::gcp
