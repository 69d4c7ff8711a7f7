// The fixed timings of a relocation: how often db_relocate polls, samples and retries, and how
// long it waits before it gives up, where these are not settings (the config file's timeouts stay
// in Config). Each group names the code that uses it. The waits go through a Clock
// (util/clock.h), so a test can run them on a ManualClock.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

#include "util/clock.h"
#include "util/poll.h"
#include "util/retry.h"

namespace dbr {

// A wait that checks every `poll` and gives up after `limit`.
struct PolledWait {
  std::chrono::milliseconds poll;
  std::chrono::milliseconds limit;

  // The checks that fit in the limit, for waits that count their checks.
  int Checks() const { return static_cast<int>(limit / poll); }
  // Whether `done` held within the limit, checked at once, then after each poll on `clock`.
  bool Until(const std::function<bool()>& done, Clock& clock = RealClock()) const {
    auto held = PollUntil(clock, limit, poll, [&]() -> Result<bool> { return done(); });
    return held.ok() && *held;
  }
  // The limit in whole seconds, for messages.
  int64_t LimitSeconds() const {
    return std::chrono::duration_cast<std::chrono::seconds>(limit).count();
  }
};

struct Timings {
  using milliseconds = std::chrono::milliseconds;
  using seconds = std::chrono::seconds;

  // ---- Catch-up (engine/catchup.cpp, engine/drift_timer.h) ----
  struct CatchUp {
    // How often catch-up reads the replication's health while it waits.
    milliseconds poll{500};
    // The least time between two lag samples catch-up records.
    seconds lag_sample_gap{2};
    // How often the drift watch reads both schemas again.
    seconds drift_read_every{5};
    // A difference that breaks the apply, with the apply failing this long, stops the run.
    seconds stuck_for{15};
    // A difference that breaks the apply is watched this long for failures before catch-up may
    // end.
    seconds watch_for{10};
  };
  CatchUp catchup;

  // ---- Publication and slot (engine/publication.cpp) ----
  struct Publication {
    // Tables created in scope while the publication and the slot are made: both are made again,
    // at most this many times in all.
    int snapshot_attempts = 3;
  };
  Publication publication;

  // ---- Heartbeat (engine/heartbeat.cpp, core/heartbeat_writer.cpp) ----
  struct Heartbeat {
    // Until a started writer has recorded its pid.
    PolledWait writer_start{milliseconds(20), seconds(5)};
    // Until a writer told to stop has gone.
    PolledWait writer_stop{milliseconds(100), seconds(10)};
    // How often the heartbeat proof looks for its marker on the destination: soon after it is
    // written (a subscription just made applies it in a few tenths of a second), then less
    // often, the delay doubling up to the second value. Caught up already, the marker is a
    // tenth of a second from arriving: a lookup by primary key that often costs nothing.
    milliseconds marker_first_poll{20};
    milliseconds marker_max_poll{100};
    // The writer's backoff while its inserts fail (it retries for as long as it lives).
    RetryPolicy insert_retry{
        .attempts = 1000000, .first_delay = milliseconds(500), .max_delay = milliseconds(15000)};
    // While its inserts keep failing, the writer says so once, then again this often.
    std::chrono::minutes outage_reminder{10};
    // ddl: replicate: how often the writer looks for tables created on the primary that the
    // other side's subscription does not know yet.
    milliseconds new_table_check{2000};
  };
  Heartbeat heartbeat;

  // ---- Lag sampler, inside the heartbeat writer (engine/lag_sampler.cpp) ----
  struct LagSampling {
    // How often the heartbeat writer samples the lag and the newest heartbeat.
    milliseconds period{5000};
    // A slot warning that lasts is logged again this often.
    seconds slot_warning_repeat{60};
    // The sampler's connect_timeout: short, since the writer waits for the sampler's thread
    // when it is told to stop.
    seconds connect_timeout{3};
    // The statement_timeout of the sampler's sessions, short for the same reason.
    milliseconds statement_timeout{5000};
  };
  LagSampling lag_sampling;

  // ---- Outages and reconnecting (model/run_context.cpp, core/pipeline.cpp) ----
  struct Reconnect {
    // A server never reached yet is probably misconfigured: a few quick attempts.
    RetryPolicy first_contact{
        .attempts = 5, .first_delay = milliseconds(500), .max_delay = milliseconds(10000)};
    // The first delay of the backoff while a server that was there is waited for
    // (reconnect_timeout in all), and before a step interrupted by an outage is resumed.
    milliseconds outage_first_delay{500};
    // The longest delay of that backoff.
    milliseconds outage_max_delay{10000};
    // What is left of reconnect_timeout is never less than this.
    seconds least_budget{1};
  };
  Reconnect reconnect;

  // ---- Replication link and fence (engine/replication_link.cpp, engine/fence.cpp) ----
  struct Replication {
    // Until the apply worker of a disabled subscription has stopped.
    PolledWait worker_stop{milliseconds(20), seconds(2)};
    // Until a slot's sender lets go of it, before it is dropped.
    PolledWait slot_release{milliseconds(100), seconds(10)};
    // A sender still holding the slot after this long is terminated.
    seconds slot_holder_terminated_after{2};
    // Until the sessions of the fenced roles have ended.
    PolledWait fenced_sessions_end{milliseconds(10), seconds(5)};
    // Until another run claiming the same upgrade.user on the source has created its slot (or
    // ended) and lets go of the claim (ClaimReplicationUser).
    PolledWait user_claim{milliseconds(200), seconds(600)};
  };
  Replication replication;

  // ---- Copy (snapshot/copy_sampler.cpp) ----
  struct Copy {
    // How often the copy's progress is recorded as a sample.
    milliseconds sample_period{2000};
  };
  Copy copy;

  // ---- Clouds (cloud/) ----
  // The slack for clock skew between this machine and the cloud when a copy's logs (an RDS
  // restore, a Cloud SQL clone) are searched for the end of its recovery.
  std::chrono::minutes cloud_clock_skew{1};

  // ---- RDS (cloud/rds_*.cpp) ----
  struct Rds {
    // After a reboot is asked for, before polling: the status leaves "available" first.
    seconds reboot_settle{1};
    // The first delay between two polls of a wait on AWS; it doubles at each poll...
    milliseconds first_poll{200};
    // ...up to this.
    milliseconds max_poll{10000};
    // A snapshot back to "available" at its old version this long after its upgrade was asked
    // for: AWS gave the upgrade up.
    std::chrono::minutes upgrade_given_up_after{2};
  };
  Rds rds;

  // ---- Cloud SQL (cloud/cloudsql_*.cpp) ----
  struct CloudSql {
    // Between two reads of an Admin API operation.
    milliseconds operation_poll{1000};
  };
  CloudSql cloudsql;

  // ---- Proxies (proxy/pgbouncer.cpp, proxy/haproxy.cpp) ----
  struct Proxies {
    // Until a started PgBouncer answers on its admin console.
    PolledWait pgbouncer_start{milliseconds(100), seconds(5)};
    // Until a PgBouncer sent SIGTERM has gone.
    PolledWait pgbouncer_stop{milliseconds(100), seconds(10)};
    // After a PAUSE that timed out, until PgBouncer shows the database paused (it has read the
    // PAUSE), before it is resumed.
    PolledWait pgbouncer_pause_seen{milliseconds(20), seconds(10)};
    // How often a pausing HAProxy is asked for the sessions left (cutover.pause_timeout bounds
    // it).
    milliseconds haproxy_drain_poll{20};
    // Until a HAProxy sent SIGTERM has gone; then it is sent SIGKILL.
    PolledWait haproxy_stop{milliseconds(20), seconds(10)};
    // Until a HAProxy sent SIGKILL has gone.
    PolledWait haproxy_kill{milliseconds(20), seconds(2)};
    // Until HAProxy's runtime API answers.
    RetryPolicy haproxy_socket{
        .attempts = 10, .first_delay = milliseconds(50), .max_delay = milliseconds(1000)};
  };
  Proxies proxies;

  // ---- The switch (core/switch.cpp, core/switch_ready.cpp) ----
  struct Switch {
    // Opening a connection to either side: a server that restarts is given a few tries.
    RetryPolicy connect{.attempts = 3, .first_delay = milliseconds(300)};
    // lock_timeout and statement_timeout of the switch's sessions: while the proxy holds the
    // application's writes, no statement of the switch may wait without end.
    seconds lock_timeout{10};
    seconds statement_timeout{60};
    // How long replication into the new side may look unhealthy before the switch refuses to
    // start: a subscription the last switch created may not have its worker yet, and lag comes
    // and goes. And how often it looks meanwhile.
    seconds settle{15};
    milliseconds settle_poll{250};
    // The newest heartbeat on the new side is fresh when it is younger than this many heartbeat
    // intervals (config heartbeat_interval), and never has to be younger than the floor.
    int heartbeat_fresh_intervals = 5;
    seconds heartbeat_fresh_floor{5};
    // How much longer than that age the switch waits for a fresh heartbeat before refusing, and
    // how often it looks meanwhile.
    seconds heartbeat_grace{5};
    milliseconds heartbeat_poll{200};
    // How often the drain looks for sessions still writing on the old side and for its marker on
    // the new side: the application's writes are held meanwhile, so it looks often.
    milliseconds drain_poll{5};
    // Until the return subscription created by the switch has a worker that streams: a worker
    // that cannot connect is restarted every wal_retrieve_retry_interval (5 s by default).
    PolledWait return_streams{milliseconds(100), seconds(20)};
  };
  Switch switching;

  // ---- Verify (verify/consistent_point.cpp) ----
  struct Verify {
    // How often a wait for the consistent point checks (catchup_timeout bounds it).
    milliseconds poll{20};
    // How often a long wait says what it waits for.
    seconds progress_every{5};
  };
  Verify verify;

  // ---- Metrics endpoint (metrics/http_server.cpp) ----
  struct Metrics {
    // How often a port held by another process is tried again.
    milliseconds bind_retry{250};
    // How often the server checks, while it waits to bind again, whether it is told to stop.
    milliseconds stop_check{50};
  };
  Metrics metrics;

  // The timings db_relocate runs with.
  static const Timings& Default() {
    static const Timings timings;
    return timings;
  }
};

}  // namespace dbr
