#include "model/names.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>

namespace dbr::names {
namespace {

constexpr size_t kMaxPlainSuffix = 32;  // with the longest base, well inside NAMEDATALEN - 1

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

// "app_1_8718f326" would read as the hashed form of "App-1".
bool LooksHashed(const std::string& name) {
  if (name.size() < 9 || name[name.size() - 9] != '_') return false;
  for (size_t i = name.size() - 8; i < name.size(); ++i)
    if (!IsHex(name[i])) return false;
  return true;
}

bool IsPlain(const std::string& name) {
  if (name.empty() || name.size() > kMaxPlainSuffix || LooksHashed(name)) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

uint32_t Fnv1a(const std::string& s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

}  // namespace

std::string SlotName(const std::string& base, const std::string& database) {
  if (IsPlain(database)) return base + "_" + database;
  // Slot names allow only [a-z0-9_]: keep what is readable, and the hash tells apart names that
  // differ elsewhere ("App-1" and "app_1").
  std::string readable;
  for (char c : database) {
    if (readable.size() == 23) break;
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    readable += keep ? c : '_';
  }
  return fmt::format("{}_{}_{:08x}", base, readable, Fnv1a(database));
}

namespace {
std::vector<std::string> Each(const std::vector<Link>& lanes, std::string Link::*part) {
  std::vector<std::string> out;
  for (const Link& lane : lanes) out.push_back(lane.*part);
  return out;
}
}  // namespace

std::vector<std::string> PublicationsOf(const std::vector<Link>& lanes) {
  return Each(lanes, &Link::publication);
}
std::vector<std::string> SlotsOf(const std::vector<Link>& lanes) {
  return Each(lanes, &Link::slot);
}
std::vector<std::string> SubscriptionsOf(const std::vector<Link>& lanes) {
  return Each(lanes, &Link::subscription);
}

std::string VerifyMarkerTable(int lane) {
  return lane == 1 ? kVerifyMarkerTable : fmt::format("{}_{}", kVerifyMarkerTable, lane);
}

int VerifyMarkerLane(const std::string& schema, const std::string& table) {
  if (schema != kSchema || !table.starts_with(kVerifyMarkerTable)) return 0;
  if (table == kVerifyMarkerTable) return 1;
  const std::string prefix = std::string(kVerifyMarkerTable) + "_";
  if (!table.starts_with(prefix) || table.size() == prefix.size() ||
      table.size() > prefix.size() + 3)
    return 0;
  int lane = 0;
  for (char c : table.substr(prefix.size())) {
    if (c < '0' || c > '9') return 0;
    lane = lane * 10 + (c - '0');
  }
  return lane >= 2 ? lane : 0;
}

Links::Links(const std::string& src_database, const std::string& dst_database, int forward_lanes)
    : src_database(src_database),
      dst_database(dst_database),
      reverse{kReversePublication, SlotName(kReverseSlotBase, dst_database), kReverseSubscription,
              Side::kDestination, Side::kSource} {
  for (int lane = 1; lane <= std::max(forward_lanes, 1); ++lane) {
    const std::string k = lane == 1 ? "" : std::to_string(lane);
    forward.push_back({kPublication + k, SlotName(kSlotBase + k, src_database), kSubscription + k,
                       Side::kSource, Side::kDestination, lane});
  }
}

}  // namespace dbr::names
