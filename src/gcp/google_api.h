// One call to a Google JSON API (Cloud SQL Admin, Cloud Logging): the token of a TokenCache,
// 429 and 5xx retried with the project's one retry policy, Google's error named.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "gcp/credentials.h"
#include "util/status.h"

namespace dbr::gcp {

// `verb` `url` with a JSON `body` ("" for none); `what` names the call in messages ("Cloud SQL
// Admin API GET /v1/..."). The JSON answer of a 2xx, or nullopt for a 404.
Result<std::optional<nlohmann::json>> CallGoogleApi(TokenCache& tokens, const char* verb,
                                                    const std::string& url,
                                                    const std::string& body,
                                                    const std::string& what);

}  // namespace dbr::gcp
