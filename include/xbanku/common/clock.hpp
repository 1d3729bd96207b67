#pragma once
// Wall-clock time as the topic records it (`Ts`, announcements' `ts`): milliseconds since the
// Unix epoch. Durations and deadlines use std::chrono::steady_clock instead. Thread-safe.

#include <chrono>
#include <cstdint>

namespace xbanku {

[[nodiscard]] inline std::int64_t now_ms() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace xbanku
