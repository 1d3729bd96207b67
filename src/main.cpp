// xbanku: thin entry point. Everything lives in libxbanku (app/ wires the modules).
#include "xbanku/app/config.hpp"
#include "xbanku/app/console.hpp"
#include "xbanku/app/security.hpp"
#include "xbanku/app/serve.hpp"

#include <malloc.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

namespace {

// Every connection, RocksDB file and Kafka socket is a descriptor: 1,024 connections alone
// exceed the usual soft limit. Raise it to the hard limit (bounded), as servers do.
void raise_descriptor_limit() {
  rlimit l{};
  if (getrlimit(RLIMIT_NOFILE, &l) != 0) return;
  const rlim_t wanted = std::min<rlim_t>(l.rlim_max, 65536);
  if (l.rlim_cur >= wanted) return;
  l.rlim_cur = wanted;
  if (setrlimit(RLIMIT_NOFILE, &l) != 0) spdlog::warn("cannot raise the open-file limit");
}

// glibc raises its mmap threshold whenever it frees an mmapped block larger than the threshold
// (up to 32 MiB), and its trim threshold with it; from then on such blocks (librdkafka's fetch
// buffers among them) come from the heap arenas, and less of the heap's top is given back.
// Fixing the threshold turns both adjustments off. A 10M-record catch-up over 1M accounts
// peaked at 353-360 MB of RSS with glibc's defaults and at 303-313 MB with 1 MiB, at the same
// rate (256 KiB: 306-307 MB, 5-7 % slower); which of the two adjustments the memory was lost to
// was not measured (README "Performance"). A threshold set in the environment still decides.
void fix_mmap_threshold() {
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") != nullptr) return;
  if (const char* t = std::getenv("GLIBC_TUNABLES");
      t != nullptr && std::strstr(t, "malloc.mmap_threshold") != nullptr)
    return;
  // Before the logger exists: logs go to stderr (main below).
  if (mallopt(M_MMAP_THRESHOLD, 1024 * 1024) != 1)
    std::fputs("xbanku: cannot set malloc's mmap threshold\n", stderr);
}

}  // namespace

int main(int argc, char** argv) {
  fix_mmap_threshold();  // first: every allocation after it sees the fixed threshold
  auto config = xbanku::app::parse_config(argc, argv);
  if (!config) {
    std::fprintf(config.error().exit_code == 0 ? stdout : stderr, "%s\n",
                 config.error().message.c_str());
    return config.error().exit_code;
  }
  // Console modes print their results on stdout; logs go to stderr so they never mix.
  spdlog::set_default_logger(spdlog::stderr_color_mt("xbanku"));
  spdlog::set_level(spdlog::level::from_str(config->log_level));
  raise_descriptor_limit();
  try {
    switch (config->act) {
      case xbanku::app::Act::serve: return xbanku::app::run_serve(*config);
      case xbanku::app::Act::producer: return xbanku::app::run_console_producer(*config);
      case xbanku::app::Act::consumer: return xbanku::app::run_console_consumer(*config);
      case xbanku::app::Act::verify: return xbanku::app::run_verify(*config);
      case xbanku::app::Act::token: {
        // The token alone on stdout, so that `$(xbanku token ...)` captures it.
        auto token = xbanku::app::mint_token(*config);
        if (!token) {
          std::fprintf(stderr, "xbanku token: %s\n", token.error().c_str());
          return 2;
        }
        std::printf("%s\n", token->c_str());
        return 0;
      }
    }
  } catch (const std::exception& e) {
    spdlog::critical("xbanku: unexpected error: {}", e.what());
  }
  return 1;
}
