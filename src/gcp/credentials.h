// Google credentials, found the way Google's client libraries find application default
// credentials (the first that exists wins):
//   1. gcp.credentials_file, when set;
//   2. the file GOOGLE_APPLICATION_CREDENTIALS names;
//   3. ~/.config/gcloud/application_default_credentials.json (`gcloud auth application-default
//      login`);
//   4. the metadata server of the machine (GCE_METADATA_HOST overrides metadata.google.internal).
// A file holds a service account key ("type": "service_account": a JWT signed with its key,
// exchanged at the token endpoint) or a user's refresh token ("type": "authorized_user").
// Tokens are refreshed five minutes before they expire. No key, token or assertion is logged or
// put in an error message.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "util/env.h"
#include "util/status.h"

namespace dbr::gcp {

// What db_relocate asks for: the Cloud SQL Admin API and reading Cloud Logging.
inline constexpr const char* kScopes =
    "https://www.googleapis.com/auth/sqlservice.admin "
    "https://www.googleapis.com/auth/logging.read";

struct AccessToken {
  std::string value;  // never printed
  std::chrono::system_clock::time_point expires;
};

class TokenSource {
 public:
  virtual ~TokenSource() = default;
  virtual Result<AccessToken> Fetch() = 0;
  // Where the tokens come from, for messages: "service account x@p.iam.gserviceaccount.com
  // (key file /k.json)", "the metadata server".
  virtual std::string Describe() const = 0;
};

struct AuthConfig {
  std::string credentials_file;  // gcp.credentials_file
  std::string endpoint_url;      // gcp.endpoint_url (tests): the token endpoint is <url>/token
};

// The first source of the chain above that exists; an error naming the file and the field at
// fault for a file that exists but cannot be used.
Result<std::unique_ptr<TokenSource>> FindCredentials(const AuthConfig& config,
                                                     const EnvLookup& env = ProcessEnv());

// A source's token, fetched again when it has less than five minutes left.
class TokenCache {
 public:
  explicit TokenCache(std::unique_ptr<TokenSource> source) : source_(std::move(source)) {}
  Result<std::string> Get(
      std::chrono::system_clock::time_point now = std::chrono::system_clock::now());
  const TokenSource& source() const { return *source_; }

 private:
  std::unique_ptr<TokenSource> source_;
  AccessToken token_;
};

}  // namespace dbr::gcp
