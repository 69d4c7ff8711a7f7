// The two databases of a relocation: the source, where the application wrote when the
// relocation began, and the destination it moves to. Either may be the primary (the side taking
// the application's writes): the destination after a cut-over, the source again after a
// rollback. Written "src" and "dst" (the config's blocks, the run state, HAProxy's servers).
#pragma once

#include <string_view>
#include <utility>

#include "util/enum_names.h"

namespace dbr {

enum class Side { kSource, kDestination };

template <>
struct EnumNames<Side> {
  static constexpr std::string_view kWhat = "side";
  static constexpr std::pair<Side, std::string_view> kTable[] = {{Side::kSource, "src"},
                                                                 {Side::kDestination, "dst"}};
};

constexpr Side Other(Side side) {
  return side == Side::kSource ? Side::kDestination : Side::kSource;
}

// "source" or "destination", for messages.
constexpr const char* SideName(Side side) {
  return side == Side::kSource ? "source" : "destination";
}

}  // namespace dbr
