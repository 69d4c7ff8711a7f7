// A writer on its own connection that runs statement(i) for i = 0, 1, ... until stopped (or
// destroyed), counting the rounds; the first error stops it and is kept.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "pg/connection.h"

namespace dbr::test {

class LoopWriter {
 public:
  LoopWriter(pg::ConnParams params, std::function<std::string(int64_t)> statement)
      : params_(std::move(params)), statement_(std::move(statement)) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~LoopWriter() { Stop(); }
  LoopWriter(const LoopWriter&) = delete;
  LoopWriter& operator=(const LoopWriter&) = delete;

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int64_t rounds() const { return rounds_; }
  // Read once stopped.
  const std::string& error() const { return error_; }

 private:
  void Loop() {
    auto conn = pg::Connection::Open(params_);
    if (!conn.ok()) {
      error_ = conn.message();
      return;
    }
    for (int64_t i = 0; !stop_; ++i) {
      Status st = conn->Exec(statement_(i));
      if (!st.ok()) {
        error_ = st.message();
        return;
      }
      ++rounds_;
    }
  }

  pg::ConnParams params_;
  std::function<std::string(int64_t)> statement_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> rounds_{0};
  std::string error_;
  std::thread thread_;
};

}  // namespace dbr::test
