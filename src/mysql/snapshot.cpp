#include "mysql/snapshot.h"

#include <fmt/format.h>

#include "mysql/exact_text.h"
#include "mysql/replication.h"
#include "util/log.h"
#include "util/parse.h"

namespace dbr::mysql {
namespace {

// MariaDB's position of the snapshot this session reads.
Result<BinlogPosition> SnapshotPosition(mariadb::Connection& c) {
  DBR_ASSIGN_OR_RETURN(mariadb::Rows rows, c.Query("SHOW SESSION STATUS LIKE 'binlog_snapshot_%'"));
  BinlogPosition p;
  for (int i = 0; i < rows.rows(); ++i) {
    if (rows.Get(i, 0) == "Binlog_snapshot_file") p.file = rows.Get(i, 1);
    if (rows.Get(i, 0) == "Binlog_snapshot_position")
      p.offset = ParseInt(rows.Get(i, 1)).value_or(0);
  }
  if (p.file.empty())
    return Status::Error(
        "the source gives no binary log position for its snapshot (is log_bin on?)");
  return p;
}

// Releases the source's commits when it goes out of scope, whatever happened meanwhile.
class CommitsHeld {
 public:
  CommitsHeld(mariadb::Connection& c, const Dialect& dialect) : c_(c), dialect_(dialect) {}
  ~CommitsHeld() { (void)Release(); }
  Status Hold() {
    for (const auto& sql : dialect_.HoldCommits()) DBR_RETURN_IF_ERROR(c_.Exec(sql));
    held_ = true;
    return Status::Ok();
  }
  Status Release() {
    if (!held_) return Status::Ok();
    held_ = false;
    for (const auto& sql : dialect_.ReleaseCommits()) DBR_RETURN_IF_ERROR(c_.Exec(sql));
    return Status::Ok();
  }

 private:
  mariadb::Connection& c_;
  const Dialect& dialect_;
  bool held_ = false;
};

}  // namespace

Status BeginConsistentRead(mariadb::Connection& c) {
  DBR_RETURN_IF_ERROR(c.Exec("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"));
  DBR_RETURN_IF_ERROR(c.Exec(kUtcSession));
  return c.Exec("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
}

Result<ConsistentSnapshot> ConsistentSnapshot::Take(const mariadb::ConnParams& source,
                                                    int sessions) {
  ConsistentSnapshot snap;
  for (int i = 0; i < std::max(1, sessions); ++i) {
    DBR_ASSIGN_OR_RETURN(mariadb::Connection c, mariadb::Connection::Open(source));
    snap.sessions_.push_back(std::move(c));
  }
  mariadb::Connection& first = snap.sessions_.front();
  const bool mariadb = first.version().flavor == mariadb::Flavor::kMariaDb;
  if (mariadb && snap.size() == 1) {
    DBR_RETURN_IF_ERROR(BeginConsistentRead(first));
    DBR_ASSIGN_OR_RETURN(snap.position_, SnapshotPosition(first));
  } else {
    DBR_ASSIGN_OR_RETURN(mariadb::Connection lock, mariadb::Connection::Open(source));
    const Dialect dialect = DialectOf(lock);
    CommitsHeld held(lock, dialect);
    DBR_RETURN_IF_ERROR(held.Hold().Wrap("holding the source's commits for the snapshot"));
    for (auto& s : snap.sessions_) DBR_RETURN_IF_ERROR(BeginConsistentRead(s));
    DBR_ASSIGN_OR_RETURN(snap.position_, SourcePositionNow(lock));
    DBR_RETURN_IF_ERROR(held.Release());
    if (mariadb)  // each session's own position proves they all read the same point
      for (auto& s : snap.sessions_) {
        DBR_ASSIGN_OR_RETURN(BinlogPosition p, SnapshotPosition(s));
        if (p.file != snap.position_.file || p.offset != snap.position_.offset)
          return Status::Error(fmt::format(
              "a snapshot session reads at {}, not at {} where the others do: commits were not "
              "held",
              p.Display(), snap.position_.Display()));
      }
  }
  DBR_ASSIGN_OR_RETURN(snap.position_, WithGtid(first, snap.position_));
  log::info("snapshot of the source at binary log position {}{} ({} sessions)",
            snap.position_.Display(),
            snap.position_.gtid.empty() ? "" : ", GTID " + snap.position_.gtid, snap.size());
  return snap;
}

}  // namespace dbr::mysql
