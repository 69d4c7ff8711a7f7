// Waiting for a condition instead of sleeping for a fixed time: the tests wait as long as the
// machine needs (a loaded 2-core CI runner under the sanitizers), and no longer.
#pragma once

#include <chrono>
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

}  // namespace dbr::test
