// The AWS CLI's shared files: ~/.aws/credentials ([name] sections) and ~/.aws/config
// ([profile name] sections, [default] for the default profile).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "aws/credentials.h"
#include "util/status.h"

namespace dbr::aws {

using IniSection = std::map<std::string, std::string>;
using IniFile = std::map<std::string, IniSection>;

// Sections by their bracketed name; `#`/`;` comments; indented lines (nested settings such as
// `s3 =` blocks) are ignored. A missing file is empty.
Result<IniFile> ReadIniFile(const std::filesystem::path& path);
// The same from text in memory; `where` (the file's path) starts the errors' "where:line: ...".
Result<IniFile> ParseIniFile(const std::string& text, const std::string& where);

struct SharedFiles {
  std::filesystem::path credentials_path;
  std::filesystem::path config_path;
  IniFile credentials;
  IniFile config;
  // The profile's settings: the config file's, overlaid by the credentials file's.
  std::optional<IniSection> Profile(const std::string& name) const;
  std::string Where() const;  // "~/.aws/credentials or ~/.aws/config", for messages
};

// AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE, else under $HOME/.aws.
Result<SharedFiles> LoadSharedFiles(const EnvLookup& env);

}  // namespace dbr::aws
