// How long db_relocate waits for things and how often it looks while it waits, in one place.
// Each field starts at the product's value (Timings::Default()); a test may shorten one.
#pragma once

#include <chrono>

#include "util/retry.h"

namespace dbr {

struct Timings {
  // ---- The switch (core/switch.cpp) ----

  // Opening a connection to either side: a server that restarts is given a few tries.
  RetryPolicy switch_connect{.attempts = 3, .first_delay = std::chrono::milliseconds(300)};
  // lock_timeout and statement_timeout of the switch's sessions: while the proxy holds the
  // application's writes, no statement of the switch may wait without end.
  std::chrono::seconds switch_lock_timeout{10};
  std::chrono::seconds switch_statement_timeout{60};
  // How long replication into the new side may look unhealthy before the switch refuses to
  // start: a subscription the last switch created may not have its worker yet, and lag comes and
  // goes. And how often it looks meanwhile.
  std::chrono::seconds switch_settle{15};
  std::chrono::milliseconds switch_settle_poll{250};
  // The newest heartbeat on the new side is fresh when it is younger than this many heartbeat
  // intervals (config heartbeat_interval), and never has to be younger than the floor.
  int switch_heartbeat_fresh_intervals = 5;
  std::chrono::seconds switch_heartbeat_fresh_floor{5};
  // How much longer than that age the switch waits for a fresh heartbeat before refusing, and
  // how often it looks meanwhile.
  std::chrono::seconds switch_heartbeat_grace{5};
  std::chrono::milliseconds switch_heartbeat_poll{200};
  // How often the drain looks for sessions still writing on the old side and for its marker on
  // the new side: the application's writes are held meanwhile, so it looks often.
  std::chrono::milliseconds switch_drain_poll{5};

  static Timings Default() { return {}; }
};

}  // namespace dbr
