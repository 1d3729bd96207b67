#pragma once
// Account ids are UUID strings (DESIGN §1). Canonical form: 8-4-4-4-12 lower-case hex.

#include <optional>
#include <string>
#include <string_view>

namespace xbanku::domain {

// A fresh random (version 4) UUID in canonical lower case. Thread-safe (generator per thread).
[[nodiscard]] std::string new_uuid();

// The account id of a create that names no id but carries an idempotency key: a version-5
// (SHA-1 name-based) UUID of the principal and the key, so that a retried create is the SAME
// request (same AccId) and gets the first outcome, whichever record the fold sees first.
[[nodiscard]] std::string keyed_uuid(std::string_view principal, std::string_view key);

// True for 8-4-4-4-12 hex digits, either case; no braces, no "urn:uuid:" prefix.
[[nodiscard]] bool is_uuid(std::string_view) noexcept;

// The canonical (lower-case) form of a UUID string; nullopt if `is_uuid` is false.
// Producers must key records by this form: the partition is a hash of the key's bytes.
[[nodiscard]] std::optional<std::string> canonical_uuid(std::string_view);

}  // namespace xbanku::domain
