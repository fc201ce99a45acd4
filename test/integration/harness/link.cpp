#include "link.hpp"

#include <sstream>
#include <thread>

namespace hoplink::itest {

bool LinkResult::ok() const {
  return error.empty() && pump.ok && bridge && bridge->pump && bridge->pump->ok && bridge->error.empty();
}

std::string LinkResult::describe() const {
  std::ostringstream out;
  if (socks) out << socks->describe() << "; ";
  out << "client side: " << pump.summary();
  if (bridge) {
    out << "; bridge side: " << (bridge->pump ? bridge->pump->summary() : "no pump result");
    if (!bridge->error.empty()) out << " (" << bridge->error << ")";
  } else {
    out << "; bridge side: never seen";
  }
  if (!error.empty()) out << "; " << error;
  return out.str();
}

LinkResult run_socks_link(std::uint16_t socks_port, const Endpoint& bridge, const KeyValues& args,
                          const FakeTor& tor, LinkSpec spec, std::chrono::milliseconds timeout) {
  auto deadline = deadline_in(timeout);
  auto socks = socks5_connect(socks_port, bridge, args, deadline);
  if (!socks.connected()) {
    LinkResult r;
    r.error = "SOCKS CONNECT failed";
    r.socks = std::move(socks);
    return r;
  }
  Fd fd = std::move(socks.fd);
  auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  LinkResult r = run_pump_link(std::move(fd), tor, spec, remaining);
  r.socks = std::move(socks);
  return r;
}

LinkResult run_pump_link(Fd fd, const FakeTor& tor, LinkSpec spec, std::chrono::milliseconds timeout) {
  LinkResult r;
  auto deadline = deadline_in(timeout);
  auto header = PumpHeader{spec.seed, spec.up, spec.down}.serialize();
  if (auto s = send_all(fd.get(), header, deadline); s != IoStatus::ok) {
    r.error = "sending the pump header: " + to_string(s);
  } else {
    r.pump = duplex_pump(fd.get(), {spec.seed, spec.up}, {down_seed(spec.seed), spec.down}, deadline);
  }
  // The bridge side may still be receiving; keep the link open until it has checked everything.
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  r.bridge = tor.wait_for_pump(spec.seed, r.pump.ok ? std::max(left, std::chrono::milliseconds(1000))
                                                    : std::chrono::milliseconds(1000));
  return r;
}

std::vector<LinkResult> run_socks_links_parallel(std::size_t count, std::uint16_t socks_port,
                                                 const Endpoint& bridge, const KeyValues& args,
                                                 const FakeTor& tor, std::uint64_t first_seed,
                                                 std::uint64_t up, std::uint64_t down,
                                                 std::chrono::milliseconds timeout) {
  std::vector<LinkResult> results(count);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < count; ++i) {
    threads.emplace_back([&, i] {
      results[i] = run_socks_link(socks_port, bridge, args, tor, {first_seed + i, up, down}, timeout);
    });
  }
  for (auto& t : threads) t.join();
  return results;
}

}  // namespace hoplink::itest
