#pragma once
// Retry delays that double from `initial` up to `max`: one helper for every retry loop (member
// announcements, log-end queries, dead letters, the Redis mirror). Not thread-safe (one loop).

#include <algorithm>
#include <chrono>

namespace xbanku {

class Backoff {
 public:
  using ms = std::chrono::milliseconds;
  constexpr Backoff(ms initial, ms max) noexcept : initial_(initial), max_(max), next_(initial) {}

  // The delay to wait now; the following call returns twice as much, up to max.
  ms next() noexcept {
    const ms now = next_;
    next_ = std::min(max_, next_ * 2);
    return now;
  }
  // After a success: the next failure waits `initial` again.
  void reset() noexcept { next_ = initial_; }

 private:
  ms initial_, max_, next_;
};

}  // namespace xbanku
