#include "xbanku/metrics/registry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace xbanku::metrics {
namespace {

std::string escape_label(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

std::string render_labels(const Labels& labels) {
  std::string out;
  for (const auto& [k, v] : labels) {
    if (!out.empty()) out.push_back(',');
    out += fmt::format("{}=\"{}\"", k, escape_label(v));
  }
  return out;
}

std::string series(std::string_view name, std::string_view labels, std::string_view extra = {}) {
  if (labels.empty() && extra.empty()) return std::string(name);
  std::string inner(labels);
  if (!extra.empty()) {
    if (!inner.empty()) inner.push_back(',');
    inner += extra;
  }
  return fmt::format("{}{{{}}}", name, inner);
}

void atomic_add(std::atomic<double>& a, double v) noexcept {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  buckets_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
}

void Histogram::observe(double v) noexcept {
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  buckets_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
  atomic_add(sum_, v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::bucket_counts() const {
  std::vector<std::uint64_t> out;
  out.reserve(bounds_.size() + 1);
  for (std::size_t i = 0; i <= bounds_.size(); ++i)
    out.push_back(buckets_[i].load(std::memory_order_relaxed));
  return out;
}

std::vector<double> latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

Registry::Family& Registry::family(std::string_view name, std::string_view help, Kind kind) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(std::string(name), Family{kind, std::string(help), {}, {}, {}}).first;
  } else if (it->second.kind != kind) {
    throw std::logic_error(fmt::format("metric {} registered with two kinds", name));
  }
  return it->second;
}

Counter& Registry::counter(std::string_view name, std::string_view help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  return family(name, help, Kind::counter).counters[render_labels(labels)];
}

Gauge& Registry::gauge(std::string_view name, std::string_view help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  return family(name, help, Kind::gauge).gauges[render_labels(labels)];
}

Histogram& Registry::histogram(std::string_view name, std::string_view help,
                               std::vector<double> bounds, const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& f = family(name, help, Kind::histogram);
  return f.histograms.try_emplace(render_labels(labels), std::move(bounds)).first->second;
}

void Registry::clear_gauges(std::string_view name) {
  std::lock_guard lock(mutex_);
  if (auto it = families_.find(name); it != families_.end()) it->second.gauges.clear();
}

std::string Registry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, f] : families_) {
    static constexpr std::string_view kinds[] = {"counter", "gauge", "histogram"};
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, f.help, name,
                       kinds[static_cast<int>(f.kind)]);
    for (const auto& [labels, c] : f.counters)
      out += fmt::format("{} {}\n", series(name, labels), c.value());
    for (const auto& [labels, g] : f.gauges)
      out += fmt::format("{} {}\n", series(name, labels), g.value());
    for (const auto& [labels, h] : f.histograms) {
      const auto counts = h.bucket_counts();
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < counts.size(); ++i) {
        cumulative += counts[i];
        const std::string le =
            i < h.bounds().size() ? fmt::format("le=\"{}\"", h.bounds()[i]) : "le=\"+Inf\"";
        out += fmt::format("{} {}\n", series(name + "_bucket", labels, le), cumulative);
      }
      out += fmt::format("{} {}\n{} {}\n", series(name + "_sum", labels), h.sum(),
                         series(name + "_count", labels), h.count());
    }
  }
  return out;
}

}  // namespace xbanku::metrics
