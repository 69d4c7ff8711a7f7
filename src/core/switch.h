// The switch: the application's writes moved, through the proxy, from one side to the other, as
// a cut-over (to the destination, `cutover`) or a rollback (back to the source, `rollback`). One
// sequence of stages (kStages in switch.cpp): ready? -> return path prepared -> recorded ->
// heartbeat writer stopped -> proxy paused -> old side fenced -> drained (a marker written there,
// applied on the new side) -> sequences ahead -> replication turned around -> the new side's
// fence lifted -> proxy pointed at the new side -> resumed -> finished (old subscription and slot
// dropped, return subscription started). A failure while the proxy holds the application's
// writes puts everything back as it was; a switch killed midway is finished or undone by the
// same command run again.
#pragma once

#include "config/config.h"
#include "model/side.h"
#include "util/status.h"

namespace dbr {

// Switches to `to`: the destination (a cut-over) or the source (a rollback).
Status RunSwitch(const Config& config, Side to);

}  // namespace dbr
