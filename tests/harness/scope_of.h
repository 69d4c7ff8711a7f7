// The sequences a relocation of `schemas` covers on `conn`, for tests that call the engine's
// sequence step directly.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "model/scope.h"

namespace dbr::test {

inline std::vector<RelationName> SequencesIn(pg::Connection& conn,
                                             const std::vector<std::string>& schemas) {
  Config config;
  config.src.schemas = schemas;
  auto scope = ListScope(conn, config);
  return scope.ok() ? scope->sequences : std::vector<RelationName>{};
}

}  // namespace dbr::test
