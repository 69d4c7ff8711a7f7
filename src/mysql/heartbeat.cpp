#include "mysql/heartbeat.h"

#include <fmt/format.h>

#include <vector>

#include "mariadb/quote.h"
#include "mysql/replication.h"
#include "util/parse.h"

namespace dbr::mysql {
namespace {

// The sequence numbers up to `marker` on one side, in order (a few bytes per heartbeat).
Result<std::vector<int64_t>> SeqsUpTo(mariadb::Connection& c, const std::string& database,
                                      int64_t marker) {
  std::vector<int64_t> seqs;
  DBR_RETURN_IF_ERROR(
      c.Stream(fmt::format("SELECT seq FROM {} WHERE seq <= {} ORDER BY seq",
                           HeartbeatTable(database), marker),
               [&](const std::vector<mariadb::Column>&, const std::vector<mariadb::Value>& row) {
                 seqs.push_back(ParseInt(std::string_view(row[0].data, row[0].size)).value_or(-1));
                 return Status::Ok();
               }));
  return seqs;
}

}  // namespace

std::string HeartbeatTable(const std::string& database) {
  return mariadb::QualifiedName(database, "heartbeat");
}

Status EnsureHeartbeatTable(mariadb::Connection& source, const std::string& database) {
  DBR_RETURN_IF_ERROR(
      source.Exec("CREATE DATABASE IF NOT EXISTS " + mariadb::QuoteIdent(database)));
  return source.Exec("CREATE TABLE IF NOT EXISTS " + HeartbeatTable(database) +
                     " (seq BIGINT AUTO_INCREMENT PRIMARY KEY, src_time TIMESTAMP(6) NOT NULL "
                     "DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB");
}

Result<int64_t> InsertHeartbeat(mariadb::Connection& source, const std::string& database) {
  DBR_RETURN_IF_ERROR(source.Exec("INSERT INTO " + HeartbeatTable(database) + " () VALUES ()"));
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
                                       const RelocationNames& names, std::chrono::seconds timeout) {
  HeartbeatProof proof;
  DBR_ASSIGN_OR_RETURN(proof.marker, InsertHeartbeat(source, names.database));
  DBR_ASSIGN_OR_RETURN(BinlogPosition after, SourcePositionNow(source));
  DBR_RETURN_IF_ERROR(WaitApplied(destination, names.channel, after, timeout));
  DBR_ASSIGN_OR_RETURN(std::vector<int64_t> src, SeqsUpTo(source, names.database, proof.marker));
  DBR_ASSIGN_OR_RETURN(std::vector<int64_t> dst,
                       SeqsUpTo(destination, names.database, proof.marker));
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
