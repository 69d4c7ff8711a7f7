// Google credentials and the Cloud SQL Admin API client against the Google double
// (tests/gcp_double/gcp_double.py), which checks every assertion's RS256 signature with the
// service account's public key and its claims as Google's token endpoint does, and every Admin
// API route and answer against the API's published model: a service account key, a user's
// refresh token, the metadata server, refresh before expiry, retries, files that cannot be used;
// instances and operations read, waited for, missing, failed.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "gcp/credentials.h"
#include "gcp/sqladmin.h"
#include "harness/cluster.h"
#include "harness/double_process.h"
#include "harness/rsa_key.h"

namespace dbr::gcp {
namespace {

constexpr const char* kEmail = "relocator@shop.iam.gserviceaccount.com";

class GcpAuthTest : public ::testing::Test {
 protected:
  void SetUp() override { key_ = test::NewRsaKeyPair(); }

  // `seed` with the test's service account, user and required scopes.
  nlohmann::json WithAccounts(nlohmann::json seed) const {
    seed["service_accounts"] = {
        {{"client_email", kEmail}, {"private_key_id", "k1"}, {"public_key_pem", key_.public_pem}}};
    seed["authorized_users"] = {{{"client_id", "cid.apps.googleusercontent.com"},
                                 {"client_secret", "csecret"},
                                 {"refresh_token", "1//refresh-token"}}};
    seed["required_scopes"] = {"https://www.googleapis.com/auth/sqlservice.admin",
                               "https://www.googleapis.com/auth/logging.read"};
    return seed;
  }

  void StartDouble(const nlohmann::json& seed = nlohmann::json::object()) {
    auto d = test::DoubleProcess::Launch("tests/gcp_double/gcp_double.py", WithAccounts(seed),
                                         "the Google double");
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
  EXPECT_TRUE(first->starts_with("ya29.")) << *first;
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
  EXPECT_TRUE(none.message().starts_with(
      "no Google credentials: gcp.credentials_file and GOOGLE_APPLICATION_CREDENTIALS are unset"))
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

class GcpSqlAdminTest : public GcpAuthTest {
 protected:
  void SetUp() override {
    GcpAuthTest::SetUp();
    seed_["sqladmin_model"] = std::string(DBR_SOURCE_DIR) + "/.cache/sqladmin/v1.ts";
    seed_["instances"] = {
        {{"project", "shop"},
         {"name", "orders-pg13"},
         {"region", "europe-west1"},
         {"database_version", "POSTGRES_13"},
         {"state", "RUNNABLE"},
         {"tier", "db-custom-2-7680"},
         {"flags", {{"cloudsql.logical_decoding", "on"}, {"max_wal_senders", "20"}}},
         {"host", "10.1.2.3"}}};
    seed_["operations"] = {{{"project", "shop"},
                            {"name", "op-create"},
                            {"operation_type", "CREATE"},
                            {"target_id", "orders-pg17"},
                            {"running_polls", 2}},
                           {{"project", "shop"},
                            {"name", "op-failed"},
                            {"operation_type", "CREATE"},
                            {"target_id", "orders-pg17"},
                            {"error", {{"code", "ERROR_RDBMS"}, {"message", "disk full"}}}}};
  }

  // An Admin API client with the service account's tokens.
  void Connect() {
    ASSERT_NO_FATAL_FAILURE(StartDouble(seed_));
    auto source = Find(ServiceAccountFile(key_.private_pem));
    ASSERT_TRUE(source.ok()) << source.message();
    tokens_ = std::make_unique<TokenCache>(std::move(*source));
    admin_ = std::make_unique<SqlAdmin>(double_->endpoint(), *tokens_);
  }

  nlohmann::json seed_;
  std::unique_ptr<TokenCache> tokens_;
  std::unique_ptr<SqlAdmin> admin_;
};

TEST_F(GcpSqlAdminTest, AnInstanceIsReadAsTheApiDescribesIt) {
  seed_["sqladmin_failures"] = 2;  // retried
  ASSERT_NO_FATAL_FAILURE(Connect());
  auto instance = admin_->GetInstance("shop", "orders-pg13");
  ASSERT_TRUE(instance.ok()) << instance.message();
  ASSERT_TRUE(instance->has_value());
  const SqlInstance& i = **instance;
  EXPECT_EQ(i.name, "orders-pg13");
  EXPECT_EQ(i.region, "europe-west1");
  EXPECT_EQ(i.database_version, "POSTGRES_13");
  EXPECT_EQ(i.state, "RUNNABLE");
  EXPECT_EQ(i.tier, "db-custom-2-7680");
  EXPECT_EQ(i.primary_ip, "10.1.2.3");
  EXPECT_EQ(i.flags, (std::map<std::string, std::string>{{"cloudsql.logical_decoding", "on"},
                                                         {"max_wal_senders", "20"}}));
  auto missing = admin_->GetInstance("shop", "orders-pg99");
  ASSERT_TRUE(missing.ok()) << missing.message();
  EXPECT_FALSE(missing->has_value());
}

TEST_F(GcpSqlAdminTest, OperationsAreWaitedForAndTheirErrorsNamed) {
  ASSERT_NO_FATAL_FAILURE(Connect());
  auto done = admin_->WaitForOperation("shop", "op-create", std::chrono::seconds(30),
                                       std::chrono::milliseconds(50));
  ASSERT_TRUE(done.ok()) << done.message();
  EXPECT_EQ(done->status, "DONE");
  EXPECT_EQ(done->target_id, "orders-pg17");
  auto failed = admin_->WaitForOperation("shop", "op-failed", std::chrono::seconds(30),
                                         std::chrono::milliseconds(50));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.message(),
            "Cloud SQL operation op-failed (CREATE of orders-pg17) failed: ERROR_RDBMS: disk full");
  auto unknown = admin_->GetOperation("shop", "op-none");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.message(), "Cloud SQL operation op-none does not exist");
}

TEST_F(GcpSqlAdminTest, AnOperationThatDoesNotEndInTimeSaysWhereItIs) {
  seed_["operations"][0]["running_polls"] = 1000;
  ASSERT_NO_FATAL_FAILURE(Connect());
  auto late = admin_->WaitForOperation("shop", "op-create", std::chrono::milliseconds(300),
                                       std::chrono::milliseconds(50));
  ASSERT_FALSE(late.ok());
  EXPECT_TRUE(late.message().starts_with(
      "Cloud SQL operation op-create (CREATE of orders-pg17) is still RUNNING after"))
      << late.message();
}

TEST_F(GcpSqlAdminTest, ATokenGoogleDidNotIssueIsRefused) {
  ASSERT_NO_FATAL_FAILURE(StartDouble(seed_));
  // A token of another double: valid in form, unknown here.
  auto other =
      test::DoubleProcess::Launch("tests/gcp_double/gcp_double.py",
                                  WithAccounts(nlohmann::json::object()), "another Google double");
  ASSERT_TRUE(other.ok()) << other.message();
  auto source = FindCredentials({ServiceAccountFile(key_.private_pem), (*other)->endpoint()},
                                [](const std::string&) { return std::nullopt; });
  ASSERT_TRUE(source.ok()) << source.message();
  TokenCache tokens(std::move(*source));
  SqlAdmin admin(double_->endpoint(), tokens);
  auto instance = admin.GetInstance("shop", "orders-pg13");
  ASSERT_FALSE(instance.ok());
  EXPECT_EQ(instance.message(),
            "Cloud SQL Admin API GET /v1/projects/shop/instances/orders-pg13: UNAUTHENTICATED: "
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
            "cookie or other valid authentication credential.");
}

}  // namespace
}  // namespace dbr::gcp
