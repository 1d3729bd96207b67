#pragma once
// Test support: run `build/xbanku` (or any program) as a child process with its output in a
// file, send it signals, wait for it with a deadline. POSIX only; tests are single-threaded.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace xbanku::test {

// The xbanku binary under test (ctest sets XBANKU_BINARY).
inline std::string xbanku_binary() {
  const char* b = std::getenv("XBANKU_BINARY");
  if (b == nullptr)
    throw std::runtime_error("XBANKU_BINARY is not set: run this test through ctest");
  return b;
}

inline std::string source_dir() {
  const char* s = std::getenv("XBANKU_SOURCE_DIR");
  return s ? s : ".";
}

// A short random suffix so that topics, groups and folders of different runs never collide.
inline std::string unique_suffix() {
  static std::mt19937_64 rng{std::random_device{}()};
  std::ostringstream out;
  out << std::hex << (rng() & 0xffffffffffULL);
  return out.str();
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class ChildProcess {
 public:
  // Starts `args` with stdout+stderr appended to `log_path`; stdin from `stdin_path` or /dev/null.
  ChildProcess(const std::vector<std::string>& args, std::string log_path,
               const std::string& stdin_path = "/dev/null")
      : log_path_(std::move(log_path)) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, stdin_path.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot start " + args[0]);
  }
  ~ChildProcess() {
    if (running()) {
      ::kill(pid_, SIGKILL);
      wait_for(std::chrono::seconds(10));
    }
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  [[nodiscard]] pid_t pid() const { return pid_; }
  void signal(int sig) const { ::kill(pid_, sig); }
  [[nodiscard]] bool running() {
    if (exit_code_) return false;
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return false;
    }
    return true;
  }
  // Exit code (128+signal if killed), or nullopt if still running after `timeout`.
  std::optional<int> wait_for(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (running()) {
      if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return exit_code_;
  }
  [[nodiscard]] std::string output() const { return read_file(log_path_); }

 private:
  pid_t pid_ = -1;
  std::string log_path_;
  std::optional<int> exit_code_;
};

// Runs a program to completion (bounded), returning its exit code and combined output.
struct RunResult {
  int exit_code = -1;
  std::string output;
};
inline RunResult run(const std::vector<std::string>& args, const std::string& log_path,
                     std::chrono::milliseconds timeout,
                     const std::string& stdin_path = "/dev/null") {
  std::remove(log_path.c_str());
  ChildProcess child(args, log_path, stdin_path);
  auto code = child.wait_for(timeout);
  if (!code) {
    child.signal(SIGKILL);
    child.wait_for(std::chrono::seconds(5));
    return {-1, child.output() + "\n[test: killed after timeout]"};
  }
  return {*code, child.output()};
}

template <typename Pred>
bool wait_until(Pred pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds step = std::chrono::milliseconds(50)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(step);
  }
  return pred();
}

}  // namespace xbanku::test
