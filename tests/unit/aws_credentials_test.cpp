#include <gtest/gtest.h>

#include "aws/credential_sources.h"
#include "aws/credentials.h"
#include "aws_test_support.h"
#include "util/http.h"

namespace dbr::aws {
namespace {

using testing::FakeEnv;
using testing::MetadataDouble;
using testing::TempDir;
using Env = std::map<std::string, std::string>;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Every test gets an empty home and no instance metadata unless it asks for them, so nothing
// of the machine's own AWS setup leaks in.
class CredentialChainTest : public ::testing::Test {
 protected:
  Env Isolated(Env extra = {}) {
    Env env = {{"HOME", home_.path().string()}, {"AWS_EC2_METADATA_DISABLED", "true"}};
    for (auto& [k, v] : extra) env[k] = v;
    return env;
  }
  Result<Credentials> Resolve(Env env, AwsConfig config = {}) {
    return MakeDefaultCredentialChain(config, FakeEnv(std::move(env)))->Get();
  }
  void WriteAws(const std::string& credentials, const std::string& config) {
    std::filesystem::create_directories(home_.path() / ".aws");
    std::ofstream(home_.path() / ".aws/credentials") << credentials;
    std::ofstream(home_.path() / ".aws/config") << config;
  }
  // A credential_process script printing Version 1 JSON; $1 becomes the AccessKeyId and each
  // run counts up in `runs`, so tests see how often it ran.
  std::filesystem::path ProcessScript(const std::string& expires_in) {
    return scratch_.Write("creds.sh",
                          "#!/bin/sh\n"
                          "n=$(( $(cat " +
                              (scratch_.path() / "runs").string() +
                              " 2>/dev/null || echo 0) + 1 ))\n"
                              "echo $n > " +
                              (scratch_.path() / "runs").string() +
                              "\n"
                              "exp=$(date -u -d '" +
                              expires_in +
                              "' +%Y-%m-%dT%H:%M:%SZ)\n"
                              "printf '{\"Version\": 1, \"AccessKeyId\": \"%s-%s\", "
                              "\"SecretAccessKey\": \"s\", \"SessionToken\": \"t\", "
                              "\"Expiration\": \"%s\"}' \"$1\" \"$n\" \"$exp\"\n",
                          true);
  }

  TempDir home_;
  TempDir scratch_;
};

TEST_F(CredentialChainTest, EnvironmentComesFirst) {
  WriteAws("[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = f\n", "");
  Result<Credentials> found = Resolve(Isolated({{"AWS_ACCESS_KEY_ID", "AKIDENV"},
                                                {"AWS_SECRET_ACCESS_KEY", "e"},
                                                {"AWS_SESSION_TOKEN", "tok"}}));
  ASSERT_TRUE(found.ok()) << found.message();
  EXPECT_EQ(found->access_key_id, "AKIDENV");
  EXPECT_EQ(found->secret_access_key, "e");
  EXPECT_EQ(found->session_token, "tok");
  EXPECT_EQ(found->source, "environment");
}

TEST_F(CredentialChainTest, AnExplicitProfileSkipsTheEnvironment) {
  WriteAws("[prod]\naws_access_key_id = AKIDPROD\naws_secret_access_key = p\n", "");
  Result<Credentials> found =
      Resolve(Isolated({{"AWS_ACCESS_KEY_ID", "AKIDENV"}, {"AWS_SECRET_ACCESS_KEY", "e"}}),
              AwsConfig{"prod", "us-east-1", ""});
  ASSERT_TRUE(found.ok()) << found.message();
  EXPECT_EQ(found->access_key_id, "AKIDPROD");
  EXPECT_EQ(found->source, "profile prod");
}

TEST_F(CredentialChainTest, DefaultProfileFromTheCredentialsFile) {
  WriteAws(
      "# comment\n[default]\naws_access_key_id = AKIDDEFAULT\n"
      "aws_secret_access_key = d\n\n[other]\naws_access_key_id = X\naws_secret_access_key = x\n",
      "[default]\nregion = eu-west-1\ns3 =\n  max_concurrent_requests = 4\n");
  Result<Credentials> found = Resolve(Isolated());
  ASSERT_TRUE(found.ok()) << found.message();
  EXPECT_EQ(found->access_key_id, "AKIDDEFAULT");
  EXPECT_TRUE(found->session_token.empty());
  EXPECT_FALSE(found->expiration.has_value());
}

TEST_F(CredentialChainTest, AwsProfileAndFileOverridesChooseTheProfile) {
  TempDir elsewhere;
  auto credentials = elsewhere.Write("creds",
                                     "[staging]\naws_access_key_id = AKIDSTAGING\n"
                                     "aws_secret_access_key = s\n");
  auto config = elsewhere.Write("config", "");
  Result<Credentials> found =
      Resolve(Isolated({{"AWS_PROFILE", "staging"},
                        {"AWS_SHARED_CREDENTIALS_FILE", credentials.string()},
                        {"AWS_CONFIG_FILE", config.string()}}));
  ASSERT_TRUE(found.ok()) << found.message();
  EXPECT_EQ(found->access_key_id, "AKIDSTAGING");
  EXPECT_EQ(found->source, "profile staging");
}

TEST_F(CredentialChainTest, TheConfigFileNeedsTheProfilePrefix) {
  // In ~/.aws/config a named profile is [profile x]; a bare [x] there is not a profile.
  WriteAws("", "[prod]\naws_access_key_id = AKIDWRONG\naws_secret_access_key = w\n");
  Result<Credentials> found = Resolve(Isolated(), AwsConfig{"prod", "us-east-1", ""});
  ASSERT_FALSE(found.ok());
  EXPECT_TRUE(Contains(found.message(), "AWS profile 'prod' is not in")) << found.message();
  EXPECT_TRUE(Contains(found.message(), ".aws/config")) << found.message();
}

TEST_F(CredentialChainTest, CredentialProcessIsRunWithoutAShell) {
  auto script = ProcessScript("+1 hour");
  WriteAws("",
           "[profile sso]\ncredential_process = \"" + script.string() + "\" 'key with spaces'\n");
  Result<Credentials> found = Resolve(Isolated({{"AWS_PROFILE", "sso"}}));
  ASSERT_TRUE(found.ok()) << found.message();
  EXPECT_EQ(found->access_key_id, "key with spaces-1");
  EXPECT_EQ(found->session_token, "t");
  EXPECT_EQ(found->source, "profile sso (credential_process)");
  ASSERT_TRUE(found->expiration.has_value());
  EXPECT_GT(*found->expiration, std::chrono::system_clock::now() + std::chrono::minutes(50));
}

TEST_F(CredentialChainTest, AFailingCredentialProcessSaysWhyAndHidesItsOutput) {
  auto script = scratch_.Write("fail.sh",
                               "#!/bin/sh\necho '{\"SecretAccessKey\": \"LEAKED-SECRET\"}'\n"
                               "echo 'boom: not logged in, run aws sso login' >&2\nexit 3\n",
                               true);
  WriteAws("", "[profile sso]\ncredential_process = " + script.string() + "\n");
  Result<Credentials> found = Resolve(Isolated({{"AWS_PROFILE", "sso"}}));
  ASSERT_FALSE(found.ok());
  EXPECT_TRUE(
      Contains(found.message(), "profile sso (credential_process): credential_process failed"))
      << found.message();
  EXPECT_TRUE(Contains(found.message(), "boom: not logged in")) << found.message();
  EXPECT_FALSE(Contains(found.message(), "LEAKED-SECRET")) << found.message();
}

TEST_F(CredentialChainTest, CredentialProcessOutputMustBeVersion1) {
  auto script =
      scratch_.Write("v2.sh", "#!/bin/sh\necho '{\"Version\": 2, \"AccessKeyId\": \"A\"}'\n", true);
  WriteAws("", "[default]\ncredential_process = " + script.string() + "\n");
  Result<Credentials> found = Resolve(Isolated());
  ASSERT_FALSE(found.ok());
  EXPECT_TRUE(Contains(found.message(), "\"Version\": 1")) << found.message();
}

TEST_F(CredentialChainTest, CredentialsAreCachedUntilFiveMinutesBeforeTheyExpire) {
  auto script = ProcessScript("+4 minutes");
  WriteAws("", "[default]\ncredential_process = " + script.string() + " soon\n");
  auto chain = MakeDefaultCredentialChain({}, FakeEnv(Isolated()));
  Result<Credentials> first = chain->Get();
  Result<Credentials> second = chain->Get();
  ASSERT_TRUE(first.ok() && second.ok()) << first.message() << second.message();
  // Four minutes left is inside the refresh margin: each Get fetches anew.
  EXPECT_EQ(first->access_key_id, "soon-1");
  EXPECT_EQ(second->access_key_id, "soon-2");
}

TEST_F(CredentialChainTest, LongLivedCredentialsAreCachedUntilInvalidated) {
  auto script = ProcessScript("+1 hour");
  WriteAws("", "[default]\ncredential_process = " + script.string() + " later\n");
  auto chain = MakeDefaultCredentialChain({}, FakeEnv(Isolated()));
  EXPECT_EQ(chain->Get()->access_key_id, "later-1");
  EXPECT_EQ(chain->Get()->access_key_id, "later-1");
  chain->Invalidate();
  EXPECT_EQ(chain->Get()->access_key_id, "later-2");
}

TEST_F(CredentialChainTest, Imdsv2WithTokenAgainstTheDouble) {
  MetadataDouble imds;
  ASSERT_TRUE(imds.ok()) << imds.error();
  // The double enforces IMDSv2: without the session token the metadata is refused.
  Result<HttpResponse> tokenless = HttpSend(
      HttpRequest{"GET", imds.url() + "/latest/meta-data/iam/security-credentials/", {}, ""});
  ASSERT_TRUE(tokenless.ok()) << tokenless.message();
  ASSERT_EQ(tokenless->status, 401);

  Env env = Isolated({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url() + "/"}});
  env.erase("AWS_EC2_METADATA_DISABLED");
  Result<Credentials> found = Resolve(env);
  ASSERT_TRUE(found.ok()) << found.message();
  EXPECT_EQ(found->access_key_id, "ASIAIMDS1");
  EXPECT_EQ(found->secret_access_key, "secret-IMDS-1");
  EXPECT_EQ(found->session_token, "token-IMDS-1");
  EXPECT_EQ(found->source, "EC2 instance profile dbr-test-role");
  ASSERT_TRUE(found->expiration.has_value());
}

TEST_F(CredentialChainTest, ImdsRefreshesCredentialsNearExpiry) {
  MetadataDouble imds({"--expires-in", "120"});
  ASSERT_TRUE(imds.ok()) << imds.error();
  Env env = Isolated({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url()}});
  env.erase("AWS_EC2_METADATA_DISABLED");
  auto chain = MakeDefaultCredentialChain({}, FakeEnv(env));
  EXPECT_EQ(chain->Get()->access_key_id, "ASIAIMDS1");
  EXPECT_EQ(chain->Get()->access_key_id, "ASIAIMDS2");
}

TEST_F(CredentialChainTest, ContainerCredentialsWithAnAuthorizationTokenFile) {
  MetadataDouble container({"--token", "container-secret-token"});
  ASSERT_TRUE(container.ok()) << container.error();
  auto token_file = scratch_.Write("token", "container-secret-token\n");
  Result<Credentials> found = Resolve(
      Isolated({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", container.url() + "/container/credentials"},
                {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", token_file.string()}}));
  ASSERT_TRUE(found.ok()) << found.message();
  EXPECT_EQ(found->access_key_id, "ASIACONTAINER1");
  EXPECT_EQ(found->session_token, "token-CONTAINER-1");

  Result<Credentials> refused = Resolve(
      Isolated({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", container.url() + "/container/credentials"},
                {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong"}}));
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(Contains(refused.message(), "HTTP 401")) << refused.message();
  EXPECT_FALSE(Contains(refused.message(), "wrong")) << refused.message();
}

TEST_F(CredentialChainTest, RoleArnWithSourceProfileAssumesTheRole) {
  MetadataDouble sts;
  ASSERT_TRUE(sts.ok()) << sts.error();
  WriteAws("[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = b\n",
           "[profile dev]\nrole_arn = arn:aws:iam::123456789012:role/dev\nsource_profile = base\n");
  Result<Credentials> found = Resolve(Isolated(), AwsConfig{"dev", "eu-west-1", sts.url()});
  ASSERT_TRUE(found.ok()) << found.message();
  EXPECT_EQ(found->access_key_id, "ASIASTS1");
  EXPECT_EQ(found->session_token, "token-STS-1");
  EXPECT_EQ(found->source, "profile dev (role arn:aws:iam::123456789012:role/dev)");
  EXPECT_TRUE(found->expiration.has_value());
}

TEST_F(CredentialChainTest, WebIdentityIsAnUnsignedAssumeRole) {
  MetadataDouble sts;
  ASSERT_TRUE(sts.ok()) << sts.error();
  auto token = scratch_.Write("web-token", "eyJhbGciOi.fake.jwt\n");
  Result<Credentials> found = Resolve(Isolated({{"AWS_WEB_IDENTITY_TOKEN_FILE", token.string()},
                                                {"AWS_ROLE_ARN", "arn:aws:iam::1:role/k8s"}}),
                                      AwsConfig{"", "eu-west-1", sts.url()});
  ASSERT_TRUE(found.ok()) << found.message();
  EXPECT_EQ(found->access_key_id, "ASIASTS1");
  EXPECT_EQ(found->source, "web identity arn:aws:iam::1:role/k8s");
}

TEST_F(CredentialChainTest, NothingFoundListsWhatWasTried) {
  Env env = Isolated({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1"}});
  env.erase("AWS_EC2_METADATA_DISABLED");
  Result<Credentials> found = Resolve(env);
  ASSERT_FALSE(found.ok());
  const std::string& m = found.message();
  EXPECT_TRUE(Contains(m, "no AWS credentials found")) << m;
  EXPECT_TRUE(Contains(m, "environment (AWS_ACCESS_KEY_ID is not set)")) << m;
  EXPECT_TRUE(Contains(m, "no [default] profile in " + home_.path().string())) << m;
  EXPECT_TRUE(Contains(m, "web identity")) << m;
  EXPECT_TRUE(Contains(m, "container credentials")) << m;
  EXPECT_TRUE(Contains(m, "EC2 instance metadata at http://127.0.0.1:1")) << m;
}

TEST(AwsCredentialSources, StsReplyParsing) {
  XmlReply reply;
  reply.action = "AssumeRole";
  ASSERT_TRUE(reply.doc().load_string(
      "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult>"
      "<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/demo/db_relocate</Arn>"
      "</AssumedRoleUser><Credentials><AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>"
      "<SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>"
      "<SessionToken>AQoDYXdzEPT//////////wEXAMPLEtc764</SessionToken>"
      "<Expiration>2019-11-09T13:34:41.123Z</Expiration></Credentials></AssumeRoleResult>"
      "<ResponseMetadata><RequestId>c6104cbe</RequestId></ResponseMetadata></AssumeRoleResponse>"));
  Result<Credentials> found = CredentialsFromStsReply(reply, "profile x");
  ASSERT_TRUE(found.ok()) << found.message();
  EXPECT_EQ(found->access_key_id, "ASIAIOSFODNN7EXAMPLE");
  EXPECT_EQ(found->secret_access_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
  EXPECT_EQ(found->session_token, "AQoDYXdzEPT//////////wEXAMPLEtc764");
  EXPECT_EQ(*found->expiration, std::chrono::system_clock::from_time_t(1573306481));

  XmlReply empty;
  empty.action = "AssumeRole";
  ASSERT_TRUE(
      empty.doc().load_string("<AssumeRoleResponse><AssumeRoleResult/></AssumeRoleResponse>"));
  EXPECT_FALSE(CredentialsFromStsReply(empty, "profile x").ok());
}

TEST(AwsCredentialSources, SplitCommandLineLikeTheCli) {
  using V = std::vector<std::string>;
  EXPECT_EQ(*SplitCommandLine("aws-vault exec  prod --json"),
            (V{"aws-vault", "exec", "prod", "--json"}));
  EXPECT_EQ(*SplitCommandLine("\"/opt/my tools/get\" 'a b' c\\ d \"x\\\"y\""),
            (V{"/opt/my tools/get", "a b", "c d", "x\"y"}));
  EXPECT_FALSE(SplitCommandLine("get 'unbalanced").ok());
  EXPECT_FALSE(SplitCommandLine("   ").ok());
}

}  // namespace
}  // namespace dbr::aws
