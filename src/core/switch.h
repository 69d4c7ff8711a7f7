// The switch: the application's writes moved, through the proxy, from one side to the other. One
// sequence, run towards the destination (a cut-over, `cutover`) or back towards the
// source (a rollback, `rollback`):
//   ready?  -> pause the proxy -> fence the old side -> marker written, applied on the new side
//   -> sequences ahead -> replication turned around (new slot on the new side) -> proxy points
//   at the new side -> resume -> old subscription and slot dropped, return subscription started.
// Any failure before the proxy points at the new side puts everything back as it was.
#pragma once

#include <string>

#include "config/config.h"
#include "model/side.h"
#include "util/status.h"

namespace dbr {

// Switches to `to`: the destination (a cut-over) or the source (a rollback).
Status RunSwitch(const Config& config, Side to);

// With cutover.manage: writes the proxy's config pointing at the current primary and starts or
// reloads it. Without: checks that the proxy answers.
Status ProvisionProxy(const Config& config);

// Stops a managed proxy (the application loses its way in: for when it no longer uses it).
Status StopManagedProxy(const Config& config);

// What the proxy does now, for `db_relocate proxy`.
Result<std::string> DescribeProxy(const Config& config);

}  // namespace dbr
