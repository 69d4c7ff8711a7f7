// A destination that is a physical copy of the source (an RDS snapshot restored, a Cloud SQL
// clone): where its data ends, read from its recovery log, and what it copied that must not run
// there. Shared by the cloud snapshot sources.
#pragma once

#include <chrono>
#include <string>

#include "model/run_context.h"
#include "pg/lsn.h"
#include "util/status.h"

namespace dbr {

// The bounds of a copy, recorded around it: the source's WAL position before it was asked for
// (the flush position: surely on disk) and once it was done (all WAL written), and the times
// between which its recovery can have been logged.
struct CopyBounds {
  pg::Lsn lower;
  pg::Lsn upper;
  std::chrono::system_clock::time_point not_before;
  std::chrono::system_clock::time_point not_after;
};

// The exact LSN where the copy's data ends, from the log text of its recovery
// (pg/recovery_log.h), refined with pg_walinspect on ctx.dst where the log gives only the start
// of the last record replayed; `rule` says which line it came from. An error lists the
// candidates when not exactly one lies within the bounds. `instance` names the copy in messages.
Result<pg::Lsn> CopyEndFromLog(RunContext& ctx, const std::string& log_text,
                               const CopyBounds& bounds, const std::string& instance,
                               std::string* rule);

// A subscription the source server had, in any of its databases, is copied enabled: it would
// compete with the source's own for its upstream slot. Each is disabled and detached from its
// slot on ctx.dst.
Status DetachCopiedSubscriptions(RunContext& ctx);

// What a copy holds that must not stay, all of it on ctx.dst, each step safe to repeat:
// - the copied subscriptions, detached again (a state written by an older db_relocate did not
//   detach them before);
// - every transaction the copy caught prepared, rolled back: it would hold its locks there (the
//   apply worker waits on them for ever), and the providers refuse a major upgrade while one is
//   open. Those of the relocated tables are not lost: the slot predates them (making it waits for
//   every transaction running then), so replication carries each whole when the source commits
//   it. Ended as its owner when the user may not end another's;
// - every inactive logical slot: it would retain WAL for ever, the providers refuse a major
//   upgrade while one exists, and its consumer reads from the source.
Status PrepareCopiedInstance(RunContext& ctx);

}  // namespace dbr
