#pragma once
// The console modes of DESIGN §5, compatible with the original Go tool, and --act=verify.

#include "xbanku/app/config.hpp"

namespace xbanku::app {

// `--act=producer`: reads command lines from stdin, appends each as an event, prints
// "Message: <json>" and "Message is stored in partition <p>, offset <o>". Exit code.
[[nodiscard]] int run_console_producer(const Config& config);

// `--act=consumer`: replays every partition from the beginning and prints each record with
// its outcome under §2, then the final balances (`--follow` keeps going). Exit code.
[[nodiscard]] int run_console_consumer(const Config& config);

// `--act=verify`: rebuilds the view from the log into a scratch store with the projector's
// code path and compares it with the live store (and the Redis mirror when set). Exit 0 only
// when they match.
[[nodiscard]] int run_verify(const Config& config);

}  // namespace xbanku::app
