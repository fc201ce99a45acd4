#include "proc_net.hpp"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace hoplink::itest {

std::set<std::uint16_t> udp_ports_of(pid_t pid) {
  namespace fs = std::filesystem;
  std::set<std::string> inodes;
  std::error_code ec;
  fs::path fd_dir = "/proc/" + std::to_string(pid) + "/fd";
  for (const auto& entry : fs::directory_iterator(fd_dir, ec)) {
    auto target = fs::read_symlink(entry.path(), ec).string();
    if (target.starts_with("socket:[")) inodes.insert(target.substr(8, target.size() - 9));
  }
  std::set<std::uint16_t> ports;
  // The process's own network namespace view.
  std::ifstream udp("/proc/" + std::to_string(pid) + "/net/udp");
  std::string line;
  std::getline(udp, line);  // header
  while (std::getline(udp, line)) {
    std::istringstream in(line);
    std::string sl, local, remote, st, queues, tr, retrnsmt, uid, timeout, inode;
    in >> sl >> local >> remote >> st >> queues >> tr >> retrnsmt >> uid >> timeout >> inode;
    if (!inodes.contains(inode)) continue;
    auto colon = local.find(':');
    if (colon == std::string::npos) continue;
    ports.insert(static_cast<std::uint16_t>(std::stoul(local.substr(colon + 1), nullptr, 16)));
  }
  return ports;
}

std::uint64_t rss_bytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) return std::stoull(line.substr(6)) * 1024;  // "VmRSS:  1234 kB"
  }
  return 0;
}

int open_fd_count(pid_t pid) {
  std::error_code ec;
  int n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return ec ? -1 : n;
}

}  // namespace hoplink::itest
