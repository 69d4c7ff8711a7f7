#include "engine/lag_sampler.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <mutex>
#include <vector>

#include "unit/test_support.h"

namespace dbr {
namespace {

using unit_test::TempDir;

// What is logged while it lives, each line stamped with the seconds `clock` shows.
class LogOnClock : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit LogOnClock(Clock& clock) : clock_(clock), start_(clock.Now()) {}

  std::vector<std::string> lines;

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    lines.push_back(fmt::format("{} {} {}", clock_.SecondsSince(start_),
                                spdlog::level::to_string_view(msg.level),
                                std::string_view(msg.payload.data(), msg.payload.size())));
  }
  void flush_() override {}

 private:
  Clock& clock_;
  Clock::TimePoint start_;
};

// Installs a LogOnClock as the default logger while it lives.
class CapturedLog {
 public:
  explicit CapturedLog(Clock& clock)
      : sink_(std::make_shared<LogOnClock>(clock)), previous_(spdlog::default_logger()) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("captured", sink_));
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  const std::vector<std::string>& lines() const { return sink_->lines; }

 private:
  std::shared_ptr<LogOnClock> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

enum class Slot { kFine, kNear, kLost, kUnread };

LagReading Reading(Slot slot) {
  LagReading r;
  r.health.slot_name = names::Links("app", "app").forward.front().slot;
  r.health.source_read = slot != Slot::kUnread;
  r.health.slot_exists = slot != Slot::kUnread;
  r.health.lag_bytes = 100;
  r.health.slot_wal_status = slot == Slot::kNear   ? "unreserved"
                             : slot == Slot::kLost ? "lost"
                                                   : "reserved";
  return r;
}

// Runs a LagSampler on `clock` over `script`, one reading per sample, and returns the seconds at
// which it read.
std::vector<double> Sample(const std::vector<Slot>& script, ManualClock& clock) {
  TempDir tmp;
  Config config;
  config.state_dir = tmp.path().string();
  const Clock::TimePoint start = clock.Now();
  std::mutex mu;
  std::condition_variable cv;
  std::vector<double> read_at;
  {
    LagSampler sampler(
        config,
        [&]() -> std::optional<LagReading> {
          std::lock_guard<std::mutex> lock(mu);
          if (read_at.size() == script.size()) return std::nullopt;  // until it is stopped
          read_at.push_back(clock.SecondsSince(start));
          cv.notify_all();
          return Reading(script[read_at.size() - 1]);
        },
        clock);
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return read_at.size() == script.size(); });
  }
  return read_at;
}

std::vector<Slot> Repeated(Slot slot, int n) {
  return std::vector<Slot>(static_cast<size_t>(n), slot);
}

std::vector<Slot> operator+(std::vector<Slot> a, const std::vector<Slot>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

const std::string kNearWarning =
    " warning replication slot db_relocate_slot_app: the replication slot is close to invalidation";

TEST(LagSampler, SamplesEveryFiveSecondsOfItsClock) {
  ManualClock clock;
  CapturedLog log(clock);
  EXPECT_EQ(Sample(Repeated(Slot::kFine, 4), clock), (std::vector<double>{5, 10, 15, 20}));
  EXPECT_TRUE(log.lines().empty());
}

TEST(LagSampler, SlotWarningIsLoggedOnceThenAgainAfterSixtySecondsWhileItLasts) {
  ManualClock clock;
  CapturedLog log(clock);
  // Near from 10 s to 135 s: logged at 10, 70 and 130 s; then back within once.
  Sample(Repeated(Slot::kFine, 1) + Repeated(Slot::kNear, 26) + Repeated(Slot::kFine, 3), clock);
  ASSERT_EQ(log.lines().size(), 4u) << ::testing::PrintToString(log.lines());
  EXPECT_EQ(log.lines()[0].rfind("10" + kNearWarning, 0), 0u) << log.lines()[0];
  EXPECT_EQ(log.lines()[1].rfind("70" + kNearWarning, 0), 0u) << log.lines()[1];
  EXPECT_EQ(log.lines()[2].rfind("130" + kNearWarning, 0), 0u) << log.lines()[2];
  EXPECT_EQ(log.lines()[3],
            "140 info replication slot db_relocate_slot_app: back within max_slot_wal_keep_size");
}

TEST(LagSampler, AnotherTroubleIsLoggedAtOnceAndAnUnreadSourceChangesNothing) {
  ManualClock clock;
  CapturedLog log(clock);
  Sample(Repeated(Slot::kNear, 2) + Repeated(Slot::kLost, 1) + Repeated(Slot::kUnread, 3) +
             Repeated(Slot::kLost, 1),
         clock);
  ASSERT_EQ(log.lines().size(), 2u) << ::testing::PrintToString(log.lines());
  EXPECT_EQ(log.lines()[0].rfind("5" + kNearWarning, 0), 0u) << log.lines()[0];
  EXPECT_EQ(
      log.lines()[1].rfind("15 warning replication slot db_relocate_slot_app: the replication "
                           "slot was invalidated",
                           0),
      0u)
      << log.lines()[1];
}

}  // namespace
}  // namespace dbr
