#pragma once
// Test support: one real `xbanku --act=serve` process on its own port, data folder, topic and
// group, against the broker and Redis of this test run (support/services.hpp).

#include "support/child_process.hpp"
#include "support/http_client.hpp"
#include "support/services.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace xbanku::test {

// A port the kernel just handed out and released: good enough for tests on loopback.
inline unsigned short free_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

struct InstanceOptions {
  std::string topic;
  std::string group;
  std::string data_dir;
  int partitions = 3;
  std::string redis;        // empty = no mirror
  std::string instance_id;  // empty = dynamic membership
  std::vector<std::string> extra_args;
  std::string brokers = kBrokers;              // e.g. the secured listener (kSaslBrokers)
  std::vector<std::string> env;                // NAME=VALUE for the process (through /usr/bin/env)
  std::map<std::string, std::string> headers;  // sent with every get() and post() (a token)
};

class ServiceInstance {
 public:
  explicit ServiceInstance(InstanceOptions o) : options_(std::move(o)), port_(free_port()) {
    std::filesystem::create_directories(options_.data_dir);
  }

  // Starts the process and waits until it answers /readyz with 200 (every partition caught up).
  // Returns false (and leaves the log in output()) if it does not within `timeout`.
  bool start(std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    launch();
    return wait_until([&] { return !process_->running() || get("/readyz").status == 200; }, timeout,
                      std::chrono::milliseconds(100)) &&
           process_->running();
  }

  // Starts the process without waiting for it (e.g. to kill it at a random moment).
  void launch() {
    std::vector<std::string> args{xbanku_binary(),
                                  "--act=serve",
                                  "--brokers",
                                  options_.brokers,
                                  "--topic",
                                  options_.topic,
                                  "--group",
                                  options_.group,
                                  "--partitions",
                                  std::to_string(options_.partitions),
                                  "--data-dir",
                                  options_.data_dir,
                                  "--listen",
                                  "127.0.0.1:" + std::to_string(port_),
                                  "--session-timeout-ms",
                                  "6000"};
    if (!options_.redis.empty()) args.insert(args.end(), {"--redis", options_.redis});
    if (!options_.instance_id.empty())
      args.insert(args.end(), {"--instance-id", options_.instance_id});
    args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
    if (!options_.env.empty()) {
      args.insert(args.begin(), options_.env.begin(), options_.env.end());
      args.insert(args.begin(), "/usr/bin/env");
    }
    process_.reset();
    process_ = std::make_unique<ChildProcess>(args, options_.data_dir + ".log");
  }

  // SIGTERM and wait for a graceful exit; returns the exit code (or -1 on timeout).
  int stop(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    if (!process_) return -1;
    process_->signal(SIGTERM);
    auto code = process_->wait_for(timeout);
    return code ? *code : -1;
  }
  void kill9() {
    if (process_) {
      process_->signal(SIGKILL);
      process_->wait_for(std::chrono::seconds(10));
    }
  }

  HttpResponse get(const std::string& target) const {
    return http_request("127.0.0.1", port_, boost::beast::http::verb::get, target, {},
                        options_.headers, std::chrono::seconds(10));
  }
  HttpResponse post(const std::string& target, const std::string& body,
                    std::map<std::string, std::string> headers = {}) const {
    headers.insert(options_.headers.begin(), options_.headers.end());
    return http_request("127.0.0.1", port_, boost::beast::http::verb::post, target, body, headers);
  }

  [[nodiscard]] unsigned short port() const { return port_; }
  [[nodiscard]] std::string output() const { return process_ ? process_->output() : ""; }
  [[nodiscard]] const InstanceOptions& options() const { return options_; }
  [[nodiscard]] bool running() { return process_ && process_->running(); }

 private:
  InstanceOptions options_;
  unsigned short port_;
  std::unique_ptr<ChildProcess> process_;
};

// Fresh names for one test: topic, group and a data folder under the build tree.
inline InstanceOptions fresh_instance(const std::string& name, int partitions = 3) {
  const auto id = unique_suffix();
  InstanceOptions o;
  o.topic = "xbanku-test-" + name + "-" + id;
  o.group = "xbanku-test-" + name + "-" + id;
  o.data_dir = (std::filesystem::current_path() / ("data-" + name + "-" + id)).string();
  o.partitions = partitions;
  return o;
}

}  // namespace xbanku::test
