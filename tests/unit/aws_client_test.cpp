#include <gtest/gtest.h>

#include <chrono>

#include "aws/client.h"
#include "aws_test_support.h"

namespace dbr::aws {
namespace {

using testing::MetadataDouble;

constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr const char* kToken = "FwoGZXIvYXdzSESSIONTOKEN";

class CountingCredentials : public CredentialProvider {
 public:
  Result<Credentials> Get() override {
    ++gets;
    return Credentials{"ASIAEXAMPLE", kSecret, kToken, {}, "the test provider"};
  }
  void Invalidate() override { ++invalidations; }
  int gets = 0;
  int invalidations = 0;
};

HttpResponse Reply(long status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

void ExpectNoSecrets(const std::string& text) {
  EXPECT_EQ(text.find(kSecret), std::string::npos) << text;
  EXPECT_EQ(text.find(kToken), std::string::npos) << text;
  EXPECT_EQ(text.find("Signature="), std::string::npos) << text;
}

TEST(AwsErrorParsing, RdsErrorResponse) {
  AwsError error =
      ParseQueryError(Reply(404,
                            "<ErrorResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\">"
                            "<Error><Type>Sender</Type><Code>DBInstanceNotFound</Code>"
                            "<Message>DBInstance shop-db not found.</Message></Error>"
                            "<RequestId>5e7c2a9d-1111</RequestId></ErrorResponse>"));
  EXPECT_EQ(error.http_status, 404);
  EXPECT_EQ(error.code, "DBInstanceNotFound");
  EXPECT_EQ(error.message, "DBInstance shop-db not found.");
  EXPECT_EQ(error.request_id, "5e7c2a9d-1111");
  EXPECT_FALSE(error.Retryable());
  EXPECT_EQ(error.Describe("rds", "DescribeDBInstances"),
            "rds DescribeDBInstances: DBInstanceNotFound: DBInstance shop-db not found.");
}

TEST(AwsErrorParsing, Ec2Response) {
  AwsError error = ParseQueryError(
      Reply(503,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error>"
            "<Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message>"
            "</Error></Errors><RequestID>ea966190-f9aa-478e</RequestID></Response>"));
  EXPECT_EQ(error.code, "RequestLimitExceeded");
  EXPECT_EQ(error.message, "Request limit exceeded.");
  EXPECT_EQ(error.request_id, "ea966190-f9aa-478e");
  EXPECT_TRUE(error.Retryable());
}

TEST(AwsErrorParsing, JsonWithNamespacedTypeAndEitherMessageCase) {
  AwsError error = ParseJsonError(Reply(
      400,
      R"({"__type":"com.amazonaws.kms#NotFoundException","message":"Alias alias/x is not found."})"));
  EXPECT_EQ(error.code, "NotFoundException");
  EXPECT_EQ(error.message, "Alias alias/x is not found.");
  error =
      ParseJsonError(Reply(400, R"({"__type":"ThrottlingException","Message":"Rate exceeded"})"));
  EXPECT_EQ(error.code, "ThrottlingException");
  EXPECT_EQ(error.message, "Rate exceeded");
  EXPECT_TRUE(error.Retryable());
}

TEST(AwsErrorParsing, UnrecognisedBodyFallsBackToTheStatus) {
  AwsError error = ParseQueryError(Reply(502, "<html>Bad Gateway</html>"));
  EXPECT_EQ(error.code, "HTTP 502");
  EXPECT_TRUE(error.Retryable());
  error = ParseJsonError(Reply(403, ""));
  EXPECT_EQ(error.code, "HTTP 403");
  EXPECT_EQ(error.message, "no error details in the reply");
  EXPECT_FALSE(error.Retryable());
}

TEST(AwsErrorParsing, WhatIsRetryable) {
  for (const char* code :
       {"Throttling", "ThrottlingException", "RequestLimitExceeded", "RequestThrottled",
        "TooManyRequestsException", "PriorRequestNotComplete"})
    EXPECT_TRUE((AwsError{400, code, "", ""}.Retryable())) << code;
  EXPECT_TRUE((AwsError{500, "InternalFailure", "", ""}.Retryable()));
  EXPECT_TRUE((AwsError{0, "RequestError", "connection refused", ""}.Retryable()));
  for (const char* code :
       {"ValidationError", "AccessDenied", "ExpiredToken", "InvalidParameterValue"})
    EXPECT_FALSE((AwsError{400, code, "", ""}.Retryable())) << code;
}

TEST(AwsXmlReply, ResultIsTheActionResultOrTheEc2Root) {
  XmlReply rds;
  rds.action = "DescribeDBInstances";
  ASSERT_TRUE(rds.doc().load_string(
      "<DescribeDBInstancesResponse><DescribeDBInstancesResult><DBInstances/>"
      "<Marker>m</Marker></DescribeDBInstancesResult></DescribeDBInstancesResponse>"));
  EXPECT_EQ(Text(rds.result(), "Marker"), "m");
  XmlReply ec2;
  ec2.action = "DescribeSecurityGroups";
  ASSERT_TRUE(ec2.doc().load_string(
      "<DescribeSecurityGroupsResponse><requestId>r</requestId><count>3</count>"
      "<flag>true</flag></DescribeSecurityGroupsResponse>"));
  EXPECT_EQ(Text(ec2.result(), "requestId"), "r");
  EXPECT_EQ(Int(ec2.result(), "count"), 3);
  EXPECT_TRUE(Bool(ec2.result(), "flag"));
  EXPECT_EQ(Text(ec2.result(), "absent"), "");
  EXPECT_EQ(Int(ec2.result(), "absent"), 0);
}

TEST(AwsClientEndpoint, RegionalOrTheOverride) {
  AwsClient regional(AwsConfig{"", "eu-central-1", ""}, std::make_unique<CountingCredentials>());
  EXPECT_EQ(regional.Endpoint("rds"), "https://rds.eu-central-1.amazonaws.com/");
  AwsClient china(AwsConfig{"", "cn-north-1", ""}, std::make_unique<CountingCredentials>());
  EXPECT_EQ(china.Endpoint("ec2"), "https://ec2.cn-north-1.amazonaws.com.cn/");
  AwsClient local(AwsConfig{"", "eu-central-1", "http://127.0.0.1:4566"},
                  std::make_unique<CountingCredentials>());
  EXPECT_EQ(local.Endpoint("rds"), "http://127.0.0.1:4566/");
  EXPECT_EQ(local.Endpoint("kms"), "http://127.0.0.1:4566/");
}

class AwsClientAgainstDouble : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(double_.ok()) << double_.error(); }

  AwsClient Client(RetryPolicy retry = {5, std::chrono::milliseconds(1),
                                        std::chrono::milliseconds(5)}) {
    auto credentials = std::make_unique<CountingCredentials>();
    credentials_ = credentials.get();
    return AwsClient(AwsConfig{"", "eu-west-1", double_.url()}, std::move(credentials), retry);
  }

  int Count(const std::string& action) {
    Result<HttpResponse> reply =
        HttpSend(HttpRequest{"GET", double_.url() + "/__count/" + action, {}, ""});
    return reply.ok() ? std::stoi(reply->body) : -1;
  }

  MetadataDouble double_;
  CountingCredentials* credentials_ = nullptr;
};

TEST_F(AwsClientAgainstDouble, ThrottlingIsRetriedWithBackoffUntilItSucceeds) {
  AwsClient client = Client({5, std::chrono::milliseconds(40), std::chrono::milliseconds(1000)});
  auto start = std::chrono::steady_clock::now();
  Result<XmlReply> reply = client.Query("rds", "2014-10-31", "ThrottleTwice", {{"A", "b c"}});
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(reply.ok()) << reply.message();
  EXPECT_EQ(Text(reply->result(), "Attempt"), "3");
  EXPECT_EQ(Count("ThrottleTwice"), 3);
  // Full jitter keeps at least half of each delay: 20 ms after the first, 40 ms after the second.
  EXPECT_GE(elapsed, std::chrono::milliseconds(60));
}

TEST_F(AwsClientAgainstDouble, A5xxIsRetried) {
  AwsClient client = Client();
  Result<XmlReply> reply = client.Query("rds", "2014-10-31", "FailOnce", {});
  ASSERT_TRUE(reply.ok()) << reply.message();
  EXPECT_EQ(Count("FailOnce"), 2);
}

TEST_F(AwsClientAgainstDouble, APermanentErrorIsNotRetriedAndNamesServiceAndAction) {
  AwsClient client = Client();
  AwsError error;
  Result<XmlReply> reply = client.Query("rds", "2014-10-31", "Permanent", {}, &error);
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(Count("Permanent"), 1);
  EXPECT_EQ(reply.message(), "rds Permanent: ValidationError: DBInstanceIdentifier is not valid");
  EXPECT_EQ(error.code, "ValidationError");
  EXPECT_EQ(error.http_status, 400);
  EXPECT_EQ(error.request_id, "req-1");
  ExpectNoSecrets(reply.message());
}

TEST_F(AwsClientAgainstDouble, ExpiredCredentialsAreRefreshedOnce) {
  AwsClient client = Client();
  Result<XmlReply> reply = client.Query("sts", "2011-06-15", "ExpireOnce", {});
  ASSERT_TRUE(reply.ok()) << reply.message();
  EXPECT_EQ(credentials_->invalidations, 1);
  EXPECT_EQ(Count("ExpireOnce"), 2);
}

TEST_F(AwsClientAgainstDouble, CredentialsThatStayExpiredFailClearly) {
  AwsClient client = Client();
  Result<XmlReply> reply = client.Query("rds", "2014-10-31", "AlwaysExpired", {});
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(Count("AlwaysExpired"), 2);
  EXPECT_EQ(credentials_->invalidations, 1);
  EXPECT_EQ(reply.message(),
            "AWS credentials from the test provider have expired: rds AlwaysExpired: "
            "ExpiredToken: The security token included in the request is expired");
  ExpectNoSecrets(reply.message());
}

TEST_F(AwsClientAgainstDouble, JsonProtocolRetriesAndParses) {
  AwsClient client = Client();
  Result<nlohmann::json> reply = client.Json("kms", "TrentService.ThrottleTwice", {{"KeyId", "k"}});
  ASSERT_TRUE(reply.ok()) << reply.message();
  EXPECT_EQ((*reply)["Attempt"], 3);
  AwsError error;
  Result<nlohmann::json> bad = client.Json("kms", "TrentService.Permanent", {}, &error);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.message(), "kms Permanent: ValidationError: DBInstanceIdentifier is not valid");
  EXPECT_EQ(error.code, "ValidationError");
  EXPECT_EQ(Count("Permanent"), 1);
}

TEST(AwsClientTransport, UnreachableEndpointIsRetriedThenReported) {
  // A port nobody listens on: bind-free loopback port 1 refuses connections.
  AwsClient client(AwsConfig{"", "eu-west-1", "http://127.0.0.1:1"},
                   std::make_unique<CountingCredentials>(),
                   RetryPolicy{3, std::chrono::milliseconds(1), std::chrono::milliseconds(2)});
  AwsError error;
  Result<XmlReply> reply = client.Query("rds", "2014-10-31", "DescribeDBInstances", {}, &error);
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(error.http_status, 0);
  EXPECT_EQ(error.code, "RequestError");
  EXPECT_NE(reply.message().find("rds DescribeDBInstances failed after 3 attempts"),
            std::string::npos)
      << reply.message();
  ExpectNoSecrets(reply.message());
}

}  // namespace
}  // namespace dbr::aws
