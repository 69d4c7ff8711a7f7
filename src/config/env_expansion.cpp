#include "config/env_expansion.h"

#include <algorithm>
#include <cstdlib>

#include "config/config_text.h"

namespace dbr {
namespace {

bool IsEnvName(const std::string& name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

}  // namespace

std::optional<Expanded> ExpandEnv(const std::string& in, const YAML::Mark& mark,
                                  const std::string& field, bool secret, Problems& problems) {
  Expanded out;
  bool ok = true;
  size_t i = 0;
  while (i < in.size()) {
    if (in[i] != '$' || i + 1 >= in.size()) {
      out.value += in[i++];
      continue;
    }
    if (in[i + 1] == '$') {
      out.value += "$$";
      i += 2;
      continue;
    }
    if (in[i + 1] != '{') {
      out.value += in[i++];
      continue;
    }
    const size_t close = in.find('}', i + 2);
    if (close == std::string::npos) {
      problems.Add(mark, field,
                   "unterminated \"${\": write ${NAME} to use an environment variable");
      return std::nullopt;
    }
    const std::string name = in.substr(i + 2, close - i - 2);
    if (!IsEnvName(name)) {
      const std::string shown = secret ? "" : " " + Shown("${" + name + "}");
      problems.Add(mark, field,
                   "invalid environment variable reference" + shown +
                       " (write ${NAME}; a name has letters, digits and _)");
      ok = false;
    } else if (const char* value = std::getenv(name.c_str()); value == nullptr) {
      problems.Add(mark, field, "environment variable " + name + " is not set");
      ok = false;
    } else {
      out.value += value;
      out.used_env = true;
    }
    i = close + 1;
  }
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace dbr
