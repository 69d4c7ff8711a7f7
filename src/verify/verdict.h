// What verify found for one table or schema object; written by these names in its text and JSON
// output.
#pragma once

#include <string_view>
#include <utility>

#include "util/enum_names.h"

namespace dbr::verify {

enum class Verdict {
  kOk,
  kDiffers,
  kMissing,    // a schema object absent on the destination
  kExtra,      // a schema object only on the destination
  kBehind,     // a sequence behind the source's
  kUnsettled,  // rows changed in a way the window cannot account for: compared again
  kError,      // could not be compared
};

// Found by argument-dependent lookup only from this namespace: JSON and streams by name (without
// these, nlohmann::json would silently write the number).
using ::dbr::from_json;
using ::dbr::to_json;
using ::dbr::operator<<;

}  // namespace dbr::verify

namespace dbr {
template <>
struct EnumNames<verify::Verdict> {
  static constexpr std::string_view kWhat = "verify result";
  static constexpr std::pair<verify::Verdict, std::string_view> kTable[] = {
      {verify::Verdict::kOk, "OK"},           {verify::Verdict::kDiffers, "DIFFERS"},
      {verify::Verdict::kMissing, "MISSING"}, {verify::Verdict::kExtra, "EXTRA"},
      {verify::Verdict::kBehind, "BEHIND"},   {verify::Verdict::kUnsettled, "UNSETTLED"},
      {verify::Verdict::kError, "ERROR"}};
};
}  // namespace dbr
