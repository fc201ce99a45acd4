// Two SCTP endpoints in one process: usrsctp is process-global, so every test shares one Stack (a singleton)
// hosting both sides. Packets the client side sends to its peer token are delivered to the server side as
// coming from the server's peer token, and back, through in-memory queues with optional impairment; a fake
// clock drives the timers and is the time usrsctp reads (StackConfig::clock).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "sctp/stack.hpp"

namespace hoplink::sctp::test {

using Clock = std::chrono::steady_clock;
using Packet = std::vector<std::byte>;

// Deterministic content: byte at offset i of stream `seed`.
std::byte pattern_byte(std::uint32_t seed, std::uint64_t offset);

// One side of an association that sends a pattern and checks what it receives.
struct Endpoint : AssociationEvents {
  std::unique_ptr<Association> association;
  bool connected = false;
  std::optional<CloseReason> closed;
  bool end_of_stream = false;
  std::uint64_t received_at_end_of_stream = 0;
  bool reading = true;
  std::uint64_t to_send = 0;
  std::uint64_t sent = 0;
  std::uint32_t send_seed = 1;
  std::uint32_t receive_seed = 1;
  std::uint64_t received = 0;
  bool content_ok = true;
  bool shutdown_when_sent = false;  // shutdown() once to_send is sent (both directions end)
  bool finish_when_sent = false;    // finish_sending() once to_send is sent (this direction ends)
  bool shutdown_called = false;
  int writable_calls = 0;
  int zero_sends = 0;  // send() calls that accepted nothing
  std::function<void(Endpoint&, CloseReason)> closed_hook;
  std::function<void(Endpoint&)> readable_hook;

  void on_connected() override;
  void on_readable() override;
  void on_writable() override;
  void on_closed(CloseReason reason) override;
  void push();   // sends as much of the pattern as accepted
  void drain();  // reads everything available and checks it
};

enum class Verdict { deliver, drop };

class Harness {
 public:
  static Harness& instance();
  // The Stack goes first: closing what is left sends ABORTs through on_packet, which uses the other members.
  ~Harness() { stack_.reset(); }

  Stack& stack() { return *stack_; }
  PeerToken client_peer() const { return client_peer_; }  // what the client side connects to
  PeerToken server_peer() const { return server_peer_; }  // how the server side sees the client
  Clock::time_point now() const { return now_; }

  // Drops every packet queue and hook, and the server endpoints; restores the accept handler.
  void reset();
  // Called for every packet before delivery; may modify it. `to_server` tells the direction.
  std::function<Verdict(bool to_server, Packet& packet)> impair;
  // The accepted associations (server side), with their endpoints.
  std::vector<std::unique_ptr<Endpoint>> accepted;
  // Applied to each new server-side endpoint before set_events.
  std::function<void(Endpoint&)> configure_accepted;
  // Routes a second pair of tokens (used for peers without CRC32c).
  void add_route(PeerToken client, PeerToken server);

  std::unique_ptr<Endpoint> connect(const AssociationConfig& config = {}, PeerToken peer = {});

  // Delivers queued packets (bounded), dispatches events, advances the fake clock by `step`, runs timers.
  void pump(std::chrono::milliseconds step = std::chrono::milliseconds(1));
  // Pumps until `done` or until `fake_limit` of fake time has passed. Returns whether `done` became true.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds fake_limit,
                 std::chrono::milliseconds step = std::chrono::milliseconds(1));

  std::uint64_t delivered = 0;
  std::uint64_t dropped = 0;

 private:
  Harness();
  void on_packet(PeerToken to, std::span<const std::byte> packet);

  std::unique_ptr<Stack> stack_;
  PeerToken client_peer_;
  PeerToken server_peer_;
  std::vector<std::pair<PeerToken, PeerToken>> routes_;  // (client-side token, server-side token)
  struct Queued {
    PeerToken from;  // the token the receiving side knows the sender by
    bool to_server;
    Packet packet;
  };
  std::deque<Queued> queue_;
  Clock::time_point now_;
};

// A fresh association between the two sides, connected and accepted.
struct Pair {
  std::unique_ptr<Endpoint> client;
  Endpoint* server = nullptr;  // owned by Harness::accepted
};
Pair open_pair(Harness& h, const AssociationConfig& config = {});

}  // namespace hoplink::sctp::test
