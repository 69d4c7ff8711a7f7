#include "mysql/identity.h"

#include <utility>

#include "mariadb/quote.h"
#include "model/identity.h"

namespace dbr::mysql {
namespace {

std::string Table() {
  return mariadb::QualifiedName(kIdentityDatabase, "server");
}

}  // namespace

Result<std::string> ReadMarker(mariadb::Connection& c, bool make) {
  auto marker = c.Query("SELECT id FROM " + Table() + " ORDER BY id LIMIT 1");
  if (!marker.ok() && !mariadb::IsMissingTableOrDatabase(marker.status())) return marker.status();
  if (marker.ok() && marker->rows() > 0) return marker->Get(0, 0);
  if (!make) return std::string();
  DBR_RETURN_IF_ERROR(c.Exec(std::string("CREATE DATABASE IF NOT EXISTS ") +
                             mariadb::QuoteIdent(kIdentityDatabase)));
  DBR_RETURN_IF_ERROR(
      c.Exec("CREATE TABLE IF NOT EXISTS " + Table() + " (id CHAR(36) PRIMARY KEY) ENGINE=InnoDB"));
  DBR_RETURN_IF_ERROR(c.Exec("INSERT INTO " + Table() +
                             " SELECT UUID() FROM DUAL WHERE NOT "
                             "EXISTS (SELECT 1 FROM " +
                             Table() + ")"));
  return ReadMarker(c, false);
}

Status BindStateToServers(RunState& state, const std::string& state_dir, mariadb::Connection* src,
                          mariadb::Connection* dst, bool make, bool& changed) {
  std::vector<IdentityMismatch> mismatches;
  std::vector<std::pair<Side, std::string>> unrecorded;
  for (auto [side, conn] : {std::pair{Side::kSource, src}, std::pair{Side::kDestination, dst}}) {
    if (conn == nullptr) continue;
    auto recorded = state.servers.find(side);
    const bool has_record =
        recorded != state.servers.end() && !recorded->second.system_identifier.empty();
    DBR_ASSIGN_OR_RETURN(std::string live, ReadMarker(*conn, make && !has_record));
    if (!has_record) {
      if (!live.empty()) unrecorded.emplace_back(side, live);
      continue;
    }
    if (live != recorded->second.system_identifier)
      mismatches.push_back({side, std::string(kIdentityDatabase) + " marker",
                            recorded->second.system_identifier, live.empty() ? "none" : live});
  }
  if (!mismatches.empty()) return Status::BadConfig(MismatchMessage(mismatches, state_dir));
  changed = false;
  if (!make) return Status::Ok();
  for (auto& [side, marker] : unrecorded) {
    state.servers[side].system_identifier = marker;
    changed = true;
  }
  return Status::Ok();
}

}  // namespace dbr::mysql
