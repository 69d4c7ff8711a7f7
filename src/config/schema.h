// db_relocate's config schema: the table of every key (schema.cpp), and the rules that involve
// more than one key. docs/configuration.md documents the same keys;
// tests/unit/config_schema_test.cpp checks it.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/field_reader.h"
#include "config/schema_fields.h"

namespace dbr {

// Every key of the config file, block rows before their fields, in the order messages list them.
const std::vector<FieldSpec>& ConfigFields();

// Names people write instead of a key out of habit (libpq, other tools): "dbname" -> "name".
const std::map<std::string, std::string>& ConfigKeyAliases();

// The defaults that follow from the engine (engine mysql: MySQL's port, servers the user runs),
// set once every field has been read, before CheckAcrossFields compares the servers.
void DeriveEngineDefaults(Config& config, const FieldReader& file);

// Whether `provider` reads the upgrade key `key` (every provider reads the keys that do not
// describe an instance to make); CheckAcrossFields refuses the others.
bool ProviderReads(Provider provider, std::string_view key);

// The checks that involve more than one key, run after every field has been read.
void CheckAcrossFields(const Config& config, const FieldReader& file, Problems& problems);

// The defaults that follow from other settings (state_dir beside the config file, the proxy's
// files in state_dir, ...), set once the config is known to be valid and its paths are absolute.
void DeriveDefaults(Config& config, const FieldReader& file, const std::filesystem::path& base);

}  // namespace dbr
