#include "aws/client.h"

#include <algorithm>
#include <optional>
#include <set>

#include "aws/sigv4.h"
#include "util/log.h"

namespace dbr::aws {
namespace {

bool IsExpired(const std::string& code) {
  return code == "ExpiredToken" || code == "ExpiredTokenException" || code == "RequestExpired";
}

std::string Trimmed(std::string s, size_t max) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  if (s.size() > max) s = s.substr(0, max) + "...";
  return s;
}

// A reply without a recognisable error body (a proxy's HTML page, an empty 503).
void FallBackToStatus(const HttpResponse& response, AwsError& error) {
  if (error.code.empty()) {
    error.code = "HTTP " + std::to_string(response.status);
    if (error.message.empty())
      error.message =
          response.body.empty() ? "no error details in the reply" : Trimmed(response.body, 300);
  }
  if (error.request_id.empty()) error.request_id = response.Header("x-amzn-requestid");
  if (error.request_id.empty()) error.request_id = response.Header("x-amz-request-id");
}

}  // namespace

// RDS/STS: <ErrorResponse><Error><Code/><Message/></Error><RequestId/>;
// EC2: <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/>.
AwsError ParseQueryError(const HttpResponse& response) {
  AwsError error;
  error.http_status = response.status;
  pugi::xml_document doc;
  if (doc.load_buffer(response.body.data(), response.body.size())) {
    pugi::xml_node root = doc.document_element();
    pugi::xml_node node = root.child("Error");
    if (!node) node = root.child("Errors").child("Error");
    error.code = Text(node, "Code");
    error.message = Text(node, "Message");
    error.request_id = Text(root, "RequestId");
    if (error.request_id.empty()) error.request_id = Text(root, "RequestID");
  }
  FallBackToStatus(response, error);
  return error;
}

// {"__type": "com.amazonaws.kms#NotFoundException", "message": "..."}; the type may also come as
// the x-amzn-ErrorType header, "Code:http://internal.amazon.com/...".
AwsError ParseJsonError(const HttpResponse& response) {
  AwsError error;
  error.http_status = response.status;
  std::string type = response.Header("x-amzn-errortype");
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  if (body.is_object()) {
    if (body.contains("__type") && body["__type"].is_string()) type = body["__type"];
    for (const char* key : {"message", "Message"})
      if (body.contains(key) && body[key].is_string()) error.message = body[key];
  }
  if (size_t hash = type.rfind('#'); hash != std::string::npos) type.erase(0, hash + 1);
  if (size_t colon = type.find(':'); colon != std::string::npos) type.erase(colon);
  error.code = type;
  FallBackToStatus(response, error);
  return error;
}

namespace {

struct Call {
  std::string service;
  std::string action;
  std::string region;
  HttpRequest request;  // unsigned; signed afresh for every attempt
  AwsError (*parse_error)(const HttpResponse&);
};

// Sends `call`, retrying what AWS says to retry; refreshes expired credentials once.
Result<HttpResponse> Perform(const Call& call, CredentialProvider* credentials,
                             const RetryPolicy& policy, AwsError* error_out) {
  const std::string what = call.service + " " + call.action;
  std::optional<HttpResponse> reply;
  AwsError last;
  bool retryable = false;
  bool refreshed = false;
  std::string source;
  auto attempt = [&]() -> Status {
    for (;;) {
      retryable = false;
      HttpRequest request = call.request;
      if (credentials != nullptr) {
        Result<Credentials> found = credentials->Get();
        if (!found.ok()) {
          last = AwsError{0, "NoCredentials", found.message(), ""};
          return found.status().Wrap(what);
        }
        source = found->source;
        SignV4(request, *found,
               SigningInput{call.service, call.region, std::chrono::system_clock::now()});
      }
      Result<HttpResponse> response = HttpSend(request);
      if (!response.ok()) {
        last = AwsError{0, "RequestError", response.message(), ""};
      } else if (response->status >= 200 && response->status < 300) {
        reply = std::move(response).value();
        return Status::Ok();
      } else {
        last = call.parse_error(*response);
      }
      if (IsExpired(last.code) && credentials != nullptr && !refreshed) {
        log::info("{}: the AWS credentials from {} have expired; fetching new ones", what, source);
        refreshed = true;
        credentials->Invalidate();
        continue;
      }
      retryable = last.Retryable();
      return Status::Error(last.Describe(call.service, call.action));
    }
  };
  Status status = RetryIf(policy, what, attempt, [&](const Status&) { return retryable; });
  if (status.ok()) return std::move(*reply);
  if (error_out != nullptr) *error_out = last;
  if (IsExpired(last.code) && !source.empty())
    return Status::Error("AWS credentials from " + source +
                         " have expired: " + last.Describe(call.service, call.action));
  return status;
}

HttpRequest BaseRequest(const std::string& url, const std::string& content_type, std::string body) {
  HttpRequest request;
  request.method = "POST";
  request.url = url;
  request.headers = {{"Content-Type", content_type},
                     {"User-Agent", std::string("db_relocate/") + DBR_VERSION}};
  request.body = std::move(body);
  return request;
}

}  // namespace

bool AwsError::Retryable() const {
  static const std::set<std::string> kThrottling = {"Throttling",
                                                    "ThrottlingException",
                                                    "RequestLimitExceeded",
                                                    "RequestThrottled",
                                                    "TooManyRequestsException",
                                                    "PriorRequestNotComplete",
                                                    "RequestThrottledException"};
  return http_status == 0 || http_status >= 500 || kThrottling.count(code) > 0;
}

std::string AwsError::Describe(const std::string& service, const std::string& action) const {
  std::string text = service + " " + action + ": " + code;
  if (!message.empty()) text += ": " + message;
  return text;
}

pugi::xml_node XmlReply::result() const {
  pugi::xml_node root = doc_->document_element();
  pugi::xml_node result = root.child((action + "Result").c_str());
  return result ? result : root;
}

AwsClient::AwsClient(AwsConfig config, std::unique_ptr<CredentialProvider> credentials,
                     RetryPolicy retry)
    : config_(std::move(config)), credentials_(std::move(credentials)), retry_(retry) {}

std::string AwsClient::Endpoint(const std::string& service) const {
  if (!config_.endpoint_url.empty()) {
    std::string url = config_.endpoint_url;
    size_t scheme = url.find("://");
    size_t authority = scheme == std::string::npos ? 0 : scheme + 3;
    if (url.find('/', authority) == std::string::npos) url += '/';
    return url;
  }
  bool china = config_.region.rfind("cn-", 0) == 0;
  return "https://" + service + "." + config_.region +
         (china ? ".amazonaws.com.cn/" : ".amazonaws.com/");
}

Result<XmlReply> AwsClient::Query(const std::string& service, const std::string& version,
                                  const std::string& action, const QueryParams& params,
                                  AwsError* error) {
  std::string body = "Action=" + UriEncode(action) + "&Version=" + UriEncode(version);
  for (const auto& [key, value] : params) body += "&" + UriEncode(key) + "=" + UriEncode(value);
  Call call{service, action, config_.region,
            BaseRequest(Endpoint(service), "application/x-www-form-urlencoded; charset=utf-8",
                        std::move(body)),
            ParseQueryError};
  DBR_ASSIGN_OR_RETURN(HttpResponse response, Perform(call, credentials_.get(), retry_, error));
  XmlReply reply;
  reply.action = action;
  pugi::xml_parse_result parsed =
      reply.doc().load_buffer(response.body.data(), response.body.size());
  if (!parsed) {
    if (error != nullptr)
      *error =
          AwsError{static_cast<int>(response.status), "InvalidReply", parsed.description(), ""};
    return Status::Error(service + " " + action + ": the reply from " + Endpoint(service) +
                         " is not XML (" + parsed.description() + ")");
  }
  return reply;
}

Result<nlohmann::json> AwsClient::Json(const std::string& service, const std::string& target,
                                       const nlohmann::json& body, AwsError* error) {
  std::string action = target.substr(target.find('.') + 1);
  HttpRequest request = BaseRequest(Endpoint(service), "application/x-amz-json-1.1", body.dump());
  request.headers.emplace_back("X-Amz-Target", target);
  Call call{service, action, config_.region, std::move(request), ParseJsonError};
  DBR_ASSIGN_OR_RETURN(HttpResponse response, Perform(call, credentials_.get(), retry_, error));
  if (response.body.empty()) return nlohmann::json::object();
  nlohmann::json reply = nlohmann::json::parse(response.body, nullptr, false);
  if (reply.is_discarded()) {
    if (error != nullptr)
      *error = AwsError{static_cast<int>(response.status), "InvalidReply", "not JSON", ""};
    return Status::Error(service + " " + action + ": the reply from " + Endpoint(service) +
                         " is not JSON");
  }
  return reply;
}

std::string Text(const pugi::xml_node& parent, const char* child) {
  return parent.child(child).text().as_string();
}

int64_t Int(const pugi::xml_node& parent, const char* child) {
  return parent.child(child).text().as_llong(0);
}

bool Bool(const pugi::xml_node& parent, const char* child) {
  return std::string(parent.child(child).text().as_string()) == "true";
}

}  // namespace dbr::aws
