// Reading Google's JSON answers and files: a missing or non-string field reads as "".
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace dbr::gcp {

inline std::string StringField(const nlohmann::json& json, const char* field) {
  if (!json.is_object()) return "";
  auto it = json.find(field);
  return it != json.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace dbr::gcp
