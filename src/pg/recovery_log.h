// The exact WAL position where a restored crash-consistent copy (an RDS/EBS snapshot) or an online
// base backup stops holding data, read from the restored server's startup log. Pure: text in,
// LSN out.
//
// What "exact" means: the replication origin is advanced to L, and logical decoding skips a
// transaction whose commit record STARTS before L. So L must satisfy: every record that starts
// before L was replayed on the copy, and no record that starts at or after L was.
//
// Measured on real clusters of PostgreSQL 13-18 (tests/tools/capture-recovery-logs.sh; the
// fixtures in tests/unit/data/recovery_logs are its output), with a logical slot advanced to each
// candidate and the first row it decodes compared with the rows present on the copy:
//   * "invalid record length at X: wanted 24, got 0" (<= 15) / "... expected at least 24, got 0"
//     (16+): X is exact. So is X in every other message that names the START of the record the
//     reader could not read (prev-link, resource manager ID or checksum, record length, the
//     contrecord messages).
//   * "redo done at Z": Z is the START of the last record replayed, NOT the end: L = Z would
//     replay the transaction whose commit record is at Z a second time. Z + 1 is exact: every
//     record starting at or before Z was replayed and the next record starts at the end of Z's
//     record, which is > Z.
//   * Page-level messages ("invalid magic number ...", "unexpected pageaddr ...", "invalid info
//     bits", "out-of-sequence timeline ID", "could not read from ... segment"): they name a WAL
//     page (as segment + offset before 16, with an LSN in 16+); a record begun on the previous
//     page and cut by the copy started BEFORE that page and was not replayed, so the page
//     address is not exact (the log never names that record). Such a recovery ends with
//     "redo done at Z" and Z + 1 is used.
//   * Backup recovery (pg_basebackup, or pg_backup_start/stop + a copy): "completed backup
//     recovery ... end LSN Y" and "consistent recovery state reached at Y" are only the point
//     where the copy became consistent: replay goes on to the end of the WAL the copy holds
//     (records after Y, up to the XLOG_SWITCH of pg_backup_stop and beyond it when the streamed
//     WAL has more). The WAL usually ends at that switch with no error line at all (the next
//     segment is absent), so the end is again "redo done at Z" + 1 (Z is the switch record or a
//     later one); Y is never used.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pg/lsn.h"
#include "util/status.h"

namespace dbr::pg {

struct RecoveryEnd {
  Lsn lsn;                // the exact end: records starting before it were replayed, none after
  std::string timestamp;  // as in the line ("2026-12-02 01:02:03 UTC"), "" if none
  std::string line;       // the log line it was read from (of a line > 4 KiB: the part around it)
  std::string form;       // e.g. "invalid record length", "redo done at Z, + 1"
};

// Every end-of-recovery position in a log text, in order: one per recovery run (a run is closed by
// its "redo done at" line), every run of the text. Within a run, the last line that names the
// start of the record where reading stopped is used when it lies after the last record replayed;
// otherwise (page-level end, end of the copied WAL, or a line that replay went past) "redo done
// at Z" gives Z + 1. A run whose "redo done" line is missing (log cut off) yields its
// record-start lines as they are. A last line without its '\n' is ignored (possibly cut short).
std::vector<RecoveryEnd> FindRecoveryEnds(std::string_view log_text);

// The snapshot's LSN: the distinct candidates that lie within [lower, upper] (the source's
// pg_current_wal_lsn() read before CreateDBSnapshot and after the snapshot was available) and
// whose timestamp (when parseable) lies within [not_before, not_after] (compared at the log's
// one-second resolution). Exactly one distinct LSN must remain; otherwise an error that lists
// every candidate with its line (none found: says so, never guesses).
Result<Lsn> ChooseSnapshotLsn(const std::vector<RecoveryEnd>& found, Lsn lower, Lsn upper,
                              std::optional<std::chrono::system_clock::time_point> not_before,
                              std::optional<std::chrono::system_clock::time_point> not_after);

// The lines of `log_text` written by a server of major version `major`: those after a start-up
// line "starting PostgreSQL <major>.<minor> ..." and before the next start-up line. Lines before
// the first start-up line are left out: nothing tells which server wrote them. For the logs of
// a restored snapshot that AWS upgraded across majors, where only the old major's recovery ended
// the data (the upgraded cluster's WAL restarts at a later segment).
std::string LinesLoggedBy(std::string_view log_text, int major);

// A '%t' / '%m' log timestamp: "YYYY-MM-DD HH:MM:SS[.fff] ZONE" with ZONE "UTC", "GMT", "UT",
// "Z" or a numeric offset ("+05", "-0330", "+05:30"); nullopt for anything else (e.g. "CET")
// and for a year outside 1900-2200.
std::optional<std::chrono::system_clock::time_point> ParseLogTimestamp(std::string_view text);

}  // namespace dbr::pg
