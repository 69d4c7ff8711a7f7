// HTTP(S) over libcurl: one request, its response, and transport failures as values. Shared by
// the cloud clients (AWS, Google).
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "util/status.h"

namespace dbr {

struct HttpRequest {
  std::string method = "POST";
  std::string url;  // scheme://host[:port]/path[?query]
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct HttpResponse {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string Header(const std::string& lower_name) const;  // "" when absent
};

// A Status error only when no response came (refused, timed out, TLS failure); any HTTP
// status, 4xx and 5xx included, is a response.
Result<HttpResponse> HttpSend(const HttpRequest& request,
                              std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace dbr
