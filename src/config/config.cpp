// Reading and validating the YAML configuration. Every problem becomes a line of the returned
// Status, "<file>:<line>:<column>: <field>: <what is wrong>"; nothing throws out of here.
#include "config/config.h"

#include <fcntl.h>
#include <unistd.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "util/log.h"

namespace dbr {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxConfigBytes = 4 * 1024 * 1024;
constexpr size_t kMaxReportedProblems = 20;
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kIntMax = std::numeric_limits<int>::max();

// ---------------------------------------------------------------------------------------------
// The schema: which keys each block accepts.

const std::vector<std::string> kTopKeys = {"provider",
                                           "force",
                                           "log_level",
                                           "aws",
                                           "src",
                                           "dst",
                                           "upgrade",
                                           "cutover",
                                           "metrics",
                                           "jobs",
                                           "sequence_gap",
                                           "heartbeat_interval",
                                           "catchup_lag_bytes",
                                           "catchup_timeout",
                                           "reconnect_timeout",
                                           "split_tables_larger_than",
                                           "pg_bin_dir",
                                           "state_dir",
                                           "verify"};
const std::vector<std::string> kAwsKeys = {"profile", "region", "endpoint_url"};
const std::vector<std::string> kServerKeys = {
    "user", "password", "schema", "name", "port", "host", "instance_id", "sslmode", "sslrootcert"};
const std::vector<std::string> kUpgradeKeys = {
    "subnet_group",    "engine_version",     "kms_id",         "security_groups",
    "parameter_group", "instance_class",     "storage_type",   "storage_size",
    "storage_iops",    "storage_throughput", "user",           "password",
    "vpc_id",          "ca_identifier",      "keep_snapshots", "allow_source_reboot",
    "wait_timeout"};

const std::vector<std::string> kCutoverKeys = {
    "type",          "manage",        "listen",        "admin",   "admin_user", "admin_password",
    "config_file",   "auth_file",     "database",      "backend", "pool_mode",  "run_as",
    "pause_timeout", "drain_timeout", "max_lag_bytes", "fence",   "fence_roles"};

const std::vector<std::string> kMetricsKeys = {"listen"};

const std::vector<std::string>& KeysOf(const std::string& block) {
  if (block == "aws") return kAwsKeys;
  if (block == "src" || block == "dst") return kServerKeys;
  if (block == "upgrade") return kUpgradeKeys;
  if (block == "cutover") return kCutoverKeys;
  if (block == "metrics") return kMetricsKeys;
  return kTopKeys;
}

// Names people reach for out of habit (libpq, other tools) -> our key.
const std::map<std::string, std::string> kAliases = {
    {"database", "name"},  {"dbname", "name"},        {"db", "name"},
    {"username", "user"},  {"hostname", "host"},      {"pass", "password"},
    {"schemas", "schema"}, {"loglevel", "log_level"}, {"security_group", "security_groups"}};

// ---------------------------------------------------------------------------------------------
// Small text helpers.

std::string Join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += items[i];
  }
  return out;
}

std::string Quoted(const std::string& s) {
  return "\"" + s + "\"";
}

// A value echoed back in a message: quoted, control characters replaced, long text shortened.
std::string Shown(const std::string& value) {
  constexpr size_t kMax = 60;
  std::string out;
  for (char c : value.substr(0, kMax)) {
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  }
  if (value.size() > kMax) out += "...";
  return Quoted(out);
}

// Lower case, '-' as '_': how keys and booleans are compared loosely.
std::string Normalized(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c == '-') c = '_';
  }
  return s;
}

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

std::string FullName(const std::string& block, const std::string& key) {
  return block.empty() ? key : block + "." + key;
}

// `unknown key "src.hots" (did you mean "src.host"?)`, or the list of valid keys.
std::string UnknownKeyMessage(const std::string& block, const std::string& key) {
  std::string msg = "unknown key " + Shown(FullName(block, key));
  if (key == "<<") return msg + " (YAML merge keys are not supported; write the settings out)";
  const std::vector<std::string>& keys = KeysOf(block);
  const std::string valid_keys = " (valid keys" + (block.empty() ? "" : " in " + Quoted(block)) +
                                 ": " + Join(keys, ", ") + ")";
  if (key.size() > 64) return msg + valid_keys;
  const std::string want = Normalized(key);
  std::vector<std::string> hits;

  if (auto alias = kAliases.find(want); alias != kAliases.end()) {
    if (std::find(keys.begin(), keys.end(), alias->second) != keys.end()) {
      hits.push_back(FullName(block, alias->second));
    }
  }
  if (hits.empty()) {
    const size_t allowed = want.size() <= 3 ? 1 : want.size() <= 5 ? 2 : 3;
    size_t best = std::numeric_limits<size_t>::max();
    for (const auto& k : keys) best = std::min(best, EditDistance(want, k));
    if (best <= allowed) {
      for (const auto& k : keys) {
        if (EditDistance(want, k) == best) hits.push_back(FullName(block, k));
      }
    }
  }
  if (hits.empty() && want.size() >= 4) {  // "heartbeat" -> "heartbeat_interval"
    for (const auto& k : keys) {
      if (k.find(want) != std::string::npos || want.find(k) != std::string::npos) {
        hits.push_back(FullName(block, k));
      }
    }
  }
  if (hits.empty()) {  // the right key in the wrong block: "region" -> "aws.region"
    if (!block.empty() && std::find(kTopKeys.begin(), kTopKeys.end(), want) != kTopKeys.end()) {
      return msg + " (" + Quoted(want) + " belongs at the top level, not inside " + Quoted(block) +
             ")";
    }
    for (const std::string other : {"aws", "src", "dst", "upgrade", "cutover", "metrics"}) {
      if (other == block) continue;
      const auto& other_keys = KeysOf(other);
      if (std::find(other_keys.begin(), other_keys.end(), want) != other_keys.end()) {
        hits.push_back(FullName(other, want));
      }
    }
  }
  if (hits.size() > 4) hits.resize(4);
  if (hits.empty()) return msg + valid_keys;
  std::vector<std::string> quoted;
  for (const auto& h : hits) quoted.push_back(Quoted(h));
  return msg + " (did you mean " + Join(quoted, " or ") + "?)";
}

// ---------------------------------------------------------------------------------------------
// Collecting problems.

class Problems {
 public:
  explicit Problems(std::string origin) : origin_(std::move(origin)) {}

  // `field` may be empty when `what` already names it.
  void Add(const YAML::Mark& mark, const std::string& field, const std::string& what) {
    Problem p;
    p.text = field.empty() ? what : field + ": " + what;
    if (!mark.is_null() && mark.line >= 0 && mark.column >= 0) {
      p.line = mark.line + 1;
      p.column = mark.column + 1;
    }
    p.order = list_.size();
    list_.push_back(std::move(p));
  }
  void Add(const std::string& field, const std::string& what) {
    Add(YAML::Mark::null_mark(), field, what);
  }

  bool empty() const { return list_.empty(); }

  // One line per problem, in file order; problems without a position come last.
  Status ToStatus() const {
    std::vector<Problem> sorted = list_;
    std::stable_sort(sorted.begin(), sorted.end(), [](const Problem& a, const Problem& b) {
      if ((a.line == 0) != (b.line == 0)) return b.line == 0;
      if (a.line != b.line) return a.line < b.line;
      if (a.column != b.column) return a.column < b.column;
      return a.order < b.order;
    });
    std::string out;
    for (size_t i = 0; i < sorted.size() && i < kMaxReportedProblems; ++i) {
      if (i > 0) out += "\n";
      out += origin_;
      if (sorted[i].line > 0) {
        out += ":" + std::to_string(sorted[i].line) + ":" + std::to_string(sorted[i].column);
      }
      out += ": " + sorted[i].text;
    }
    if (sorted.size() > kMaxReportedProblems) {
      out += "\n" + origin_ + ": ... and " + std::to_string(sorted.size() - kMaxReportedProblems) +
             " more problems";
    }
    return Status::Error(out);
  }

 private:
  struct Problem {
    int line = 0;  // 1-based; 0: no position
    int column = 0;
    size_t order = 0;
    std::string text;
  };
  std::string origin_;
  std::vector<Problem> list_;
};

std::string KindOf(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return "nothing";
    case YAML::NodeType::Scalar:
      break;
  }
  return "a value";
}

// "got a list", or `got "abc"` for a scalar unless it is secret.
std::string Got(const YAML::Node& node, const std::string& text, bool secret) {
  if (node.IsScalar()) return secret ? "" : ", got " + Shown(text);
  return ", got " + KindOf(node);
}

// ---------------------------------------------------------------------------------------------
// ${ENV_VAR} expansion.

struct Expanded {
  std::string value;
  bool used_env = false;
};

bool IsEnvName(const std::string& name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// Replaces each ${NAME} with the environment variable. "$$" and a "$" not followed by "{" are
// kept as they are. Returns nullopt after recording a problem.
std::optional<Expanded> ExpandEnv(const std::string& in, const YAML::Mark& mark,
                                  const std::string& field, bool secret, Problems& problems) {
  Expanded out;
  bool ok = true;
  size_t i = 0;
  while (i < in.size()) {
    if (in[i] != '$' || i + 1 >= in.size()) {
      out.value += in[i++];
      continue;
    }
    if (in[i + 1] == '$') {
      out.value += "$$";
      i += 2;
      continue;
    }
    if (in[i + 1] != '{') {
      out.value += in[i++];
      continue;
    }
    const size_t close = in.find('}', i + 2);
    if (close == std::string::npos) {
      problems.Add(mark, field,
                   "unterminated \"${\": write ${NAME} to use an environment variable");
      return std::nullopt;
    }
    const std::string name = in.substr(i + 2, close - i - 2);
    if (!IsEnvName(name)) {
      const std::string shown = secret ? "" : " " + Shown("${" + name + "}");
      problems.Add(mark, field,
                   "invalid environment variable reference" + shown +
                       " (write ${NAME}; a name has letters, digits and _)");
      ok = false;
    } else if (const char* value = std::getenv(name.c_str()); value == nullptr) {
      problems.Add(mark, field, "environment variable " + name + " is not set");
      ok = false;
    } else {
      out.value += value;
      out.used_env = true;
    }
    i = close + 1;
  }
  if (!ok) return std::nullopt;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Typed access to one block (a YAML map) of the config.

struct StringRules {
  bool secret = false;     // never echo the value
  bool non_empty = false;  // "" is an error
};

class Block {
 public:
  // `node` is a map or null (an absent block); anything else must be reported by the caller.
  Block(Problems& problems, std::string name, const YAML::Node& node)
      : problems_(problems), name_(std::move(name)) {
    if (!node.IsMap()) return;
    const auto& keys = KeysOf(name_);
    for (auto it = node.begin(); it != node.end(); ++it) {
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      if (!key.IsScalar()) {
        problems_.Add(key.Mark(), name_,
                      "keys must be plain names, got " + KindOf(key) + " as a key");
        continue;
      }
      const std::string& k = key.Scalar();
      if (std::find(keys.begin(), keys.end(), k) == keys.end()) {
        problems_.Add(key.Mark(), "", UnknownKeyMessage(name_, k));
        continue;
      }
      if (auto seen = entries_.find(k); seen != entries_.end()) {
        const YAML::Mark first = seen->second.key.Mark();
        problems_.Add(
            key.Mark(), Field(k),
            "duplicate key" +
                (first.is_null() ? std::string()
                                 : " (first set on line " + std::to_string(first.line + 1) + ")"));
        continue;
      }
      entries_.emplace(k, Entry{key, value});
    }
  }

  std::string Field(const std::string& key) const { return FullName(name_, key); }

  // The key is present with a non-null value.
  bool Has(const std::string& key) const {
    auto it = entries_.find(key);
    return it != entries_.end() && !it->second.value.IsNull();
  }

  // A nested block's node: null when absent; reports a non-map value and returns null.
  YAML::Node Child(const std::string& key) {
    if (!Has(key)) return YAML::Node();
    const YAML::Node& v = Value(key);
    if (v.IsMap()) return v;
    problems_.Add(v.Mark(), Field(key),
                  "expected a map of settings (indented \"key: value\" lines)" +
                      Got(v, v.IsScalar() ? v.Scalar() : "", false));
    return YAML::Node();
  }

  // Each getter leaves *out alone when the key is absent or null, and returns true when it
  // stored a valid value. `used_env` (optional) tells whether ${...} was used.
  bool String(const std::string& key, std::string* out, StringRules rules = {},
              bool* used_env = nullptr) {
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
    if (used_env != nullptr) *used_env = text->used_env;
    *out = std::move(text->value);
    return true;
  }

  // A password: never echoed, and named in `literal` when the file holds it in plain text
  // (rather than through ${ENV_VAR}).
  void Password(const std::string& key, std::string* out, std::vector<std::string>* literal) {
    bool used_env = false;
    if (String(key, out, {.secret = true}, &used_env) && !used_env && !out->empty())
      literal->push_back(Field(key));
  }

  bool Int(const std::string& key, int64_t* out, int64_t min, int64_t max) {
    auto text = Scalar(key, "an integer");
    if (!text) return false;
    const YAML::Node& v = Value(key);
    std::string_view s = *text;
    if (!s.empty() && s[0] == '+') s.remove_prefix(1);
    int64_t n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (s.empty() || ec == std::errc::invalid_argument || end != s.data() + s.size()) {
      problems_.Add(v.Mark(), Field(key), "expected an integer, got " + Shown(*text));
      return false;
    }
    if (ec == std::errc::result_out_of_range) {
      const bool negative = s[0] == '-';
      problems_.Add(v.Mark(), Field(key),
                    RangeText(min, max, /*too_large=*/!negative) + ", got " + Shown(*text));
      return false;
    }
    if (n < min || n > max) {
      problems_.Add(v.Mark(), Field(key), RangeText(min, max, n > max) + ", got " + Shown(*text));
      return false;
    }
    *out = n;
    return true;
  }

  bool Int(const std::string& key, int* out, int min, int max) {
    int64_t n = 0;
    if (!Int(key, &n, min, max)) return false;
    *out = static_cast<int>(n);
    return true;
  }

  // A positive, finite number (seconds).
  bool PositiveNumber(const std::string& key, double* out) {
    auto text = Scalar(key, "a number");
    if (!text) return false;
    const YAML::Node& v = Value(key);
    std::string_view s = *text;
    if (!s.empty() && s[0] == '+') s.remove_prefix(1);
    double d = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !std::isfinite(d)) {
      problems_.Add(v.Mark(), Field(key), "expected a number of seconds, got " + Shown(*text));
      return false;
    }
    if (d <= 0) {
      problems_.Add(v.Mark(), Field(key), "must be greater than 0, got " + Shown(*text));
      return false;
    }
    *out = d;
    return true;
  }

  bool Bool(const std::string& key, bool* out) {
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

  // A list of non-empty, distinct strings. With `single_ok` a lone string is a list of one.
  // `expected` describes the accepted shapes for messages.
  bool StringList(const std::string& key, std::vector<std::string>* out, bool single_ok,
                  bool empty_ok, const std::string& expected) {
    if (!Has(key)) return false;
    const YAML::Node& v = Value(key);
    const std::string field = Field(key);
    if (v.IsScalar()) {
      if (!single_ok) {
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
      *out = {text->value};
      return true;
    }
    if (!v.IsSequence()) {
      problems_.Add(v.Mark(), field, "expected " + expected + Got(v, "", false));
      return false;
    }
    if (v.size() == 0 && !empty_ok) {
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

  // Records a problem about the value of `key`, at its position.
  void Problem(const std::string& key, const std::string& what) {
    problems_.Add(MarkOf(key), Field(key), what);
  }

  YAML::Mark MarkOf(const std::string& key) const {
    auto it = entries_.find(key);
    return it == entries_.end() ? YAML::Mark::null_mark() : it->second.value.Mark();
  }

 private:
  struct Entry {
    YAML::Node key;
    YAML::Node value;
  };

  const YAML::Node& Value(const std::string& key) const { return entries_.at(key).value; }

  // The expanded text of a scalar value, or nullopt (absent, null, or a problem recorded).
  std::optional<std::string> Scalar(const std::string& key, const std::string& expected) {
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

  static std::string RangeText(int64_t min, int64_t max, bool too_large) {
    if (max == kInt64Max || max == kIntMax) {
      if (too_large) return "must be at most " + std::to_string(max);
      if (min == 0) return "must be 0 or more";
      if (min == 1) return "must be greater than 0";
    }
    return "must be between " + std::to_string(min) + " and " + std::to_string(max);
  }

  Problems& problems_;
  std::string name_;
  std::map<std::string, Entry> entries_;
};

// ---------------------------------------------------------------------------------------------
// The blocks.

// "17", "16.4": a major version, optionally a minor one.
bool LooksLikeVersion(const std::string& v) {
  auto digits = [](std::string_view s) {
    return !s.empty() && s.size() <= 6 &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  const size_t dot = v.find('.');
  if (dot == std::string::npos) return digits(v);
  return digits(std::string_view(v).substr(0, dot)) && digits(std::string_view(v).substr(dot + 1));
}

void ParseServer(Block& b, ServerConfig* out, std::vector<std::string>* literal_passwords) {
  b.String("user", &out->user, {.non_empty = true});
  b.Password("password", &out->password, literal_passwords);
  b.StringList("schema", &out->schemas, /*single_ok=*/true, /*empty_ok=*/false,
               "a schema name or a list of names");
  b.String("name", &out->name, {.non_empty = true});
  b.Int("port", &out->port, 1, 65535);
  b.String("host", &out->host);
  b.String("instance_id", &out->instance_id);
  static const std::vector<std::string> kSslModes = {"disable", "allow",     "prefer",
                                                     "require", "verify-ca", "verify-full"};
  if (b.String("sslmode", &out->sslmode) &&
      std::find(kSslModes.begin(), kSslModes.end(), out->sslmode) == kSslModes.end()) {
    b.Problem("sslmode",
              "expected one of disable, allow, prefer, require, verify-ca, "
              "verify-full; got " +
                  Shown(out->sslmode));
  }
  b.String("sslrootcert", &out->sslrootcert);
}

void ParseUpgrade(Block& b, UpgradeConfig* out, std::vector<std::string>* literal_passwords) {
  b.String("subnet_group", &out->subnet_group);
  if (b.String("engine_version", &out->engine_version) && !out->engine_version.empty() &&
      !LooksLikeVersion(out->engine_version)) {
    b.Problem("engine_version", "expected a PostgreSQL version such as \"17\" or \"16.4\", got " +
                                    Shown(out->engine_version));
  }
  b.String("kms_id", &out->kms_id);
  b.StringList("security_groups", &out->security_groups, /*single_ok=*/false,
               /*empty_ok=*/true, "a list of strings");
  b.String("parameter_group", &out->parameter_group);
  b.String("instance_class", &out->instance_class);
  b.String("storage_type", &out->storage_type);
  b.Int("storage_size", &out->storage_size, 0, kInt64Max);
  b.Int("storage_iops", &out->storage_iops, 0, kInt64Max);
  b.Int("storage_throughput", &out->storage_throughput, 0, kInt64Max);
  b.String("user", &out->user, {.non_empty = true});
  b.Password("password", &out->password, literal_passwords);
  b.String("vpc_id", &out->vpc_id);
  b.String("ca_identifier", &out->ca_identifier);
  b.Bool("keep_snapshots", &out->keep_snapshots);
  b.Bool("allow_source_reboot", &out->allow_source_reboot);
  b.Int("wait_timeout", &out->wait_timeout, 1, kInt64Max);
}

// "host:port" with a port in range.
bool IsHostPort(const std::string& s) {
  const size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) return false;
  int port = 0;
  const char* begin = s.data() + colon + 1;
  auto [end, ec] = std::from_chars(begin, s.data() + s.size(), port);
  return ec == std::errc() && end == s.data() + s.size() && port >= 1 && port <= 65535;
}

void ParseCutover(Block& b, CutoverConfig* out, std::vector<std::string>* literal_passwords) {
  if (!b.String("type", &out->type)) {
    b.Problem("type", "missing: set it to pgbouncer or haproxy");
  } else if (out->type != "pgbouncer" && out->type != "haproxy") {
    b.Problem("type", "expected pgbouncer or haproxy, got " + Shown(out->type));
  }
  b.Bool("manage", &out->manage);
  if (b.String("listen", &out->listen) && !IsHostPort(out->listen))
    b.Problem("listen", "expected host:port such as 127.0.0.1:6432, got " + Shown(out->listen));
  b.String("admin", &out->admin);
  b.String("admin_user", &out->admin_user);
  b.Password("admin_password", &out->admin_password, literal_passwords);
  b.String("config_file", &out->config_file);
  b.String("auth_file", &out->auth_file);
  b.String("database", &out->database);
  b.String("backend", &out->backend, {.non_empty = true});
  if (b.String("pool_mode", &out->pool_mode) && out->pool_mode != "transaction" &&
      out->pool_mode != "session" && out->pool_mode != "statement") {
    b.Problem("pool_mode",
              "expected transaction, session or statement, got " + Shown(out->pool_mode));
  }
  b.String("run_as", &out->run_as, {.non_empty = true});
  b.PositiveNumber("pause_timeout", &out->pause_timeout);
  b.PositiveNumber("drain_timeout", &out->drain_timeout);
  b.Int("max_lag_bytes", &out->max_lag_bytes, 0, kInt64Max);
  if (b.String("fence", &out->fence) && out->fence != "read_only" && out->fence != "none")
    b.Problem("fence", "expected read_only or none, got " + Shown(out->fence));
  b.StringList("fence_roles", &out->fence_roles, /*single_ok=*/false, /*empty_ok=*/true,
               "a list of role names");
}

void ParseMetrics(Block& b, MetricsConfig* out) {
  if (!b.String("listen", &out->listen))
    b.Problem("listen", "missing: set it to host:port such as 127.0.0.1:9187");
  else if (!IsHostPort(out->listen))
    b.Problem("listen", "expected host:port such as 127.0.0.1:9187, got " + Shown(out->listen));
}

// Loopback spellings name the same server.
std::string CanonicalHost(std::string host) {
  host = Normalized(host);
  while (!host.empty() && host.back() == '.') host.pop_back();
  if (host == "localhost" || host == "127.0.0.1" || host == "::1" || host == "[::1]") {
    return "localhost";
  }
  return host;
}

fs::path BaseDir(const std::string& origin) {
  std::error_code ec;
  fs::path base = origin.empty() ? fs::current_path(ec) : fs::absolute(origin, ec).parent_path();
  if (ec) base = fs::path(".");
  return base;
}

fs::path Resolve(const fs::path& base, const std::string& p) {
  fs::path path(p);
  return (path.is_absolute() ? path : base / path).lexically_normal();
}

// Sees where each YAML document starts; builds nothing.
class DocumentProbe : public YAML::EventHandler {
 public:
  YAML::Mark start = YAML::Mark::null_mark();
  void OnDocumentStart(const YAML::Mark& mark) override { start = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// Counts the documents in `text` (stopping at 3) without building them. yaml-cpp can stall on
// some malformed input (a line starting with ","), yielding empty documents at one spot forever:
// YAML::LoadAll never returns and YAML::Load returns null (an all-defaults config). A document
// starting where the previous one did is that stall; it throws ParserException there.
int CountDocuments(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentProbe probe;
  int count = 0;
  YAML::Mark previous = YAML::Mark::null_mark();
  while (count < 3 && parser.HandleNextDocument(probe)) {
    if (count > 0 && probe.start.pos == previous.pos) {
      const size_t at = static_cast<size_t>(std::max(probe.start.pos, 0));
      throw YAML::ParserException(probe.start, at < text.size()
                                                   ? "unexpected " + Shown(std::string(1, text[at]))
                                                   : std::string("unexpected end of file"));
    }
    previous = probe.start;
    ++count;
  }
  return count;
}

// A value that opens a quote and does not close it on its line: YAML would carry on into the
// next lines and swallow the keys there ("name: \"app" + "port: 6543" becomes one name). No
// setting of this config spans lines, so this is reported as the syntax error it almost surely is.
void RejectUnclosedQuotes(const std::string& text) {
  size_t start = 0;
  for (int line = 0; start <= text.size(); ++line) {
    size_t end = text.find('\n', start);
    std::string_view l(text.data() + start, (end == std::string::npos ? text.size() : end) - start);
    size_t value = l.find(": ");
    value = value == std::string_view::npos ? l.find_first_not_of(" -") : value + 2;
    if (value != std::string_view::npos) value = l.find_first_not_of(' ', value);
    if (value != std::string_view::npos && (l[value] == '"' || l[value] == '\'')) {
      const char q = l[value];
      bool closed = false;
      for (size_t i = value + 1; i < l.size() && !closed; ++i) {
        if (q == '"' && l[i] == '\\')
          ++i;
        else if (l[i] == q && q == '\'' && i + 1 < l.size() && l[i + 1] == '\'')
          ++i;
        else
          closed = l[i] == q;
      }
      if (!closed) {
        YAML::Mark mark = YAML::Mark::null_mark();
        mark.pos = static_cast<int>(start + value);
        mark.line = line;
        mark.column = static_cast<int>(value);
        throw YAML::ParserException(mark, "the quoted value is not closed on its line");
      }
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
}

Result<Config> Parse(const std::string& text, const std::string& origin) {
  YAML::Node root;
  try {
    RejectUnclosedQuotes(text);
    const int documents = CountDocuments(text);
    if (documents > 1) {
      return Status::Error(origin +
                           ": holds more than one YAML document (separated by ---); "
                           "expected one");
    }
    if (documents == 1) root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    std::string where = origin;
    if (!e.mark.is_null() && e.mark.line >= 0) {
      where += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
    }
    std::string hint;
    if (!e.mark.is_null() && e.mark.line >= 0) {
      // "schema: [a, ${X}]": inside [ ] and { } the braces of ${...} are YAML syntax.
      size_t start = 0;
      for (int line = 0; line < e.mark.line && start != std::string::npos; ++line) {
        start = text.find('\n', start);
        if (start != std::string::npos) ++start;
      }
      if (start != std::string::npos) {
        const size_t end = text.find('\n', start);
        const std::string line = text.substr(start, end == std::string::npos ? end : end - start);
        if (line.find("${") != std::string::npos) {
          hint = " (inside [ ] or { }, put values that use ${...} in quotes: \"${NAME}\")";
        }
      }
    }
    return Status::Error(where + ": YAML syntax error: " + e.msg + hint);
  }

  Problems problems(origin);
  if (!root.IsNull() && !root.IsMap()) {
    YAML::Mark mark = root.Mark();
    problems.Add(mark, "",
                 "expected a map of settings at the top level (\"key: value\" lines), got " +
                     (root.IsScalar() ? "the text " + Shown(root.Scalar()) : KindOf(root)));
    return problems.ToStatus();
  }

  Config cfg;
  Block top(problems, "", root);
  if (top.String("provider", &cfg.provider) && cfg.provider != "rds" &&
      cfg.provider != "postgres") {
    top.Problem("provider", "expected \"rds\" or \"postgres\", got " + Shown(cfg.provider));
  }
  top.Bool("force", &cfg.force);
  if (top.String("log_level", &cfg.log_level) && !log::IsValidLevel(cfg.log_level)) {
    top.Problem("log_level",
                "expected one of debug, info, warn, error, fatal; got " + Shown(cfg.log_level));
  }

  Block aws(problems, "aws", top.Child("aws"));
  aws.String("profile", &cfg.aws.profile);
  aws.String("region", &cfg.aws.region);
  aws.String("endpoint_url", &cfg.aws.endpoint_url);

  Block src(problems, "src", top.Child("src"));
  ParseServer(src, &cfg.src, &cfg.literal_password_fields);

  // dst inherits what it does not set from src, except where it lives.
  cfg.dst.user = cfg.src.user;
  cfg.dst.password = cfg.src.password;
  cfg.dst.schemas = cfg.src.schemas;
  cfg.dst.name = cfg.src.name;
  cfg.dst.port = cfg.src.port;
  cfg.dst.sslmode = cfg.src.sslmode;
  cfg.dst.sslrootcert = cfg.src.sslrootcert;
  Block dst(problems, "dst", top.Child("dst"));
  ParseServer(dst, &cfg.dst, &cfg.literal_password_fields);

  Block upgrade(problems, "upgrade", top.Child("upgrade"));
  ParseUpgrade(upgrade, &cfg.upgrade, &cfg.literal_password_fields);

  if (top.Has("cutover")) {
    Block cutover(problems, "cutover", top.Child("cutover"));
    cfg.cutover.configured = true;
    ParseCutover(cutover, &cfg.cutover, &cfg.literal_password_fields);
  }

  if (top.Has("metrics")) {
    Block metrics(problems, "metrics", top.Child("metrics"));
    ParseMetrics(metrics, &cfg.metrics);
  }

  top.Int("jobs", &cfg.jobs, 0, static_cast<int>(kIntMax));
  top.Int("sequence_gap", &cfg.sequence_gap, 0, kInt64Max);
  top.PositiveNumber("heartbeat_interval", &cfg.heartbeat_interval);
  top.Int("catchup_lag_bytes", &cfg.catchup_lag_bytes, 1, kInt64Max);
  top.Int("catchup_timeout", &cfg.catchup_timeout, 1, kInt64Max);
  top.Int("reconnect_timeout", &cfg.reconnect_timeout, 1, kInt64Max);
  top.Int("split_tables_larger_than", &cfg.split_tables_larger_than, 0, kInt64Max);
  top.String("pg_bin_dir", &cfg.pg_bin_dir);
  top.String("state_dir", &cfg.state_dir);
  top.Bool("verify", &cfg.verify);

  // cleanup drops the replication user: it must not be one of the accounts db_relocate logs in as.
  if (cfg.upgrade.user == cfg.src.user || cfg.upgrade.user == cfg.dst.user)
    problems.Add(upgrade.MarkOf("user"), "upgrade.user",
                 "must differ from src.user and dst.user (\"" + cfg.upgrade.user +
                     "\"): it is the replication user db_relocate creates, and cleanup drops it");
  if (cfg.provider == "postgres") {
    if (!dst.Has("host") || cfg.dst.host.empty()) {
      problems.Add("", "provider \"postgres\" needs a destination: set dst.host");
    } else if (problems.empty() && cfg.src.Address() == cfg.dst.Address() &&
               cfg.src.name == cfg.dst.name) {
      problems.Add(dst.MarkOf("host"), "dst",
                   "the destination is the same database as the source (host " + cfg.dst.host +
                       ", port " + std::to_string(cfg.dst.port) + ", name " + cfg.dst.name +
                       "); change dst.host, dst.port or dst.name");
    }
  }
  if (!problems.empty()) return problems.ToStatus();

  const fs::path base = BaseDir(origin);
  cfg.state_dir = cfg.state_dir.empty() ? (base / "db_relocate.state").lexically_normal().string()
                                        : Resolve(base, cfg.state_dir).string();
  if (!cfg.pg_bin_dir.empty()) cfg.pg_bin_dir = Resolve(base, cfg.pg_bin_dir).string();
  for (ServerConfig* server : {&cfg.src, &cfg.dst})
    if (!server->sslrootcert.empty())
      server->sslrootcert = Resolve(base, server->sslrootcert).string();
  CutoverConfig& co = cfg.cutover;
  const bool pgbouncer = co.type == "pgbouncer";
  if (co.admin.empty())
    co.admin =
        pgbouncer ? co.listen : (fs::path(cfg.state_dir) / "proxy" / "haproxy.sock").string();
  else if (!pgbouncer)
    co.admin = Resolve(base, co.admin).string();
  if (co.admin_user.empty()) co.admin_user = cfg.src.user;
  if (co.admin_password.empty()) co.admin_password = cfg.src.password;
  if (co.database.empty()) co.database = cfg.src.name;
  co.config_file =
      co.config_file.empty()
          ? (fs::path(cfg.state_dir) / "proxy" / (pgbouncer ? "pgbouncer.ini" : "haproxy.cfg"))
                .string()
          : Resolve(base, co.config_file).string();
  co.generate_auth_file = co.auth_file.empty();
  co.auth_file = co.auth_file.empty()
                     ? (fs::path(co.config_file).parent_path() / "userlist.txt").string()
                     : Resolve(base, co.auth_file).string();
  return cfg;
}

// Reads a whole file; works for pipes such as /dev/stdin too.
Result<std::string> ReadFile(const fs::path& path) {
  const std::string prefix = "cannot read config file " + path.string() + ": ";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Error(prefix + std::generic_category().message(errno));
  std::string text;
  char buf[65536];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return Status::Error(prefix + std::generic_category().message(err));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxConfigBytes) {
      ::close(fd);
      return Status::Error(prefix + "larger than " + std::to_string(kMaxConfigBytes >> 20) +
                           " MiB; is this the right file?");
    }
  }
  ::close(fd);
  return text;
}

}  // namespace

std::string ServerConfig::Address() const {
  return CanonicalHost(host) + ":" + std::to_string(port);
}

Result<Config> ParseConfig(const std::string& yaml_text, const std::string& origin) {
  try {
    return Parse(yaml_text, origin);
  } catch (const std::exception& e) {
    return Status::Error(origin + ": cannot load the configuration: " + e.what());
  } catch (...) {
    return Status::Error(origin + ": cannot load the configuration");
  }
}

Result<Config> LoadConfig(const fs::path& path) {
  try {
    if (path.empty()) return Status::Error("no config file given");
    std::error_code ec;
    fs::path file = fs::absolute(path, ec);
    if (ec) file = path;
    file = file.lexically_normal();
    if (fs::is_directory(file, ec)) file /= "config.yaml";
    DBR_ASSIGN_OR_RETURN(std::string text, ReadFile(file));
    DBR_ASSIGN_OR_RETURN(Config cfg, ParseConfig(text, file.string()));
    cfg.config_file = file;
    return cfg;
  } catch (const std::exception& e) {
    return Status::Error("cannot read config file " + path.string() + ": " + e.what());
  } catch (...) {
    return Status::Error("cannot read config file " + path.string());
  }
}

std::vector<std::string> ConfigWarnings(const Config& config) {
  std::vector<std::string> warnings;
  if (config.literal_password_fields.empty() || config.config_file.empty()) return warnings;
  std::error_code ec;
  const fs::file_status st = fs::status(config.config_file, ec);
  if (ec) return warnings;
  const fs::perms p = st.permissions();
  const bool group = (p & fs::perms::group_read) != fs::perms::none;
  const bool others = (p & fs::perms::others_read) != fs::perms::none;
  if (!group && !others) return warnings;
  char mode[8];
  std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(p & fs::perms::mask) & 07777u);
  const std::string file = config.config_file.string();
  warnings.push_back(file + " holds " + Join(config.literal_password_fields, ", ") +
                     " in plain text and is readable by " +
                     (group && others ? "group and others"
                      : group         ? "group"
                                      : "others") +
                     " (mode " + mode + "); run chmod 600 " + file +
                     ", or set the password through an environment variable: ${NAME}");
  return warnings;
}

}  // namespace dbr
