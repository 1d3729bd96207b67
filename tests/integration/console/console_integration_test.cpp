// The console modes of DESIGN §5 against the real broker: the producer prints where each record
// is stored, the consumer replays the topic and prints every outcome and the final balances.

#include "support/child_process.hpp"
#include "support/service_instance.hpp"
#include "xbanku/domain/partitioner.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>

namespace xbanku::test {
namespace {

struct Console {
  std::string topic = "xbanku-test-console-" + unique_suffix();
  std::string dir = std::filesystem::current_path().string();

  RunResult producer(const std::string& input) const {
    const auto in = dir + "/console-" + topic + ".in";
    std::ofstream(in) << input;
    return run({xbanku_binary(), "--act=producer", "--brokers", kBrokers, "--topic", topic,
                "--partitions", "3"},
               dir + "/console-" + topic + ".producer.log", std::chrono::seconds(60), in);
  }
  RunResult consumer() const {
    return run({xbanku_binary(), "--act=consumer", "--brokers", kBrokers, "--topic", topic},
               dir + "/console-" + topic + ".consumer.log", std::chrono::seconds(60));
  }
};

std::vector<std::smatch> all_matches(const std::string& text, const std::regex& re) {
  std::vector<std::smatch> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator();
       ++it) {
    out.push_back(*it);
  }
  return out;
}

TEST(ConsoleTest, ProducerThenConsumerShowOutcomesAndBalances) {
  Console console;
  auto created = console.producer("create###Cole Bittel\ncreate###Ada Lovelace\n");
  ASSERT_EQ(created.exit_code, 0) << created.output;
  const std::regex create_re(
      R"re(Message: \{"AccId":"([0-9a-f-]{36})","Type":"CreateEvent","AccName":"([^"]+)")re");
  const auto creates = all_matches(created.output, create_re);
  ASSERT_EQ(creates.size(), 2u) << created.output;
  const std::string cole = creates[0][1], ada = creates[1][1];

  const std::regex stored_re(R"(Message is stored in partition (\d+), offset (\d+))");
  auto stored = all_matches(created.output, stored_re);
  ASSERT_EQ(stored.size(), 2u) << created.output;
  EXPECT_EQ(std::stoi(stored[0][1]), domain::partition_for_key(cole, 3))
      << "placement differs from murmur2";

  auto more =
      console.producer("deposit###" + cole + "###1000\n" + "withdraw###" + cole + "###5000\n" +
                       "this is not a command\n" + "transfer###" + cole + "###" + ada + "###100\n");
  ASSERT_EQ(more.exit_code, 0) << more.output;
  EXPECT_EQ(all_matches(more.output, std::regex("Message: ")).size(), 3u) << more.output;
  stored = all_matches(more.output, stored_re);
  ASSERT_EQ(stored.size(), 3u) << more.output;
  EXPECT_NE(more.output.find("usage"), std::string::npos)
      << "a malformed line prints a usage line:\n"
      << more.output;

  auto consumed = console.consumer();
  ASSERT_EQ(consumed.exit_code, 0) << consumed.output;
  const auto& out = consumed.output;
  EXPECT_TRUE(std::regex_search(out, std::regex("CreateEvent.*Cole Bittel.* => applied"))) << out;
  EXPECT_TRUE(
      std::regex_search(out, std::regex("DepositEvent.*1000.* => applied \\(balance 1000\\)")))
      << out;
  EXPECT_TRUE(
      std::regex_search(out, std::regex("WithdrawEvent.*5000.* => rejected insufficient_funds")))
      << out;
  EXPECT_TRUE(std::regex_search(out, std::regex("TransferEvent.* => (completed|pending)"))) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex(cole + "  Cole Bittel  balance 900"))) << out;
}

TEST(ConsoleTest, ConsumerReportsPoisonRecordsAndGoesOn) {
  Console console;
  auto created = console.producer("create###Poison Neighbour\n");
  ASSERT_EQ(created.exit_code, 0) << created.output;
  // A record that is not JSON, written straight to the topic with kcat.
  const auto poison = console.dir + "/poison-" + console.topic + ".txt";
  std::ofstream(poison) << "this is not json";
  auto kcat =
      run({"/usr/bin/kcat", "-P", "-b", kBrokers, "-t", console.topic, "-k", "somekey", poison},
          console.dir + "/kcat.log", std::chrono::seconds(30));
  ASSERT_EQ(kcat.exit_code, 0) << "kcat is needed (scripts/install-deps.sh): " << kcat.output;
  auto consumed = console.consumer();
  ASSERT_EQ(consumed.exit_code, 0) << consumed.output;
  EXPECT_TRUE(std::regex_search(consumed.output,
                                std::regex("this is not json => rejected malformed_event")))
      << consumed.output;
  EXPECT_NE(consumed.output.find("Poison Neighbour"), std::string::npos) << consumed.output;
}

TEST(ConsoleTest, ProducerFailsClearlyWithoutBroker) {
  const auto dir = std::filesystem::current_path().string();
  const auto in = dir + "/console-nobroker.in";
  std::ofstream(in) << "create###Nobody\n";
  auto r = run({xbanku_binary(), "--act=producer", "--brokers", "127.0.0.1:1", "--topic", "x",
                "--delivery-timeout-ms", "1000"},
               dir + "/console-nobroker.log", std::chrono::seconds(60), in);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("127.0.0.1:1"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace xbanku::test
