#include "core/engine.h"

namespace dbr {

std::unique_ptr<Engine> MakePostgresEngine();  // core/postgres_engine.cpp
std::unique_ptr<Engine> MakeMysqlEngine();     // core/mysql_engine.cpp

std::unique_ptr<Engine> MakeEngine(const Config& config) {
  constexpr std::pair<EngineKind, std::unique_ptr<Engine> (*)()> kEngines[] = {
      {EngineKind::kPostgres, MakePostgresEngine},
      {EngineKind::kMysql, MakeMysqlEngine},
  };
  for (const auto& [kind, make] : kEngines)
    if (kind == config.engine) return make();
  return MakePostgresEngine();
}

}  // namespace dbr
