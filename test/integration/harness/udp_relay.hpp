// A UDP relay between hoplink clients and a bridge that sees every datagram: it records sizes and can drop,
// duplicate or reorder datagrams (a user-space path emulator; the host's own lo is never shaped). Each
// client source address gets its own upstream socket, so the bridge still sees distinct peers.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
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
  double reorder = 0;    // probability a datagram is held back and sent after the next one of its flow
  std::uint32_t seed = 1;
  // After `burst_after` datagrams in a direction, drop that many in a row (a queue overflowing), for at most
  // `burst_duration` from the first drop when that is set: a queue overflows for a while, not for ever, and a
  // sender whose window is small (a paced one on loopback) sends only one retransmission per timeout then.
  std::uint64_t burst_after = 0;
  std::uint64_t burst_to_bridge = 0;
  std::uint64_t burst_to_client = 0;
  std::chrono::milliseconds burst_duration{0};
};

// What the relay did, counted when it happened: a datagram counts as duplicated when both copies were sent,
// and as reordered when it was sent after a later datagram of the same direction and client.
struct RelayStats {
  std::uint64_t to_bridge = 0, to_client = 0;                  // datagrams received from each side
  std::uint64_t dropped_to_bridge = 0, dropped_to_client = 0;  // by the impairment (chance or burst)
  std::uint64_t send_failures = 0;                             // sendto refused a datagram or a copy
  std::uint64_t duplicated = 0, reordered = 0;
  std::size_t max_to_bridge = 0, max_to_client = 0;  // largest datagram each way
  std::uint64_t dropped() const { return dropped_to_bridge + dropped_to_client; }
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
  // A datagram held back until the next one of its flow (the same socket and destination) has been sent, or
  // for 10 ms when none comes. Held datagrams and the random state belong to the relay thread.
  struct Held {
    int fd = -1;
    Endpoint to;
    std::vector<std::uint8_t> bytes;
    std::chrono::steady_clock::time_point since;
  };
  void run();
  void forward(int fd, const Endpoint& to, std::vector<std::uint8_t> bytes, bool to_bridge);
  // Sends the held datagrams `which` selects, in the order they came; counts them reordered when `overtaken`.
  void release_held(const std::function<bool(const Held&)>& which, bool overtaken);
  bool send(int fd, const Endpoint& to, const std::vector<std::uint8_t>& bytes);

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
