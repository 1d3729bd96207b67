#include "xbanku/domain/events.hpp"

#include <array>

namespace xbanku::domain {

namespace {
constexpr std::array<std::string_view, 6> kTypeNames{"CreateEvent",         "DepositEvent",
                                                     "WithdrawEvent",       "TransferEvent",
                                                     "TransferCreditEvent", "TransferRefundEvent"};

constexpr bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
}  // namespace

std::string_view type_name(EventType t) noexcept {
  const auto i = static_cast<std::size_t>(t);
  return i < kTypeNames.size() ? kTypeNames[i] : std::string_view{"UnknownEvent"};
}

std::optional<EventType> type_from_name(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kTypeNames.size(); ++i) {
    if (kTypeNames[i] == name) return static_cast<EventType>(i);
  }
  return std::nullopt;
}

namespace {

// Decodes the UTF-8 sequence at s[i]; returns its length (0 when invalid) and the code point.
std::size_t decode_one(std::string_view s, std::size_t i, char32_t& cp) noexcept {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t len = 0;
  if (c < 0x80) {
    cp = c;
    return 1;
  } else if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (s.size() - i < len) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  // Reject overlong forms, UTF-16 surrogates and values past Unicode's range.
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
    return 0;
  }
  return len;
}

constexpr bool is_control(char32_t cp) noexcept {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

constexpr bool is_bidi_control(char32_t cp) noexcept {
  return (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

std::string_view trim(std::string_view name) noexcept {
  while (!name.empty() && is_space(name.front())) name.remove_prefix(1);
  while (!name.empty() && is_space(name.back())) name.remove_suffix(1);
  return name;
}

}  // namespace

std::optional<std::size_t> utf8_length(std::string_view s) noexcept {
  std::size_t count = 0;
  for (std::size_t i = 0; i < s.size(); ++count) {
    char32_t cp = 0;
    const std::size_t len = decode_one(s, i, cp);
    if (len == 0) return std::nullopt;
    i += len;
  }
  return count;
}

std::optional<TextError> check_text(std::string_view s, std::size_t min, std::size_t max) noexcept {
  std::size_t count = 0;
  std::optional<TextError> bad;
  for (std::size_t i = 0; i < s.size(); ++count) {
    char32_t cp = 0;
    const std::size_t len = decode_one(s, i, cp);
    if (len == 0) return TextError::length;
    if (!bad && is_control(cp)) bad = TextError::control;
    if (!bad && is_bidi_control(cp)) bad = TextError::bidi_control;
    i += len;
  }
  if (count < min || count > max) return TextError::length;
  return bad;
}

std::optional<std::string> normalize_acc_name(std::string_view name) {
  name = trim(name);
  if (check_text(name, 1, kMaxNameChars)) return std::nullopt;
  return std::string(name);
}

std::optional<TextError> acc_name_error(std::string_view name) noexcept {
  return check_text(trim(name), 1, kMaxNameChars);
}

std::string_view utf8_prefix(std::string_view s, std::size_t max_bytes) noexcept {
  if (s.size() <= max_bytes) return s;
  std::size_t end = max_bytes;
  // Step back over continuation bytes to the start of the sequence that the cut would split.
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return s.substr(0, end);
}

}  // namespace xbanku::domain
