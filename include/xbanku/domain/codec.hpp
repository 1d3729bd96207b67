#pragma once
// JSON encoding of events (DESIGN §1), strict on input so that nothing in the topic can crash
// or confuse the projector, and compatible with records written by the original Go project.

#include "xbanku/domain/events.hpp"

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace xbanku::domain {

enum class DecodeErrc : std::uint8_t { malformed_event, unknown_type, invalid_amount };

// "malformed_event" | "unknown_type" | "invalid_amount".
[[nodiscard]] std::string_view reason_code(DecodeErrc) noexcept;

struct DecodeError {
  DecodeErrc code;
  std::string message;            // precise, names the field, e.g. "field 'AccId' is not a UUID"
  std::string command_id;         // best effort: set if a valid CommandId was present
  std::string acc_id;             // best effort: set (canonical) if AccId was a valid UUID
  std::string principal;          // best effort: set if a valid Principal was present
  std::optional<EventType> type;  // best effort: set if Type named a known type
};

// Lets result<Event, DecodeError>::value() throw on an error (found by ADL): a
// std::runtime_error "<reason_code>: <message>". Prefer checking the result instead.
[[noreturn]] void throw_exception_from_error(const DecodeError& error,
                                             const boost::source_location& loc);

// Strict decode of one record value. Never throws (except std::bad_alloc). Ids come out in
// canonical lower case, AccName trimmed. invalid_amount is only reported for an otherwise
// well-formed event, so the projector can record the rejection against its ids.
// Thread-safe.
[[nodiscard]] boost::system::result<Event, DecodeError> decode(std::string_view json);

// Compact JSON with Go field names in the order AccId, Type, the type's fields, then
// CommandId, Principal, RequestId, Ts, and "V":1 only when one of those four is set.
// decode(encode(e)) == e for every event decode can return. Thread-safe.
[[nodiscard]] std::string encode(const Event&);

}  // namespace xbanku::domain
