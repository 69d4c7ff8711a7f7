// Calls AWS APIs: the Query protocol (RDS, EC2, STS: form-encoded POST, XML reply) and the JSON
// 1.1 protocol (KMS). Every request is signed (SigV4); throttling, 5xx and transport failures
// are retried with the one retry policy (util/retry); AWS errors come back as values carrying
// the service's code and message.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <pugixml.hpp>
#include <string>

#include "aws/aws_config.h"
#include "aws/credentials.h"
#include "util/http.h"
#include "util/retry.h"
#include "util/status.h"

namespace dbr::aws {

// An error reply from AWS (or a transport failure: http_status 0, code "RequestError").
struct AwsError {
  int http_status = 0;
  std::string code;  // "DBInstanceNotFound", "Throttling", "ExpiredToken", ...
  std::string message;
  std::string request_id;
  bool Retryable() const;  // throttling, 5xx, transport
  // "rds DescribeDBInstances: DBInstanceNotFound: DBInstance shop-db not found."
  std::string Describe(const std::string& service, const std::string& action) const;
};

// Query-protocol parameters, flattened as AWS expects: "VpcSecurityGroupIds.member.1" = "sg-1".
using QueryParams = std::map<std::string, std::string>;

// A parsed Query reply: the document and its <ActionResult> element.
class XmlReply {
 public:
  XmlReply() : doc_(std::make_unique<pugi::xml_document>()) {}
  pugi::xml_document& doc() { return *doc_; }
  pugi::xml_node result() const;  // <ActionNameResult> (EC2: the response root)
  std::string action;

 private:
  std::unique_ptr<pugi::xml_document> doc_;
};

class AwsClient {
 public:
  // `credentials` nullptr: requests go unsigned (STS AssumeRoleWithWebIdentity).
  AwsClient(AwsConfig config, std::unique_ptr<CredentialProvider> credentials,
            RetryPolicy retry = {});

  // https://<service>.<region>.amazonaws.com/, or aws.endpoint_url for every service.
  std::string Endpoint(const std::string& service) const;
  const std::string& region() const { return config_.region; }

  // Query protocol. On an AWS error: a Status whose message is AwsError::Describe, and
  // *error (when given) filled so callers can branch on the code.
  Result<XmlReply> Query(const std::string& service, const std::string& version,
                         const std::string& action, const QueryParams& params,
                         AwsError* error = nullptr);
  // JSON 1.1 protocol: X-Amz-Target = target ("TrentService.DescribeKey").
  Result<nlohmann::json> Json(const std::string& service, const std::string& target,
                              const nlohmann::json& body, AwsError* error = nullptr);

 private:
  AwsConfig config_;
  std::unique_ptr<CredentialProvider> credentials_;
  RetryPolicy retry_;
};

// The AwsError in an error reply: Query (RDS/STS <ErrorResponse>, EC2 <Response><Errors>) and
// JSON 1.1 ({"__type": "...#Code", "message": ...}). A body without one gives code "HTTP <status>".
AwsError ParseQueryError(const HttpResponse& response);
AwsError ParseJsonError(const HttpResponse& response);

// Helpers for reading replies.
std::string Text(const pugi::xml_node& parent, const char* child);  // "" when absent
int64_t Int(const pugi::xml_node& parent, const char* child);       // 0 when absent
bool Bool(const pugi::xml_node& parent, const char* child);         // "true"

}  // namespace dbr::aws
