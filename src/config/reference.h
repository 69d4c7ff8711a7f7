// The config's keys as people read them: `db_relocate help config`, and the types and defaults
// docs/configuration.md is checked against (tests/unit/config_schema_test.cpp).
#pragma once

#include <string>

#include "config/schema_fields.h"

namespace dbr {

// The field's value in `config` as the docs show values: "5432", "\"\"", "[]"; "" for a block.
std::string ValueShown(const FieldSpec& field, Config& config);

// The default as the docs show it: the value in a default Config, or what the table states
// ("src.user", "(required)").
std::string DefaultShown(const FieldSpec& field);

// "integer 1-65535", "rds|postgres", "host:port", "map", ...
std::string TypeShown(const FieldSpec& field);

// Every key of the config file with its type, default and doc line.
std::string ConfigKeysHelp();

}  // namespace dbr
