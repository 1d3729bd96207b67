#include "xbanku/api/limits.hpp"

#include <algorithm>
#include <cmath>

namespace xbanku::api {

ConnectionLimits::Admission ConnectionLimits::admit(const std::string& address) {
  auto& mine = by_address_[address];
  if (sessions_ < total_ && mine < per_address_) {
    ++sessions_;
    ++mine;
    return Admission::session;
  }
  if (mine == 0) by_address_.erase(address);
  if (reserved_in_use_ < reserved_) {
    ++reserved_in_use_;
    return Admission::reserved;
  }
  return Admission::refused;
}

void ConnectionLimits::release(const std::string& address, Admission admission) {
  if (admission == Admission::reserved) {
    if (reserved_in_use_ > 0) --reserved_in_use_;
    return;
  }
  if (admission != Admission::session) return;
  if (sessions_ > 0) --sessions_;
  auto it = by_address_.find(address);
  if (it == by_address_.end()) return;
  if (--it->second == 0) by_address_.erase(it);
}

void TokenBucket::refill(Clock::time_point now) {
  if (last_ == Clock::time_point{}) last_ = now;
  const double elapsed = std::chrono::duration<double>(now - last_).count();
  tokens_ = std::min(burst_, tokens_ + std::max(0.0, elapsed) * rate_);
  last_ = now;
}

TokenBucket::Clock::duration TokenBucket::take(Clock::time_point now) {
  if (rate_ <= 0) return Clock::duration::zero();
  refill(now);
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return Clock::duration::zero();
  }
  const double wait = (1.0 - tokens_) / rate_;
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(wait));
}

bool TokenBucket::idle(Clock::time_point now) const {
  if (rate_ <= 0) return true;
  const double elapsed = std::chrono::duration<double>(now - last_).count();
  return tokens_ + std::max(0.0, elapsed) * rate_ >= burst_;
}

}  // namespace xbanku::api
