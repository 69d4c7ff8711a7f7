// Reads a YAML document into a Config as a table of FieldSpecs says: each field with the checks
// its row states, every problem collected with its line and column.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "config/block_reader.h"
#include "config/key_suggestion.h"
#include "config/problems.h"
#include "config/schema_fields.h"

namespace dbr {

class FieldReader {
 public:
  // `aliases`: names people write instead of a key ("dbname" -> "name"), for suggestions.
  FieldReader(const std::vector<FieldSpec>& fields, std::map<std::string, std::string> aliases,
              Problems& problems);

  // Reads `root` (a map, or null for an empty file) into `config`, field by field in table
  // order. A field the file leaves unset whose default is another field's takes its value.
  void Read(const YAML::Node& root, Config& config);

  // The key ("dst.host") is in the file with a non-null value.
  bool Has(const std::string& key) const;
  // Where the key's value is in the file; null when it is not there.
  YAML::Mark MarkOf(const std::string& key) const;

 private:
  void ReadField(const FieldSpec& field, Config& config);
  void TakeInheritedDefault(const FieldSpec& field, Config& config) const;
  const BlockReader* BlockOf(const std::string& key, std::string* name_in_block) const;

  const std::vector<FieldSpec>& fields_;
  KeyCatalog catalog_;
  Problems& problems_;
  std::map<std::string, BlockReader> blocks_;  // "" (the top level) and each block in the file
  std::set<std::string> stored_;               // the keys whose value came from the file
};

// Makes each path field of `config` that is set absolute, relative to `base`.
void ResolvePaths(const std::vector<FieldSpec>& fields, Config& config,
                  const std::filesystem::path& base);

// `path` made absolute against `base` unless it is absolute, and normalised.
std::string ResolveAgainst(const std::filesystem::path& base, const std::string& path);

}  // namespace dbr
