#pragma once
// --act=verify's second half: the Redis mirror held against the live view (DESIGN §7).

#include "xbanku/app/config.hpp"
#include "xbanku/view/store.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <cstdint>
#include <map>

namespace xbanku::app {

// Compares each account of the partitions this view has folded to the log's end with its Redis
// hash, printing one line per difference; returns how many differ (1 when Redis or the log
// cannot be read). Partitions behind the log's end are skipped and named: Redis is shared, and
// a partition that moved to another instance is mirrored there with newer balances than this
// view holds. `next_offsets` is the live view's next offset per partition it has folded.
[[nodiscard]] boost::asio::awaitable<std::size_t> compare_mirror(
    const Config& config, const view::Store& live,
    const std::map<std::int32_t, std::int64_t>& next_offsets, std::int32_t partitions);

}  // namespace xbanku::app
