// The pieces of one direction of logical replication (names::Link), for either direction: `run`
// builds source -> destination, `cutover` destination -> source, `rollback` the first again.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "model/catalog.h"
#include "model/names.h"
#include "model/run_state.h"
#include "pg/connection.h"
#include "pg/lsn.h"
#include "util/clock.h"

namespace dbr {

// The relocation a replication user serves, as its role's comment records it.
struct RelocationMark {
  std::string source;  // the source's address the relocation was started with (RelocationSource)
  std::string src_database;
  std::string dst_database;
  bool operator==(const RelocationMark&) const = default;
};
RelocationMark MarkOf(const Config& config, const RunState& state);

// The login the subscription uses on the sending side: REPLICATION (or rds_replication), with
// SELECT on the tables in scope. The password is hashed on the client. The role's comment records
// the relocation it serves (`mine`); a role that serves another relocation still under way on the
// server is refused (ReplicationUserInUse), not given a new password.
Status EnsureReplicationUser(pg::Connection& conn, const std::string& user,
                             const std::string& password, const std::vector<std::string>& schemas,
                             const RelocationMark& mine);

// Another relocation, under way on `conn`'s server, that logs in as `user`: roles belong to the
// whole server, so a new password would lock that relocation's subscription out.
struct ReplicationUserOwner {
  RelocationMark relocation;
  std::string evidence;  // what of it is on this server: "slot x", "subscription y in database z"
  std::string Message(const std::string& user) const;  // names upgrade.user and the fix
};
// The other relocation `user` serves, or nullopt when the role is free for `mine` (absent,
// unmarked, marked for `mine`, or marked for one of which nothing is left on this server).
Result<std::optional<ReplicationUserOwner>> ReplicationUserInUse(pg::Connection& conn,
                                                                 const std::string& user,
                                                                 const RelocationMark& mine);

// The claim a run holds on `user` on the source from before it checks that the role is free
// (pre-flight) until its replication slot exists (the evidence ReplicationUserInUse finds from
// then on): a temporary physical replication slot named after the role, on a connection of its
// own (the returned one; closing it lets go). A slot's name is unique on the whole server, where
// an advisory lock would be per database, and the server drops a temporary slot when its session
// ends, so a run that crashed holds nothing. Another run naming the same role waits here until
// the claim is let go (Timings::replication.user_claim), then finds the first one's slot and
// refuses; after that limit it fails naming the session that holds it. Nullopt (and a warning)
// when the server will not create the claim (no REPLICATION, fewer than two slots free): the
// run goes on unclaimed and its pre-flight checks say what is missing.
inline constexpr std::string_view kClaimSlotPrefix = "db_relocate_claim_";
Result<std::optional<pg::Connection>> ClaimReplicationUser(const pg::ConnParams& source,
                                                           const std::string& user,
                                                           Clock& clock = RealClock());

// Records in `state` how `user` is on `side` (`conn`) before the relocation first sets it up there
// (EnsureReplicationUser); the caller saves the state. Nothing is recorded when `side` already is
// for `user`, or when the role carries the mark of `mine` already: set up by a version that did
// not record it, how it was before is lost.
Status RecordReplicationUserBefore(pg::Connection& conn, const std::string& user,
                                   const RelocationMark& mine, Side side, RunState& state);
// The relocation's links with as many lanes as the config names or as are found on the servers,
// whichever is more: a relocation whose state was lost may have left lanes that a lowered
// apply_workers no longer names, and each of their slots retains WAL on the source. Found: a
// lane's publication or slot on `src`, or its subscription on `dst` (when given).
Result<names::Links> LinksOnServers(const Config& config, pg::Connection& src, pg::Connection* dst);

// What `user` owns in `conn`'s database and on its server (databases, tablespaces): a
// replication user owns nothing, so a role that does is someone's (an application's login),
// which a new password would lock out and DROP OWNED at cleanup would empty.
struct OwnedObjects {
  int64_t count = 0;
  std::string example;  // one of them, as PostgreSQL describes it ("table public.orders")
};
Result<OwnedObjects> ObjectsOwnedBy(pg::Connection& conn, const std::string& user);

// Whether `user`'s comment carries the mark of `mine` (false when there is no such role).
Result<bool> ReplicationUserMarkedFor(pg::Connection& conn, const std::string& user,
                                      const RelocationMark& mine);
// Puts back the comment `user` had before (`before`), when it still carries the mark of `mine`
// (a comment changed since is left alone).
Status RestoreReplicationUserComment(pg::Connection& conn, const std::string& user,
                                     const RoleBefore& before, const RelocationMark& mine);

// The publication of `tables` under `name`, created or set to exactly that list.
Status EnsurePublication(pg::Connection& conn, const std::string& name,
                         const std::vector<TableInfo>& tables);

// The connection string a subscription uses to reach `publisher` as the replication user.
std::string SubscriptionConnInfo(const ServerConfig& publisher, const std::string& user,
                                 const std::string& password, const std::string& application_name);

// A fresh slot on `conn` at its current WAL position (an existing one is dropped first);
// returns the position from which it will send.
Result<pg::Lsn> RecreateSlot(pg::Connection& conn, const std::string& slot);

// The WITH options of a subscription db_relocate creates on a server of `subscriber_major`: bound
// to the existing `slot`, without copying, disabled unless `enabled`; from PostgreSQL 16 also
// origin = none, so that it takes only the changes made on its publisher, never those applied
// there by a subscription: a change cannot travel back to where it came from. (A publisher
// older than 16 is not asked to filter, and sends every change.) Large transactions are
// streamed while they run rather than decoded whole at their commit: from 16 applied as they
// arrive by a parallel apply worker (when the publisher is 16 or newer too), on 14 and 15
// spooled by the subscriber and applied at the commit.
std::string SubscriptionOptions(int subscriber_major, const std::string& slot, bool enabled);

// Creates the subscription bound to an existing slot, without copying, and enables it; one that
// already exists on that slot is only enabled (it may have made progress).
Status CreateSubscriptionOnSlot(pg::Connection& conn, const names::Link& link,
                                const std::string& conninfo);

// Disabled and bound to no slot: it can neither take its slot nor drop it.
Status DetachSubscription(pg::Connection& conn, const std::string& subscription);

// Drops a subscription but not its slot (which may be gone already), and a slot (waiting for
// its sender to let go). Both do nothing when the object does not exist.
Status DropSubscriptionKeepingSlot(pg::Connection& conn, const std::string& subscription);

// Whether a subscription of that name exists in this connection's database.
Result<bool> SubscriptionExists(pg::Connection& conn, const std::string& subscription);

// Whether `link`'s slot holds changes of its publication not yet sent (the side it is on took
// writes since it was created), counting every commit made so far.
Result<bool> SlotHasChanges(pg::Connection& conn, const names::Link& link);
Result<bool> SlotExists(pg::Connection& conn, const std::string& slot);
// Whether publication `publication` on `conn` holds table `schema`.`table`.
Result<bool> InPublication(pg::Connection& conn, const std::string& publication,
                           const std::string& schema, const std::string& table);
// ALTER SUBSCRIPTION ... DISABLE returns before the apply worker has exited: ends it and waits.
Status WaitForWorkerToStop(pg::Connection& conn, const std::string& subscription);
Status DropSlot(pg::Connection& conn, const std::string& slot);

}  // namespace dbr
