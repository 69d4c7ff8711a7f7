// Work done in phases, each recorded as it ends, so that a run killed in the middle is resumed
// by running again: the rerun starts at the phase it finds recorded. This is the one way a step
// of db_relocate resumes inside itself; docs/resume.md lists the phases of each step and what a
// rerun does in each.
//
// A phase runs again from its beginning when it was interrupted, so each phase either is one
// transaction or makes its own progress safe to repeat (a request to AWS names what it creates
// and is looked up before it is made again; a table copy empties the table first).
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "util/enum_names.h"
#include "util/fault.h"
#include "util/status.h"

namespace dbr {

template <class Phase>
struct PhaseRow {
  Phase phase;
  // Does the phase; returns the phase that comes next (most often the next row's).
  std::function<Result<Phase>()> run;
};

// Runs the rows from the one whose phase is `recorded` on, until `recorded` is `done`. After
// each phase, `recorded` becomes the phase it returned and `save` records it; then the crash
// point and the pause point "<crash_prefix>:<next phase's name>" fire (util/fault.h).
template <class Phase>
Status RunPhases(Phase& recorded, std::type_identity_t<Phase> done,
                 std::span<const PhaseRow<std::type_identity_t<Phase>>> rows,
                 std::string_view crash_prefix, const std::function<Status()>& save) {
  while (recorded != done) {
    const PhaseRow<Phase>* row = nullptr;
    for (const auto& r : rows)
      if (r.phase == recorded) row = &r;
    if (row == nullptr)
      return Status::Error(
          fmt::format("internal: no phase {} in {}", NameOf(recorded), crash_prefix));
    auto next = row->run();
    if (!next.ok()) return next.status();
    recorded = *next;
    DBR_RETURN_IF_ERROR(save());
    const std::string point = fmt::format("{}:{}", crash_prefix, NameOf(recorded));
    CrashPoint(point.c_str());
    PausePoint(point.c_str());
  }
  return Status::Ok();
}

}  // namespace dbr
