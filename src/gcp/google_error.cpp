#include "gcp/google_error.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "gcp/json_field.h"

namespace dbr::gcp {

std::string GoogleErrorText(const HttpResponse& response) {
  auto json = nlohmann::json::parse(response.body, nullptr, false);
  std::string code, text;
  if (json.is_object() && json.contains("error")) {
    const auto& e = json["error"];
    if (e.is_string()) {
      code = e.get<std::string>();
      text = StringField(json, "error_description");
    } else {
      code = StringField(e, "status");
      text = StringField(e, "message");
    }
  }
  if (code.empty() && text.empty()) return fmt::format("HTTP {}", response.status);
  if (code.empty() || text.empty()) return code + text;
  return code + ": " + text;
}

Status GoogleFailure(const HttpResponse& response, std::string message) {
  if (response.status == 429 || response.status >= 500)
    return Status::Unavailable(std::move(message));
  return Status::Error(std::move(message));
}

}  // namespace dbr::gcp
