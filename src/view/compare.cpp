// compare(): the heart of --act=verify. Both stores' column families are sorted by the same
// bytewise comparator, so one merge-join pass per CF finds every difference without holding
// either view in memory. Values are compared as bytes first (the encoding is deterministic,
// so equal bytes = equal values) and only decoded to describe a difference or to apply the
// scope.

#include "store_impl.hpp"
#include "xbanku/view/codec.hpp"

#include <fmt/format.h>
#include <rocksdb/slice.h>

#include <limits>
#include <memory>

namespace xbanku::view {
namespace {

std::string_view view_of(const rocksdb::Slice& s) noexcept {
  return {s.data(), s.size()};
}

std::string describe(const domain::Account& a) {
  return fmt::format("{{name={:?}, balance={}, version={}, owner={:?}}}", a.name, a.balance,
                     a.version, a.owner);
}

std::string describe(const domain::HistoryEntry& e) {
  return fmt::format(
      "{{pos={}:{}, type={}, amount={}, balance_after={}, counterparty={:?}, command_id={:?}, "
      "transfer_id={:?}, ts={}, principal={:?}, request_id={:?}}}",
      e.pos.partition, e.pos.offset, domain::type_name(e.type), e.amount, e.balance_after,
      e.counterparty, e.command_id, e.transfer_id, e.ts, e.principal, e.request_id);
}

std::string describe(const domain::Outcome& o) {
  std::string s = fmt::format(
      "{{status={}, reason={}, command_id={:?}, type={}, pos={}:{}, account_id={:?}",
      domain::to_string(o.status), domain::to_string(o.reason), o.command_id,
      o.type ? domain::type_name(*o.type) : "-", o.pos.partition, o.pos.offset, o.account_id);
  if (o.account) s += fmt::format(", account={}", describe(*o.account));
  if (!o.transfer_id.empty() || !o.from.empty() || !o.to.empty())
    s += fmt::format(", transfer_id={:?}, from={:?}, to={:?}", o.transfer_id, o.from, o.to);
  s += fmt::format(", amount={}, name={:?}, principal={:?}}}", o.amount, o.name, o.principal);
  return s;
}

template <typename T>
std::string describe_result(const boost::system::result<T>& r) {
  if (!r) return fmt::format("<corrupt value: {}>", r.error().message());
  return describe(*r);
}

class Differences {
 public:
  // Keeps one line more than `max` so that the caller can tell "exactly max" from "more".
  explicit Differences(std::size_t max)
      : max_(max == std::numeric_limits<std::size_t>::max() ? max : max + 1) {}
  [[nodiscard]] bool full() const noexcept { return out_.size() >= max_; }
  void add(std::string line) {
    if (out_.size() < max_) out_.push_back(std::move(line));
  }
  std::vector<std::string> take() && { return std::move(out_); }

 private:
  std::size_t max_;
  std::vector<std::string> out_;
};

// How one column family is compared.
struct CfRules {
  Cf cf;
  // nullopt: the record is out of scope; else its name in messages, e.g. "account <id>".
  std::function<std::optional<std::string>(std::string_view key, std::string_view value)> label;
  std::function<std::string(std::string_view key, std::string_view value)> describe;
};

void merge_join(const Store::Impl& live, const Store::Impl& replayed, const CfRules& rules,
                Differences& diffs) {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;  // a full scan must not evict the serving working set
  auto a = live.iter(rules.cf, ro);
  auto b = replayed.iter(rules.cf, ro);
  a->SeekToFirst();
  b->SeekToFirst();
  while ((a->Valid() || b->Valid()) && !diffs.full()) {
    const int cmp = !a->Valid() ? 1 : !b->Valid() ? -1 : a->key().compare(b->key());
    if (cmp < 0) {
      const auto key = view_of(a->key()), value = view_of(a->value());
      if (auto label = rules.label(key, value))
        diffs.add(fmt::format("{}: missing in replayed store (live: {})", *label,
                              rules.describe(key, value)));
      a->Next();
    } else if (cmp > 0) {
      const auto key = view_of(b->key()), value = view_of(b->value());
      if (auto label = rules.label(key, value))
        diffs.add(fmt::format("{}: missing in live store (replayed: {})", *label,
                              rules.describe(key, value)));
      b->Next();
    } else {
      const auto key = view_of(a->key()), va = view_of(a->value()), vb = view_of(b->value());
      if (va != vb) {
        if (auto label = rules.label(key, va))
          diffs.add(fmt::format("{}: live {} != replayed {}", *label, rules.describe(key, va),
                                rules.describe(key, vb)));
      }
      a->Next();
      b->Next();
    }
  }
  if (!a->status().ok())
    diffs.add(fmt::format("live store: reading {} failed: {}", cf_name(rules.cf),
                          a->status().ToString()));
  if (!b->status().ok())
    diffs.add(fmt::format("replayed store: reading {} failed: {}", cf_name(rules.cf),
                          b->status().ToString()));
}

}  // namespace

CompareScope CompareScope::partitions(std::set<std::int32_t> owned, domain::Placement placement) {
  auto shared = std::make_shared<const std::set<std::int32_t>>(std::move(owned));
  CompareScope scope;
  scope.account = [shared, placement](std::string_view id) {
    return shared->contains(placement.partition_of(id));
  };
  scope.partition = [shared](std::int32_t p) { return shared->contains(p); };
  return scope;
}

std::vector<std::string> compare(const Store& live, const Store& replayed,
                                 const CompareScope& scope, std::size_t max_differences) {
  Differences diffs(max_differences);
  const auto account_in_scope = [&](std::string_view id) {
    return !scope.account || scope.account(id);
  };
  const auto partition_in_scope = [&](std::int32_t p) {
    return !scope.partition || scope.partition(p);
  };

  const CfRules accounts{Cf::accounts,
                         [&](std::string_view id, std::string_view) -> std::optional<std::string> {
                           if (!account_in_scope(id)) return std::nullopt;
                           return fmt::format("account {}", printable(id));
                         },
                         [](std::string_view id, std::string_view v) {
                           return describe_result(codec::decode_account(id, v));
                         }};

  const CfRules history{Cf::history,
                        [&](std::string_view key, std::string_view) -> std::optional<std::string> {
                          auto hk = codec::parse_history_key(key);
                          if (!hk) return fmt::format("history key {} (malformed)", printable(key));
                          if (!account_in_scope(hk->id)) return std::nullopt;
                          return fmt::format("history of account {} #{}", printable(hk->id),
                                             hk->seq);
                        },
                        [](std::string_view, std::string_view v) {
                          return describe_result(codec::decode_history(v));
                        }};

  const CfRules outcomes{Cf::outcomes,
                         [&](std::string_view key, std::string_view) -> std::optional<std::string> {
                           auto k = codec::parse_command_key(key);
                           if (!k) return fmt::format("outcome key {} (malformed)", printable(key));
                           if (!partition_in_scope(k->partition)) return std::nullopt;
                           if (k->principal.empty()) {
                             return fmt::format("outcome of command {} in partition {}",
                                                printable(k->command_id), k->partition);
                           }
                           return fmt::format("outcome of command {} of {} in partition {}",
                                              printable(k->command_id), printable(k->principal),
                                              k->partition);
                         },
                         [](std::string_view, std::string_view v) {
                           return describe_result(codec::decode_outcome(v));
                         }};

  const CfRules outcomes_by_pos{
      Cf::outcomes_by_pos,
      [&](std::string_view key, std::string_view) -> std::optional<std::string> {
        auto pos = codec::parse_pos_key(key);
        if (!pos) return fmt::format("outcome key {} (malformed)", printable(key));
        if (!partition_in_scope(pos->partition)) return std::nullopt;
        return fmt::format("outcome of record {}:{}", pos->partition, pos->offset);
      },
      [](std::string_view, std::string_view v) {
        return describe_result(codec::decode_outcome(v));
      }};

  for (const CfRules* rules : {&accounts, &history, &outcomes, &outcomes_by_pos}) {
    if (diffs.full()) break;
    merge_join(live.impl(), replayed.impl(), *rules, diffs);
  }
  auto out = std::move(diffs).take();
  if (out.size() > max_differences) {
    out.resize(max_differences);
    out.push_back(fmt::format("... stopped after {} differences", max_differences));
  }
  return out;
}

}  // namespace xbanku::view
