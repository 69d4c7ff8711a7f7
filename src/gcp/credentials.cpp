#include "gcp/credentials.h"

#include <fmt/format.h>

#include <cctype>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "gcp/google_error.h"
#include "gcp/json_field.h"
#include "gcp/jwt.h"
#include "gcp/percent_encode.h"
#include "util/files.h"
#include "util/http.h"
#include "util/retry.h"

namespace dbr::gcp {
namespace {

constexpr const char* kTokenUrl = "https://oauth2.googleapis.com/token";
constexpr auto kRefreshMargin = std::chrono::minutes(5);

// An OAuth 2.0 token response, or the error the endpoint gave ("invalid_grant: ...").
Result<AccessToken> ParseToken(const HttpResponse& r, const std::string& who) {
  if (r.status != 200)
    return GoogleFailure(r, fmt::format("{} got no access token: {}", who, GoogleErrorText(r)));
  auto json = nlohmann::json::parse(r.body, nullptr, false);
  if (!json.is_object() || !json.contains("access_token") || !json["access_token"].is_string() ||
      !json.contains("expires_in") || !json["expires_in"].is_number())
    return Status::Error(who + " got a token response without access_token and expires_in");
  return AccessToken{
      json["access_token"].get<std::string>(),
      std::chrono::system_clock::now() + std::chrono::seconds(json["expires_in"].get<int64_t>())};
}

// One token request, retried on 429, 5xx and no answer with the project's policy.
Result<AccessToken> RequestToken(const HttpRequest& request, const std::string& who) {
  Result<AccessToken> token = Status::Error("not requested");
  Status st = RetryIf(
      RetryPolicy{.attempts = 4}, who,
      [&]() -> Status {
        auto sent = HttpSend(request, std::chrono::seconds(10));
        if (!sent.ok()) return Status::Unavailable(sent.message());
        token = ParseToken(*sent, who);
        return token.ok() ? Status::Ok() : token.status();
      },
      [](const Status& failed) { return failed.is_unavailable(); });
  if (!st.ok()) return st;
  return token;
}

HttpRequest FormPost(const std::string& url, const std::string& form) {
  return HttpRequest{"POST", url, {{"Content-Type", "application/x-www-form-urlencoded"}}, form};
}

class ServiceAccountSource : public TokenSource {
 public:
  ServiceAccountSource(std::string email, std::string key_id, std::string pem,
                       std::string token_url, std::string file)
      : email_(std::move(email)),
        key_id_(std::move(key_id)),
        pem_(std::move(pem)),
        token_url_(std::move(token_url)),
        file_(std::move(file)) {}

  Result<AccessToken> Fetch() override {
    // The audience is the endpoint the assertion is sent to, as Google's libraries do.
    DBR_ASSIGN_OR_RETURN(
        const std::string assertion,
        SignedAssertion({email_, key_id_, kScopes, token_url_, std::chrono::system_clock::now()},
                        pem_));
    return RequestToken(
        FormPost(token_url_,
                 "grant_type=" + PercentEncode("urn:ietf:params:oauth:grant-type:jwt-bearer") +
                     "&assertion=" + assertion),
        Describe());
  }
  std::string Describe() const override {
    return "service account " + email_ + " (key file " + file_ + ")";
  }

 private:
  std::string email_, key_id_, pem_, token_url_, file_;
};

class AuthorizedUserSource : public TokenSource {
 public:
  AuthorizedUserSource(std::string client_id, std::string client_secret, std::string refresh,
                       std::string token_url, std::string file)
      : client_id_(std::move(client_id)),
        client_secret_(std::move(client_secret)),
        refresh_(std::move(refresh)),
        token_url_(std::move(token_url)),
        file_(std::move(file)) {}

  Result<AccessToken> Fetch() override {
    return RequestToken(
        FormPost(token_url_, "grant_type=refresh_token&client_id=" + PercentEncode(client_id_) +
                                 "&client_secret=" + PercentEncode(client_secret_) +
                                 "&refresh_token=" + PercentEncode(refresh_)),
        Describe());
  }
  std::string Describe() const override { return "user credentials (file " + file_ + ")"; }

 private:
  std::string client_id_, client_secret_, refresh_, token_url_, file_;
};

class MetadataSource : public TokenSource {
 public:
  MetadataSource(std::string host, std::string tried)
      : host_(std::move(host)), tried_(std::move(tried)) {}

  Result<AccessToken> Fetch() override {
    HttpRequest get{"GET",
                    "http://" + host_ +
                        "/computeMetadata/v1/instance/service-accounts/default/token?scopes=" +
                        PercentEncode(kScopes),
                    {{"Metadata-Flavor", "Google"}},
                    ""};
    auto token = RequestToken(get, Describe());
    if (!token.ok())
      return Status::Error("no Google credentials: " + tried_ + "; " + token.message());
    return token;
  }
  std::string Describe() const override { return "the metadata server at " + host_; }

 private:
  std::string host_, tried_;
};

Result<std::unique_ptr<TokenSource>> FromFile(const std::string& file, const AuthConfig& config) {
  auto text = ReadFile(file);
  if (!text.ok())
    return Status::BadConfig("Google credentials file " + file + ": " + text.message());
  auto json = nlohmann::json::parse(*text, nullptr, false);
  if (!json.is_object())
    return Status::BadConfig("Google credentials file " + file + " is not a JSON object");
  const std::string type = StringField(json, "type");
  auto missing = [&](std::initializer_list<const char*> fields) -> std::string {
    for (const char* f : fields)
      if (StringField(json, f).empty()) return f;
    return "";
  };
  auto token_url = [&](const std::string& named) {
    if (!config.endpoint_url.empty()) return config.endpoint_url + "/token";
    return named.empty() ? std::string(kTokenUrl) : named;
  };
  if (type == "service_account") {
    if (auto f = missing({"client_email", "private_key"}); !f.empty())
      return Status::BadConfig("Google credentials file " + file + ": no \"" + f + "\"");
    return std::unique_ptr<TokenSource>(std::make_unique<ServiceAccountSource>(
        StringField(json, "client_email"), StringField(json, "private_key_id"),
        StringField(json, "private_key"), token_url(StringField(json, "token_uri")), file));
  }
  if (type == "authorized_user") {
    if (auto f = missing({"client_id", "client_secret", "refresh_token"}); !f.empty())
      return Status::BadConfig("Google credentials file " + file + ": no \"" + f + "\"");
    return std::unique_ptr<TokenSource>(std::make_unique<AuthorizedUserSource>(
        StringField(json, "client_id"), StringField(json, "client_secret"),
        StringField(json, "refresh_token"), token_url(""), file));
  }
  return Status::BadConfig("Google credentials file " + file + ": \"type\" is \"" + type +
                           "\"; db_relocate reads \"service_account\" and \"authorized_user\"");
}

}  // namespace

Result<std::unique_ptr<TokenSource>> FindCredentials(const AuthConfig& config,
                                                     const EnvLookup& env) {
  if (!config.credentials_file.empty()) return FromFile(config.credentials_file, config);
  if (auto file = env("GOOGLE_APPLICATION_CREDENTIALS"); file && !file->empty())
    return FromFile(*file, config);
  const std::string adc =
      env("HOME").value_or("") + "/.config/gcloud/application_default_credentials.json";
  std::error_code ec;
  if (std::filesystem::exists(adc, ec)) return FromFile(adc, config);
  return std::unique_ptr<TokenSource>(std::make_unique<MetadataSource>(
      env("GCE_METADATA_HOST").value_or("metadata.google.internal"),
      "gcp.credentials_file and GOOGLE_APPLICATION_CREDENTIALS are unset, " + adc +
          " does not exist"));
}

Result<std::string> TokenCache::Get(std::chrono::system_clock::time_point now) {
  if (token_.value.empty() || now + kRefreshMargin >= token_.expires) {
    DBR_ASSIGN_OR_RETURN(token_, source_->Fetch());
  }
  return token_.value;
}

}  // namespace dbr::gcp
