// What a Google endpoint says when it refuses: OAuth 2.0 endpoints answer
// {"error": "invalid_grant", "error_description": "..."}, Google APIs
// {"error": {"code": 404, "status": "NOT_FOUND", "message": "..."}}.
#pragma once

#include <string>

#include "util/http.h"
#include "util/status.h"

namespace dbr::gcp {

// "invalid_grant: Bad Request", "NOT_FOUND: The Cloud SQL instance does not exist.", or
// "HTTP 503" when the body says nothing readable.
std::string GoogleErrorText(const HttpResponse& response);

// `message` as a Status: Unavailable for 429 and 5xx (retried by the callers' RetryIf), an error
// otherwise.
Status GoogleFailure(const HttpResponse& response, std::string message);

}  // namespace dbr::gcp
