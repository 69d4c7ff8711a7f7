#include "mysql/heartbeat.h"

#include <fmt/format.h>

#include <vector>

#include "mysql/replication.h"
#include "util/parse.h"

namespace dbr::mysql {
namespace {

const std::string kTable = std::string(kOwnDatabase) + ".heartbeat";

// The sequence numbers up to `marker` on one side, in order (a few bytes per heartbeat).
Result<std::vector<int64_t>> SeqsUpTo(mariadb::Connection& c, int64_t marker) {
  std::vector<int64_t> seqs;
  DBR_RETURN_IF_ERROR(
      c.Stream(fmt::format("SELECT seq FROM {} WHERE seq <= {} ORDER BY seq", kTable, marker),
               [&](const std::vector<mariadb::Column>&, const std::vector<mariadb::Value>& row) {
                 seqs.push_back(ParseInt(std::string_view(row[0].data, row[0].size)).value_or(-1));
                 return Status::Ok();
               }));
  return seqs;
}

}  // namespace

Status EnsureHeartbeatTable(mariadb::Connection& source) {
  DBR_RETURN_IF_ERROR(source.Exec(std::string("CREATE DATABASE IF NOT EXISTS ") + kOwnDatabase));
  return source.Exec("CREATE TABLE IF NOT EXISTS " + kTable +
                     " (seq BIGINT AUTO_INCREMENT PRIMARY KEY, src_time TIMESTAMP(6) NOT NULL "
                     "DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB");
}

Result<int64_t> InsertHeartbeat(mariadb::Connection& source) {
  DBR_RETURN_IF_ERROR(source.Exec("INSERT INTO " + kTable + " () VALUES ()"));
  return source.QueryInt("SELECT LAST_INSERT_ID()");
}

std::string HeartbeatProof::Describe() const {
  if (ok()) return fmt::format("all {} heartbeats up to {} arrived exactly once", checked, marker);
  return fmt::format(
      "{} of {} heartbeats up to {} are missing on the destination, {} there were "
      "never written",
      missing, checked, marker, extra);
}

Result<HeartbeatProof> ProveHeartbeats(mariadb::Connection& source,
                                       mariadb::Connection& destination,
                                       std::chrono::seconds timeout) {
  HeartbeatProof proof;
  DBR_ASSIGN_OR_RETURN(proof.marker, InsertHeartbeat(source));
  DBR_ASSIGN_OR_RETURN(BinlogPosition after, SourcePositionNow(source));
  DBR_RETURN_IF_ERROR(WaitApplied(destination, after, timeout));
  DBR_ASSIGN_OR_RETURN(std::vector<int64_t> src, SeqsUpTo(source, proof.marker));
  DBR_ASSIGN_OR_RETURN(std::vector<int64_t> dst, SeqsUpTo(destination, proof.marker));
  proof.checked = static_cast<int64_t>(src.size());
  // Both in order and each unique (seq is the key): one merge finds what either lacks.
  size_t i = 0, j = 0;
  while (i < src.size() || j < dst.size()) {
    if (j == dst.size() || (i < src.size() && src[i] < dst[j])) {
      ++proof.missing, ++i;
    } else if (i == src.size() || dst[j] < src[i]) {
      ++proof.extra, ++j;
    } else {
      ++i, ++j;
    }
  }
  return proof;
}

}  // namespace dbr::mysql
