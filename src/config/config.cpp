// Reading a config file: its text as YAML (yaml_document.h), then the schema's fields
// (schema.cpp) read by field_reader.h. Every problem becomes a line of the returned Status,
// "<file>:<line>:<column>: <field>: <what is wrong>"; nothing throws out of here.
#include "config/config.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <system_error>

#include "config/config_text.h"
#include "config/field_reader.h"
#include "config/schema.h"
#include "config/yaml_document.h"

namespace dbr {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxConfigBytes = 4 * 1024 * 1024;

// Host names compare without case, and loopback spellings name the same server; a unix socket's
// folder is a path, kept as written.
std::string CanonicalHost(std::string host) {
  if (host.starts_with('/')) return host;
  for (char& c : host)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  while (!host.empty() && host.back() == '.') host.pop_back();
  if (host == "localhost" || host == "127.0.0.1" || host == "::1" || host == "[::1]") {
    return "localhost";
  }
  return host;
}

// The folder relative paths in the config are relative to: the file's, or the working folder
// for a config read from a pipe (`--config /dev/stdin`: not /dev).
fs::path BaseDir(const std::string& origin) {
  std::error_code ec;
  const fs::file_status kind = fs::status(origin, ec);
  const bool a_pipe = fs::exists(kind) && !fs::is_regular_file(kind);
  fs::path base =
      origin.empty() || a_pipe ? fs::current_path(ec) : fs::absolute(origin, ec).parent_path();
  if (ec) base = fs::path(".");
  return base;
}

Result<Config> Parse(const std::string& text, const std::string& origin) {
  DBR_ASSIGN_OR_RETURN(YAML::Node root, ReadYamlDocument(text, origin));
  Problems problems(origin);
  FieldReader file(ConfigFields(), ConfigKeyAliases(), problems);
  Config config;
  file.Read(root, config);
  DeriveEngineDefaults(config, file);
  CheckAcrossFields(config, file, problems);
  if (!problems.empty()) return problems.ToStatus();

  const fs::path base = BaseDir(origin);
  ResolvePaths(ConfigFields(), config, base);
  DeriveDefaults(config, file, base);
  std::error_code ec;
  if (fs::exists(config.state_dir, ec) && !fs::is_directory(config.state_dir, ec)) {
    problems.Add(file.MarkOf("state_dir"), "state_dir",
                 Quoted(Printable(config.state_dir)) +
                     " exists and is not a folder: name a folder (made when "
                     "missing) to keep the relocation's state in");
    return problems.ToStatus();
  }
  return config;
}

// Reads a whole file; works for pipes such as /dev/stdin too.
Result<std::string> ReadConfigText(const fs::path& path) {
  const std::string prefix = "cannot read config file " + path.string() + ": ";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Error(prefix + std::generic_category().message(errno));
  std::string text;
  char buf[65536];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return Status::Error(prefix + std::generic_category().message(err));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxConfigBytes) {
      ::close(fd);
      return Status::Error(prefix + "larger than " + std::to_string(kMaxConfigBytes >> 20) +
                           " MiB; is this the right file?");
    }
  }
  ::close(fd);
  return text;
}

}  // namespace

std::string ServerConfig::Address() const {
  return CanonicalHost(host) + ":" + std::to_string(port);
}

Result<Config> ParseConfig(const std::string& yaml_text, const std::string& origin) {
  try {
    return Parse(yaml_text, origin);
  } catch (const std::exception& e) {
    return Status::Error(origin + ": cannot load the configuration: " + e.what());
  } catch (...) {
    return Status::Error(origin + ": cannot load the configuration");
  }
}

Result<Config> LoadConfig(const fs::path& path) {
  try {
    if (path.empty()) return Status::Error("no config file given");
    std::error_code ec;
    fs::path file = fs::absolute(path, ec);
    if (ec) file = path;
    file = file.lexically_normal();
    if (fs::is_directory(file, ec)) file /= "config.yaml";
    DBR_ASSIGN_OR_RETURN(std::string text, ReadConfigText(file));
    DBR_ASSIGN_OR_RETURN(Config cfg, ParseConfig(text, file.string()));
    cfg.config_file = file;
    return cfg;
  } catch (const std::exception& e) {
    return Status::Error("cannot read config file " + path.string() + ": " + e.what());
  } catch (...) {
    return Status::Error("cannot read config file " + path.string());
  }
}

std::vector<std::string> ConfigWarnings(const Config& config) {
  std::vector<std::string> warnings;
  if (config.literal_password_fields.empty() || config.config_file.empty()) return warnings;
  std::error_code ec;
  const fs::file_status st = fs::status(config.config_file, ec);
  if (ec) return warnings;
  const fs::perms p = st.permissions();
  const bool group = (p & fs::perms::group_read) != fs::perms::none;
  const bool others = (p & fs::perms::others_read) != fs::perms::none;
  if (!group && !others) return warnings;
  char mode[8];
  std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(p & fs::perms::mask) & 07777u);
  const std::string file = config.config_file.string();
  warnings.push_back(file + " holds " + Join(config.literal_password_fields, ", ") +
                     " in plain text and is readable by " +
                     (group && others ? "group and others"
                      : group         ? "group"
                                      : "others") +
                     " (mode " + mode + "); run chmod 600 " + file +
                     ", or set the password through an environment variable: ${NAME}");
  return warnings;
}

}  // namespace dbr
