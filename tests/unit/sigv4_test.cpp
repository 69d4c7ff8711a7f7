#include "aws/sigv4.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "aws_test_support.h"
#include "util/process.h"

namespace dbr::aws {
namespace {

using testing::kPython;
using testing::TempDir;

// The AWS Signature Version 4 test suite's fixed inputs.
const Credentials kSuite{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "", {}, "test"};
const std::chrono::system_clock::time_point kSuiteTime =
    std::chrono::system_clock::from_time_t(1440938160);  // 2015-08-30T12:36:00Z
const SigningInput kSuiteInput{"service", "us-east-1", kSuiteTime};

std::string Header(const HttpRequest& request, const std::string& name) {
  for (const auto& [n, v] : request.headers)
    if (n == name) return v;
  return "<absent>";
}

std::string Signed(const std::string& signed_headers, const std::string& signature,
                   const std::string& service = "service") {
  return "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/" + service +
         "/aws4_request, SignedHeaders=" + signed_headers + ", Signature=" + signature;
}

std::string SignedAuthorization(HttpRequest request, const Credentials& credentials = kSuite,
                                const SigningInput& input = kSuiteInput) {
  SignV4(request, credentials, input);
  return Header(request, "Authorization");
}

HttpRequest Get(const std::string& target) {
  return HttpRequest{"GET", "https://example.amazonaws.com" + target, {}, ""};
}

TEST(SigV4Suite, GetVanilla) {
  HttpRequest request = Get("/");
  SignV4(request, kSuite, kSuiteInput);
  EXPECT_EQ(Header(request, "X-Amz-Date"), "20150830T123600Z");
  EXPECT_EQ(Header(request, "Host"), "example.amazonaws.com");
  EXPECT_EQ(Header(request, "X-Amz-Security-Token"), "<absent>");
  EXPECT_EQ(Header(request, "Authorization"),
            Signed("host;x-amz-date",
                   "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"));

  std::string canonical = CanonicalRequest(request, "host;x-amz-date");
  EXPECT_EQ(canonical,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(StringToSign(canonical, kSuiteInput),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
}

TEST(SigV4Suite, GetVanillaQueryOrderKeyCase) {
  EXPECT_EQ(SignedAuthorization(Get("/?Param2=value2&Param1=value1")),
            Signed("host;x-amz-date",
                   "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"));
}

TEST(SigV4Suite, GetHeaderValueTrim) {
  HttpRequest request = Get("/");
  request.headers = {{"Host", "example.amazonaws.com"},
                     {"My-Header1", " value1"},
                     {"My-Header2", "\"a   b   c\""}};
  EXPECT_EQ(SignedAuthorization(request),
            Signed("host;my-header1;my-header2;x-amz-date",
                   "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"));
}

TEST(SigV4Suite, GetUnreserved) {
  EXPECT_EQ(SignedAuthorization(
                Get("/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")),
            Signed("host;x-amz-date",
                   "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"));
}

TEST(SigV4Suite, GetVanillaUtf8Query) {
  EXPECT_EQ(SignedAuthorization(Get("/?\xe1\x88\xb4=bar")),
            Signed("host;x-amz-date",
                   "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"));
}

TEST(SigV4Suite, PostVanillaQuery) {
  HttpRequest request = Get("/?Param1=value1");
  request.method = "POST";
  EXPECT_EQ(SignedAuthorization(request),
            Signed("host;x-amz-date",
                   "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"));
}

TEST(SigV4Suite, PostXWwwFormUrlencoded) {
  HttpRequest request{"POST",
                      "https://example.amazonaws.com/",
                      {{"Content-Type", "application/x-www-form-urlencoded"}},
                      "Param1=value1"};
  SignV4(request, kSuite, kSuiteInput);
  EXPECT_EQ(Header(request, "Authorization"),
            Signed("content-type;host;x-amz-date",
                   "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"));
  std::string canonical = CanonicalRequest(request, "content-type;host;x-amz-date");
  EXPECT_EQ(canonical,
            "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\n"
            "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "content-type;host;x-amz-date\n"
            "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
  EXPECT_EQ(StringToSign(canonical, kSuiteInput),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281");
}

TEST(SigV4Suite, GetVanillaWithSessionToken) {
  Credentials temporary = kSuite;
  temporary.session_token = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";
  HttpRequest request = Get("/");
  SignV4(request, temporary, kSuiteInput);
  EXPECT_EQ(Header(request, "X-Amz-Security-Token"), temporary.session_token);
  EXPECT_EQ(Header(request, "Authorization"),
            Signed("host;x-amz-date;x-amz-security-token",
                   "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"));
}

// The worked example of the IAM documentation ("Create a signed AWS API request").
TEST(SigV4Suite, IamListUsersExample) {
  HttpRequest request{"GET",
                      "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
                      {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}},
                      ""};
  SigningInput iam{"iam", "us-east-1", kSuiteTime};
  SignV4(request, kSuite, iam);
  std::string canonical = CanonicalRequest(request, "content-type;host;x-amz-date");
  EXPECT_EQ(Sha256Hex(canonical),
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
  EXPECT_EQ(Header(request, "Authorization"),
            Signed("content-type;host;x-amz-date",
                   "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7", "iam"));
}

TEST(SigV4, ResigningReplacesTheOldSignatureAndDate) {
  HttpRequest request = Get("/");
  SignV4(request, kSuite, kSuiteInput);
  SignV4(request, kSuite, SigningInput{"service", "us-east-1", kSuiteTime + std::chrono::hours(1)});
  int authorizations = 0;
  for (const auto& [name, value] : request.headers) authorizations += name == "Authorization";
  EXPECT_EQ(authorizations, 1);
  EXPECT_EQ(Header(request, "X-Amz-Date"), "20150830T133600Z");
}

TEST(SigV4, UriEncodeIsRfc3986) {
  EXPECT_EQ(UriEncode("a b+c*~_.-/\xc3\xbc"), "a%20b%2Bc%2A~_.-%2F%C3%BC");
  EXPECT_EQ(UriEncode("/a b/c", false), "/a%20b/c");
}

// botocore is the reference implementation: the same requests must get byte-identical
// Authorization headers from both.
TEST(SigV4, MatchesBotocore) {
  ASSERT_TRUE(std::filesystem::exists(kPython))
      << kPython << " is missing: install python3 and python3-botocore (apt) to run this test";
  const std::string t = "20240229T235959Z";
  const auto when = std::chrono::system_clock::from_time_t(1709251199);  // 2024-02-29T23:59:59Z
  struct Case {
    HttpRequest request;
    Credentials credentials;
    SigningInput input;
  };
  Credentials temporary{"ASIAEXAMPLE", "s3cr3t/+key", "FwoGZXIvYXdzEXAMPLE//token=", {}, "test"};
  std::string query = "?Action=DescribeInstances&Filter.1.Name=tag%3AName&Filter.1.Value.1=" +
                      UriEncode("shop db (prod) 100% +*~") +
                      "&Note=" + UriEncode("Z\xc3\xbcrich \xe2\x98\x83") + "&Empty=&aLower=1";
  std::vector<Case> cases = {
      {{"POST",
        "https://rds.eu-west-1.amazonaws.com/",
        {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}},
        "Action=DescribeDBInstances&Version=2014-10-31&DBInstanceIdentifier=shop-db"},
       kSuite,
       {"rds", "eu-west-1", when}},
      {{"GET", "https://ec2.us-west-2.amazonaws.com/" + query, {}, ""},
       temporary,
       {"ec2", "us-west-2", when}},
      {{"POST",
        "http://127.0.0.1:4566/",
        {{"Content-Type", "application/x-amz-json-1.1"},
         {"X-Amz-Target", "TrentService.DescribeKey"},
         {"User-Agent", "db_relocate/test"}},
        "{\"KeyId\":\"alias/db \xe2\x98\x83\"}"},
       temporary,
       {"kms", "ap-southeast-2", when}},
      {{"PUT",
        "https://sts.amazonaws.com/some path/\xc3\xbcnicode",
        {{"X-Custom", "  spaced\t\tout   value  "}, {"x-REPEATED", "one"}, {"X-Repeated", "two"}},
        "body"},
       kSuite,
       {"sts", "us-east-1", when}},
  };

  nlohmann::json specs = nlohmann::json::array();
  std::vector<std::string> ours;
  for (const Case& c : cases) {
    nlohmann::json headers = nlohmann::json::array();
    for (const auto& [name, value] : c.request.headers) headers.push_back({name, value});
    specs.push_back({{"method", c.request.method},
                     {"url", c.request.url},
                     {"headers", headers},
                     {"body", c.request.body},
                     {"service", c.input.service},
                     {"region", c.input.region},
                     {"access_key", c.credentials.access_key_id},
                     {"secret_key", c.credentials.secret_access_key},
                     {"token", c.credentials.session_token},
                     {"timestamp", t}});
    ours.push_back(SignedAuthorization(c.request, c.credentials, c.input));
  }
  TempDir dir;
  auto file = dir.Write("requests.json", specs.dump());
  ProcessSpec spec{
      {kPython, (testing::AwsDoubleDir() / "botocore_sign.py").string(), file.string()},
      {},
      {},
      {}};
  Result<ProcessOutput> run = RunProcess(spec);
  ASSERT_TRUE(run.ok()) << run.message();
  ASSERT_EQ(run->exit_code, 0) << "botocore could not sign (is python3-botocore installed?): "
                               << DescribeFailure(spec, *run);
  nlohmann::json theirs = nlohmann::json::parse(run->out);
  ASSERT_EQ(theirs.size(), ours.size());
  for (size_t i = 0; i < ours.size(); ++i)
    EXPECT_EQ(ours[i], theirs[i].get<std::string>())
        << "request " << i << ": " << cases[i].request.url;
}

}  // namespace
}  // namespace dbr::aws
