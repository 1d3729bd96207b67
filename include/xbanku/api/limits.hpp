#pragma once
// The server's fairness limits (DESIGN §9), as plain bookkeeping with no I/O so they can be
// tested on their own:
//   - ConnectionLimits: at most `per_address` sessions per client address and `total` in all;
//     beyond that a few `reserved` slots stay open for health and readiness probes only, so a
//     client holding a thousand idle connections cannot make /healthz fail for everyone else.
//   - TokenBucket: a request rate with a burst; an empty bucket says how long until it refills.
// Thread-safety: none (the server's executor owns them).

#include <chrono>
#include <cstddef>
#include <map>
#include <string>

namespace xbanku::api {

class ConnectionLimits {
 public:
  enum class Admission {
    session,   // a full session
    reserved,  // over a limit: answers one health or readiness probe, then closes
    refused    // over every limit: 503 and close
  };

  ConnectionLimits(std::size_t total, std::size_t per_address, std::size_t reserved)
      : total_(total), per_address_(per_address), reserved_(reserved) {}

  // A new connection from `address`; every admission but `refused` must be released.
  [[nodiscard]] Admission admit(const std::string& address);
  void release(const std::string& address, Admission admission);

  [[nodiscard]] std::size_t sessions() const noexcept { return sessions_; }
  [[nodiscard]] std::size_t reserved_in_use() const noexcept { return reserved_in_use_; }

 private:
  std::size_t total_, per_address_, reserved_;
  std::size_t sessions_ = 0;
  std::size_t reserved_in_use_ = 0;
  std::map<std::string, std::size_t, std::less<>> by_address_;  // sessions per address
};

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;
  // `rate` requests per second on average, up to `burst` at once. rate 0 = unlimited.
  TokenBucket(double rate, double burst) : rate_(rate), burst_(burst), tokens_(burst) {}

  // Takes one token: zero when allowed now, else how long until one is available.
  [[nodiscard]] Clock::duration take(Clock::time_point now);
  // True when the bucket is full again (nothing to remember about this client).
  [[nodiscard]] bool idle(Clock::time_point now) const;

 private:
  void refill(Clock::time_point now);
  double rate_, burst_, tokens_;
  Clock::time_point last_{};
};

}  // namespace xbanku::api
