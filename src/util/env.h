// Lookup of environment variables: a seam, so that tests need not touch the process environment.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace dbr {

using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup ProcessEnv();

}  // namespace dbr
