// Every object db_relocate creates on a server carries the same prefix, so pre-flight can spot
// leftovers of an earlier run and cleanup can find everything.
#pragma once

#include <string>
#include <vector>

#include "model/side.h"

namespace dbr::names {

inline constexpr const char* kPublication = "db_relocate_pub";
inline constexpr const char* kSubscription = "db_relocate_sub";
inline constexpr const char* kSlotBase = "db_relocate_slot";  // SlotName(kSlotBase, database)
inline constexpr const char* kReversePublication = "db_relocate_rev_pub";
inline constexpr const char* kReverseSubscription = "db_relocate_rev_sub";
inline constexpr const char* kReverseSlotBase = "db_relocate_rev_slot";
inline constexpr const char* kSchema = "db_relocate";  // holds the heartbeat table
inline constexpr const char* kHeartbeatTable = "heartbeat";
// Rows `verify` writes on the sending side: the point where both sides are read.
inline constexpr const char* kVerifyMarkerTable = "verify_marker";
inline constexpr const char* kVerifySlotPrefix = "db_relocate_verify_";
inline constexpr const char* kApplicationName = "db_relocate";

// pg_subscription is one catalog for the whole server and a subscription's name is unique only
// within its database: this condition on pg_subscription keeps a query to the current
// database's subscriptions, leaving those of relocations of other databases alone.
inline constexpr const char* kSubscriptionInThisDatabase =
    "subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())";

// Publications and subscriptions belong to a database; replication slots belong to the whole
// server. A slot's name therefore carries the database it streams from, so that several databases
// of one server can be relocated side by side: `<base>_<database>`, the database name as it is
// when it is made of lower-case letters, digits and underscores (at most 32 of them) and does not
// end like the hashed form, otherwise up to 23 of its characters (lower-cased, others as '_')
// followed by '_' and a hash of the whole name (8 hex digits).
std::string SlotName(const std::string& base, const std::string& database);

// One direction of logical replication: publication and slot on the side that sends, the
// subscription on the side that receives.
struct Link {
  std::string publication;
  std::string slot;
  std::string subscription;
  Side from;  // the side that sends
  Side to;
  // Which of the direction's lanes (apply_workers): lane 1 carries the heartbeat and the
  // db_relocate schema's tables; lane k > 1 carries its share of the tables.
  int lane = 1;
};

// The publications, slots, subscriptions of `lanes`, in their order.
std::vector<std::string> PublicationsOf(const std::vector<Link>& lanes);
std::vector<std::string> SlotsOf(const std::vector<Link>& lanes);
std::vector<std::string> SubscriptionsOf(const std::vector<Link>& lanes);

// The verify marker table of `lane` (kVerifyMarkerTable, then verify_marker_2, ...): each lane
// has its own, so that verify can stop every lane's apply at one point of the stream.
std::string VerifyMarkerTable(int lane);
// The lane whose verify marker table `schema`.`table` is, or 0 when it is none.
int VerifyMarkerLane(const std::string& schema, const std::string& table);

// Both directions of the relocation of database `src_database` into `dst_database`.
struct Links {
  Links(const std::string& src_database, const std::string& dst_database, int forward_lanes = 1);
  std::string src_database;
  std::string dst_database;
  // Source to destination: set up by `run`, and again by `rollback`: `forward_lanes` links,
  // lane 1 under the names above, lane k under those names followed by k
  // (db_relocate_pub2, db_relocate_slot2_<database>, db_relocate_sub2).
  std::vector<Link> forward;
  // Destination to source: set up by `cutover`, so that a rollback loses nothing. One lane.
  Link reverse;
  // The lanes that carry writes into `side`; Main: the first, which carries the heartbeat.
  std::vector<Link> Into(Side side) const {
    return side == Side::kDestination ? forward : std::vector<Link>{reverse};
  }
  const Link& MainInto(Side side) const {
    return side == Side::kDestination ? forward.front() : reverse;
  }
};

}  // namespace dbr::names
