#pragma once
// The view as the Redis mirror's source: what is owed and marking it mirrored, refills of the
// partitions this instance projects, and the refill after a period without a mirror.

#include "xbanku/app/projector.hpp"
#include "xbanku/domain/rules.hpp"
#include "xbanku/mirror/mirror.hpp"
#include "xbanku/view/store.hpp"

namespace xbanku::app {

// `owned` is read at each call: it points at the projector's ownership once the projector
// exists (nullptr before, when nothing is refilled), since a refill must write only the
// accounts of the partitions this instance projects (another instance's view of the others may
// be newer). `store` and `owned` must outlive the mirror.
[[nodiscard]] mirror::MirrorSource view_mirror_source(view::Store& store,
                                                      const Ownership* const& owned,
                                                      domain::Placement placement);

}  // namespace xbanku::app
