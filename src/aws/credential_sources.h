// The individual places credentials come from; credentials.cpp chains them.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "aws/aws_config.h"
#include "aws/client.h"
#include "aws/credentials.h"
#include "util/parse.h"
#include "util/status.h"

namespace dbr::aws {

// {"AccessKeyId", "SecretAccessKey", <token_key>, "Expiration"}: credential_process, the
// container endpoint and IMDS all answer in this shape. `source` names it in errors.
Result<Credentials> CredentialsFromJson(const std::string& text, const char* token_key,
                                        const std::string& source);

// A command line split the way the AWS CLI splits credential_process (POSIX shell quoting,
// no shell: no variables, globs or pipes).
Result<std::vector<std::string>> SplitCommandLine(const std::string& command);

// Runs `command` and reads its Version 1 JSON. The output is never echoed into messages.
Result<Credentials> CredentialsFromProcess(const std::string& command, const std::string& source);

// <Credentials> of an AssumeRole / AssumeRoleWithWebIdentity reply.
Result<Credentials> CredentialsFromStsReply(const XmlReply& reply, const std::string& source);

struct RoleToAssume {
  std::string role_arn;
  std::string session_name = "db_relocate";
  std::string external_id;
  std::string duration_seconds;
};
Result<Credentials> AssumeRole(const AwsConfig& config, const Credentials& source_credentials,
                               const RoleToAssume& role, const std::string& source);
Result<Credentials> AssumeRoleWithWebIdentity(const AwsConfig& config, const RoleToAssume& role,
                                              const std::string& token_file,
                                              const std::string& source);

// ECS/EKS: AWS_CONTAINER_CREDENTIALS_FULL_URI or 169.254.170.2 + _RELATIVE_URI.
Result<Credentials> CredentialsFromContainer(const EnvLookup& env);

// IMDSv2 at `endpoint` ("http://169.254.169.254").
Result<Credentials> CredentialsFromImds(const std::string& endpoint);

}  // namespace dbr::aws
