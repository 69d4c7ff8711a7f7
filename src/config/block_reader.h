// Typed access to one block (a YAML map) of a config file: unknown and duplicate keys are
// reported when the block is read, and each getter reports a value of the wrong type or out of
// range at its line and column. Values may use ${ENV_VAR}.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/key_suggestion.h"
#include "config/problems.h"

namespace dbr {

struct StringRules {
  bool secret = false;     // never echo the value
  bool non_empty = false;  // "" is an error
};

// The shapes a list of strings may take. Its items must be non-empty and distinct.
struct ListShape {
  bool single_ok = false;                      // a lone string is a list of one
  bool empty_ok = true;                        // [] is allowed
  const char* expected = "a list of strings";  // the accepted shapes, for messages
};

class BlockReader {
 public:
  // `node` is a map or null (an absent block); anything else must be reported by the caller.
  // `name` is the block's key, "" for the top level.
  BlockReader(Problems& problems, const KeyCatalog& catalog, std::string name,
              const YAML::Node& node);

  // The key's dotted name in messages: "src.port".
  std::string Field(const std::string& key) const;

  // The key is present with a non-null value.
  bool Has(const std::string& key) const;

  // A nested block's node: null when absent; reports a non-map value and returns null.
  YAML::Node Child(const std::string& key);

  // Each getter leaves *out alone when the key is absent or null, and returns true when it
  // stored a valid value. `used_env` (optional) tells whether ${...} was used.
  bool String(const std::string& key, std::string* out, StringRules rules = {},
              bool* used_env = nullptr);
  bool Int(const std::string& key, int64_t* out, int64_t min, int64_t max);
  bool Seconds(const std::string& key, double* out);  // seconds: 0.001 to a year
  bool Bool(const std::string& key, bool* out);
  bool StringList(const std::string& key, std::vector<std::string>* out, const ListShape& shape);

  // Records a problem about the value of `key`, at its position.
  void Problem(const std::string& key, const std::string& what);

  YAML::Mark MarkOf(const std::string& key) const;

 private:
  struct Entry {
    YAML::Node key;
    YAML::Node value;
  };

  const YAML::Node& Value(const std::string& key) const { return entries_.at(key).value; }

  // The expanded text of a scalar value, or nullopt (absent, null, or a problem recorded).
  std::optional<std::string> Scalar(const std::string& key, const std::string& expected);

  // Whether `value` holds no NUL character (else a problem recorded).
  bool WithoutNul(const std::string& value, const YAML::Mark& mark, const std::string& field);

  Problems& problems_;
  std::string name_;
  std::map<std::string, Entry> entries_;
};

}  // namespace dbr
