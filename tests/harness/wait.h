// Waiting for a condition instead of sleeping for a fixed time: the tests wait as long as the
// machine needs (a loaded 2-core CI runner under the sanitizers), and no longer.
#pragma once

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>

namespace dbr::test {

// Asks `done` every `poll` until it returns true (then true) or `timeout` has passed (then
// false, after one last ask at the deadline).
template <typename Done>
bool WaitFor(Done&& done, std::chrono::milliseconds timeout,
             std::chrono::milliseconds poll = std::chrono::milliseconds(100)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(poll);
  }
  return done();
}

// A window a db_relocate process holds open at a pause point (util/fault.h) until the test has
// acted inside it and calls Release(): the test need not act within a fixed time, and the
// process waits no longer than the test takes. The cap, longer than any of the tests' own waits
// (a minute), ends the pause of a test that stopped before releasing it.
class PauseWindow {
 public:
  // `point` as DBR_PAUSE_AT names it (e.g. "publication:user-ready"); `file` must not exist.
  PauseWindow(const std::string& point, std::filesystem::path file)
      : point_(point), file_(std::move(file)) {}

  // The environment that makes the process pause there.
  std::map<std::string, std::string> Env() const {
    return {{"DBR_PAUSE_AT", point_ + ":120000"}, {"DBR_PAUSE_RELEASE", file_.string()}};
  }
  void Release() const { std::ofstream(file_, std::ios::app).flush(); }

 private:
  std::string point_;
  std::filesystem::path file_;
};

}  // namespace dbr::test
