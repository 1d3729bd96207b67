#include "xbanku/app/inspector.hpp"

#include "xbanku/common/error.hpp"
#include "xbanku/log/admin.hpp"
#include "xbanku/log/consumer.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

namespace xbanku::app {

namespace asio = boost::asio;
namespace json = boost::json;
using std::chrono::steady_clock;

namespace {

template <typename T>
std::optional<T> number(std::string_view s) {
  T v{};
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

ClusterInfo make_cluster_info(const std::string& self, std::int32_t partitions,
                              const std::vector<cluster::Owner>& members,
                              const std::vector<std::optional<cluster::Owner>>& owners,
                              const std::map<std::int32_t, PartitionInfo>& progress,
                              const std::set<std::int32_t>& shadowed_here) {
  ClusterInfo c;
  c.instance = self;
  c.partitions_total = partitions;
  for (const auto& m : members)
    c.members.push_back(MemberInfo{m.instance, m.url, {}, m.instance == self});
  // This instance before its first announcement is read back: still a member.
  if (std::none_of(c.members.begin(), c.members.end(), [](const auto& m) { return m.self; })) {
    c.members.push_back(MemberInfo{self, {}, {}, true});
  }
  for (std::int32_t p = 0; p < partitions; ++p) {
    PartitionInfo info;
    if (auto it = progress.find(p); it != progress.end()) info = it->second;
    info.partition = p;
    if (shadowed_here.contains(p)) info.standbys.push_back(self);
    const auto& owner = static_cast<std::size_t>(p) < owners.size()
                            ? owners[static_cast<std::size_t>(p)]
                            : std::nullopt;
    info.owner = owner ? std::optional<std::string>(owner->instance) : std::nullopt;
    if (owner) {
      for (auto& m : c.members) {
        if (m.instance == owner->instance) m.partitions.push_back(p);
      }
    }
    c.partitions.push_back(std::move(info));
  }
  for (auto& m : c.members) m.alive = m.self || !m.partitions.empty();
  return c;
}

bool merge_peer_progress(ClusterInfo& into, const std::string& instance, std::string_view body) {
  boost::system::error_code ec;
  const json::value v = json::parse(body, ec);
  const json::object* o = ec ? nullptr : v.if_object();
  const json::value* parts = o != nullptr ? o->if_contains("partitions") : nullptr;
  if (parts == nullptr || !parts->is_array()) return false;
  auto int64 = [](const json::object& p, std::string_view k) -> std::optional<std::int64_t> {
    const json::value* f = p.if_contains(k);
    if (f == nullptr || !f->is_int64()) return std::nullopt;
    return f->as_int64();
  };
  for (const json::value& item : parts->as_array()) {
    const json::object* p = item.if_object();
    if (p == nullptr) continue;
    const json::value* owner = p->if_contains("owner");
    const json::value* serving = p->if_contains("serving");
    const auto partition = int64(*p, "partition");
    // A member names itself among a partition's standbys (and nobody else).
    if (const json::value* s = p->if_contains("standbys");
        partition && s != nullptr && s->is_array()) {
      const bool names_itself = std::any_of(
          s->as_array().begin(), s->as_array().end(),
          [&](const json::value& x) { return x.is_string() && x.as_string() == instance; });
      for (auto& mine : into.partitions) {
        if (names_itself && mine.partition == *partition &&
            std::find(mine.standbys.begin(), mine.standbys.end(), instance) == mine.standbys.end())
          mine.standbys.push_back(instance);
      }
    }
    // Only what the member says of its own partitions, and only those we see it owning.
    if (!partition || owner == nullptr || !owner->is_string() || owner->as_string() != instance ||
        serving == nullptr || !serving->is_bool()) {
      continue;
    }
    for (auto& mine : into.partitions) {
      if (mine.partition != *partition || mine.owner != instance || mine.serving) continue;
      mine.serving = serving->as_bool();
      mine.applied = int64(*p, "applied");
      mine.end = int64(*p, "end");
      mine.lag = int64(*p, "lag");
    }
  }
  return true;
}

ServiceInspector::ServiceInspector(asio::any_io_executor ex, InspectorConfig config,
                                   const Directory& directory, const Projector& projector,
                                   cluster::PeerClient* peers)
    : ex_(std::move(ex)),
      config_(std::move(config)),
      directory_(directory),
      projector_(projector),
      peers_(peers) {
  config_.kafka.request_timeout = config_.deadline;
}

asio::awaitable<ClusterInfo> ServiceInspector::cluster(bool local_only) {
  ClusterInfo c = make_cluster_info(directory_.self(), config_.partitions, directory_.members(),
                                    directory_.by_partition(config_.partitions),
                                    projector_.progress(), projector_.ownership().shadowed);
  if (local_only || peers_ == nullptr) co_return c;
  // Each other live member tells its own progress (hops = 1: it answers locally, asks no one).
  std::vector<std::pair<std::string, std::string>> others;
  for (const auto& m : c.members) {
    if (!m.self && m.alive && !m.url.empty()) others.emplace_back(m.instance, m.url);
  }
  for (const auto& [instance, url] : others) {
    auto r = co_await peers_->get(url, "/cluster", 1, config_.peer_timeout);
    if (!r || r->status != 200 || !merge_peer_progress(c, instance, r->body)) {
      spdlog::debug("cluster: {} at {} did not tell its progress", instance, url);
    }
  }
  co_return c;
}

asio::awaitable<boost::system::result<DeadLetterPage>> ServiceInspector::dead_letters(
    std::int64_t after, std::size_t limit) {
  if (reads_ >= config_.max_reads) co_return make_error_code(errc::log_unavailable);
  ++reads_;
  struct Release {
    int& n;
    ~Release() { --n; }
  } release{reads_};
  const auto deadline = steady_clock::now() + config_.deadline;
  const std::string dlq = config_.topic + ".dlq";

  // The end first (bounded by request_timeout = deadline): the page stops there, so a read never
  // waits for records that do not exist yet.
  auto ends = co_await log::end_offsets(ex_, config_.kafka, dlq);
  if (!ends) co_return ends.error();
  const auto end_it = ends->find(0);
  const std::int64_t start = std::max<std::int64_t>(after + 1, 0);
  DeadLetterPage page;
  if (end_it == ends->end() || start >= end_it->second) co_return page;
  const std::int64_t end = end_it->second;

  auto reader = log::PartitionReader::create(ex_, config_.kafka, dlq, {{0, start}}, limit);
  if (!reader) co_return reader.error();
  std::int64_t last = start - 1;
  boost::system::error_code failed;
  while (page.letters.size() < limit && last + 1 < end) {
    const auto now = steady_clock::now();
    if (now >= deadline) break;
    auto poll = co_await (*reader)->next(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
    if (!poll) {
      failed = poll.error();
      break;
    }
    const auto records = poll->records();
    for (std::size_t i = 0; i < records.size() && page.letters.size() < limit; ++i) {
      const log::Record& r = records[i];
      if (r.offset <= last) continue;
      DeadLetterInfo d;
      d.offset = r.offset;
      if (r.key.data() != nullptr) d.key = std::string(r.key);
      std::string_view value = r.value;
      for (const auto& h : poll->headers(i)) {
        if (h.name == "xbanku-origin-topic") d.origin_topic = h.value;
        if (h.name == "xbanku-origin-partition") d.origin_partition = number<std::int32_t>(h.value);
        if (h.name == "xbanku-origin-offset") d.origin_offset = number<std::int64_t>(h.value);
        if (h.name == "xbanku-reason") d.reason = h.value;
        if (h.name == "xbanku-truncated-from") d.truncated_from = number<std::int64_t>(h.value);
      }
      if (value.size() > config_.max_value_bytes) {
        if (!d.truncated_from) d.truncated_from = static_cast<std::int64_t>(value.size());
        value = value.substr(0, config_.max_value_bytes);
      }
      d.value = std::string(value);
      last = r.offset;
      page.letters.push_back(std::move(d));
    }
  }
  co_await (*reader)->close();
  if (failed && page.letters.empty()) co_return failed;
  if (page.letters.empty()) {
    spdlog::warn("dlq: no record of {} from offset {} within {} ms", dlq, start,
                 config_.deadline.count());
    co_return make_error_code(errc::timeout);
  }
  if (last + 1 < end) page.next = last;
  co_return page;
}

}  // namespace xbanku::app
