#include <array>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "accepted_association.hpp"
#include "fuzz_check.hpp"
#include "fuzz_harness.hpp"
#include "sctp/stack.hpp"
#include "sctp_bytes.hpp"

namespace hoplink::fuzz {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint16_t kListenerPort = 5000;
constexpr std::size_t kCommonHeader = kSctpCommonHeader;
constexpr std::size_t kMaxAccepted = 8;  // older accepted associations are dropped (aborted)
constexpr std::uint32_t kOurTag = 0x11223344;

struct Peer {
  sctp::PeerToken token;
  bool crc32c = false;
  // The association the harness opened from this peer (nullptr when none is alive), its source port and the
  // verification tag the Stack expects on its packets.
  const AcceptedAssociation* established = nullptr;
  std::uint16_t port = 0;
  std::uint32_t stack_tag = 0;
  // What the last INIT-ACK sent to this peer carried.
  std::uint32_t init_ack_tag = 0;
  Bytes cookie;
};

class SctpTarget {
 public:
  // Never destroyed: usrsctp is process-global and its teardown at exit would call back into members.
  static SctpTarget& instance() {
    static SctpTarget* target = new SctpTarget();
    return *target;
  }

  void run(std::uint8_t flags, std::span<const std::byte> input);

 private:
  SctpTarget();
  void on_packet(sctp::PeerToken to, std::span<const std::byte> packet);
  void handshake(Peer& peer);
  void deliver(Peer& peer, Bytes packet) {
    if (peer.crc32c) fill_checksum(packet);
    stack_->receive_packet(peer.token, packet);
    stack_->dispatch_events();
  }
  void prune();

  Clock::time_point now_ = Clock::time_point{} + std::chrono::hours(1);
  std::array<Peer, 2> peers_;
  AcceptedList accepted_;
  std::uint16_t next_port_ = 1024;
  std::unique_ptr<sctp::Stack> stack_;
};

SctpTarget::SctpTarget() {
  auto created = sctp::Stack::create(
      sctp::StackConfig{},
      [this](sctp::PeerToken to, std::span<const std::byte> packet) { on_packet(to, packet); });
  FUZZ_CHECK(created.ok());
  stack_ = std::move(created.value());
  peers_[0].crc32c = true;
  peers_[0].token = stack_->register_peer(true);
  peers_[1].crc32c = false;
  peers_[1].token = stack_->register_peer(false);
  auto listening =
      stack_->listen(sctp::AssociationConfig{}, [this](std::unique_ptr<sctp::Association> association) {
        // Reads only: this target is about the packets in, not about what the stack sends.
        accepted_.push_back(std::make_unique<AcceptedAssociation>(std::move(association), 0));
      });
  FUZZ_CHECK(listening.ok());
  stack_->handle_timers(now_);
}

// Runs inside usrsctp: only records what an INIT-ACK carried (no re-entry into the Stack).
void SctpTarget::on_packet(sctp::PeerToken to, std::span<const std::byte> packet) {
  FUZZ_CHECK(packet.size() >= kCommonHeader);
  for (Peer& peer : peers_) {
    if (peer.token != to) continue;
    if (auto ack = parse_init_ack(packet)) {
      peer.init_ack_tag = ack->initiate_tag;
      peer.cookie = std::move(ack->cookie);
    }
    return;
  }
}

// A well-formed INIT, then COOKIE-ECHO with the cookie of the INIT-ACK: the Stack accepts an association.
void SctpTarget::handshake(Peer& peer) {
  next_port_ = next_port_ == 65535 ? 1024 : static_cast<std::uint16_t>(next_port_ + 1);
  peer.port = next_port_;
  peer.cookie.clear();

  deliver(peer, make_init(peer.port, kListenerPort, kOurTag));
  if (peer.cookie.empty()) return;

  Bytes echo(kCommonHeader);
  store16(echo, 0, peer.port);
  store16(echo, 2, kListenerPort);
  store32(echo, 4, peer.init_ack_tag);
  const Bytes chunk = cookie_echo_chunk(peer.cookie);
  echo.insert(echo.end(), chunk.begin(), chunk.end());
  const std::size_t before = accepted_.size();
  const std::uint32_t stack_tag = peer.init_ack_tag;
  deliver(peer, echo);
  if (accepted_.size() > before && accepted_.back()->association().peer() == peer.token) {
    peer.established = accepted_.back().get();
    peer.stack_tag = stack_tag;
  }
}

void SctpTarget::prune() {
  prune_accepted(accepted_, kMaxAccepted, [this](const AcceptedAssociation& dropped) {
    for (Peer& peer : peers_) {
      if (peer.established == &dropped) peer.established = nullptr;
    }
  });
}

void SctpTarget::run(std::uint8_t flags, std::span<const std::byte> input) {
  Peer& peer = peers_[flags & 1];
  const bool fix_header = (flags & 2) != 0;
  const bool on_association = (flags & 4) != 0;
  Bytes packet(input.begin(), input.end());

  if (on_association && packet.size() >= kCommonHeader) {
    if (peer.established == nullptr || peer.established->closed()) handshake(peer);
    store16(packet, 0, peer.port);
    store16(packet, 2, kListenerPort);
    store32(packet, 4, peer.stack_tag);
  } else if (fix_header && packet.size() >= kCommonHeader) {
    store16(packet, 2, kListenerPort);
  }
  const bool checksum_fixed = (fix_header || on_association) && peer.crc32c && packet.size() >= kCommonHeader;
  if (checksum_fixed) fill_checksum(packet);

  const sctp::StackCounters before = stack_->counters();
  const bool taken = stack_->receive_packet(peer.token, packet);
  const sctp::StackCounters& after = stack_->counters();
  // Dropped exactly when too short, or a bad checksum on a CRC32c peer; each drop counted once.
  if (packet.size() < kCommonHeader || (peer.crc32c && !checksum_fixed && !taken)) {
    FUZZ_CHECK(!taken);
  } else {
    FUZZ_CHECK(taken);
  }
  FUZZ_CHECK(after.packets_in == before.packets_in + (taken ? 1 : 0));
  FUZZ_CHECK(after.dropped_malformed + after.dropped_bad_checksum + after.dropped_unknown_peer ==
             before.dropped_malformed + before.dropped_bad_checksum + before.dropped_unknown_peer +
                 (taken ? 0 : 1));
  stack_->dispatch_events();

  now_ += std::chrono::milliseconds(1 << (flags >> 3 & 15));  // 1 ms to 32 s
  stack_->handle_timers(now_);
  stack_->dispatch_events();
  prune();
  FUZZ_CHECK(accepted_.size() <= kMaxAccepted);
}

}  // namespace

int fuzz_sctp_packet(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  SctpTarget::instance().run(data[0], std::as_bytes(std::span(data + 1, size - 1)));
  return 0;
}

}  // namespace hoplink::fuzz
