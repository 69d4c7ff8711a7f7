#include "core/engine.h"

#include "core/engine_switch.h"

namespace dbr {

std::unique_ptr<Engine> MakePostgresEngine();  // core/postgres_engine.cpp
std::unique_ptr<Engine> MakeMysqlEngine();     // core/mysql_engine.cpp

// What each engine brings: its steps of `run` and its part of a switch.
struct EngineEntry {
  EngineKind kind;
  std::unique_ptr<Engine> (*make)();
  std::unique_ptr<EngineSwitch> (*make_switch)(const SwitchContext&);
};

constexpr EngineEntry kEngines[] = {
    {EngineKind::kPostgres, MakePostgresEngine, MakePostgresSwitch},
    {EngineKind::kMysql, MakeMysqlEngine, MakeMysqlSwitch},
};

const EngineEntry& EntryOf(EngineKind kind) {
  for (const EngineEntry& entry : kEngines)
    if (entry.kind == kind) return entry;
  return kEngines[0];
}

std::unique_ptr<Engine> MakeEngine(const Config& config) {
  return EntryOf(config.engine).make();
}

std::unique_ptr<EngineSwitch> MakeEngineSwitch(const SwitchContext& ctx) {
  return EntryOf(ctx.config.engine).make_switch(ctx);
}

}  // namespace dbr
