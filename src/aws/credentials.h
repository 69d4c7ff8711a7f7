// AWS credentials, found the way the AWS CLI finds them (first that yields wins):
//   1. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
//      (skipped when `aws.profile` is set explicitly, as the CLI does with --profile);
//   2. the shared files (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, AWS_CONFIG_FILE or
//      ~/.aws/config) for the profile (aws.profile, else AWS_PROFILE, else "default"): static
//      keys, `role_arn` + `source_profile` (STS AssumeRole), `credential_process`;
//   3. a web identity token: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN
//      (STS AssumeRoleWithWebIdentity, as on Kubernetes);
//   4. container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI
//      (+ AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]);
//   5. the EC2 instance profile through IMDSv2 (AWS_EC2_METADATA_SERVICE_ENDPOINT overrides
//      http://169.254.169.254; AWS_EC2_METADATA_DISABLED=true skips it).
// Temporary credentials are refreshed a few minutes before they expire. No secret is logged.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "aws/aws_config.h"
#include "util/env.h"
#include "util/status.h"

namespace dbr::aws {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;  // never printed
  std::string session_token;      // empty for long-term keys; never printed
  std::optional<std::chrono::system_clock::time_point> expiration;
  std::string source;  // where they came from, for messages: "environment", "profile prod", ...
};

class CredentialProvider {
 public:
  virtual ~CredentialProvider() = default;
  // Valid credentials, refreshed when they are about to expire; an error saying which sources
  // were tried (and why each failed) when none yields any.
  virtual Result<Credentials> Get() = 0;
  // Forget cached credentials (after the service answered ExpiredToken).
  virtual void Invalidate() = 0;
};

// The chain above. STS calls go to aws.endpoint_url when set (tests), else to the regional STS.
std::unique_ptr<CredentialProvider> MakeDefaultCredentialChain(const AwsConfig& config,
                                                               EnvLookup env = ProcessEnv());

}  // namespace dbr::aws
