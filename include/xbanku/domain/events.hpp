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
  std::string principal;    // optional Principal: who asked (authenticated API); empty = absent
  std::string request_id;   // optional RequestId: the API request that wrote it; empty = absent
  std::int64_t ts = 0;      // optional Ts (ms since epoch); 0 = absent
  friend bool operator==(const Event&, const Event&) = default;
};

inline constexpr std::int64_t kMaxAmount = 1'000'000'000'000'000;  // 10^15
inline constexpr std::size_t kMaxNameChars = 200;
inline constexpr std::size_t kMaxCommandIdChars = 128;
inline constexpr std::size_t kMaxTransferIdChars = 128;
inline constexpr std::size_t kMaxReasonChars = 64;
inline constexpr std::size_t kMaxPrincipalChars = 200;
inline constexpr std::size_t kMaxRequestIdChars = 128;

// True when 1 <= amount <= 10^15 (DESIGN §1).
[[nodiscard]] constexpr bool valid_amount(std::int64_t amount) noexcept {
  return amount >= 1 && amount <= kMaxAmount;
}

// Number of code points in valid UTF-8 text; nullopt if the bytes are not valid UTF-8
// (overlong forms, surrogates and values above U+10FFFF are invalid).
[[nodiscard]] std::optional<std::size_t> utf8_length(std::string_view) noexcept;

// Why a text was refused by normalize_acc_name / check_text.
enum class TextError : std::uint8_t {
  length,        // empty (after trimming) or too long, or not valid UTF-8
  control,       // a C0 or C1 control character (NUL included) or DEL
  bidi_control,  // a bidirectional embedding, override or isolate (U+202A-202E, U+2066-2069)
};

// Valid UTF-8 of min..max code points with no control character and no bidi control: what a
// name, a principal or anything shown to people must be (a bidi override makes text display
// as something it is not; a control character can rewrite a terminal or a log line).
[[nodiscard]] std::optional<TextError> check_text(std::string_view, std::size_t min,
                                                  std::size_t max) noexcept;

// An account name as stored: trimmed of ASCII white space, then check_text(1, 200); nullopt
// when that fails (acc_name_error tells why).
[[nodiscard]] std::optional<std::string> normalize_acc_name(std::string_view name);
[[nodiscard]] std::optional<TextError> acc_name_error(std::string_view name) noexcept;

// Cuts `s` to at most `max_bytes` without splitting a UTF-8 sequence (for echoing client text
// in error messages: a cut mid-character would make the reply invalid UTF-8).
[[nodiscard]] std::string_view utf8_prefix(std::string_view s, std::size_t max_bytes) noexcept;

}  // namespace xbanku::domain
