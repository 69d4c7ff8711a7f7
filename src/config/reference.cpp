#include "config/reference.h"

#include <charconv>
#include <limits>

#include "config/config_text.h"
#include "config/schema.h"

namespace dbr {
namespace {

struct ShowValue {
  Config& config;
  std::string operator()(const fields::TextField& f) const {
    const std::string value = f.member.get(config);
    return value.empty() ? "\"\"" : value;
  }
  std::string operator()(const fields::IntField& f) const { return std::to_string(f.Get(config)); }
  std::string operator()(const fields::SecondsField& f) const {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), f.member(config));
    return ec == std::errc() ? std::string(buf, end) : std::string();
  }
  std::string operator()(const fields::BoolField& f) const {
    return f.member(config) ? "true" : "false";
  }
  std::string operator()(const fields::ListField& f) const {
    const std::vector<std::string>& items = f.member(config);
    return items.empty() ? "[]" : Join(items, ", ");
  }
  std::string operator()(const fields::BlockField&) const { return ""; }
};

struct ShowType {
  std::string operator()(const fields::TextField& f) const {
    const fields::TextRules& rules = f.rules;
    if (rules.format != nullptr) return std::string(rules.format->name);
    if (!rules.choices.empty()) {
      return Join(std::vector<std::string>(rules.choices.begin(), rules.choices.end()), "|");
    }
    if (rules.path) return "path";
    if (rules.secret) return "password";
    return rules.non_empty ? "string, not empty" : "string";
  }
  std::string operator()(const fields::IntField& f) const {
    if (f.max == std::numeric_limits<int64_t>::max() || f.max == std::numeric_limits<int>::max())
      return f.min == 1 ? "integer > 0" : "integer >= " + std::to_string(f.min);
    return "integer " + std::to_string(f.min) + "-" + std::to_string(f.max);
  }
  std::string operator()(const fields::SecondsField&) const { return "seconds 0.001-31536000"; }
  std::string operator()(const fields::BoolField&) const { return "bool"; }
  std::string operator()(const fields::ListField& f) const {
    return f.shape.single_ok ? "name or list of names" : "list of strings";
  }
  std::string operator()(const fields::BlockField&) const { return "map"; }
};

}  // namespace

std::string ValueShown(const FieldSpec& field, Config& config) {
  return std::visit(ShowValue{config}, field.value);
}

std::string DefaultShown(const FieldSpec& field) {
  if (!field.default_text.text.empty()) return std::string(field.default_text.text);
  Config defaults;
  return ValueShown(field, defaults);
}

std::string TypeShown(const FieldSpec& field) {
  return std::visit(ShowType{}, field.value);
}

std::string ConfigKeysHelp() {
  std::string out =
      "The config file's keys (YAML; docs/configuration.md tells more). Every key is optional;\n"
      "a value may use ${ENV_VAR}. In a block, write the key without its prefix:\n"
      "  src:\n"
      "    port: 5433\n\n";
  for (const FieldSpec& field : ConfigFields()) {
    const std::string shown_default = DefaultShown(field);
    if (std::holds_alternative<fields::BlockField>(field.value)) out += "\n";
    out += std::string(field.key) + " (" + TypeShown(field) +
           (shown_default.empty() ? "" : ", default " + shown_default) + ")\n    " +
           std::string(field.doc) + "\n";
  }
  return out;
}

}  // namespace dbr
