#include "model/names.h"

#include <fmt/format.h>

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

Links::Links(const std::string& src_database, const std::string& dst_database)
    : src_database(src_database),
      dst_database(dst_database),
      forward{kPublication, SlotName(kSlotBase, src_database), kSubscription, Side::kSource,
              Side::kDestination},
      reverse{kReversePublication, SlotName(kReverseSlotBase, dst_database), kReverseSubscription,
              Side::kDestination, Side::kSource} {}

}  // namespace dbr::names
