#include "xbanku/domain/partitioner.hpp"

namespace xbanku::domain {

// A transcription of Kafka's Utils.murmur2. Java does the arithmetic on signed 32-bit ints with
// wrap-around and `>>>`; unsigned 32-bit arithmetic gives the same bits without C++'s signed
// overflow being undefined.
std::uint32_t murmur2(std::string_view key) noexcept {
  constexpr std::uint32_t seed = 0x9747b28cU;
  constexpr std::uint32_t m = 0x5bd1e995U;
  constexpr int r = 24;
  const auto* data = reinterpret_cast<const unsigned char*>(key.data());
  // Java's length is an int; keys are far below 2^31 bytes.
  const auto length = static_cast<std::uint32_t>(key.size());

  std::uint32_t h = seed ^ length;
  const std::uint32_t length4 = length / 4;
  for (std::uint32_t i = 0; i < length4; ++i) {
    const std::uint32_t i4 = i * 4;
    std::uint32_t k = std::uint32_t{data[i4 + 0]} | (std::uint32_t{data[i4 + 1]} << 8) |
                      (std::uint32_t{data[i4 + 2]} << 16) | (std::uint32_t{data[i4 + 3]} << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const std::uint32_t tail = length & ~3U;
  switch (length % 4) {
    case 3: h ^= std::uint32_t{data[tail + 2]} << 16; [[fallthrough]];
    case 2: h ^= std::uint32_t{data[tail + 1]} << 8; [[fallthrough]];
    case 1:
      h ^= std::uint32_t{data[tail]};
      h *= m;
      break;
    default: break;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return h;
}

std::int32_t partition_for_key(std::string_view key, std::int32_t partitions) noexcept {
  if (partitions < 1) return 0;
  const auto positive = static_cast<std::int32_t>(murmur2(key) & 0x7fffffffU);
  return positive % partitions;
}

}  // namespace xbanku::domain
