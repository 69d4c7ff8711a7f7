// The pieces of one direction of logical replication (names::Link), for either direction: `run`
// builds source -> destination, `cutover` destination -> source, `rollback` the first again.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "core/catalog.h"
#include "core/names.h"
#include "pg/connection.h"
#include "pg/lsn.h"

namespace dbr {

// The login the subscription uses on the sending side: REPLICATION (or rds_replication), with
// SELECT on the tables in scope. The password is hashed on the client.
Status EnsureReplicationUser(pg::Connection& conn, const std::string& user,
                             const std::string& password, const std::vector<std::string>& schemas);

// The publication of `tables` under `name`, created or set to exactly that list.
Status EnsurePublication(pg::Connection& conn, const char* name,
                         const std::vector<TableInfo>& tables);

// The connection string a subscription uses to reach `publisher` as the replication user.
std::string SubscriptionConnInfo(const ServerConfig& publisher, const std::string& user,
                                 const std::string& password, const char* application_name);

// A fresh slot on `conn` at its current WAL position (an existing one is dropped first);
// returns the position from which it will send.
Result<pg::Lsn> RecreateSlot(pg::Connection& conn, const char* slot);

// Creates the subscription bound to an existing slot, without copying, and enables it; one that
// already exists on that slot is only enabled (it may have made progress).
Status CreateSubscriptionOnSlot(pg::Connection& conn, const names::Link& link,
                                const std::string& conninfo);

// Drops a subscription but not its slot (which may be gone already), and a slot (waiting for
// its sender to let go). Both do nothing when the object does not exist.
Status DropSubscriptionKeepingSlot(pg::Connection& conn, const char* subscription);

// Whether `link`'s slot holds changes of its publication not yet sent (the side it is on took
// writes since it was created).
Result<bool> SlotHasChanges(pg::Connection& conn, const names::Link& link);
Result<bool> SlotExists(pg::Connection& conn, const char* slot);
// ALTER SUBSCRIPTION ... DISABLE returns before the apply worker has exited: ends it and waits.
Status WaitForWorkerToStop(pg::Connection& conn, const char* subscription);
Status DropSlot(pg::Connection& conn, const char* slot);

}  // namespace dbr
