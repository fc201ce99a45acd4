// A UDP relay between hoplink clients and a bridge that sees every datagram: it records sizes and can drop,
// duplicate or reorder datagrams (a user-space path emulator; the host's own lo is never shaped). Each
// client source address gets its own upstream socket, so the bridge still sees distinct peers.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "net.hpp"

namespace hoplink::itest {

struct RelayImpairment {
  double drop = 0;       // probability a datagram is lost
  double duplicate = 0;  // probability a datagram is sent twice
  double reorder = 0;    // probability a datagram is held back and sent after the next one
  std::uint32_t seed = 1;
  // After `burst_after` datagrams in a direction, drop that many in a row (a queue overflowing), for at most
  // `burst_duration` from the first drop when that is set: a queue overflows for a while, not for ever, and a
  // sender whose window is small (a paced one on loopback) sends only one retransmission per timeout then.
  std::uint64_t burst_after = 0;
  std::uint64_t burst_to_bridge = 0;
  std::uint64_t burst_to_client = 0;
  std::chrono::milliseconds burst_duration{0};
};

struct RelayStats {
  std::uint64_t to_bridge = 0, to_client = 0;                // datagrams received from each side
  std::uint64_t dropped = 0, duplicated = 0, reordered = 0;  // dropped includes send failures
  std::size_t max_to_bridge = 0, max_to_client = 0;          // largest datagram each way
};

class UdpRelay {
 public:
  UdpRelay(Endpoint bridge, RelayImpairment impairment);
  ~UdpRelay();
  UdpRelay(const UdpRelay&) = delete;
  UdpRelay& operator=(const UdpRelay&) = delete;

  // Where clients send instead of the bridge.
  Endpoint address() const { return {"127.0.0.1", local_port(front_.get())}; }
  RelayStats stats() const;

 private:
  struct Held {
    int fd = -1;
    Endpoint to;
    std::vector<std::uint8_t> bytes;
  };
  void run();
  void forward(int fd, const Endpoint& to, std::vector<std::uint8_t> bytes, bool to_bridge);

  Endpoint bridge_;
  RelayImpairment impairment_;
  Fd front_;
  Fd stop_;
  std::map<std::uint16_t, Fd> upstream_;  // client port -> socket towards the bridge
  std::map<int, Endpoint> client_of_;     // upstream fd -> client address
  std::vector<Held> held_;
  std::uint64_t rng_;
  mutable std::mutex mutex_;
  RelayStats stats_;
  std::optional<std::chrono::steady_clock::time_point> burst_started_[2];  // to the client, to the bridge
  std::thread thread_;
};

}  // namespace hoplink::itest
