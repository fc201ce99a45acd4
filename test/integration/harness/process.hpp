// A child process launched the way tor launches a pluggable transport: an explicit environment, stdin and
// stdout on pipes, stderr to a file. A reader thread collects stdout lines so the child never blocks on a
// full pipe; tests wait for lines with a timeout.
//
// The child gets default signal dispositions and an empty signal mask, and is killed (SIGKILL) if the
// thread that spawned it dies, so a crashed test run leaves no stray hoplink behind. Spawn from the main
// test thread. The destructor kills and reaps a child that is still running.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace hoplink::itest {

using Env = std::map<std::string, std::string>;

struct ExitStatus {
  int code = -1;   // exit code when the child exited normally
  int signal = 0;  // the signal that killed it, 0 if it exited
  bool exited() const { return signal == 0; }
  std::string to_string() const;
};

class Process {
 public:
  struct Options {
    std::filesystem::path program;
    std::vector<std::string> args;  // without argv[0]
    Env env;                        // the whole environment of the child
    std::filesystem::path stderr_path;
    std::string name = "child";  // for messages
  };

  // Throws std::runtime_error if the program cannot be executed.
  explicit Process(Options options);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& name() const { return options_.name; }

  // Every complete stdout line so far (without the '\n').
  std::vector<std::string> lines() const;
  // Index of the first line at or after `from` matching `pred`, waiting up to `timeout`.
  std::optional<std::size_t> wait_for_line(const std::function<bool(const std::string&)>& pred,
                                           std::chrono::milliseconds timeout, std::size_t from = 0) const;
  std::optional<std::string> wait_for_line_text(const std::function<bool(const std::string&)>& pred,
                                                std::chrono::milliseconds timeout,
                                                std::size_t from = 0) const;
  // True once the child closed its stdout; `unterminated` gets bytes after the last '\n'.
  bool stdout_closed(std::string* unterminated = nullptr) const;

  void close_stdin();
  void send_signal(int sig);
  // Reaps the child if it exits within `timeout`.
  std::optional<ExitStatus> wait_exit(std::chrono::milliseconds timeout);
  bool running();

  std::string stderr_text() const;
  // Name, pid, exit state, stdout lines and the tail of stderr, for failure messages.
  std::string describe() const;

 private:
  void read_stdout();

  Options options_;
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  int pidfd_ = -1;
  int stop_fd_ = -1;  // eventfd that ends the reader thread
  std::optional<ExitStatus> exit_;

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<std::string> lines_;
  std::string partial_;
  bool eof_ = false;
  std::thread reader_;
};

}  // namespace hoplink::itest
