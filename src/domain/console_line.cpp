#include "xbanku/domain/console_line.hpp"

#include "xbanku/domain/uuid.hpp"

#include <charconv>
#include <optional>
#include <vector>

namespace xbanku::domain {

namespace {

constexpr std::string_view kSeparator = "###";

std::string_view trim(std::string_view s) noexcept {
  constexpr std::string_view ws = " \t\r\n\f\v";
  const auto first = s.find_first_not_of(ws);
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(ws);
  return s.substr(first, last - first + 1);
}

std::vector<std::string_view> split(std::string_view line) {
  std::vector<std::string_view> parts;
  for (;;) {
    const auto at = line.find(kSeparator);
    if (at == std::string_view::npos) {
      parts.push_back(trim(line));
      return parts;
    }
    parts.push_back(trim(line.substr(0, at)));
    line.remove_prefix(at + kSeparator.size());
  }
}

// Decimal digits only (no sign, no spaces inside), within 1..10^15.
std::optional<std::int64_t> parse_amount(std::string_view s) noexcept {
  if (s.empty() || s.front() < '0' || s.front() > '9') return std::nullopt;
  std::int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr != s.data() + s.size() || !valid_amount(v)) return std::nullopt;
  return v;
}

}  // namespace

std::string_view console_usage() noexcept {
  return "usage: create###<name> | deposit###<id>###<amount> | withdraw###<id>###<amount> | "
         "transfer###<from>###<to>###<amount>  (amount: whole cents, 1 to 10^15)";
}

boost::system::result<Event, std::string> parse_console_line(std::string_view line) {
  const auto parts = split(line);
  const auto usage = [] { return std::string(console_usage()); };
  const std::string_view verb = parts[0];
  Event e;
  if (verb == "create" && parts.size() == 2) {
    auto name = normalize_acc_name(parts[1]);
    if (!name) return usage();
    e.type = EventType::create;
    e.acc_id = new_uuid();
    e.acc_name = std::move(*name);
    return e;
  }
  if ((verb == "deposit" || verb == "withdraw") && parts.size() == 3) {
    auto id = canonical_uuid(parts[1]);
    const auto amount = parse_amount(parts[2]);
    if (!id || !amount) return usage();
    e.type = verb == "deposit" ? EventType::deposit : EventType::withdraw;
    e.acc_id = std::move(*id);
    e.amount = *amount;
    return e;
  }
  if (verb == "transfer" && parts.size() == 4) {
    auto from = canonical_uuid(parts[1]);
    auto to = canonical_uuid(parts[2]);
    const auto amount = parse_amount(parts[3]);
    if (!from || !to || !amount) return usage();
    e.type = EventType::transfer;
    e.acc_id = std::move(*from);
    e.target_id = std::move(*to);
    e.amount = *amount;
    return e;
  }
  return usage();
}

}  // namespace xbanku::domain
