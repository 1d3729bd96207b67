// The view as the Redis mirror's source (see the header).
#include "xbanku/app/mirror_source.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace xbanku::app {

mirror::MirrorSource view_mirror_source(view::Store& store, const Ownership* const& owned,
                                        domain::Placement placement) {
  return mirror::MirrorSource{
      [&store](std::size_t limit) {
        auto owed = store.owed(limit);
        return owed ? std::move(*owed) : std::vector<domain::Account>{};
      },
      [&store](std::span<const std::pair<std::string, std::uint64_t>> done) {
        if (auto ec = store.mark_mirrored(done)) {
          spdlog::error("mirror: cannot mark mirrored: {}", ec.message());
          return false;
        }
        return true;
      },
      [&store] {
        auto n = store.owed_count();
        return n ? static_cast<std::size_t>(*n) : std::size_t{0};
      },
      [&owned] {
        return owned ? std::vector<std::int32_t>(owned->assigned.begin(), owned->assigned.end())
                     : std::vector<std::int32_t>{};
      },
      [&store, &owned, placement](std::string_view after, std::size_t limit,
                                  std::span<const std::int32_t> wanted) {
        std::optional<mirror::RefillPage> out;
        auto page = store.accounts(after, limit);
        if (!page) return out;  // logged by the store
        out.emplace();
        for (auto& a : page->items) {
          const auto p = placement.partition_of(a.id);
          if (owned && owned->assigned.contains(p) &&
              std::find(wanted.begin(), wanted.end(), p) != wanted.end())
            out->accounts.push_back(std::move(a));
        }
        out->next = std::move(page->next);
        return out;
      },
      [&store] { return store.mirror_stale(); },
      [&store] {
        if (auto ec = store.clear_mirror_stale()) {
          spdlog::error("mirror: cannot record the refill: {}", ec.message());
          return false;
        }
        return true;
      }};
}

}  // namespace xbanku::app
