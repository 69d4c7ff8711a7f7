#include "config/config_text.h"

#include <algorithm>

namespace dbr {

std::string DottedName(const std::string& block, const std::string& key) {
  return block.empty() ? key : block + "." + key;
}

std::string Quoted(const std::string& s) {
  return "\"" + s + "\"";
}

std::string Shown(const std::string& value) {
  constexpr size_t kMax = 60;
  std::string out;
  for (char c : value.substr(0, kMax)) {
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  }
  if (value.size() > kMax) out += "...";
  return Quoted(out);
}

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

std::string Normalized(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c == '-') c = '_';
  }
  return s;
}

bool IsDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace dbr
