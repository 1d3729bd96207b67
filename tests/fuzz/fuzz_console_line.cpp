// Any console line: parsing never crashes, and every accepted line is a valid event.
#include "xbanku/domain/codec.hpp"
#include "xbanku/domain/console_line.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace xbanku::domain;
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  auto parsed = parse_console_line(line);
  if (!parsed) {
    if (parsed.error() != console_usage()) std::abort();
    return 0;
  }
  auto back = decode(encode(*parsed));
  if (!back || !(*back == *parsed)) std::abort();
  return 0;
}
