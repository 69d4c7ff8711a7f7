// The YAML text of a config file as one document.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "util/status.h"

namespace dbr {

// The document in `text`: a map, or null when the text holds nothing. A syntax error, more than
// one document or anything but a map is an error "<origin>:<line>:<column>: ...". May throw
// what yaml-cpp throws beyond syntax errors.
Result<YAML::Node> ReadYamlDocument(const std::string& text, const std::string& origin);

}  // namespace dbr
