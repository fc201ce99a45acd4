// A client session and a server (Listener + accepted session) wired in memory, with a clock moved by hand.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <vector>

#include "common/peer_address.hpp"
#include "dtls/identity.hpp"
#include "dtls/listener.hpp"
#include "dtls/session.hpp"

namespace hoplink::dtls::test {

using Bytes = std::vector<std::byte>;
using namespace std::chrono_literals;

Bytes random_bytes(std::size_t size, std::uint32_t seed);
const Identity& shared_identity();  // generated once per test run (key generation is the slow part)

struct Pair {
  explicit Pair(SessionConfig config = {}, std::optional<std::string> fingerprint = std::nullopt);

  TimePoint now{std::chrono::seconds(1000)};
  SessionConfig config;
  PeerAddress client_address = PeerAddress::v4({10, 0, 0, 1}, 40000);
  PeerAddress server_address = PeerAddress::v4({10, 0, 0, 2}, 443);
  std::optional<Listener> listener;
  std::optional<DtlsSession> client;
  std::optional<DtlsSession> server;
  std::deque<Bytes> to_server;
  std::deque<Bytes> to_client;
  std::vector<Bytes> client_records, server_records;
  std::size_t largest_datagram = 0;
  std::size_t hello_verify_requests = 0;
  // Called for every datagram in flight; false drops it.
  std::function<bool(bool toward_server, const Bytes& datagram)> keep = [](bool, const Bytes&) {
    return true;
  };

  SessionCallbacks client_callbacks();
  SessionCallbacks server_callbacks();
  // Delivers everything queued (and what that produces) until both queues are empty.
  void flush();
  void deliver_to_server(const Bytes& datagram);
  void deliver_to_client(const Bytes& datagram);
  // Flushes, then jumps the clock to the earliest deadline and handles it, until both sides are open, either
  // failed, or `limit` of simulated time passed. Returns whether both are open.
  bool run_handshake(std::chrono::milliseconds limit = 60s);
  bool open() const;
};

}  // namespace hoplink::dtls::test
