#pragma once
// Binary key and value encodings of the view store (see store.hpp for the layout and why).
//
// Values: a 1-byte format version (kFormatVersion) then the fields in a fixed order. Integers
// are LEB128 varints (signed ones zigzag-encoded), strings a varint length then the bytes,
// enums one byte, optionals a 0/1 byte. Compact (an account is ~10 bytes plus its name) and
// cheap to encode; decoding checks every length, enum range and the absence of trailing
// bytes, so a corrupt value is an error, never a crash or an out-of-bounds read.
//
// Keys that must sort numerically are big-endian with the sign bit flipped, so RocksDB's
// bytewise comparator orders them like the numbers they hold.
//
// Encoders REPLACE the content of `out` (keeping its capacity, so a caller can reuse one
// buffer). All functions are pure and thread-safe.

#include "xbanku/domain/events.hpp"
#include "xbanku/domain/rules.hpp"

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace xbanku::view::codec {

// 2: accounts carry their owner, histories their principal and request id, outcomes the
// request their key is bound to; outcomes are keyed by CommandKey (layout "2", store.hpp).
// 3: an outcome's type is optional (an undecodable record may have none); transfer states are
// keyed by partition and may be refund_failed (layout "3").
inline constexpr std::uint8_t kFormatVersion = 3;

enum class codec_errc {
  ok = 0,
  truncated,       // a field runs past the end of the value
  bad_version,     // unknown format version byte
  bad_enum,        // an enum or flag byte out of range
  trailing_bytes,  // bytes left after the last field
  bad_key,         // a key of the wrong length or shape
  bad_varint,      // a varint longer than 10 bytes or overflowing 64 bits
};

[[nodiscard]] const boost::system::error_category& codec_category() noexcept;
[[nodiscard]] inline boost::system::error_code make_error_code(codec_errc e) noexcept {
  return {static_cast<int>(e), codec_category()};
}

// ---- values ----------------------------------------------------------------------------

// Account value: name, balance, version. The id is the key, so it is not stored twice.
void encode_account(const domain::Account&, std::string& out);
[[nodiscard]] boost::system::result<domain::Account> decode_account(std::string_view id,
                                                                    std::string_view value);

// History entry (its sequence number is in the key).
void encode_history(const domain::HistoryEntry&, std::string& out);
[[nodiscard]] boost::system::result<domain::HistoryEntry> decode_history(std::string_view);

void encode_outcome(const domain::Outcome&, std::string& out);
[[nodiscard]] boost::system::result<domain::Outcome> decode_outcome(std::string_view);

void encode_transfer_state(domain::TransferState, std::string& out);
[[nodiscard]] boost::system::result<domain::TransferState> decode_transfer_state(std::string_view);

// Outbox entries: the follow-up event itself (binary, not JSON: the sender encodes to JSON).
void encode_event(const domain::Event&, std::string& out);
[[nodiscard]] boost::system::result<domain::Event> decode_event(std::string_view);

// Next offsets (offsets CF).
void encode_offset(std::int64_t, std::string& out);
[[nodiscard]] boost::system::result<std::int64_t> decode_offset(std::string_view);

// Versions owed to the mirror (mirror_owed CF).
void encode_version(std::uint64_t, std::string& out);
[[nodiscard]] boost::system::result<std::uint64_t> decode_version(std::string_view);

// ---- keys ------------------------------------------------------------------------------

// history: id, one 0x00 byte, big-endian u64 seq. The id is everything before the last 9
// bytes, so parsing is unambiguous even for an id containing 0x00.
inline constexpr std::size_t kHistorySuffix = 9;
void history_key(std::string_view id, std::uint64_t seq, std::string& out);
struct HistoryKey {
  std::string_view id;  // points into the parsed key
  std::uint64_t seq = 0;
};
[[nodiscard]] boost::system::result<HistoryKey> parse_history_key(std::string_view key);

// outcomes_by_pos: big-endian partition (4 bytes) then offset (8 bytes), sign bits flipped.
void pos_key(domain::RecordPos, std::string& out);
[[nodiscard]] boost::system::result<domain::RecordPos> parse_pos_key(std::string_view key);

// offsets: big-endian partition (4 bytes, sign bit flipped).
void partition_key(std::int32_t partition, std::string& out);
[[nodiscard]] boost::system::result<std::int32_t> parse_partition_key(std::string_view key);

// outcomes: big-endian partition (4 bytes, sign bit flipped), varint length of the principal,
// the principal, then the command id (the rest). The parsed key points into `key`.
void command_key(const domain::CommandKey&, std::string& out);
[[nodiscard]] boost::system::result<domain::CommandKey> parse_command_key(std::string_view key);

// owners: the owner (a principal: no NUL in it), one 0x00 byte, then the account id.
void owner_key(std::string_view owner, std::string_view account_id, std::string& out);

// outbox: big-endian u64 sequence.
void seq_key(std::uint64_t seq, std::string& out);
[[nodiscard]] boost::system::result<std::uint64_t> parse_seq_key(std::string_view key);

}  // namespace xbanku::view::codec

template <>
struct boost::system::is_error_code_enum<xbanku::view::codec::codec_errc> : std::true_type {};
