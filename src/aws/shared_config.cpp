#include "aws/shared_config.h"

#include <fstream>
#include <sstream>

#include "util/text.h"

namespace dbr::aws {
namespace {

std::filesystem::path ExpandHome(const std::string& path, const EnvLookup& env) {
  if (path.rfind("~/", 0) == 0)
    return std::filesystem::path(env("HOME").value_or("")) / path.substr(2);
  return path;
}

}  // namespace

Result<IniFile> ReadIniFile(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return IniFile();
  std::ifstream in(path);
  if (!in) return Status::Error("cannot read " + path.string());
  std::stringstream text;
  text << in.rdbuf();
  return ParseIniFile(text.str(), path.string());
}

Result<IniFile> ParseIniFile(const std::string& text, const std::string& where) {
  IniFile file;
  std::istringstream in(text);
  std::string line;
  IniSection* section = nullptr;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) continue;
    std::string content = Trim(line);
    if (content.empty() || content[0] == '#' || content[0] == ';') continue;
    if (content[0] == '[') {
      if (content.back() != ']')
        return Status::Error(where + ":" + std::to_string(number) +
                             ": a section header must end with ']'");
      section = &file[Trim(content.substr(1, content.size() - 2))];
      continue;
    }
    size_t eq = content.find('=');
    if (eq == std::string::npos || section == nullptr)
      return Status::Error(where + ":" + std::to_string(number) +
                           ": expected `key = value` inside a [section]");
    (*section)[Trim(content.substr(0, eq))] = Trim(content.substr(eq + 1));
  }
  return file;
}

std::optional<IniSection> SharedFiles::Profile(const std::string& name) const {
  std::optional<IniSection> merged;
  // The config file spells it [profile name], except for [default] (older files also use
  // [profile default]).
  for (const std::string& header : {"profile " + name, name}) {
    if (header == name && name != "default") continue;
    if (auto it = config.find(header); it != config.end()) {
      if (!merged) merged.emplace();
      merged->insert(it->second.begin(), it->second.end());
    }
  }
  if (auto it = credentials.find(name); it != credentials.end()) {
    if (!merged) merged.emplace();
    for (const auto& [key, value] : it->second) (*merged)[key] = value;
  }
  return merged;
}

std::string SharedFiles::Where() const {
  return credentials_path.string() + " or " + config_path.string();
}

Result<SharedFiles> LoadSharedFiles(const EnvLookup& env) {
  SharedFiles files;
  files.credentials_path =
      ExpandHome(env("AWS_SHARED_CREDENTIALS_FILE").value_or("~/.aws/credentials"), env);
  files.config_path = ExpandHome(env("AWS_CONFIG_FILE").value_or("~/.aws/config"), env);
  DBR_ASSIGN_OR_RETURN(files.credentials, ReadIniFile(files.credentials_path));
  DBR_ASSIGN_OR_RETURN(files.config, ReadIniFile(files.config_path));
  return files;
}

}  // namespace dbr::aws
