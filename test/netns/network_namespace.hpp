// Network namespaces for the C++ tests that put hoplink on DPDK across a veth pair (needs root). Every
// namespace a test creates is deleted when its object goes, and with it the interfaces inside it.
#pragma once

#include <string>
#include <vector>

namespace hoplink::itest {

// Runs `argv` (argv[0] found on PATH) and waits for it; throws std::runtime_error with the command line and
// its output when it cannot run or exits non-zero. For the quick `ip` commands of a set-up.
void run_command(const std::vector<std::string>& argv);

// Whether this process can create network namespaces (root, and `ip netns` works); `why` says why not.
bool can_create_namespaces(std::string* why);

class NetworkNamespace {
 public:
  // `ip netns add name`, loopback up. Throws if it cannot (e.g. the name is taken).
  explicit NetworkNamespace(std::string name);
  ~NetworkNamespace();
  NetworkNamespace(const NetworkNamespace&) = delete;
  NetworkNamespace& operator=(const NetworkNamespace&) = delete;

  const std::string& name() const { return name_; }
  // `ip -n name args...`.
  void ip(std::vector<std::string> args) const;

 private:
  std::string name_;
};

// While it lives, the calling thread is inside `ns`: the sockets it creates, the threads it starts and the
// processes it forks are born there and stay there. The thread's own namespace comes back at the end.
class InsideNamespace {
 public:
  explicit InsideNamespace(const NetworkNamespace& ns);
  ~InsideNamespace();
  InsideNamespace(const InsideNamespace&) = delete;
  InsideNamespace& operator=(const InsideNamespace&) = delete;

 private:
  int home_ = -1;
};

}  // namespace hoplink::itest
