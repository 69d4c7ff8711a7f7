// The switch: the application's writes moved, through the proxy, from one side to the other, as
// a cut-over (to the destination, `cutover`) or a rollback (back to the source, `rollback`). One
// sequence of stages (kStages in switch.cpp), the same for every engine: ready? -> return path
// prepared -> recorded -> heartbeat writer stopped -> proxy paused -> old side fenced -> drained
// (its last write applied on the new side) -> the new side's fence lifted -> what replication
// misses copied (sequences, counters) -> replication turned around -> proxy pointed at the new
// side -> resumed -> finished (the way back built and streaming). What each stage does on the
// servers is the engine's (core/engine_switch.h). A failure while the proxy holds the
// application's writes puts everything back as it was; a switch killed midway is finished or
// undone by the same command run again.
#pragma once

#include "config/config.h"
#include "model/side.h"
#include "util/status.h"

namespace dbr {

// Switches to `to`: the destination (a cut-over) or the source (a rollback).
Status RunSwitch(const Config& config, Side to);

}  // namespace dbr
