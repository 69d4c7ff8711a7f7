// ${ENV_VAR} references in config values.
#pragma once

#include <optional>
#include <string>

#include "config/problems.h"

namespace dbr {

struct Expanded {
  std::string value;
  bool used_env = false;  // at least one ${NAME} was replaced
};

// Replaces each ${NAME} with the environment variable. "$$" and a "$" not followed by "{" are
// kept as they are. Returns nullopt after recording a problem about `field`; a `secret` value is
// never echoed.
std::optional<Expanded> ExpandEnv(const std::string& in, const YAML::Mark& mark,
                                  const std::string& field, bool secret, Problems& problems);

}  // namespace dbr
