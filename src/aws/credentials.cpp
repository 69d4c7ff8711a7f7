#include "aws/credentials.h"

#include <cstdlib>
#include <mutex>
#include <vector>

#include "aws/credential_sources.h"
#include "aws/shared_config.h"
#include "util/log.h"

namespace dbr::aws {
namespace {

using namespace std::chrono_literals;

// Refresh this long before temporary credentials expire, as the AWS SDKs do, so a request
// signed just before the deadline does not arrive after it.
constexpr auto kRefreshMargin = 5min;
constexpr int kMaxRoleChain = 5;

std::string Setting(const IniSection& section, const std::string& key) {
  auto it = section.find(key);
  return it == section.end() ? "" : it->second;
}

std::optional<Credentials> FromEnvironment(const EnvLookup& env, std::string* missing) {
  std::string id = env("AWS_ACCESS_KEY_ID").value_or("");
  std::string secret = env("AWS_SECRET_ACCESS_KEY").value_or("");
  if (id.empty() || secret.empty()) {
    *missing = id.empty() ? "AWS_ACCESS_KEY_ID is not set" : "AWS_SECRET_ACCESS_KEY is not set";
    return std::nullopt;
  }
  return Credentials{id, secret, env("AWS_SESSION_TOKEN").value_or(""), {}, "environment"};
}

class DefaultChain : public CredentialProvider {
 public:
  DefaultChain(AwsConfig config, EnvLookup env)
      : config_(std::move(config)), env_(std::move(env)) {}

  Result<Credentials> Get() override {
    std::lock_guard lock(mutex_);
    if (cached_ && (!cached_->expiration ||
                    std::chrono::system_clock::now() + kRefreshMargin < *cached_->expiration))
      return *cached_;
    DBR_ASSIGN_OR_RETURN(Credentials found, Resolve());
    log::debug("using AWS credentials from {}", found.source);
    cached_ = found;
    return found;
  }

  void Invalidate() override {
    std::lock_guard lock(mutex_);
    cached_.reset();
  }

 private:
  Result<Credentials> Resolve() {
    std::vector<std::string> tried;

    if (config_.profile.empty()) {
      std::string missing;
      if (auto found = FromEnvironment(env_, &missing)) return *found;
      tried.push_back("environment (" + missing + ")");
    }

    DBR_ASSIGN_OR_RETURN(SharedFiles files, LoadSharedFiles(env_));
    std::string profile = config_.profile;
    if (profile.empty()) profile = env_("AWS_PROFILE").value_or("");
    bool chosen = !profile.empty();
    if (!chosen) profile = "default";
    if (!files.Profile(profile)) {
      if (chosen)
        return Status::Error("AWS profile '" + profile + "' is not in " + files.Where() +
                             (config_.profile.empty() ? " (chosen by AWS_PROFILE)" : ""));
      tried.push_back("shared files (no [default] profile in " + files.Where() + ")");
    } else {
      DBR_ASSIGN_OR_RETURN(std::optional<Credentials> found, FromProfile(files, profile, 0));
      if (found) return *found;
      tried.push_back("profile " + profile +
                      " (no aws_access_key_id, role_arn or credential_process in " + files.Where() +
                      ")");
    }

    std::string token_file = env_("AWS_WEB_IDENTITY_TOKEN_FILE").value_or("");
    std::string role_arn = env_("AWS_ROLE_ARN").value_or("");
    if (!token_file.empty() && !role_arn.empty()) {
      RoleToAssume role{role_arn};
      if (auto name = env_("AWS_ROLE_SESSION_NAME"); name && !name->empty())
        role.session_name = *name;
      return AssumeRoleWithWebIdentity(config_, role, token_file, "web identity " + role_arn);
    }
    tried.push_back("web identity (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are not both set)");

    if (!env_("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").value_or("").empty() ||
        !env_("AWS_CONTAINER_CREDENTIALS_FULL_URI").value_or("").empty())
      return CredentialsFromContainer(env_);
    tried.push_back(
        "container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI "
        "are not set)");

    if (env_("AWS_EC2_METADATA_DISABLED").value_or("") == "true") {
      tried.push_back("EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED)");
    } else {
      Result<Credentials> imds = CredentialsFromImds(ImdsEndpoint());
      if (imds.ok()) return imds;
      tried.push_back(imds.message());
    }

    std::string message = "no AWS credentials found; tried: ";
    for (size_t i = 0; i < tried.size(); ++i) message += (i ? "; " : "") + tried[i];
    message +=
        ". Set aws.profile (or AWS_PROFILE) to a profile with credentials, or "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY";
    return Status::Error(message);
  }

  std::string ImdsEndpoint() const {
    std::string endpoint = env_("AWS_EC2_METADATA_SERVICE_ENDPOINT").value_or("");
    return endpoint.empty() ? "http://169.254.169.254" : endpoint;
  }

  // The credentials `name` names; nullopt when it names none. `allow_role` false: only its own
  // keys (a profile that is its own source_profile).
  Result<std::optional<Credentials>> FromProfile(const SharedFiles& files, const std::string& name,
                                                 int depth, bool allow_role = true) {
    const std::string source = "profile " + name;
    std::optional<IniSection> section = files.Profile(name);
    if (!section) return Status::Error(source + " is not in " + files.Where());
    if (depth > kMaxRoleChain)
      return Status::Error(source + ": source_profile chains more than " +
                           std::to_string(kMaxRoleChain) + " roles (a loop?)");

    if (allow_role && !Setting(*section, "role_arn").empty())
      return FromRole(files, name, *section, depth);
    std::string id = Setting(*section, "aws_access_key_id");
    std::string secret = Setting(*section, "aws_secret_access_key");
    if (!id.empty() || !secret.empty()) {
      if (id.empty() || secret.empty())
        return Status::Error(source + " in " + files.Where() +
                             " has only one of aws_access_key_id and aws_secret_access_key");
      return std::optional<Credentials>(
          Credentials{id, secret, Setting(*section, "aws_session_token"), {}, source});
    }
    if (std::string command = Setting(*section, "credential_process"); !command.empty()) {
      DBR_ASSIGN_OR_RETURN(Credentials found,
                           CredentialsFromProcess(command, source + " (credential_process)"));
      return std::optional<Credentials>(found);
    }
    return std::optional<Credentials>();
  }

  Result<std::optional<Credentials>> FromRole(const SharedFiles& files, const std::string& name,
                                              const IniSection& section, int depth) {
    const std::string source = "profile " + name;
    RoleToAssume role{Setting(section, "role_arn")};
    if (std::string session = Setting(section, "role_session_name"); !session.empty())
      role.session_name = session;
    role.external_id = Setting(section, "external_id");
    role.duration_seconds = Setting(section, "duration_seconds");
    if (!Setting(section, "mfa_serial").empty())
      return Status::Error(source +
                           " needs an MFA code (mfa_serial), which db_relocate cannot "
                           "ask for; use a profile without mfa_serial");
    const std::string assumed = source + " (role " + role.role_arn + ")";

    if (std::string token_file = Setting(section, "web_identity_token_file"); !token_file.empty()) {
      DBR_ASSIGN_OR_RETURN(Credentials found,
                           AssumeRoleWithWebIdentity(config_, role, token_file, assumed));
      return std::optional<Credentials>(found);
    }

    std::optional<Credentials> base;
    std::string source_profile = Setting(section, "source_profile");
    std::string credential_source = Setting(section, "credential_source");
    if (!source_profile.empty()) {
      DBR_ASSIGN_OR_RETURN(base,
                           FromProfile(files, source_profile, depth + 1, source_profile != name));
      if (!base)
        return Status::Error(source + ": its source_profile " + source_profile +
                             " has no credentials");
    } else if (credential_source == "Environment") {
      std::string missing;
      base = FromEnvironment(env_, &missing);
      if (!base) return Status::Error(source + ": credential_source Environment, but " + missing);
    } else if (credential_source == "EcsContainer") {
      DBR_ASSIGN_OR_RETURN(base, CredentialsFromContainer(env_));
    } else if (credential_source == "Ec2InstanceMetadata") {
      DBR_ASSIGN_OR_RETURN(base, CredentialsFromImds(ImdsEndpoint()));
    } else {
      return Status::Error(source +
                           " has role_arn but no source_profile, credential_source "
                           "(Environment, EcsContainer, Ec2InstanceMetadata) or "
                           "web_identity_token_file");
    }
    Result<Credentials> found = AssumeRole(config_, *base, role, assumed);
    if (!found.ok()) return found.status().Wrap(assumed + " with credentials from " + base->source);
    return std::optional<Credentials>(*found);
  }

  AwsConfig config_;
  EnvLookup env_;
  std::mutex mutex_;
  std::optional<Credentials> cached_;
};

}  // namespace

std::unique_ptr<CredentialProvider> MakeDefaultCredentialChain(const AwsConfig& config,
                                                               EnvLookup env) {
  return std::make_unique<DefaultChain>(config, std::move(env));
}

}  // namespace dbr::aws
