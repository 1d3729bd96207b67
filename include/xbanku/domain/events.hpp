#pragma once
// The topic's records (DESIGN §1): one flat Event struct for every type, plus the field rules
// shared by the codec, the console producer and the HTTP layer, so they all agree on them.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace xbanku::domain {

enum class EventType : std::uint8_t {
  create,
  deposit,
  withdraw,
  transfer,
  transfer_credit,
  transfer_refund
};

// The Go-compatible `Type` value of an event type, e.g. "CreateEvent".
[[nodiscard]] std::string_view type_name(EventType) noexcept;
// Inverse of type_name (exact, case-sensitive); nullopt for an unknown name.
[[nodiscard]] std::optional<EventType> type_from_name(std::string_view) noexcept;

// Flat on purpose: one struct, fields used per type as in DESIGN §1; unused fields stay empty.
struct Event {
  EventType type{};
  std::string acc_id;       // AccId (UUID string, canonical lower case once decoded)
  std::string acc_name;     // CreateEvent: AccName (trimmed)
  std::int64_t amount = 0;  // Amount (all but CreateEvent)
  std::string target_id;    // TransferEvent, TransferRefundEvent: TargetId
  std::string source_id;    // TransferCreditEvent: SourceId
  std::string transfer_id;  // TransferCreditEvent, TransferRefundEvent: TransferId
  std::string reason;       // TransferRefundEvent: Reason
  std::string command_id;   // optional CommandId; empty = absent
  std::int64_t ts = 0;      // optional Ts (ms since epoch); 0 = absent
  friend bool operator==(const Event&, const Event&) = default;
};

inline constexpr std::int64_t kMaxAmount = 1'000'000'000'000'000;  // 10^15
inline constexpr std::size_t kMaxNameChars = 200;
inline constexpr std::size_t kMaxCommandIdChars = 128;
inline constexpr std::size_t kMaxTransferIdChars = 128;
inline constexpr std::size_t kMaxReasonChars = 64;

// True when 1 <= amount <= 10^15 (DESIGN §1).
[[nodiscard]] constexpr bool valid_amount(std::int64_t amount) noexcept {
  return amount >= 1 && amount <= kMaxAmount;
}

// Number of code points in valid UTF-8 text; nullopt if the bytes are not valid UTF-8
// (overlong forms, surrogates and values above U+10FFFF are invalid).
[[nodiscard]] std::optional<std::size_t> utf8_length(std::string_view) noexcept;

// An account name as stored: trimmed of ASCII white space, 1–200 code points of valid UTF-8.
// nullopt when the name is not acceptable.
[[nodiscard]] std::optional<std::string> normalize_acc_name(std::string_view name);

}  // namespace xbanku::domain
