// The projector's dead letters: records the fold refuses go to `<topic>.dlq` before their
// batch commits (see projector.hpp).
#include "xbanku/app/projector.hpp"
#include "xbanku/common/backoff.hpp"
#include "xbanku/common/error.hpp"
#include "xbanku/log/producer.hpp"

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>
#include <vector>

namespace xbanku::app {

namespace asio = boost::asio;
using asio::awaitable;
using namespace std::chrono_literals;

namespace {
constexpr std::size_t kDeadLetterCut = 64 * 1024;
}  // namespace

// True once every letter is in `<topic>.dlq` (or refused for good and logged); false if the
// projector stopped first. Dead letters must reach `<topic>.dlq` before their batch commits
// (the commit moves the offset past them).
awaitable<bool> Projector::send_dead_letters(const std::vector<DeadLetter>& letters) {
  // All of a batch's letters are handed to the producer at once, so they travel in a few
  // requests instead of one round trip each (a batch of misplaced records can hold thousands).
  TaskGroup group(ex_);
  bool settled = true;
  for (const auto& letter : letters) {
    if (letters_sent_.contains({letter.partition, letter.offset})) continue;  // see the header
    group.spawn(
        [](Projector& self, const DeadLetter& l, bool& all) -> awaitable<void> {
          const bool sent = co_await self.send_dead_letter(l);
          if (sent) self.letters_sent_.emplace(l.partition, l.offset);
          all = all && sent;
        }(*this, letter, settled),
        "dead letter");
  }
  co_await group.wait();
  co_return settled;
}

// While Kafka is unreachable the projector waits: it could not fetch anyway. A letter Kafka
// refuses for good (too large) is cut to kDeadLetterCut bytes with its original size in a
// header; if even that is refused it is logged and skipped, because nothing in the topic may
// stall the projector.
awaitable<bool> Projector::send_dead_letter(const DeadLetter& letter) {
  const std::string dlq = topic_ + ".dlq";
  const std::string partition = std::to_string(letter.partition);
  const std::string offset = std::to_string(letter.offset);
  const std::string size = std::to_string(letter.value.size());
  std::string_view value = letter.value;
  std::vector<log::Header> headers{{"xbanku-origin-topic", topic_},
                                   {"xbanku-origin-partition", partition},
                                   {"xbanku-origin-offset", offset},
                                   {"xbanku-reason", letter.reason}};
  spdlog::warn("projector: dead-lettering {}:{}: {}", letter.partition, letter.offset,
               letter.reason);
  Backoff backoff(100ms, 5s);
  while (true) {
    auto sent = co_await dead_letters_.send(dlq, letter.key, value, headers);
    if (sent) co_return true;
    if (sent.error() == errc::log_error) {
      if (value.size() <= kDeadLetterCut) {
        spdlog::critical("projector: Kafka refuses dead letter {}:{} ({}); skipped",
                         letter.partition, letter.offset, sent.error().message());
        co_return true;
      }
      value = value.substr(0, kDeadLetterCut);
      headers.push_back({"xbanku-truncated-from", size});
      continue;
    }
    spdlog::error("projector: dead letter not accepted ({}); retrying", sent.error().message());
    if (stopping_) co_return false;  // not committed: the record is re-read after a restart
    co_await sleep(backoff.next());
  }
}

}  // namespace xbanku::app
