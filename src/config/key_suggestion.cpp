#include "config/key_suggestion.h"

#include <algorithm>
#include <limits>

#include "config/config_text.h"

namespace dbr {
namespace {

// Optimal string alignment distance: Levenshtein plus swapping two neighbours ("hots" -> "host").
size_t EditDistance(const std::string& a, const std::string& b) {
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

bool Contains(const std::vector<std::string>& keys, const std::string& key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

}  // namespace

const std::vector<std::string>& KeyCatalog::KeysOf(const std::string& block) const {
  for (const auto& [name, keys] : blocks) {
    if (name == block) return keys;
  }
  return blocks.front().second;
}

bool KeyCatalog::Accepts(const std::string& block, const std::string& key) const {
  return Contains(KeysOf(block), key);
}

std::string UnknownKeyMessage(const KeyCatalog& catalog, const std::string& block,
                              const std::string& key) {
  std::string msg = "unknown key " + Shown(DottedName(block, key));
  if (key == "<<") return msg + " (YAML merge keys are not supported; write the settings out)";
  const std::vector<std::string>& keys = catalog.KeysOf(block);
  const std::string valid_keys = " (valid keys" + (block.empty() ? "" : " in " + Quoted(block)) +
                                 ": " + Join(keys, ", ") + ")";
  if (key.size() > 64) return msg + valid_keys;
  const std::string want = Normalized(key);
  std::vector<std::string> hits;

  if (auto alias = catalog.aliases.find(want); alias != catalog.aliases.end()) {
    if (Contains(keys, alias->second)) hits.push_back(DottedName(block, alias->second));
  }
  if (hits.empty()) {
    const size_t allowed = want.size() <= 3 ? 1 : want.size() <= 5 ? 2 : 3;
    size_t best = std::numeric_limits<size_t>::max();
    for (const auto& k : keys) best = std::min(best, EditDistance(want, k));
    if (best <= allowed) {
      for (const auto& k : keys) {
        if (EditDistance(want, k) == best) hits.push_back(DottedName(block, k));
      }
    }
  }
  if (hits.empty() && want.size() >= 4) {  // "heartbeat" -> "heartbeat_interval"
    for (const auto& k : keys) {
      if (k.find(want) != std::string::npos || want.find(k) != std::string::npos) {
        hits.push_back(DottedName(block, k));
      }
    }
  }
  if (hits.empty()) {  // the right key in the wrong block: "region" -> "aws.region"
    if (!block.empty() && catalog.Accepts("", want)) {
      return msg + " (" + Quoted(want) + " belongs at the top level, not inside " + Quoted(block) +
             ")";
    }
    for (const auto& [other, other_keys] : catalog.blocks) {
      if (other.empty() || other == block) continue;
      if (Contains(other_keys, want)) hits.push_back(DottedName(other, want));
    }
  }
  if (hits.size() > 4) hits.resize(4);
  if (hits.empty()) return msg + valid_keys;
  std::vector<std::string> quoted;
  for (const auto& h : hits) quoted.push_back(Quoted(h));
  return msg + " (did you mean " + Join(quoted, " or ") + "?)";
}

}  // namespace dbr
