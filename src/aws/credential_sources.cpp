#include "aws/credential_sources.h"

#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>

#include "util/http.h"
#include "util/process.h"
#include "util/text.h"

namespace dbr::aws {
namespace {

using namespace std::chrono_literals;

// Metadata endpoints answer in milliseconds; off EC2 or ECS they do not answer at all.
constexpr auto kMetadataTimeout = 1000ms;

Result<std::string> ReadWholeFile(const std::string& path, const std::string& what) {
  std::ifstream in(path);
  if (!in) return Status::Error("cannot read " + what + " " + path);
  std::stringstream text;
  text << in.rdbuf();
  return Trim(text.str());
}

class FixedCredentials : public CredentialProvider {
 public:
  explicit FixedCredentials(Credentials credentials) : credentials_(std::move(credentials)) {}
  Result<Credentials> Get() override { return credentials_; }
  void Invalidate() override {}

 private:
  Credentials credentials_;
};

Result<HttpResponse> MetadataCall(HttpRequest request, const std::string& what) {
  Result<HttpResponse> sent = HttpSend(request, kMetadataTimeout);
  if (!sent.ok()) return sent.status().Wrap(what);
  HttpResponse response = std::move(sent).value();
  if (response.status != 200)
    return Status::Error(what + ": HTTP " + std::to_string(response.status) + " from " +
                         request.url);
  return response;
}

}  // namespace

Result<Credentials> CredentialsFromJson(const std::string& text, const char* token_key,
                                        const std::string& source) {
  nlohmann::json json = nlohmann::json::parse(text, nullptr, false);
  if (!json.is_object()) return Status::Error(source + ": the reply is not a JSON object");
  auto field = [&](const char* key) -> std::string {
    return json.contains(key) && json[key].is_string() ? json[key].get<std::string>() : "";
  };
  Credentials credentials{
      field("AccessKeyId"), field("SecretAccessKey"), field(token_key), {}, source};
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty())
    return Status::Error(source + ": the reply has no AccessKeyId or SecretAccessKey");
  if (std::string expiration = field("Expiration"); !expiration.empty()) {
    DBR_ASSIGN_OR_RETURN(credentials.expiration, ParseIso8601(expiration));
  }
  return credentials;
}

Result<std::vector<std::string>> SplitCommandLine(const std::string& command) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < command.size(); ++i) {
    char c = command[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\\') {
      if (++i < command.size() && command[i] != '\n') word += command[i];
    } else if (c == '\'') {
      size_t end = command.find('\'', i + 1);
      if (end == std::string::npos) return Status::Error("credential_process: unbalanced '");
      word += command.substr(i + 1, end - i - 1);
      i = end;
    } else if (c == '"') {
      for (++i;; ++i) {
        if (i >= command.size()) return Status::Error("credential_process: unbalanced \"");
        if (command[i] == '"') break;
        if (command[i] == '\\' && i + 1 < command.size() &&
            std::string("\\\"$`\n").find(command[i + 1]) != std::string::npos)
          ++i;
        word += command[i];
      }
    } else {
      word += c;
    }
  }
  if (in_word) words.push_back(word);
  if (words.empty()) return Status::Error("credential_process is empty");
  return words;
}

Result<Credentials> CredentialsFromProcess(const std::string& command, const std::string& source) {
  DBR_ASSIGN_OR_RETURN(std::vector<std::string> argv, SplitCommandLine(command));
  ProcessSpec spec{argv, {}, {}, {}};
  Result<ProcessOutput> run = RunProcess(spec);
  if (!run.ok()) return run.status().Wrap(source + ": cannot run credential_process");
  if (run->exit_code != 0) {
    ProcessOutput shown = *run;
    shown.out.clear();  // what it printed on stdout may hold keys
    return Status::Error(source + ": credential_process failed: " + DescribeFailure(spec, shown));
  }
  nlohmann::json json = nlohmann::json::parse(run->out, nullptr, false);
  if (!json.is_object() || !json.contains("Version") || json["Version"] != 1)
    return Status::Error(source + ": credential_process " + argv[0] +
                         " must print a JSON object with \"Version\": 1");
  return CredentialsFromJson(run->out, "SessionToken", source);
}

Result<Credentials> CredentialsFromStsReply(const XmlReply& reply, const std::string& source) {
  pugi::xml_node node = reply.result().child("Credentials");
  Credentials credentials{Text(node, "AccessKeyId"),
                          Text(node, "SecretAccessKey"),
                          Text(node, "SessionToken"),
                          {},
                          source};
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty())
    return Status::Error(source + ": the STS " + reply.action + " reply has no Credentials");
  if (std::string expiration = Text(node, "Expiration"); !expiration.empty()) {
    DBR_ASSIGN_OR_RETURN(credentials.expiration, ParseIso8601(expiration));
  }
  return credentials;
}

namespace {

Result<Credentials> CallSts(const AwsConfig& config, std::unique_ptr<CredentialProvider> signer,
                            const std::string& action, const RoleToAssume& role, QueryParams params,
                            const std::string& source) {
  params["RoleArn"] = role.role_arn;
  params["RoleSessionName"] = role.session_name;
  if (!role.duration_seconds.empty()) params["DurationSeconds"] = role.duration_seconds;
  AwsClient sts(config, std::move(signer));
  DBR_ASSIGN_OR_RETURN(XmlReply reply, sts.Query("sts", "2011-06-15", action, params));
  return CredentialsFromStsReply(reply, source);
}

}  // namespace

Result<Credentials> AssumeRole(const AwsConfig& config, const Credentials& source_credentials,
                               const RoleToAssume& role, const std::string& source) {
  QueryParams params;
  if (!role.external_id.empty()) params["ExternalId"] = role.external_id;
  return CallSts(config, std::make_unique<FixedCredentials>(source_credentials), "AssumeRole", role,
                 std::move(params), source);
}

Result<Credentials> AssumeRoleWithWebIdentity(const AwsConfig& config, const RoleToAssume& role,
                                              const std::string& token_file,
                                              const std::string& source) {
  DBR_ASSIGN_OR_RETURN(std::string token, ReadWholeFile(token_file, "the web identity token"));
  // The token is the proof of identity: AWS documents this call as unsigned.
  return CallSts(config, nullptr, "AssumeRoleWithWebIdentity", role, {{"WebIdentityToken", token}},
                 source);
}

Result<Credentials> CredentialsFromContainer(const EnvLookup& env) {
  HttpRequest request;
  request.method = "GET";
  if (auto full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI"); full && !full->empty()) {
    request.url = *full;
  } else {
    request.url =
        "http://169.254.170.2" + env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").value_or("");
  }
  std::string token;
  if (auto file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); file && !file->empty()) {
    DBR_ASSIGN_OR_RETURN(token, ReadWholeFile(*file, "the container authorization token"));
  } else {
    token = env("AWS_CONTAINER_AUTHORIZATION_TOKEN").value_or("");
  }
  if (!token.empty()) request.headers.emplace_back("Authorization", token);
  std::string source = "container credentials at " + request.url;
  DBR_ASSIGN_OR_RETURN(HttpResponse response, MetadataCall(request, source));
  return CredentialsFromJson(response.body, "Token", source);
}

Result<Credentials> CredentialsFromImds(const std::string& endpoint) {
  std::string base = endpoint;
  while (!base.empty() && base.back() == '/') base.pop_back();
  const std::string what = "EC2 instance metadata at " + base;

  HttpRequest token_request{
      "PUT", base + "/latest/api/token", {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}}, ""};
  DBR_ASSIGN_OR_RETURN(HttpResponse token, MetadataCall(token_request, what + " (IMDSv2 token)"));

  const std::string roles_url = base + "/latest/meta-data/iam/security-credentials/";
  HttpRequest roles_request{"GET", roles_url, {{"X-aws-ec2-metadata-token", token.body}}, ""};
  Result<HttpResponse> roles = MetadataCall(roles_request, what);
  if (!roles.ok()) return Status::Error(roles.message() + " (has the instance an IAM role?)");
  std::string role = Trim(roles->body.substr(0, roles->body.find('\n')));
  if (role.empty()) return Status::Error(what + ": the instance has no IAM role");

  HttpRequest credentials_request = roles_request;
  credentials_request.url = roles_url + role;
  DBR_ASSIGN_OR_RETURN(HttpResponse reply, MetadataCall(credentials_request, what));
  return CredentialsFromJson(reply.body, "Token", "EC2 instance profile " + role);
}

}  // namespace dbr::aws
