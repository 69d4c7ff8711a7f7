// Every object db_relocate creates on a server carries the same prefix, so pre-flight can spot
// leftovers of an earlier run and cleanup can find everything.
#pragma once

namespace dbr::names {

inline constexpr const char* kPublication = "db_relocate_pub";
inline constexpr const char* kSlot = "db_relocate_slot";
inline constexpr const char* kSubscription = "db_relocate_sub";
inline constexpr const char* kSchema = "db_relocate";  // holds the heartbeat table
inline constexpr const char* kHeartbeatTable = "heartbeat";
inline constexpr const char* kApplicationName = "db_relocate";

}  // namespace dbr::names
