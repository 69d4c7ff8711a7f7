#include "model/checks.h"

#include <fmt/format.h>

#include <algorithm>

namespace dbr {

const char* LevelName(CheckLevel level) {
  switch (level) {
    case CheckLevel::kPass:
      return "PASS";
    case CheckLevel::kWarn:
      return "WARN";
    case CheckLevel::kFail:
      return "FAIL";
  }
  return "?";
}

bool PreflightReport::Blocks(bool force) const {
  for (const auto& c : checks)
    if (c.level == CheckLevel::kFail && !(force && c.overridable)) return true;
  return false;
}

bool PreflightReport::HasBadConfig() const {
  for (const auto& c : checks)
    if (c.level == CheckLevel::kFail && c.bad_config) return true;
  return false;
}

const CheckResult* PreflightReport::Find(const std::string& name) const {
  for (const auto& c : checks)
    if (c.name == name) return &c;
  return nullptr;
}

std::string PreflightReport::ToText() const {
  size_t width = 5;
  for (const auto& c : checks) width = std::max(width, c.name.size());
  std::string out = fmt::format("{:<{}}  {:<7}{}\n", "CHECK", width, "RESULT", "DETAIL");
  int counts[3] = {0, 0, 0};
  for (const auto& c : checks) {
    ++counts[static_cast<int>(c.level)];
    out += fmt::format("{:<{}}  {:<7}{}\n", c.name, width, LevelName(c.level), c.detail);
    const size_t kShown = 20;
    for (size_t i = 0; i < c.objects.size() && i < kShown; ++i)
      out += fmt::format("{:<{}}           - {}\n", "", width, c.objects[i]);
    if (c.objects.size() > kShown)
      out +=
          fmt::format("{:<{}}           ... and {} more\n", "", width, c.objects.size() - kShown);
    if (c.level != CheckLevel::kPass && !c.hint.empty())
      out += fmt::format("{:<{}}           fix: {}\n", "", width, c.hint);
  }
  out += fmt::format("\n{} passed, {} warnings, {} failed\n", counts[0], counts[1], counts[2]);
  return out;
}

nlohmann::json PreflightReport::ToJson(bool force) const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& c : checks) {
    list.push_back({{"name", c.name},
                    {"result", LevelName(c.level)},
                    {"detail", c.detail},
                    {"objects", c.objects},
                    {"hint", c.hint},
                    {"overridable", c.overridable}});
  }
  return {{"checks", list}, {"ok", !Blocks(force)}, {"force", force}};
}

}  // namespace dbr
