// Runs Kafka's own Utils.murmur2 (via PartitionCheck.java) on random keys and compares every
// hash and partition with xbanku's. Fails, never skips, when java or the jars are missing.

#include "xbanku/domain/partitioner.hpp"
#include "xbanku/domain/uuid.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace xbanku::domain {
namespace {

constexpr std::int32_t kCounts[] = {1, 3, 6, 7, 12, 64};

std::string hex(std::string_view bytes) {
  constexpr std::string_view digits = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += digits[b >> 4];
    out += digits[b & 0xF];
  }
  return out;
}

std::string kafka_libs() {
  const char* libs = std::getenv("XBANKU_KAFKA_LIBS");
  return libs != nullptr ? libs : "";
}

bool has_kafka_clients(const std::string& dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("kafka-clients-", 0) == 0 && name.size() > 4 &&
        name.compare(name.size() - 4, 4, ".jar") == 0) {
      return true;
    }
  }
  return false;
}

// Runs `command`, returning its standard output and exit status.
std::pair<std::string, int> run(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return {"", -1};
  std::string out;
  char buf[65536];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
  const int status = ::pclose(pipe);
  return {out, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

TEST(PartitionerJava, AgreesWithKafkaUtilsMurmur2) {
  const std::string libs = kafka_libs();
  ASSERT_FALSE(libs.empty()) << "XBANKU_KAFKA_LIBS is not set (ctest sets it; run via ctest)";
  ASSERT_TRUE(has_kafka_clients(libs))
      << "no kafka-clients-*.jar in " << libs << ": run scripts/install-deps.sh";
  ASSERT_EQ(run("java -version >/dev/null 2>&1").second, 0)
      << "java (17+) is not on PATH: run scripts/install-deps.sh";

  // Keys: random UUIDs (what xbanku uses), in canonical and upper case, plus random byte strings
  // of every length 0..40 with high bytes (Java's signed bytes are where ports go wrong).
  std::vector<std::string> keys;
  for (int i = 0; i < 1000; ++i) keys.push_back(new_uuid());
  for (int i = 0; i < 50; ++i) {
    std::string upper = keys[static_cast<std::size_t>(i)];
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    keys.push_back(upper);
  }
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_int_distribution<int> byte(0, 255);
  for (int len = 0; len <= 40; ++len) {
    for (int k = 0; k < 5; ++k) {
      std::string key;
      for (int j = 0; j < len; ++j) key += static_cast<char>(byte(rng));
      keys.push_back(key);
    }
  }

  const auto input = std::filesystem::temp_directory_path() /
                     ("xbanku-partition-keys-" + std::to_string(::getpid()) + ".hex");
  {
    std::ofstream out(input);
    for (const auto& key : keys) out << hex(key) << '\n';
    ASSERT_TRUE(out.good()) << "cannot write " << input;
  }
  std::string command = "java -cp '" + libs + "/*' '" XBANKU_PARTITION_CHECK_JAVA "'";
  for (auto n : kCounts) command += " " + std::to_string(n);
  command += " < '" + input.string() + "'";
  const auto [output, status] = run(command);
  std::filesystem::remove(input);
  ASSERT_EQ(status, 0) << "the Java check failed: " << command;

  std::istringstream lines(output);
  std::size_t checked = 0;
  std::size_t mismatches = 0;
  for (const auto& key : keys) {
    std::string line;
    ASSERT_TRUE(std::getline(lines, line))
        << "Java printed " << checked << " of " << keys.size() << " lines";
    std::istringstream fields(line);
    std::int64_t java_hash = 0;
    fields >> java_hash;
    const bool same_hash = static_cast<std::int32_t>(murmur2(key)) == java_hash;
    bool same_partitions = true;
    for (auto n : kCounts) {
      std::int32_t java_partition = -1;
      fields >> java_partition;
      same_partitions = same_partitions && partition_for_key(key, n) == java_partition;
    }
    if (!same_hash || !same_partitions) {
      ++mismatches;
      ADD_FAILURE() << "key " << hex(key) << ": Java says '" << line << "', xbanku "
                    << static_cast<std::int32_t>(murmur2(key));
    }
    ++checked;
  }
  EXPECT_EQ(mismatches, 0U);
  EXPECT_EQ(checked, keys.size());
  RecordProperty("keys_checked", static_cast<int>(checked));
}

}  // namespace
}  // namespace xbanku::domain
