#include <array>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "fuzz_check.hpp"
#include "fuzz_harness.hpp"
#include "sctp/crc32c.hpp"
#include "sctp/stack.hpp"

namespace hoplink::fuzz {
namespace {

using Clock = std::chrono::steady_clock;
using Bytes = std::vector<std::byte>;

constexpr std::uint16_t kListenerPort = 5000;
constexpr std::size_t kCommonHeader = 12;
constexpr std::size_t kMaxAccepted = 8;  // older accepted associations are dropped (aborted)
constexpr std::uint32_t kOurTag = 0x11223344;

std::uint32_t load32(const Bytes& bytes, std::size_t offset) {
  return (std::to_integer<std::uint32_t>(bytes[offset]) << 24) |
         (std::to_integer<std::uint32_t>(bytes[offset + 1]) << 16) |
         (std::to_integer<std::uint32_t>(bytes[offset + 2]) << 8) |
         std::to_integer<std::uint32_t>(bytes[offset + 3]);
}
std::uint16_t load16(std::span<const std::byte> bytes, std::size_t offset) {
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(bytes[offset]) << 8) |
                                    std::to_integer<unsigned>(bytes[offset + 1]));
}
void store16(Bytes& bytes, std::size_t offset, std::uint16_t value) {
  bytes[offset] = static_cast<std::byte>(value >> 8);
  bytes[offset + 1] = static_cast<std::byte>(value);
}
void store32(Bytes& bytes, std::size_t offset, std::uint32_t value) {
  store16(bytes, offset, static_cast<std::uint16_t>(value >> 16));
  store16(bytes, offset + 2, static_cast<std::uint16_t>(value));
}

// RFC 4960 appendix B: CRC32c over the packet with a zero checksum field, stored least significant byte
// first (as sctp/ verifies it).
void fill_checksum(Bytes& packet) {
  if (packet.size() < kCommonHeader) return;
  std::memset(packet.data() + 8, 0, 4);
  const std::uint32_t crc = sctp::crc32c(packet);
  for (std::size_t i = 0; i < 4; ++i) packet[8 + i] = static_cast<std::byte>(crc >> (8 * i));
}

// Server side of one accepted association: reads whatever arrives, notes the close.
struct Accepted final : sctp::AssociationEvents {
  std::unique_ptr<sctp::Association> association;
  bool closed = false;

  void on_connected() override {}
  void on_readable() override {
    std::array<std::byte, 4096> buffer;
    for (int i = 0; i < 64 && association; ++i) {
      if (association->receive(buffer).bytes == 0) break;
    }
  }
  void on_writable() override {}
  void on_closed(sctp::CloseReason) override { closed = true; }
};

struct Peer {
  sctp::PeerToken token;
  bool crc32c = false;
  // The association the harness opened from this peer (nullptr when none is alive), its source port and the
  // verification tag the Stack expects on its packets.
  const Accepted* established = nullptr;
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
  std::vector<std::unique_ptr<Accepted>> accepted_;
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
        auto accepted = std::make_unique<Accepted>();
        accepted->association = std::move(association);
        accepted->association->set_events(*accepted);
        accepted_.push_back(std::move(accepted));
      });
  FUZZ_CHECK(listening.ok());
  stack_->handle_timers(now_);
}

// Runs inside usrsctp: only records what an INIT-ACK carried (no re-entry into the Stack).
void SctpTarget::on_packet(sctp::PeerToken to, std::span<const std::byte> packet) {
  FUZZ_CHECK(packet.size() >= kCommonHeader);
  for (Peer& peer : peers_) {
    if (peer.token != to) continue;
    // First chunk INIT-ACK (type 2): initiate tag at +4, then parameters from +20; the state cookie is
    // type 7.
    if (packet.size() < kCommonHeader + 20 || packet[kCommonHeader] != std::byte{2}) return;
    const Bytes chunk(packet.begin() + kCommonHeader, packet.end());
    const std::size_t chunk_length = std::min<std::size_t>(load16(chunk, 2), chunk.size());
    peer.init_ack_tag = load32(chunk, 4);
    peer.cookie.clear();
    for (std::size_t offset = 20; offset + 4 <= chunk_length;) {
      const std::uint16_t type = load16(chunk, offset);
      const std::size_t length = load16(chunk, offset + 2);
      if (length < 4 || offset + length > chunk_length) break;
      if (type == 7) {
        peer.cookie.assign(chunk.begin() + static_cast<std::ptrdiff_t>(offset + 4),
                           chunk.begin() + static_cast<std::ptrdiff_t>(offset + length));
        break;
      }
      offset += (length + 3) & ~std::size_t{3};
    }
    return;
  }
}

// A well-formed INIT, then COOKIE-ECHO with the cookie of the INIT-ACK: the Stack accepts an association.
void SctpTarget::handshake(Peer& peer) {
  next_port_ = next_port_ == 65535 ? 1024 : static_cast<std::uint16_t>(next_port_ + 1);
  peer.port = next_port_;
  peer.cookie.clear();

  Bytes init(kCommonHeader + 20);
  store16(init, 0, peer.port);
  store16(init, 2, kListenerPort);
  init[kCommonHeader] = std::byte{1};
  store16(init, kCommonHeader + 2, 20);
  store32(init, kCommonHeader + 4, kOurTag);
  store32(init, kCommonHeader + 8, 1 << 20);  // a_rwnd
  store16(init, kCommonHeader + 12, 1);       // outbound streams
  store16(init, kCommonHeader + 14, 1);       // inbound streams
  store32(init, kCommonHeader + 16, 1);       // initial TSN
  deliver(peer, init);
  if (peer.cookie.empty()) return;

  const std::size_t chunk_length = 4 + peer.cookie.size();
  Bytes echo(kCommonHeader + ((chunk_length + 3) & ~std::size_t{3}));
  store16(echo, 0, peer.port);
  store16(echo, 2, kListenerPort);
  store32(echo, 4, peer.init_ack_tag);
  echo[kCommonHeader] = std::byte{10};
  store16(echo, kCommonHeader + 2, static_cast<std::uint16_t>(chunk_length));
  std::memcpy(echo.data() + kCommonHeader + 4, peer.cookie.data(), peer.cookie.size());
  const std::size_t before = accepted_.size();
  const std::uint32_t stack_tag = peer.init_ack_tag;
  deliver(peer, echo);
  if (accepted_.size() > before && accepted_.back()->association->peer() == peer.token) {
    peer.established = accepted_.back().get();
    peer.stack_tag = stack_tag;
  }
}

void SctpTarget::prune() {
  std::size_t excess = accepted_.size() > kMaxAccepted ? accepted_.size() - kMaxAccepted : 0;
  std::erase_if(accepted_, [&](const std::unique_ptr<Accepted>& a) {
    const bool drop = a->closed || excess > 0;
    if (!drop) return false;
    if (!a->closed) --excess;
    for (Peer& peer : peers_) {
      if (peer.established == a.get()) peer.established = nullptr;
    }
    return true;
  });
}

void SctpTarget::run(std::uint8_t flags, std::span<const std::byte> input) {
  Peer& peer = peers_[flags & 1];
  const bool fix_header = (flags & 2) != 0;
  const bool on_association = (flags & 4) != 0;
  Bytes packet(input.begin(), input.end());

  if (on_association && packet.size() >= kCommonHeader) {
    if (peer.established == nullptr || peer.established->closed) handshake(peer);
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
