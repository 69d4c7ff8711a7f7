#include "config/reference.h"

#include <charconv>

#include "config/config_text.h"

namespace dbr {
namespace {

struct ShowValue {
  Config& config;
  std::string operator()(const fields::TextField& f) const {
    const std::string& value = f.member(config);
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

}  // namespace

std::string ValueShown(const FieldSpec& field, Config& config) {
  return std::visit(ShowValue{config}, field.value);
}

std::string DefaultShown(const FieldSpec& field) {
  if (!field.default_text.text.empty()) return std::string(field.default_text.text);
  Config defaults;
  return ValueShown(field, defaults);
}

}  // namespace dbr
