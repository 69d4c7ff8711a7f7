// Unknown keys: the message that says which key was probably meant.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace dbr {

// The keys a config accepts, block by block, and the names people reach for out of habit.
struct KeyCatalog {
  // Each block ("" is the top level, first) with its keys, in the order messages list them.
  std::vector<std::pair<std::string, std::vector<std::string>>> blocks;
  std::map<std::string, std::string> aliases;  // e.g. "dbname" -> "name"

  // The keys of `block`; the top level's for a name that is no block.
  const std::vector<std::string>& KeysOf(const std::string& block) const;
  bool Accepts(const std::string& block, const std::string& key) const;
};

// `unknown key "src.hots" (did you mean "src.host"?)`, or the list of valid keys.
std::string UnknownKeyMessage(const KeyCatalog& catalog, const std::string& block,
                              const std::string& key);

}  // namespace dbr
