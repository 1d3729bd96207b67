#pragma once
// Java-compatible placement of keys on partitions (DESIGN §1), so that librdkafka's
// `murmur2_random`, Kafka's Java default partitioner and xbanku agree on every account.

#include <cstdint>
#include <string_view>

namespace xbanku::domain {

// Identical to org.apache.kafka.common.utils.Utils.murmur2 (seed 0x9747b28c), as unsigned bits.
[[nodiscard]] std::uint32_t murmur2(std::string_view key) noexcept;

// (murmur2(key) & 0x7fffffff) % partitions: the partition Java's default partitioner and
// librdkafka's murmur2_random choose for a non-empty key. Returns 0 when partitions < 1.
[[nodiscard]] std::int32_t partition_for_key(std::string_view key,
                                             std::int32_t partitions) noexcept;

}  // namespace xbanku::domain
