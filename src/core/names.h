// Every object db_relocate creates on a server carries the same prefix, so pre-flight can spot
// leftovers of an earlier run and cleanup can find everything.
#pragma once

#include <string>

namespace dbr::names {

inline constexpr const char* kPublication = "db_relocate_pub";
inline constexpr const char* kSlot = "db_relocate_slot";
inline constexpr const char* kSubscription = "db_relocate_sub";
inline constexpr const char* kSchema = "db_relocate";  // holds the heartbeat table
inline constexpr const char* kHeartbeatTable = "heartbeat";
// Rows `verify` writes on the sending side: the point where both sides are read.
inline constexpr const char* kVerifyMarkerTable = "verify_marker";
inline constexpr const char* kVerifySlotPrefix = "db_relocate_verify_";
inline constexpr const char* kApplicationName = "db_relocate";

// One direction of logical replication: publication and slot on the side that sends, the
// subscription on the side that receives.
struct Link {
  const char* publication;
  const char* slot;
  const char* subscription;
  const char* from;  // "src" or "dst"
  const char* to;
};
// Source to destination: set up by `run`, and again by `rollback`.
inline constexpr Link kForward{kPublication, kSlot, kSubscription, "src", "dst"};
// Destination to source: set up by `cutover`, so that a rollback loses nothing.
inline constexpr Link kReverse{"db_relocate_rev_pub", "db_relocate_rev_slot", "db_relocate_rev_sub",
                               "dst", "src"};
// The link that carries writes into `side`.
inline constexpr const Link& LinkInto(const std::string& side) {
  return side == "dst" ? kForward : kReverse;
}

}  // namespace dbr::names
