#include "network_namespace.hpp"

#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace hoplink::itest {

namespace {

std::string command_line(const std::vector<std::string>& argv) {
  std::string text;
  for (const auto& arg : argv) text += (text.empty() ? "" : " ") + arg;
  return text;
}

std::string errno_text(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

}  // namespace

void run_command(const std::vector<std::string>& argv) {
  // Output goes to a temporary file, read back only to explain a failure.
  char path[] = "/tmp/hoplink-netns-cmd-XXXXXX";
  const int out = ::mkstemp(path);
  if (out < 0) throw std::runtime_error(errno_text("mkstemp"));
  ::unlink(path);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out, STDERR_FILENO);
  std::vector<char*> args;
  std::vector<std::string> copy = argv;
  for (auto& arg : copy) args.push_back(arg.data());
  args.push_back(nullptr);
  pid_t pid = -1;
  const int spawned = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  int status = 0;
  if (spawned == 0) {
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  std::string output(4096, '\0');
  const ssize_t n = ::pread(out, output.data(), output.size(), 0);
  output.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  ::close(out);
  if (spawned != 0) throw std::runtime_error(command_line(argv) + ": " + std::strerror(spawned));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error(command_line(argv) + " failed (status " + std::to_string(status) +
                             "): " + output);
  }
}

bool can_create_namespaces(std::string* why) {
  if (::geteuid() != 0) {
    *why = "needs root (network namespaces, veth, af_packet)";
    return false;
  }
  try {
    run_command({"ip", "netns", "list"});
  } catch (const std::exception& e) {
    *why = std::string("`ip netns` does not work here: ") + e.what();
    return false;
  }
  return true;
}

NetworkNamespace::NetworkNamespace(std::string name) : name_(std::move(name)) {
  run_command({"ip", "netns", "add", name_});
  try {
    ip({"link", "set", "lo", "up"});
  } catch (...) {
    run_command({"ip", "netns", "del", name_});
    throw;
  }
}

NetworkNamespace::~NetworkNamespace() {
  try {
    run_command({"ip", "netns", "del", name_});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());  // nothing else to do in a destructor
  }
}

void NetworkNamespace::ip(std::vector<std::string> args) const {
  args.insert(args.begin(), {"ip", "-n", name_});
  run_command(args);
}

InsideNamespace::InsideNamespace(const NetworkNamespace& ns) {
  home_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home_ < 0) throw std::runtime_error(errno_text("/proc/thread-self/ns/net"));
  const std::string path = "/run/netns/" + ns.name();
  const int target = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (target < 0 || ::setns(target, CLONE_NEWNET) != 0) {
    const auto error = errno_text("entering " + path);
    if (target >= 0) ::close(target);
    ::close(home_);
    throw std::runtime_error(error);
  }
  ::close(target);
}

InsideNamespace::~InsideNamespace() {
  if (::setns(home_, CLONE_NEWNET) != 0) std::perror("setns back to the test's own network namespace");
  ::close(home_);
}

}  // namespace hoplink::itest
