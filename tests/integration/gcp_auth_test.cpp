// Google credentials against the Google double (tests/gcp_double/gcp_double.py), which checks
// every assertion's RS256 signature with the service account's public key and its claims as
// Google's token endpoint does: a service account key, a user's refresh token, the metadata
// server, refresh before expiry, retries, and files that cannot be used.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "gcp/credentials.h"
#include "harness/cluster.h"
#include "harness/double_process.h"
#include "harness/rsa_key.h"

namespace dbr::gcp {
namespace {

constexpr const char* kEmail = "relocator@shop.iam.gserviceaccount.com";

class GcpAuthTest : public ::testing::Test {
 protected:
  void SetUp() override { key_ = test::NewRsaKeyPair(); }

  void StartDouble(nlohmann::json seed = nlohmann::json::object()) {
    seed["service_accounts"] = {
        {{"client_email", kEmail}, {"private_key_id", "k1"}, {"public_key_pem", key_.public_pem}}};
    seed["authorized_users"] = {{{"client_id", "cid.apps.googleusercontent.com"},
                                 {"client_secret", "csecret"},
                                 {"refresh_token", "1//refresh-token"}}};
    seed["required_scopes"] = {"https://www.googleapis.com/auth/sqlservice.admin",
                               "https://www.googleapis.com/auth/logging.read"};
    auto d =
        test::DoubleProcess::Launch("tests/gcp_double/gcp_double.py", seed, "the Google double");
    ASSERT_TRUE(d.ok()) << d.message();
    double_ = std::move(*d);
  }

  std::string WriteFile(const std::string& name, const std::string& text) {
    auto path = tmp_.path() / name;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path.string();
  }

  std::string ServiceAccountFile(const std::string& private_pem) {
    return WriteFile("key.json",
                     nlohmann::json{{"type", "service_account"},
                                    {"project_id", "shop"},
                                    {"private_key_id", "k1"},
                                    {"private_key", private_pem},
                                    {"client_email", kEmail},
                                    {"token_uri", "https://oauth2.googleapis.com/token"}}
                         .dump());
  }

  // FindCredentials with only `vars` in the environment (HOME is the test's folder).
  Result<std::unique_ptr<TokenSource>> Find(const std::string& credentials_file,
                                            std::map<std::string, std::string> vars = {}) {
    vars.emplace("HOME", tmp_.path().string());
    return FindCredentials({credentials_file, double_ ? double_->endpoint() : ""},
                           [vars](const std::string& name) -> std::optional<std::string> {
                             auto it = vars.find(name);
                             if (it == vars.end()) return std::nullopt;
                             return it->second;
                           });
  }

  test::TempDir tmp_{"dbr-gcp-auth"};
  test::RsaKeyPair key_;
  std::unique_ptr<test::DoubleProcess> double_;
};

TEST_F(GcpAuthTest, ServiceAccountKeyGetsATokenRefreshedBeforeItExpires) {
  ASSERT_NO_FATAL_FAILURE(StartDouble());
  auto source = Find(ServiceAccountFile(key_.private_pem));
  ASSERT_TRUE(source.ok()) << source.message();
  EXPECT_EQ((*source)->Describe(), std::string("service account ") + kEmail + " (key file " +
                                       (tmp_.path() / "key.json").string() + ")");
  TokenCache cache(std::move(*source));
  auto first = cache.Get();
  ASSERT_TRUE(first.ok()) << first.message();
  EXPECT_EQ(first->rfind("ya29.", 0), 0u) << *first;
  auto now = std::chrono::system_clock::now();
  EXPECT_EQ(*cache.Get(now + std::chrono::minutes(50)), *first);  // 10 minutes left: kept
  auto renewed = cache.Get(now + std::chrono::minutes(56));       // under 5 left: renewed
  ASSERT_TRUE(renewed.ok()) << renewed.message();
  EXPECT_NE(*renewed, *first);
}

TEST_F(GcpAuthTest, AKeyGoogleDoesNotKnowIsRefusedAndNeverShown) {
  ASSERT_NO_FATAL_FAILURE(StartDouble());
  const test::RsaKeyPair other = test::NewRsaKeyPair();
  auto source = Find(ServiceAccountFile(other.private_pem));
  ASSERT_TRUE(source.ok()) << source.message();
  auto token = (*source)->Fetch();
  ASSERT_FALSE(token.ok());
  EXPECT_NE(token.message().find("invalid_grant: Invalid JWT Signature."), std::string::npos)
      << token.message();
  EXPECT_NE(token.message().find(kEmail), std::string::npos) << token.message();
  EXPECT_EQ(token.message().find("PRIVATE KEY"), std::string::npos) << token.message();
  EXPECT_EQ(token.message().find("eyJ"), std::string::npos) << token.message();  // no JWT
}

TEST_F(GcpAuthTest, UserCredentialsOfGcloudAreFoundInTheirDefaultPlace) {
  ASSERT_NO_FATAL_FAILURE(StartDouble());
  nlohmann::json user = {{"type", "authorized_user"},
                         {"client_id", "cid.apps.googleusercontent.com"},
                         {"client_secret", "csecret"},
                         {"refresh_token", "1//refresh-token"}};
  WriteFile(".config/gcloud/application_default_credentials.json", user.dump());
  auto source = Find("");
  ASSERT_TRUE(source.ok()) << source.message();
  EXPECT_NE((*source)->Describe().find("application_default_credentials.json"), std::string::npos);
  auto token = (*source)->Fetch();
  EXPECT_TRUE(token.ok()) << token.message();

  // GOOGLE_APPLICATION_CREDENTIALS comes first; a revoked refresh token is Google's error.
  user["refresh_token"] = "1//revoked";
  auto revoked =
      Find("", {{"GOOGLE_APPLICATION_CREDENTIALS", WriteFile("user.json", user.dump())}});
  ASSERT_TRUE(revoked.ok()) << revoked.message();
  auto refused = (*revoked)->Fetch();
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("invalid_grant"), std::string::npos) << refused.message();
  EXPECT_EQ(refused.message().find("revoked"), std::string::npos) << refused.message();
  EXPECT_EQ(refused.message().find("csecret"), std::string::npos) << refused.message();
}

TEST_F(GcpAuthTest, TheMetadataServerServesWhenNoFileIsFound) {
  ASSERT_NO_FATAL_FAILURE(StartDouble({{"metadata", true}, {"token_failures", 2}}));
  const std::string host = double_->endpoint().substr(std::string("http://").size());
  auto source = Find("", {{"GCE_METADATA_HOST", host}});
  ASSERT_TRUE(source.ok()) << source.message();
  EXPECT_EQ((*source)->Describe(), "the metadata server at " + host);
  // Two 503s first: retried with the project's policy.
  auto token = (*source)->Fetch();
  EXPECT_TRUE(token.ok()) << token.message();

  auto dead = test::PickFreePort();
  ASSERT_TRUE(dead.ok());
  auto nowhere = Find("", {{"GCE_METADATA_HOST", "127.0.0.1:" + std::to_string(*dead)}});
  ASSERT_TRUE(nowhere.ok());
  auto none = (*nowhere)->Fetch();
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.message().rfind("no Google credentials: gcp.credentials_file and "
                                 "GOOGLE_APPLICATION_CREDENTIALS are unset",
                                 0),
            0u)
      << none.message();
}

TEST_F(GcpAuthTest, FilesThatCannotBeUsedNameTheFieldAtFault) {
  auto expect_refused = [&](const std::string& text, const std::string& says) {
    auto source = Find(WriteFile("bad.json", text));
    ASSERT_FALSE(source.ok()) << text;
    EXPECT_TRUE(source.status().is_bad_config()) << source.message();
    EXPECT_NE(source.message().find(says), std::string::npos) << source.message();
    EXPECT_NE(source.message().find("bad.json"), std::string::npos) << source.message();
  };
  expect_refused("{not json", "is not a JSON object");
  expect_refused(R"({"type": "service_account", "client_email": "a@b"})", "no \"private_key\"");
  expect_refused(R"({"type": "authorized_user", "client_id": "c", "client_secret": "s"})",
                 "no \"refresh_token\"");
  expect_refused(R"({"type": "external_account"})", "\"type\" is \"external_account\"");
  auto missing = Find((tmp_.path() / "absent.json").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("absent.json"), std::string::npos) << missing.message();
}

}  // namespace
}  // namespace dbr::gcp
