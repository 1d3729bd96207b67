#include "xbanku/log/kafka_properties.hpp"

#include "rdkafka_holders.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <utility>

namespace xbanku::log {
namespace {

struct Owned {
  std::string_view name;
  std::string_view why;
};

// The properties xbanku must own, and why. Keep README "Connecting to your Kafka" in step.
constexpr std::string_view kSetBrokers = "set it with --brokers/KAFKA_BROKERS";
constexpr std::string_view kExactlyOnce =
    "the projector stores each batch's offsets in RocksDB with the state they describe "
    "(exactly-once projection); automatic commits or offset stores would skip or repeat records";
constexpr std::string_view kDurable =
    "an acknowledged command must be durable, once and in order: xbanku's producer is idempotent "
    "with acks=all and one request in flight (librdkafka 2.0.2 loses acknowledged records with "
    "more)";
constexpr std::string_view kDeliveryBound = "set it with --delivery-timeout-ms";
constexpr std::string_view kSession = "set it with --session-timeout-ms";
constexpr std::array kOwned{
    Owned{"bootstrap.servers", kSetBrokers},
    Owned{"metadata.broker.list", kSetBrokers},
    Owned{"client.id",
          "xbanku names each client by role and instance (xbanku-producer-<instance>, …)"},
    Owned{"group.id", "set it with --group/XBANKU_GROUP"},
    Owned{"group.instance.id", "set it with --instance-id/XBANKU_INSTANCE_ID"},
    Owned{"enable.auto.commit", kExactlyOnce},
    Owned{"enable.auto.offset.store", kExactlyOnce},
    Owned{"auto.commit.enable", kExactlyOnce},
    Owned{"auto.offset.reset",
          "a new view folds the log from its beginning (earliest); anything else skips accounts"},
    Owned{"partition.assignment.strategy",
          "every member must use eager 'range': librdkafka 2.0.2's cooperative-sticky assignor "
          "loses assignments"},
    Owned{"enable.partition.eof", "the projector's loop relies on no EOF events"},
    Owned{"session.timeout.ms", kSession},
    Owned{"heartbeat.interval.ms", kSession},
    Owned{"partitioner",
          "accounts are placed by Java's murmur2 (DESIGN §1): another partitioner writes an "
          "account's records where its owner does not read them"},
    Owned{"enable.idempotence", kDurable},
    Owned{"acks", kDurable},
    Owned{"request.required.acks", kDurable},
    Owned{"max.in.flight.requests.per.connection", kDurable},
    Owned{"max.in.flight", kDurable},
    Owned{"message.timeout.ms", kDeliveryBound},
    Owned{"delivery.timeout.ms", kDeliveryBound},
    Owned{"request.timeout.ms", kDeliveryBound},
    Owned{"transactional.id", "xbanku's producer is idempotent, not transactional"},
    Owned{"allow.auto.create.topics",
          "xbanku creates its topics itself with --partitions; a metadata request must not"},
};

std::string_view trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\f");
  if (b == s.npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\f") - b + 1);
}

// Undoes Java's escapes; false on a malformed \u escape or a non-ASCII one.
bool unescape(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '\\' || i + 1 == in.size()) {
      out += in[i];
      continue;
    }
    const char c = in[++i];
    switch (c) {
      case 't': out += '\t'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 'f': out += '\f'; break;
      case 'u': {
        if (i + 4 >= in.size()) return false;
        unsigned code = 0;
        for (int k = 1; k <= 4; ++k) {
          const char h = in[i + k];
          code <<= 4;
          if (h >= '0' && h <= '9')
            code |= static_cast<unsigned>(h - '0');
          else if (h >= 'a' && h <= 'f')
            code |= static_cast<unsigned>(h - 'a' + 10);
          else if (h >= 'A' && h <= 'F')
            code |= static_cast<unsigned>(h - 'A' + 10);
          else
            return false;
        }
        if (code > 0x7f) return false;
        out += static_cast<char>(code);
        i += 4;
        break;
      }
      default: out += c;  // \\ \= \: \# \! and any other escaped character stand for themselves
    }
  }
  return true;
}

}  // namespace

std::optional<Properties> parse_properties(std::string_view text, std::string_view origin,
                                           std::string* why) {
  Properties out;
  std::size_t pos = 0;
  std::size_t line_no = 0;
  while (pos < text.size()) {
    // One logical line: physical lines joined while they end in an odd number of '\'; the
    // next line's leading blanks are dropped (Java's rule).
    std::string logical;
    const std::size_t first_line = line_no + 1;
    for (bool continuing = false;; continuing = true) {
      auto end = text.find('\n', pos);
      if (end == text.npos) end = text.size();
      std::string_view phys = text.substr(pos, end - pos);
      pos = end + 1;
      ++line_no;
      if (!phys.empty() && phys.back() == '\r') phys.remove_suffix(1);
      if (continuing) phys = phys.substr(std::min(phys.size(), phys.find_first_not_of(" \t\f")));
      const auto kept = phys.find_last_not_of('\\');
      const auto backslashes = kept == phys.npos ? phys.size() : phys.size() - kept - 1;
      const bool odd = backslashes % 2 == 1;
      if (odd) phys.remove_suffix(1);
      logical += phys;
      if (!odd || pos > text.size()) break;
    }
    const std::string_view line = trim(logical);
    if (line.empty() || line.front() == '#' || line.front() == '!') continue;
    // The key ends at the first unescaped '=', ':' or blank.
    std::size_t k = 0;
    while (k < line.size()) {
      if (line[k] == '\\') {
        k += 2;
        continue;
      }
      if (line[k] == '=' || line[k] == ':' || line[k] == ' ' || line[k] == '\t') break;
      ++k;
    }
    const std::string where = fmt::format("{}:{}", origin, first_line);
    if (k >= line.size()) {
      // Not echoed: a line without a separator may be a stray secret.
      if (why) *why = fmt::format("{}: no '=' or ':' (expected key=value)", where);
      return std::nullopt;
    }
    // Blanks, then at most one '=' or ':', then blanks: "k=v", "k = v", "k: v", "k v".
    std::string_view raw_value = trim(line.substr(k));
    if (!raw_value.empty() && (raw_value.front() == '=' || raw_value.front() == ':'))
      raw_value = trim(raw_value.substr(1));
    Property p;
    p.origin = where;
    if (!unescape(line.substr(0, k), p.name) || !unescape(raw_value, p.value)) {
      if (why) *why = fmt::format("{}: malformed or non-ASCII \\u escape", where);
      return std::nullopt;
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::optional<Property> parse_property_arg(std::string_view arg, std::string* why) {
  const auto eq = arg.find('=');
  const auto name = trim(arg.substr(0, eq));
  if (eq == arg.npos || name.empty()) {
    if (why) *why = fmt::format("'{}' is not KEY=VALUE", redact(name, arg));
    return std::nullopt;
  }
  return Property{std::string(name), std::string(arg.substr(eq + 1)), "--kafka-property"};
}

std::optional<std::string_view> owned_property(std::string_view name) {
  for (const auto& o : kOwned) {
    if (o.name == name) return o.why;
  }
  return std::nullopt;
}

bool secret_property(std::string_view name) {
  // Names librdkafka marks sensitive, and anything else that looks like one (Java's
  // sasl.jaas.config carries a password; a PEM private key is a secret).
  return name.find("password") != name.npos || name.find("secret") != name.npos ||
         name == "ssl.key.pem" || name == "sasl.oauthbearer.config" || name == "sasl.jaas.config" ||
         name == "ssl_key" || name.find("credential") != name.npos;
}

std::string redact(std::string_view name, std::string_view value) {
  return secret_property(name) ? std::string("[redacted]") : std::string(value);
}

std::string describe(const Properties& properties) {
  std::string out;
  for (const auto& p : properties) {
    if (!out.empty()) out += ", ";
    out += fmt::format("{}={}", p.name, redact(p.name, p.value));
  }
  return out;
}

std::optional<KafkaSettings> validate_properties(const Properties& properties, std::string* why) {
  const ConfPtr conf{rd_kafka_conf_new()};
  KafkaSettings merged;
  std::map<std::string, std::size_t> index;
  for (const auto& p : properties) {
    if (const auto reason = owned_property(p.name)) {
      if (why)
        *why =
            fmt::format("Kafka property '{}' ({}) is xbanku's own: {}", p.name, p.origin, *reason);
      return std::nullopt;
    }
    char errstr[512] = {};
    if (rd_kafka_conf_set(conf.get(), p.name.c_str(), p.value.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
      std::string reason = errstr;
      if (secret_property(p.name) && !p.value.empty()) {
        for (auto at = reason.find(p.value); at != reason.npos; at = reason.find(p.value))
          reason.replace(at, p.value.size(), "[redacted]");
      }
      if (why)
        *why = fmt::format("Kafka property '{}'='{}' ({}) rejected by librdkafka: {}", p.name,
                           redact(p.name, p.value), p.origin, reason);
      return std::nullopt;
    }
    if (auto it = index.find(p.name); it != index.end()) {
      merged[it->second].second = p.value;
    } else {
      index.emplace(p.name, merged.size());
      merged.emplace_back(p.name, p.value);
    }
  }
  return merged;
}

}  // namespace xbanku::log
