#include "half_close_link.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <thread>

namespace hoplink::itest {

std::string to_string(FirstToEnd side) {
  return side == FirstToEnd::client ? "client" : "bridge";
}

bool HalfCloseResult::ok() const {
  return link.ok() && client_saw_fin && link.pump.received == spec.link.down &&
         link.bridge->pump->received == spec.link.up && link.bridge->eof_after_data;
}

std::string HalfCloseResult::describe() const {
  std::ostringstream out;
  out << "seed " << spec.link.seed << ", " << spec.link.up << " bytes up, " << spec.link.down
      << " bytes down, the " << to_string(spec.first) << " ends first: " << link.describe()
      << "; client saw the bridge's FIN: " << (client_saw_fin ? "yes" : "no");
  if (link.bridge) out << "; bridge saw the client's FIN: " << (link.bridge->eof_after_data ? "yes" : "no");
  return out.str();
}

HalfCloseResult run_half_close_link(FakeTor& tor, const std::function<Fd(Deadline)>& connect,
                                    HalfCloseSpec spec, std::chrono::milliseconds timeout) {
  HalfCloseResult r{.spec = spec, .link = {}, .client_saw_fin = false};
  const auto deadline = deadline_in(timeout);
  const bool client_first = spec.first == FirstToEnd::client;
  // Tor's side ends first only in pump_half_close; in pump it closes once it has read the client's FIN.
  tor.set_data_mode(client_first ? DataMode::pump : DataMode::pump_half_close);
  Fd fd = connect(deadline);
  if (!fd) {
    r.link.error = "no stream to the client side";
    return r;
  }
  const auto& link = spec.link;
  if (auto s = send_all(fd.get(), PumpHeader{link.seed, link.up, link.down}.serialize(), deadline);
      s != IoStatus::ok) {
    r.link.error = "sending the pump header: " + to_string(s);
  } else {
    r.link.pump = duplex_pump(fd.get(), {link.seed, link.up}, {down_seed(link.seed), link.down}, deadline,
                              nullptr, client_first);
  }
  if (r.link.pump.ok) {
    // The bridge's FIN, after its last byte: sent first (bridge), or once it read the client's (client).
    std::uint8_t extra = 0;
    const ssize_t got = wait_for(fd.get(), POLLIN, deadline) ? ::recv(fd.get(), &extra, 1, MSG_DONTWAIT) : -2;
    r.client_saw_fin = got == 0;
    if (got == -2) {
      r.link.error = "no end of stream from the bridge side in time";
    } else if (got < 0) {
      r.link.error = std::string("after the stream: ") + std::strerror(errno);
    } else if (got > 0) {
      r.link.error = "bytes after the end of the stream";
    } else if (!client_first && ::shutdown(fd.get(), SHUT_WR) != 0) {
      r.link.error = std::string("shutdown: ") + std::strerror(errno);
    }
  }
  // Keep the stream until tor's side has let go: it reads the client's FIN, then closes.
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  const auto wait = r.link.error.empty() && r.link.pump.ok ? std::max(left, std::chrono::milliseconds(1000))
                                                           : std::chrono::milliseconds(1000);
  tor.wait_until(
      [&](const std::vector<OrConnRecord>& all) {
        return std::any_of(all.begin(), all.end(), [&](const OrConnRecord& one) {
          if (!one.header || one.header->seed != link.seed || !one.finished) return false;
          r.link.bridge = one;
          return true;
        });
      },
      wait);
  if (!r.link.bridge) r.link.bridge = tor.wait_for_pump(link.seed, std::chrono::milliseconds(0));
  return r;
}

std::string orderly_close_problems(const Process& process, std::size_t count,
                                   std::chrono::milliseconds timeout) {
  const auto closed = [&] {
    std::vector<std::string> lines;
    for (const auto& line : process.lines()) {
      if (line.starts_with("STATUS ") && line.find(" EVENT=closed") != std::string::npos)
        lines.push_back(line);
    }
    return lines;
  };
  const auto until = deadline_in(timeout);
  auto lines = closed();
  while (lines.size() < count && Clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    lines = closed();
  }
  std::string problems;
  if (lines.size() != count) {
    problems =
        process.name() + ": " + std::to_string(lines.size()) + " links closed, not " + std::to_string(count);
  }
  for (const auto& line : lines) {
    if (line.find(" REASON=orderly") == std::string::npos) problems += "\nnot orderly: " + line;
  }
  return problems;
}

}  // namespace hoplink::itest
