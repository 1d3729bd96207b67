#pragma once
// The console producer's input lines (DESIGN §5), compatible with the original Go tool.

#include "xbanku/domain/events.hpp"

#include <boost/system/result.hpp>

#include <string>
#include <string_view>

namespace xbanku::domain {

// `create###<name>`, `deposit###<id>###<amount>`, `withdraw###<id>###<amount>`,
// `transfer###<from>###<to>###<amount>` → an Event (create gets a fresh acc_id; ids are
// canonicalized to lower case; no CommandId/Ts set). Parts are trimmed; a trailing CR/LF is
// ignored. On any malformed line the error is console_usage(). (result<T, std::string> has no
// value(): test it, then use operator*.)
[[nodiscard]] boost::system::result<Event, std::string> parse_console_line(std::string_view line);

// The one-line usage text printed for a malformed line.
[[nodiscard]] std::string_view console_usage() noexcept;

}  // namespace xbanku::domain
