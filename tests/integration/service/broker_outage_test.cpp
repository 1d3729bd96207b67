// Kafka unreachable (DESIGN §3): a command answers 503 log_unavailable within the delivery
// bound, the client can trust it was not written, and the service recovers when the broker
// returns; meanwhile /readyz answers 503 log_unavailable. Stops and restarts the local broker
// with scripts/services.sh.

#include "support/service_instance.hpp"

#include <gtest/gtest.h>

namespace xbanku::test {
namespace {

using namespace std::chrono_literals;

int services(const std::string& action) {
  const auto script = source_dir() + "/scripts/services.sh";
  return run({"/bin/bash", script, action, "kafka"},
             std::filesystem::current_path().string() + "/services-" + action + ".log", 120s)
      .exit_code;
}

TEST(BrokerOutage, CommandsAnswer503AndAreNotWritten) {
  auto options = fresh_instance("outage", 3);
  options.extra_args = {"--delivery-timeout-ms", "2000"};
  ServiceInstance service(options);
  ASSERT_TRUE(service.start()) << service.output();
  auto created = service.post("/accounts", R"({"name":"Outage"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id(created.json().at("id").as_string());

  ASSERT_EQ(services("down"), 0);
  const auto started = std::chrono::steady_clock::now();
  auto r = service.post("/accounts/" + id + "/deposit", R"({"amount":10})",
                        {{"Idempotency-Key", "outage-" + id}});
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  // A running instance that cannot reach the cluster is not ready, and says why.
  const bool said_unavailable = wait_until(
      [&] {
        auto ready = service.get("/readyz");
        return ready.status == 503 && ready.body.find("log_unavailable") != std::string::npos;
      },
      15s, 250ms);
  const double readyz_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const bool broker_back = services("up") == 0;
  EXPECT_TRUE(said_unavailable) << service.get("/readyz").body;
  std::printf("broker down: /readyz log_unavailable after %.2f s\n", readyz_seconds);
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.json().at("error").at("code").as_string(), "log_unavailable") << r.body;
  EXPECT_LT(seconds,
            9.0);  // delivery bound 2 s + librdkafka 2.0.2's late report (see producer.cpp)
  std::printf("broker down: 503 after %.2f s\n", seconds);
  ASSERT_TRUE(broker_back) << "could not restart the broker";

  // The service recovers, and the refused command never shows up.
  ASSERT_TRUE(wait_until([&] { return service.get("/readyz").status == 200; }, 90s, 500ms))
      << service.output();
  auto again = service.post("/accounts/" + id + "/deposit", R"({"amount":5})");
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(service.get("/accounts/" + id).json().at("balance").as_int64(), 5);
  EXPECT_EQ(service.get("/commands/outage-" + id).status, 404);
  EXPECT_EQ(service.stop(), 0) << service.output();
}

}  // namespace
}  // namespace xbanku::test
