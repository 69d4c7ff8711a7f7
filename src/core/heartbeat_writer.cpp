#include "core/heartbeat_writer.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>

#include "engine/ddl_replication.h"
#include "engine/heartbeat.h"
#include "engine/lag_sampler.h"
#include "metrics/endpoint.h"
#include "model/run_state.h"
#include "model/samples.h"
#include "model/servers.h"
#include "model/timings.h"
#include "mysql/heartbeat.h"
#include "mysql/replication.h"
#include "mysql/servers.h"
#include "util/files.h"
#include "util/log.h"
#include "util/outage.h"
#include "util/periodic_task.h"
#include "util/progress.h"
#include "util/retry.h"

namespace dbr {
namespace {

// Removes the writer's pid file when it goes: the writer has stopped once the file is gone.
struct PidFile {
  std::filesystem::path path;
  ~PidFile() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

// ddl: replicate: a table created on the side that takes writes joins the subscription on the
// other side once its CREATE TABLE has been replayed there (engine/ddl_replication.h).
class NewTableFollower {
 public:
  NewTableFollower(const Config& config, const StateStore& store)
      : config_(config), store_(store) {}

  void Once() {
    auto state = store_.Load();
    if (!state.ok() || state->switching) return;
    const Side primary = state->primary;
    if (!sender_ || sender_->IsBroken() || !receiver_ || receiver_->IsBroken() ||
        primary != primary_) {
      auto sender = pg::Connection::Open(ParamsOf(config_, primary));
      auto receiver = pg::Connection::Open(ParamsOf(config_, Other(primary)));
      if (!sender.ok() || !receiver.ok()) return;  // the heartbeat reports outages
      sender_.emplace(std::move(*sender));
      receiver_.emplace(std::move(*receiver));
      primary_ = primary;
    }
    const names::Link link = LinksOf(config_).MainInto(Other(primary));
    auto enabled = receiver_->QueryValue(
        "SELECT count(*) FROM pg_subscription WHERE subname = $1 AND subenabled",
        {link.subscription});
    if (!enabled.ok() || *enabled != "1") return;
    auto followed = FollowNewTables(*sender_, *receiver_, link);
    if (!followed.ok()) {
      log::warn("adding the tables created on the {} to subscription {}: {}",
                sender_->params().label, link.subscription, followed.message());
      sender_.reset();
      receiver_.reset();
    }
  }

 private:
  const Config& config_;
  const StateStore& store_;
  std::optional<pg::Connection> sender_, receiver_;
  Side primary_ = Side::kSource;
};

// One heartbeat row where the application writes (`primary`, read when a connection is made:
// the destination after a cut-over), on a connection of the config's engine kept between rows.
class HeartbeatInserter {
 public:
  using Primary = std::function<Side()>;
  virtual ~HeartbeatInserter() = default;
  virtual Status Insert(const Primary& primary) = 0;
  virtual void Forget() = 0;  // the connection, after a failure
};

class PostgresInserter : public HeartbeatInserter {
 public:
  explicit PostgresInserter(const Config& config) : config_(config) {}
  Status Insert(const Primary& primary) override {
    if (!conn_ || conn_->IsBroken()) {
      auto c = pg::Connection::Open(ParamsOf(config_, primary()));
      if (!c.ok()) return c.status();
      conn_.emplace(std::move(*c));
    }
    return conn_->Exec("INSERT INTO " + HeartbeatTable() + " DEFAULT VALUES");
  }
  void Forget() override { conn_.reset(); }

 private:
  const Config& config_;
  std::optional<pg::Connection> conn_;
};

class MysqlInserter : public HeartbeatInserter {
 public:
  explicit MysqlInserter(const Config& config) : config_(config) {}
  Status Insert(const Primary& primary) override {
    if (!conn_ || conn_->IsBroken()) {
      auto c = mariadb::Connection::Open(mysql::ParamsOf(config_, primary()));
      if (!c.ok()) return c.status();
      conn_.emplace(std::move(*c));
    }
    return mysql::InsertHeartbeat(*conn_, mysql::NamesOf(config_).database).status();
  }
  void Forget() override { conn_.reset(); }

 private:
  const Config& config_;
  std::optional<mariadb::Connection> conn_;
};

// engine mysql's lag for the report's samples: the primary's binary log not applied yet on the
// other side, and that side's seconds behind. Connections kept between readings, dropped on an
// error; the primary read from the state each time (it moves at a switch).
class MysqlLagReader {
 public:
  explicit MysqlLagReader(const Config& config) : config_(config), store_(config.state_dir) {}

  std::optional<LagReading> Read() {
    auto state = store_.Load();
    if (!state.ok()) return std::nullopt;
    const Side primary = state->primary;
    if (primary != primary_) sender_.reset(), receiver_.reset();
    primary_ = primary;
    if (!Open(primary, sender_) || !Open(Other(primary), receiver_)) return std::nullopt;
    const std::string channel = mysql::NamesOf(config_).channel;
    auto replica = mysql::ReadReplica(*receiver_, channel);
    if (!replica.ok() || !replica->exists) {
      if (!replica.ok()) receiver_.reset();
      return std::nullopt;
    }
    LagReading reading;
    reading.health.subscription_name = channel;
    reading.health.subscription_exists = true;
    reading.health.apply_worker_running = replica->applying;
    reading.health.lag_seconds = static_cast<double>(replica->seconds_behind);
    if (auto lag = mysql::LagBytes(*sender_, replica->applied); lag.ok())
      reading.health.lag_bytes = *lag;
    else
      sender_.reset();
    return reading;
  }

 private:
  bool Open(Side side, std::optional<mariadb::Connection>& conn) {
    if (conn && !conn->IsBroken()) return true;
    conn = mariadb::Connection::OpenOrNone(mysql::ParamsOf(config_, side));
    return conn.has_value();
  }

  const Config& config_;
  StateStore store_;
  Side primary_ = Side::kSource;
  std::optional<mariadb::Connection> sender_, receiver_;
};

// Starts the lag sampler of the config's engine in `sampler`.
void StartLagSampler(const Config& config, Clock& clock, std::optional<LagSampler>& sampler) {
  if (config.engine == EngineKind::kMysql) {
    auto reader = std::make_shared<MysqlLagReader>(config);
    sampler.emplace(
        config, [reader] { return reader->Read(); }, clock);
  } else {
    sampler.emplace(config, clock);
  }
}

// The table dropped by cleanup: PostgreSQL's and MySQL's words for it.
bool HeartbeatTableGone(const Status& st) {
  for (const char* words : {"does not exist", "doesn't exist", "Unknown database"})
    if (st.message().find(words) != std::string::npos) return true;
  return false;
}

}  // namespace

int RunHeartbeatWriter(const Config& config, Clock& clock) {
  StateStore store(config.state_dir);
  if (!EnsureDirectory(store.dir()).ok()) return 1;
  // Retried a moment: a command that finds the pid file reads whether the lock is held
  // (HeartbeatWriterPid), holding it for that instant.
  auto lock = [&]() -> Result<FileLock> {
    for (int attempt = 1;; ++attempt) {
      auto held = FileLock::Acquire(store.file("heartbeat.lock"), "the heartbeat");
      if (held.ok() || attempt == 10) return held;
      clock.SleepFor(std::chrono::milliseconds(20));
    }
  }();
  if (!lock.ok()) {
    log::info("{}", lock.message());
    return 0;  // one writer is enough
  }
  if (!WriteFileAtomic(store.file("heartbeat.pid"), std::to_string(getpid()) + "\n").ok()) return 1;
  const PidFile pid_file{store.file("heartbeat.pid")};
  log::info("heartbeat writer running, pid {}", getpid());
  MetricsEndpoint metrics(config);  // serves while the writer lives (metrics/endpoint.h)
  std::optional<LagSampler> lag_sampler;
  StartLagSampler(config, clock, lag_sampler);
  std::unique_ptr<HeartbeatInserter> inserter;
  if (config.engine == EngineKind::kMysql)
    inserter = std::make_unique<MysqlInserter>(config);
  else
    inserter = std::make_unique<PostgresInserter>(config);
  NewTableFollower new_tables(config, store);
  std::optional<PeriodicTask> follow_new_tables;
  if (config.ddl == DdlMode::kReplicate)
    follow_new_tables.emplace(
        Timings::Default().heartbeat.new_table_check, [&] { new_tables.Once(); }, false, clock);
  SampleRecorder samples(store.dir(), "heartbeat");
  const auto interval = std::chrono::duration<double>(config.heartbeat_interval);
  const RetryPolicy& backoff = Timings::Default().heartbeat.insert_retry;
  OutageLog outage(Timings::Default().heartbeat.outage_reminder);
  // Stops when told to, or when its relocation's state is gone (removed by hand or by a test).
  auto told_to_stop = [&] {
    return std::filesystem::exists(store.file("heartbeat.stop")) ||
           !std::filesystem::exists(store.file("state.json"));
  };
  // Sleeps until `until`, looking for the stop now and then: a backoff is longer than the time
  // a stop is waited for.
  auto sleep_until = [&](Clock::TimePoint until) {
    while (!told_to_stop() && clock.Now() < until)
      clock.SleepFor(std::min<Clock::Duration>(until - clock.Now(), backoff.first_delay));
  };
  while (!told_to_stop()) {
    const Clock::TimePoint started = clock.Now();
    Status st = inserter->Insert([&store] {
      auto state = store.Load();
      return state.ok() ? state->primary : Side::kSource;
    });
    if (st.ok()) {
      if (outage.Succeeded(clock.Now()) == OutageLog::Say::kRecovered)
        log::info("heartbeat inserts work again after {} ({} failed attempts)",
                  HumanDuration(outage.seconds(clock.Now())), outage.attempts());
    } else if (HeartbeatTableGone(st)) {
      log::info("heartbeat table is gone (cleaned up): writer stops");
      break;
    } else {
      (void)samples.CountError("heartbeat insert failed: " + st.message());
      inserter->Forget();
      const OutageLog::Say say = outage.Failed(clock.Now());
      const auto delay = BackoffDelay(backoff, outage.attempts());
      if (say == OutageLog::Say::kStarted)
        log::warn(
            "heartbeat insert failed: {}; retrying quietly (at least every {} s) until it "
            "works again or the writer is stopped",
            st.message(),
            std::chrono::duration_cast<std::chrono::seconds>(backoff.max_delay).count());
      else if (say == OutageLog::Say::kStill)
        log::warn("heartbeat inserts still fail after {} ({} attempts): {}",
                  HumanDuration(outage.seconds(clock.Now())), outage.attempts(), st.message());
      sleep_until(clock.Now() + delay);
      continue;
    }
    sleep_until(started + std::chrono::duration_cast<Clock::Duration>(interval));
  }
  return 0;
}

}  // namespace dbr
