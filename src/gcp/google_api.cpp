#include "gcp/google_api.h"

#include "gcp/google_error.h"
#include "util/http.h"
#include "util/retry.h"

namespace dbr::gcp {

Result<std::optional<nlohmann::json>> CallGoogleApi(TokenCache& tokens, const char* verb,
                                                    const std::string& url,
                                                    const std::string& body,
                                                    const std::string& what) {
  std::optional<nlohmann::json> answer;
  Status st = RetryIf(
      RetryPolicy{.attempts = 5}, what,
      [&]() -> Status {
        auto token = tokens.Get();
        if (!token.ok()) return token.status();
        HttpRequest request{verb, url, {{"Authorization", "Bearer " + *token}}, body};
        if (!body.empty()) request.headers.emplace_back("Content-Type", "application/json");
        auto sent = HttpSend(request);
        if (!sent.ok()) return Status::Unavailable(what + ": " + sent.message());
        if (sent->status == 404) {
          answer.reset();
          return Status::Ok();
        }
        if (sent->status / 100 != 2)
          return GoogleFailure(*sent, what + ": " + GoogleErrorText(*sent));
        auto json = nlohmann::json::parse(sent->body, nullptr, false);
        if (!json.is_object()) return Status::Error(what + ": the answer is not a JSON object");
        answer = std::move(json);
        return Status::Ok();
      },
      [](const Status& failed) { return failed.is_unavailable(); });
  if (!st.ok()) return st;
  return answer;
}

}  // namespace dbr::gcp
