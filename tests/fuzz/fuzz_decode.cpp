// Any record value: decode never crashes, and what it accepts survives encode → decode intact.
#include "xbanku/domain/codec.hpp"
#include "xbanku/domain/rules.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace xbanku::domain;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto decoded = decode(input);
  if (!decoded) {
    // Errors still map to an outcome; names must be valid.
    const Outcome o = undecodable_outcome(decoded.error(), RecordPos{0, 0});
    if (to_string(o.reason).empty() || decoded.error().message.empty()) std::abort();
    return 0;
  }
  const std::string again = encode(*decoded);
  auto round = decode(again);
  if (!round || !(*round == *decoded)) std::abort();
  if (encode(*round) != again) std::abort();
  return 0;
}
