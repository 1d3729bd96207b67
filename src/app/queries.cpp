#include "xbanku/app/queries.hpp"

#include "xbanku/api/operations.hpp"
#include "xbanku/common/error.hpp"

#include <boost/json/parse.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <vector>

namespace xbanku::app {
namespace {

using boost::asio::awaitable;

class Queries final : public ClusterQueries {
 public:
  explicit Queries(QueryDeps deps)
      : deps_(std::move(deps)),
        store_(deps_.store),
        membership_(deps_.membership),
        own_(deps_.ownership),
        forwarded_ok_(&counter(deps_.registry, "ok")),
        forwarded_failed_(&counter(deps_.registry, "failed")) {}

  awaitable<QueryResult<domain::Account>> account(std::string id, Origin origin) override {
    const auto target = "/accounts/" + id;
    const LocalRead<domain::Account> read = [&] {
      auto a = store_.account(id);
      if (!a) throw boost::system::system_error(a.error(), "account read");
      return std::move(*a);
    };
    co_return co_await routed(partition_of(id), origin, target, read);
  }

  awaitable<QueryResult<Page<domain::Account>>> accounts(std::string after, std::size_t limit,
                                                          Origin origin) override {
    QueryResult<Page<domain::Account>> r;
    r.served_by = deps_.self;
    // Which partitions this instance answers for, and which other instances to ask.
    if (origin.forwarded()) {
      // Another instance merges pages: answer for the partitions it expects us to serve (all we
      // serve when it names none), or not at all.
      const std::set<std::int32_t> wanted = origin.partitions.empty()
                                                ? own_.serving
                                                : std::set<std::int32_t>(origin.partitions.begin(), origin.partitions.end());
      if (!std::all_of(wanted.begin(), wanted.end(), [&](auto p) { return own_.serving.contains(p); })) {
        r.unavailable = true;
        co_return r;
      }
      r.value = local_accounts(after, limit, wanted);
      co_return r;
    }
    std::set<std::int32_t> local(own_.serving.begin(), own_.serving.end());
    std::map<std::string, std::vector<std::int32_t>> remote;  // url → partitions
    for (std::int32_t p = 0; p < partitions(); ++p) {
      if (own_.serving.contains(p)) continue;
      auto owner = membership_.owner(p);
      if (owner && owner->instance != deps_.self) {
        remote[owner->url].push_back(p);
      } else {
        local.insert(p);
        r.stale = true;
      }
    }
    std::vector<domain::Account> merged;
    bool more = false;
    for (const auto& [url, parts] : remote) {
      const auto query = fmt::format("/accounts?limit={}{}{}&partitions={}", limit, after.empty() ? "" : "&after=",
                                     after, fmt::join(parts, ","));
      auto res = co_await deps_.peers.get(url, query, origin.hops + 1, kForwardTimeout);
      count_forward(res.has_value() && res->status == 200);
      auto page = res && res->status == 200 ? parse_account_page(res->body) : std::nullopt;
      if (!page) {
        local.insert(parts.begin(), parts.end());  // fall back to our copy of those partitions
        r.stale = true;
        continue;
      }
      r.stale = r.stale || (res && res->stale);
      more = more || page->next.has_value();
      std::move(page->items.begin(), page->items.end(), std::back_inserter(merged));
    }
    auto own = local_accounts(after, limit, local);
    more = more || own.next.has_value();
    std::move(own.items.begin(), own.items.end(), std::back_inserter(merged));

    std::sort(merged.begin(), merged.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    merged.erase(std::unique(merged.begin(), merged.end(), [](const auto& a, const auto& b) { return a.id == b.id; }),
                 merged.end());
    Page<domain::Account> out;
    if (merged.size() > limit) {
      merged.resize(limit);
      more = true;
    }
    if (more && !merged.empty()) out.next = merged.back().id;
    out.items = std::move(merged);
    r.value = std::move(out);
    co_return r;
  }

  awaitable<QueryResult<Page<HistoryItem>>> history(std::string id, std::string after, std::size_t limit,
                                                    Origin origin) override {
    const auto target = fmt::format("/accounts/{}/events?limit={}{}{}", id, limit, after.empty() ? "" : "&after=",
                                    cluster::percent_encode(after));
    const LocalRead<Page<HistoryItem>> read = [&]() -> std::optional<Page<HistoryItem>> {
      std::uint64_t after_seq = 0;
      if (!after.empty()) after_seq = std::stoull(after);  // the API validated it as digits
      auto page = store_.history(id, after_seq, limit);
      if (!page) throw boost::system::system_error(page.error(), "history read");
      if (!page->has_value()) return std::nullopt;
      Page<HistoryItem> out;
      for (auto& item : (*page)->items) {
        out.items.push_back(HistoryItem{std::move(item.entry), std::to_string(item.seq)});
      }
      if ((*page)->next) out.next = std::to_string(*(*page)->next);
      return out;
    };
    co_return co_await routed(partition_of(id), origin, target, read);
  }

  awaitable<QueryResult<domain::Outcome>> command(std::string command_id, std::chrono::milliseconds wait,
                                                  Origin origin) override {
    QueryResult<domain::Outcome> r;
    r.served_by = deps_.self;
    auto o = store_.find_outcome(command_id, "", partitions());
    if (!o) throw boost::system::system_error(o.error(), "outcome read");
    if (o->has_value()) {
      r.value = resolve(std::move(**o));
    } else if (wait.count() > 0) {
      // A read-your-writes wait forwarded by the instance that produced the command.
      r.value = co_await deps_.wait_for_outcome(command_id, std::min(wait, api::kMaxCommandWait));
    }
    if (origin.forwarded()) {
      // The asker combines the instances' answers; our "not found" counts only for partitions
      // we serve, so say we cannot answer while any of ours is still catching up.
      r.unavailable = !r.value && own_.serving.size() < own_.assigned.size();
      co_return r;
    }
    if (r.value) {
      co_await resolve_across(*r.value);
      co_return r;
    }
    co_return co_await command_elsewhere(command_id);
  }

  awaitable<QueryResult<domain::TransferState>> transfer(std::string transfer_id, std::string to,
                                                         Origin origin) override {
    const auto target = fmt::format("/transfers/{}?to={}", cluster::percent_encode(transfer_id), to);
    const LocalRead<domain::TransferState> read = [&] {
      auto t = store_.transfer(domain::transfer_key(transfer_id, domain::TransferSide::target));
      if (!t) throw boost::system::system_error(t.error(), "transfer read");
      return *t;
    };
    co_return co_await routed(partition_of(to), origin, target, read);
  }

  domain::Outcome resolve(domain::Outcome o) const override {
    using domain::TransferSide;
    using domain::TransferState;
    if (o.type != domain::EventType::transfer || o.status != domain::Status::pending || o.transfer_id.empty()) {
      return o;
    }
    auto source = store_.transfer(domain::transfer_key(o.transfer_id, TransferSide::source));
    auto target = store_.transfer(domain::transfer_key(o.transfer_id, TransferSide::target));
    if (source && *source == TransferState::refunded) o.status = domain::Status::refunded;
    if (target && *target == TransferState::completed) o.status = domain::Status::completed;
    return o;
  }

  void count_forward(bool ok) override { (ok ? forwarded_ok_ : forwarded_failed_)->inc(); }

 private:
  template <typename T>
  using LocalRead = std::function<std::optional<T>()>;  // nullopt = not found here

  std::int32_t partitions() const noexcept { return deps_.placement.partitions; }
  std::int32_t partition_of(std::string_view account) const noexcept {
    return deps_.placement.partition_of(account);
  }

  template <typename T>
  awaitable<QueryResult<T>> routed(std::int32_t partition, Origin origin, const std::string& target,
                                   const LocalRead<T>& read) {
    QueryResult<T> r;
    r.served_by = deps_.self;
    if (own_.serving.contains(partition)) {
      r.value = read();
      co_return r;
    }
    if (auto owner = membership_.owner(partition); owner && owner->instance != deps_.self && !origin.forwarded()) {
      auto res = co_await deps_.peers.get(owner->url, target, origin.hops + 1, kForwardTimeout);
      // The owner's own 503 means it is not serving yet either: fall back like for no answer.
      const bool answered = res.has_value() && res->status != 503 && res->status < 500;
      count_forward(answered);
      if (answered) {
        r.forwarded = Forwarded{res->status, std::move(res->body)};
        r.served_by = std::move(res->served_by);
        r.stale = res->stale;
        co_return r;
      }
    }
    r.value = read();
    if (r.value) {
      r.stale = true;
    } else {
      r.unavailable = true;
    }
    co_return r;
  }

  // Accounts after `after` in the given partitions of the local store (up to `limit`).
  Page<domain::Account> local_accounts(const std::string& after, std::size_t limit,
                                       const std::set<std::int32_t>& parts) const {
    Page<domain::Account> out;
    if (parts.empty()) return out;
    const bool all = static_cast<std::int32_t>(parts.size()) == partitions();
    std::string cursor = after;
    while (true) {
      auto page = store_.accounts(cursor, all ? limit : std::max<std::size_t>(limit, 256));
      if (!page) throw boost::system::system_error(page.error(), "accounts read");
      for (auto& a : page->items) {
        if (!all && !parts.contains(partition_of(a.id))) continue;
        if (out.items.size() == limit) {  // one more exists: there is a next page
          out.next = out.items.back().id;
          return out;
        }
        out.items.push_back(std::move(a));
      }
      if (!page->next) return out;
      if (all) {
        out.next = std::move(page->next);
        return out;
      }
      cursor = std::move(*page->next);
    }
  }

  static std::optional<Page<domain::Account>> parse_account_page(const std::string& body) {
    boost::system::error_code ec;
    const auto v = boost::json::parse(body, ec);
    const auto* o = ec ? nullptr : v.if_object();
    const auto* items = o ? o->if_contains("accounts") : nullptr;
    if (items == nullptr || !items->is_array()) return std::nullopt;
    Page<domain::Account> page;
    for (const auto& item : items->get_array()) {
      auto a = api::account_from_json(item);
      if (!a) return std::nullopt;
      page.items.push_back(std::move(*a));
    }
    if (const auto* next = o->if_contains("next"); next != nullptr && next->is_string()) {
      page.next = std::string(next->get_string());
    }
    return page;
  }

  // A cross-partition transfer completes in its target's partition; when another instance
  // serves that partition, ask it (the refund, in the source's partition, is known here).
  awaitable<void> resolve_across(domain::Outcome& o) {
    if (o.type != domain::EventType::transfer || o.status != domain::Status::pending || o.transfer_id.empty() ||
        o.to.empty()) {
      co_return;
    }
    const auto q = partition_of(o.to);
    if (own_.serving.contains(q)) {  // the outcome may come from another instance: read ours
      o = resolve(std::move(o));
      co_return;
    }
    auto owner = membership_.owner(q);
    if (!owner || owner->instance == deps_.self) co_return;
    const auto target = fmt::format("/transfers/{}?to={}", cluster::percent_encode(o.transfer_id), o.to);
    auto res = co_await deps_.peers.get(owner->url, target, 1, kForwardTimeout);
    count_forward(res.has_value() && (res->status == 200 || res->status == 404));
    if (!res || res->status != 200) co_return;  // unknown there yet: still pending
    boost::system::error_code ec;
    const auto v = boost::json::parse(res->body, ec);
    const auto* body = ec ? nullptr : v.if_object();
    const auto* status = body ? body->if_contains("status") : nullptr;
    if (status != nullptr && status->is_string() && status->get_string() == "completed") {
      o.status = domain::Status::completed;
    }
  }

  // A command id does not name its partition: ask every other owner. "Not found" only when
  // every partition's owner said so; an owner that cannot answer makes it 503.
  awaitable<QueryResult<domain::Outcome>> command_elsewhere(const std::string& command_id) {
    QueryResult<domain::Outcome> r;
    r.served_by = deps_.self;
    std::set<std::int32_t> covered(own_.serving.begin(), own_.serving.end());
    const auto target = "/commands/" + cluster::percent_encode(command_id);
    for (const auto& owner : membership_.owners(partitions())) {
      if (owner.instance == deps_.self) continue;
      auto res = co_await deps_.peers.get(owner.url, target, 1, kForwardTimeout);
      count_forward(res.has_value() && (res->status == 200 || res->status == 404));
      if (!res || (res->status != 200 && res->status != 404)) continue;
      if (res->status == 200) {
        boost::system::error_code ec;
        const auto v = boost::json::parse(res->body, ec);
        auto outcome = ec ? std::nullopt : api::outcome_from_json(v);
        if (!outcome) continue;
        co_await resolve_across(*outcome);
        r.value = std::move(outcome);
        r.served_by = std::move(res->served_by);
        co_return r;
      }
      for (std::int32_t p = 0; p < partitions(); ++p) {
        if (auto o = membership_.owner(p); o && o->instance == owner.instance) covered.insert(p);
      }
    }
    r.unavailable = static_cast<std::int32_t>(covered.size()) < partitions();
    co_return r;
  }

  static metrics::Counter& counter(metrics::Registry& r, const char* result) {
    return r.counter("xbanku_forwarded_requests_total", "Queries and read-your-writes waits sent to another instance",
                     {{"result", result}});
  }

  QueryDeps deps_;
  view::Store& store_;
  Membership& membership_;
  const Ownership& own_;
  metrics::Counter* forwarded_ok_;
  metrics::Counter* forwarded_failed_;
};

}  // namespace

std::unique_ptr<ClusterQueries> make_cluster_queries(QueryDeps deps) {
  return std::make_unique<Queries>(std::move(deps));
}

}  // namespace xbanku::app
