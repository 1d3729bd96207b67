#pragma once
// The user's own Kafka client properties (README "Connecting to your Kafka"): a Java-style
// properties file (--kafka-config / XBANKU_KAFKA_CONFIG) and repeatable --kafka-property
// KEY=VALUE, applied to every Kafka client after xbanku's defaults. A few properties are
// xbanku's own and refused (owned_property), secrets never reach a log (redact).
// Everything here is pure and thread-safe, except validate_properties (librdkafka, no I/O).

#include "xbanku/log/kafka_config.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xbanku::log {

// One property and where it came from ("--kafka-property", "FILE:LINE"), for error lines.
struct Property {
  std::string name;
  std::string value;
  std::string origin;
};
using Properties = std::vector<Property>;

// Parses Java .properties text (as `kcat -F` and the Java client read it): `#`/`!` comments,
// `key=value`, `key: value` or `key value`, blanks trimmed around the key and before the value,
// a trailing `\` continues the line, `\t \n \r \\ \= \: \uXXXX` escapes (ASCII only). `origin`
// names the file in each Property. On failure: nullopt and a one-line reason in `why`.
[[nodiscard]] std::optional<Properties> parse_properties(std::string_view text,
                                                         std::string_view origin, std::string* why);

// Parses one --kafka-property argument, KEY=VALUE (the value may contain '=').
[[nodiscard]] std::optional<Property> parse_property_arg(std::string_view arg, std::string* why);

// Why xbanku owns `name` (a property a user may not set), or nullopt when the user may set it.
// Aliases (metadata.broker.list, request.required.acks, max.in.flight, …) count as their names.
[[nodiscard]] std::optional<std::string_view> owned_property(std::string_view name);

// True for a property whose value is a secret (passwords, client secrets, private keys).
[[nodiscard]] bool secret_property(std::string_view name);

// The value as it may be logged: "[redacted]" for a secret, else the value.
[[nodiscard]] std::string redact(std::string_view name, std::string_view value);

// "a=1, sasl.password=[redacted]" for one log line.
[[nodiscard]] std::string describe(const Properties& properties);

// Refuses owned properties, then sets every property on a scratch librdkafka configuration so
// that an unknown name or an invalid value is found at start-up, not at the first connection.
// Later entries override earlier ones (file first, then --kafka-property). Returns the merged
// settings, or a one-line reason naming the property and its origin (secrets redacted).
[[nodiscard]] std::optional<KafkaSettings> validate_properties(const Properties& properties,
                                                               std::string* why);

}  // namespace xbanku::log
