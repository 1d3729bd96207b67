#pragma once
// Account ids are UUID strings (DESIGN §1). Canonical form: 8-4-4-4-12 lower-case hex.

#include <optional>
#include <string>
#include <string_view>

namespace xbanku::domain {

// A fresh random (version 4) UUID in canonical lower case. Thread-safe (generator per thread).
[[nodiscard]] std::string new_uuid();

// True for 8-4-4-4-12 hex digits, either case; no braces, no "urn:uuid:" prefix.
[[nodiscard]] bool is_uuid(std::string_view) noexcept;

// The canonical (lower-case) form of a UUID string; nullopt if `is_uuid` is false.
// Producers must key records by this form: the partition is a hash of the key's bytes.
[[nodiscard]] std::optional<std::string> canonical_uuid(std::string_view);

}  // namespace xbanku::domain
