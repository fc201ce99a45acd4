#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace hoplink::itest {
namespace {

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

ExitStatus decode(int status) {
  ExitStatus s;
  if (WIFEXITED(status)) s.code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) s.signal = WTERMSIG(status);
  return s;
}

// Runs in the forked child before exec: only async-signal-safe calls.
[[noreturn]] void exec_child(int stdin_fd, int stdout_fd, const char* stderr_path, int error_fd, pid_t parent,
                             char* const argv[], char* const envp[]) {
  auto fail = [error_fd]() {  // reports errno to the parent and ends the child
    int err = errno;
    (void)!::write(error_fd, &err, sizeof err);
    ::_exit(127);
  };
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail();
  if (::getppid() != parent) ::_exit(127);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (::dup2(stdin_fd, 0) < 0 || ::dup2(stdout_fd, 1) < 0) fail();
  int err_fd = ::open(stderr_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (err_fd < 0 || ::dup2(err_fd, 2) < 0) fail();
  ::execve(argv[0], argv, envp);
  fail();
  ::_exit(127);
}

}  // namespace

std::string ExitStatus::to_string() const {
  if (signal != 0) return "killed by signal " + std::to_string(signal) + " (" + ::strsignal(signal) + ")";
  return "exit code " + std::to_string(code);
}

Process::Process(Options options) : options_(std::move(options)) {
  std::vector<std::string> arg_strings{options_.program.string()};
  arg_strings.insert(arg_strings.end(), options_.args.begin(), options_.args.end());
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : options_.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (auto& s : arg_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string stderr_path = options_.stderr_path.string();

  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) throw_errno("pipe");
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw_errno("pipe");
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) throw_errno("pipe");
  pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw_errno("fork");
  if (pid_ == 0) {
    exec_child(in_pipe[0], out_pipe[1], stderr_path.c_str(), err_pipe[1], parent, argv.data(), envp.data());
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  stdin_fd_ = in_pipe[1];
  stdout_fd_ = out_pipe[0];
  int exec_errno = 0;
  ssize_t n;
  do {
    n = ::read(err_pipe[0], &exec_errno, sizeof exec_errno);
  } while (n < 0 && errno == EINTR);
  ::close(err_pipe[0]);
  if (n > 0) {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    exit_ = decode(status);
    ::close(stdin_fd_);
    ::close(stdout_fd_);
    stdin_fd_ = stdout_fd_ = -1;
    throw std::runtime_error("cannot execute " + options_.program.string() + ": " +
                             std::strerror(exec_errno));
  }
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));  // -1: fall back to polling waitpid
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
  reader_ = std::thread([this] { read_stdout(); });
}

Process::~Process() {
  if (!exit_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    if (::waitpid(pid_, &status, 0) == pid_) exit_ = decode(status);
  }
  std::uint64_t one = 1;
  (void)!::write(stop_fd_, &one, sizeof one);
  if (reader_.joinable()) reader_.join();
  for (int fd : {stdin_fd_, stdout_fd_, pidfd_, stop_fd_}) {
    if (fd >= 0) ::close(fd);
  }
}

void Process::read_stdout() {
  char buf[4096];
  for (;;) {
    pollfd fds[2] = {{stdout_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents != 0) break;
    ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    std::lock_guard lock(mutex_);
    if (n <= 0) {
      eof_ = true;
      changed_.notify_all();
      return;
    }
    partial_.append(buf, static_cast<std::size_t>(n));
    std::size_t start = 0, nl;
    while ((nl = partial_.find('\n', start)) != std::string::npos) {
      lines_.push_back(partial_.substr(start, nl - start));
      start = nl + 1;
    }
    partial_.erase(0, start);
    changed_.notify_all();
  }
  std::lock_guard lock(mutex_);
  eof_ = true;
  changed_.notify_all();
}

std::vector<std::string> Process::lines() const {
  std::lock_guard lock(mutex_);
  return lines_;
}

std::optional<std::size_t> Process::wait_for_line(const std::function<bool(const std::string&)>& pred,
                                                  std::chrono::milliseconds timeout, std::size_t from) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(mutex_);
  std::size_t next = from;
  for (;;) {
    for (; next < lines_.size(); ++next) {
      if (pred(lines_[next])) return next;
    }
    if (eof_) return std::nullopt;
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout && next == lines_.size()) {
      return std::nullopt;
    }
  }
}

std::optional<std::string> Process::wait_for_line_text(const std::function<bool(const std::string&)>& pred,
                                                       std::chrono::milliseconds timeout,
                                                       std::size_t from) const {
  auto index = wait_for_line(pred, timeout, from);
  if (!index) return std::nullopt;
  std::lock_guard lock(mutex_);
  return lines_[*index];
}

bool Process::stdout_closed(std::string* unterminated) const {
  std::lock_guard lock(mutex_);
  if (unterminated) *unterminated = partial_;
  return eof_;
}

void Process::close_stdin() {
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
  stdin_fd_ = -1;
}

void Process::send_signal(int sig) {
  if (!exit_) ::kill(pid_, sig);
}

std::optional<ExitStatus> Process::wait_exit(std::chrono::milliseconds timeout) {
  if (exit_) return exit_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_ = decode(status);
      return exit_;
    }
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    if (pidfd_ >= 0) {
      pollfd p{pidfd_, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(left.count()) + 1);
    } else {
      ::usleep(5000);  // no pidfd: poll waitpid
    }
  }
}

bool Process::running() {
  return !wait_exit(std::chrono::milliseconds(0)).has_value();
}

std::string Process::stderr_text() const {
  std::ifstream in(options_.stderr_path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Process::describe() const {
  std::ostringstream out;
  out << options_.name << " (pid " << pid_ << ", " << (exit_ ? exit_->to_string() : "running") << ")\n";
  // Everything up to 150 lines; beyond, the start-up lines and the most recent ones.
  auto all = lines();
  constexpr std::size_t kHead = 20, kTail = 130;
  out << "stdout (" << all.size() << " lines):\n";
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all.size() > kHead + kTail && i == kHead)
      out << "  | ... " << all.size() - kHead - kTail << " lines ...\n";
    if (all.size() <= kHead + kTail || i < kHead || i >= all.size() - kTail) out << "  | " << all[i] << "\n";
  }
  std::string err = stderr_text();
  if (err.size() > 3000) err = "..." + err.substr(err.size() - 3000);
  out << "stderr (" << options_.stderr_path.string() << "):\n" << err;
  return out.str();
}

}  // namespace hoplink::itest
