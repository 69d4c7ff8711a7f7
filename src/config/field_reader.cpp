#include "config/field_reader.h"

#include <algorithm>
#include <utility>

#include "config/config_text.h"

namespace dbr {
namespace {

using fields::BlockField;
using fields::BoolField;
using fields::IntField;
using fields::ListField;
using fields::SecondsField;
using fields::TextField;
using fields::TextRules;

// "src.port" -> {"src", "port"}; "jobs" -> {"", "jobs"}.
std::pair<std::string, std::string> SplitKey(std::string_view key) {
  const size_t dot = key.find('.');
  if (dot == std::string_view::npos) return {"", std::string(key)};
  return {std::string(key.substr(0, dot)), std::string(key.substr(dot + 1))};
}

KeyCatalog CatalogOf(const std::vector<FieldSpec>& fields,
                     std::map<std::string, std::string> aliases) {
  KeyCatalog catalog;
  catalog.blocks.push_back({"", {}});
  for (const FieldSpec& field : fields) {
    auto [block, key] = SplitKey(field.key);
    for (auto& [name, keys] : catalog.blocks) {
      if (name == block) keys.push_back(key);
    }
    if (std::holds_alternative<BlockField>(field.value))
      catalog.blocks.push_back({std::string(field.key), {}});
  }
  catalog.aliases = std::move(aliases);
  return catalog;
}

// "pgbouncer or haproxy", "transaction, session or statement", "one of a, b, c, d"; or the
// format's description.
std::string Expected(const TextRules& rules) {
  if (rules.format != nullptr) return std::string(rules.format->expected);
  std::vector<std::string> shown;
  for (std::string_view choice : rules.choices)
    shown.push_back(rules.quote_choices ? Quoted(std::string(choice)) : std::string(choice));
  if (shown.size() > 3) return "one of " + Join(shown, ", ");
  const std::string last = shown.back();
  shown.pop_back();
  return shown.empty() ? last : Join(shown, ", ") + " or " + last;
}

bool IsAllowed(const TextRules& rules, const std::string& value) {
  if (rules.format != nullptr) return rules.format->valid(value);
  return rules.choices.empty() ||
         std::find(rules.choices.begin(), rules.choices.end(), value) != rules.choices.end();
}

// Each returns true when it stored a value from the file (valid as a value of its type).
bool ReadValue(BlockReader& in, const std::string& key, const TextField& field, Config& config) {
  const TextRules& rules = field.rules;
  std::string value;
  bool used_env = false;
  if (!in.String(key, &value, {.secret = rules.secret, .non_empty = rules.non_empty}, &used_env)) {
    if (rules.required) in.Problem(key, "missing: set it to " + Expected(rules));
    return false;
  }
  if (rules.secret && !used_env && !value.empty())
    config.literal_password_fields.push_back(in.Field(key));
  field.member.set(config, value);
  if (!IsAllowed(rules, value)) {
    const bool listed = rules.format == nullptr && rules.choices.size() > 3;
    in.Problem(key, "expected " + Expected(rules) + (listed ? "; got " : ", got ") + Shown(value));
  }
  return true;
}

bool ReadValue(BlockReader& in, const std::string& key, const IntField& field, Config& config) {
  int64_t n = 0;
  if (!in.Int(key, &n, field.min, field.max)) return false;
  field.Set(config, n);
  return true;
}

bool ReadValue(BlockReader& in, const std::string& key, const SecondsField& field, Config& config) {
  return in.Seconds(key, &field.member(config));
}

bool ReadValue(BlockReader& in, const std::string& key, const BoolField& field, Config& config) {
  return in.Bool(key, &field.member(config));
}

bool ReadValue(BlockReader& in, const std::string& key, const ListField& field, Config& config) {
  return in.StringList(key, &field.member(config), field.shape);
}

bool ReadValue(BlockReader&, const std::string&, const BlockField&, Config&) {
  return false;  // FieldReader::ReadField opens blocks
}

// Copies field `from`'s value to field `to` (of the same kind; config_schema_test checks that).
template <typename Kind>
void CopyMember(const Kind& to, const Kind& from, Config& config) {
  to.member(config) = from.member(config);
}
void CopyMember(const TextField& to, const TextField& from, Config& config) {
  to.member.set(config, from.member.get(config));
}
void CopyMember(const IntField& to, const IntField& from, Config& config) {
  to.Set(config, from.Get(config));
}
void CopyMember(const BlockField&, const BlockField&, Config&) {}
template <typename To, typename From>
void CopyMember(const To&, const From&, Config&) {}

}  // namespace

FieldReader::FieldReader(const std::vector<FieldSpec>& fields,
                         std::map<std::string, std::string> aliases, Problems& problems)
    : fields_(fields), catalog_(CatalogOf(fields, std::move(aliases))), problems_(problems) {}

void FieldReader::Read(const YAML::Node& root, Config& config) {
  blocks_.try_emplace("", problems_, catalog_, "", root);
  for (const FieldSpec& field : fields_) ReadField(field, config);
  for (const FieldSpec& field : fields_) TakeInheritedDefault(field, config);
}

void FieldReader::ReadField(const FieldSpec& field, Config& config) {
  const std::pair<std::string, std::string> split = SplitKey(field.key);
  const std::string& key = split.second;  // the key inside its block
  auto block = blocks_.find(split.first);
  if (block == blocks_.end()) return;  // the file has no such block
  BlockReader& in = block->second;
  const std::string full_key(field.key);
  if (const auto* nested = std::get_if<BlockField>(&field.value)) {
    if (!in.Has(key)) return;
    blocks_.try_emplace(full_key, problems_, catalog_, full_key, in.Child(key));
    if (nested->present != nullptr) nested->present(config) = true;
    return;
  }
  const bool stored =
      std::visit([&](const auto& kind) { return ReadValue(in, key, kind, config); }, field.value);
  if (stored) stored_.insert(full_key);
}

void FieldReader::TakeInheritedDefault(const FieldSpec& field, Config& config) const {
  if (!field.default_text.inherited || stored_.count(std::string(field.key)) > 0) return;
  for (const FieldSpec& source : fields_) {
    if (source.key != field.default_text.text) continue;
    std::visit([&](const auto& to, const auto& from) { CopyMember(to, from, config); }, field.value,
               source.value);
  }
}

const BlockReader* FieldReader::BlockOf(const std::string& key, std::string* name_in_block) const {
  auto [block, name] = SplitKey(key);
  auto it = blocks_.find(block);
  if (it == blocks_.end()) return nullptr;
  *name_in_block = name;
  return &it->second;
}

bool FieldReader::Has(const std::string& key) const {
  std::string name;
  const BlockReader* block = BlockOf(key, &name);
  return block != nullptr && block->Has(name);
}

YAML::Mark FieldReader::MarkOf(const std::string& key) const {
  std::string name;
  const BlockReader* block = BlockOf(key, &name);
  return block != nullptr ? block->MarkOf(name) : YAML::Mark::null_mark();
}

void ResolvePaths(const std::vector<FieldSpec>& fields, Config& config,
                  const std::filesystem::path& base) {
  for (const FieldSpec& field : fields) {
    const auto* text = std::get_if<TextField>(&field.value);
    if (text == nullptr || !text->rules.path) continue;
    const std::string value = text->member.get(config);
    if (!value.empty()) text->member.set(config, ResolveAgainst(base, value));
  }
}

std::string ResolveAgainst(const std::filesystem::path& base, const std::string& path) {
  const std::filesystem::path p(path);
  return (p.is_absolute() ? p : base / p).lexically_normal().string();
}

}  // namespace dbr
