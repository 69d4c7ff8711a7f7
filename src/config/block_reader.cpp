#include "config/block_reader.h"

#include <algorithm>
#include <limits>
#include <string_view>
#include <utility>

#include "config/config_text.h"
#include "config/env_expansion.h"
#include "util/parse.h"

namespace dbr {
namespace {

// "got a list", or `got "abc"` for a scalar unless it is secret.
std::string Got(const YAML::Node& node, const std::string& text, bool secret) {
  if (node.IsScalar()) return secret ? "" : ", got " + Shown(text);
  return ", got " + KindOf(node);
}

// An optional "-" and digits only: what a config accepts as an integer (after a leading "+").
bool IsDecimal(std::string_view s) {
  if (!s.empty() && s[0] == '-') s.remove_prefix(1);
  return IsDigits(s);
}

std::string RangeText(int64_t min, int64_t max, bool too_large) {
  if (max == std::numeric_limits<int64_t>::max() || max == std::numeric_limits<int>::max()) {
    if (too_large) return "must be at most " + std::to_string(max);
    if (min == 0) return "must be 0 or more";
    if (min == 1) return "must be greater than 0";
  }
  return "must be between " + std::to_string(min) + " and " + std::to_string(max);
}

std::string_view WithoutPlus(std::string_view s) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  return s;
}

}  // namespace

BlockReader::BlockReader(Problems& problems, const KeyCatalog& catalog, std::string name,
                         const YAML::Node& node)
    : problems_(problems), name_(std::move(name)) {
  if (!node.IsMap()) return;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    if (!key.IsScalar()) {
      problems_.Add(key.Mark(), name_,
                    "keys must be plain names, got " + KindOf(key) + " as a key");
      continue;
    }
    const std::string& k = key.Scalar();
    if (!catalog.Accepts(name_, k)) {
      problems_.Add(key.Mark(), "", UnknownKeyMessage(catalog, name_, k));
      continue;
    }
    if (auto seen = entries_.find(k); seen != entries_.end()) {
      const YAML::Mark first = seen->second.key.Mark();
      problems_.Add(key.Mark(), Field(k),
                    "duplicate key" + (first.is_null() ? std::string()
                                                       : " (first set on line " +
                                                             std::to_string(first.line + 1) + ")"));
      continue;
    }
    entries_.emplace(k, Entry{key, value});
  }
}

std::string BlockReader::Field(const std::string& key) const {
  return DottedName(name_, key);
}

bool BlockReader::Has(const std::string& key) const {
  auto it = entries_.find(key);
  return it != entries_.end() && !it->second.value.IsNull();
}

YAML::Node BlockReader::Child(const std::string& key) {
  if (!Has(key)) return YAML::Node();
  const YAML::Node& v = Value(key);
  if (v.IsMap()) return v;
  problems_.Add(v.Mark(), Field(key),
                "expected a map of settings (indented \"key: value\" lines)" +
                    Got(v, v.IsScalar() ? v.Scalar() : "", false));
  return YAML::Node();
}

bool BlockReader::String(const std::string& key, std::string* out, StringRules rules,
                         bool* used_env) {
  if (!Has(key)) return false;
  const YAML::Node& v = Value(key);
  if (!v.IsScalar()) {
    problems_.Add(v.Mark(), Field(key), "expected a string" + Got(v, "", rules.secret));
    return false;
  }
  auto text = ExpandEnv(v.Scalar(), v.Mark(), Field(key), rules.secret, problems_);
  if (!text) return false;
  if (rules.non_empty && text->value.empty()) {
    problems_.Add(v.Mark(), Field(key), "must not be empty");
    return false;
  }
  // yaml-cpp runs an unterminated quote on to the end of the file; no setting spans lines.
  if (text->value.find('\n') != std::string::npos) {
    problems_.Add(v.Mark(), Field(key),
                  "the value runs over several lines: is a closing quote missing?");
    return false;
  }
  if (!WithoutNul(text->value, v.Mark(), Field(key))) return false;
  if (used_env != nullptr) *used_env = text->used_env;
  *out = std::move(text->value);
  return true;
}

bool BlockReader::Int(const std::string& key, int64_t* out, int64_t min, int64_t max) {
  auto text = Scalar(key, "an integer");
  if (!text) return false;
  const YAML::Mark mark = Value(key).Mark();
  const std::string_view s = WithoutPlus(*text);
  if (!IsDecimal(s)) {
    problems_.Add(mark, Field(key), "expected an integer, got " + Shown(*text));
    return false;
  }
  const std::optional<int64_t> n = ParseInt(s);
  if (!n || *n < min || *n > max) {
    const bool too_large = n ? *n > max : s[0] != '-';  // beyond int64 when n is nullopt
    problems_.Add(mark, Field(key), RangeText(min, max, too_large) + ", got " + Shown(*text));
    return false;
  }
  *out = *n;
  return true;
}

bool BlockReader::Seconds(const std::string& key, double* out) {
  auto text = Scalar(key, "a number");
  if (!text) return false;
  const YAML::Mark mark = Value(key).Mark();
  const std::string_view s = WithoutPlus(*text);
  // ParseDouble allows whitespace around the number; a config value is the number alone.
  const bool bare = !s.empty() && s.find_first_of(" \t\r\n") == std::string_view::npos;
  const std::optional<double> d = bare ? ParseDouble(s) : std::nullopt;
  if (!d) {
    problems_.Add(mark, Field(key), "expected a number of seconds, got " + Shown(*text));
    return false;
  }
  if (*d <= 0) {
    problems_.Add(mark, Field(key), "must be greater than 0, got " + Shown(*text));
    return false;
  }
  // A millisecond to a year: beyond, a writer would spin, or a wait overflow its clock.
  constexpr double kLeast = 0.001, kMost = 365.0 * 24 * 3600;
  if (*d < kLeast || *d > kMost) {
    problems_.Add(mark, Field(key),
                  std::string(*d < kLeast ? "must be at least 0.001 (a millisecond)"
                                          : "must be at most 31536000 (a year)") +
                      ", got " + Shown(*text));
    return false;
  }
  *out = *d;
  return true;
}

bool BlockReader::Bool(const std::string& key, bool* out) {
  auto text = Scalar(key, "true or false");
  if (!text) return false;
  const std::string s = Normalized(*text);
  if (s == "true" || s == "yes" || s == "on") {
    *out = true;
    return true;
  }
  if (s == "false" || s == "no" || s == "off") {
    *out = false;
    return true;
  }
  problems_.Add(Value(key).Mark(), Field(key), "expected true or false, got " + Shown(*text));
  return false;
}

bool BlockReader::StringList(const std::string& key, std::vector<std::string>* out,
                             const ListShape& shape) {
  if (!Has(key)) return false;
  const YAML::Node& v = Value(key);
  const std::string field = Field(key);
  const std::string expected = shape.expected;
  if (v.IsScalar()) {
    if (!shape.single_ok) {
      problems_.Add(
          v.Mark(), field,
          "expected " + expected + Got(v, v.Scalar(), false) + " (write a YAML list: [a, b])");
      return false;
    }
    auto text = ExpandEnv(v.Scalar(), v.Mark(), field, false, problems_);
    if (!text) return false;
    if (text->value.empty()) {
      problems_.Add(v.Mark(), field, "must not be empty");
      return false;
    }
    if (!WithoutNul(text->value, v.Mark(), field)) return false;
    *out = {text->value};
    return true;
  }
  if (!v.IsSequence()) {
    problems_.Add(v.Mark(), field, "expected " + expected + Got(v, "", false));
    return false;
  }
  if (v.size() == 0 && !shape.empty_ok) {
    problems_.Add(v.Mark(), field, "the list is empty; name at least one");
    return false;
  }
  std::vector<std::string> items;
  bool ok = true;
  for (size_t i = 0; i < v.size(); ++i) {
    const YAML::Node item = v[i];
    const std::string item_field = field + "[" + std::to_string(i) + "]";
    if (!item.IsScalar()) {
      problems_.Add(
          item.Mark().is_null() ? v.Mark() : item.Mark(), field,
          "expected " + expected + ", but item [" + std::to_string(i) + "] is " + KindOf(item));
      ok = false;
      continue;
    }
    auto text = ExpandEnv(item.Scalar(), item.Mark(), item_field, false, problems_);
    if (!text) {
      ok = false;
      continue;
    }
    if (text->value.empty()) {
      problems_.Add(item.Mark(), item_field, "must not be empty");
      ok = false;
      continue;
    }
    if (!WithoutNul(text->value, item.Mark(), item_field)) {
      ok = false;
      continue;
    }
    if (std::find(items.begin(), items.end(), text->value) != items.end()) {
      problems_.Add(item.Mark(), item_field, Shown(text->value) + " is listed twice");
      ok = false;
      continue;
    }
    items.push_back(std::move(text->value));
  }
  if (!ok) return false;
  *out = std::move(items);
  return true;
}

// Servers, libpq and the files written take C strings, which a NUL would cut short.
bool BlockReader::WithoutNul(const std::string& value, const YAML::Mark& mark,
                             const std::string& field) {
  if (value.find('\0') == std::string::npos) return true;
  problems_.Add(mark, field, "holds a NUL character (\\0)");  // not shown: it may be a secret
  return false;
}

void BlockReader::Problem(const std::string& key, const std::string& what) {
  problems_.Add(MarkOf(key), Field(key), what);
}

YAML::Mark BlockReader::MarkOf(const std::string& key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? YAML::Mark::null_mark() : it->second.value.Mark();
}

std::optional<std::string> BlockReader::Scalar(const std::string& key,
                                               const std::string& expected) {
  if (!Has(key)) return std::nullopt;
  const YAML::Node& v = Value(key);
  if (!v.IsScalar()) {
    problems_.Add(v.Mark(), Field(key), "expected " + expected + Got(v, "", false));
    return std::nullopt;
  }
  auto text = ExpandEnv(v.Scalar(), v.Mark(), Field(key), false, problems_);
  if (!text) return std::nullopt;
  return std::move(text->value);
}

}  // namespace dbr
