// `db_relocate plan`: what a `run` and a `cutover` of this config would do, read from the live
// servers (and the cloud's API) without changing anything: the tables in scope with their sizes
// and copy parts, what the filters leave out, the copy, the publication, the cloud's steps (RDS
// hops) and the proxy switch.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "config/config.h"
#include "util/status.h"

namespace dbr {

struct RelocationPlan {
  nlohmann::json doc;  // the whole plan; ToText renders it
  std::string ToText() const;
};

Result<RelocationPlan> MakePlan(const Config& config);
// engine mysql's (core/mysql_plan.cpp): the same document, with "engine": "mysql" and a
// "replication" section in place of the publication.
Result<RelocationPlan> MakeMysqlPlan(const Config& config);
// The proxy switch, for both engines (null without a cutover block).
nlohmann::json SwitchSection(const Config& config);

}  // namespace dbr
