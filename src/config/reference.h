// The config's keys as people read them: the defaults docs/configuration.md is checked against
// (tests/unit/config_schema_test.cpp).
#pragma once

#include <string>

#include "config/schema_fields.h"

namespace dbr {

// The field's value in `config` as the docs show values: "5432", "\"\"", "[]"; "" for a block.
std::string ValueShown(const FieldSpec& field, Config& config);

// The default as the docs show it: the value in a default Config, or what the table states
// ("src.user", "(required)").
std::string DefaultShown(const FieldSpec& field);

}  // namespace dbr
