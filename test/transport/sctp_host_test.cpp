// SctpHost's routing of packets from addresses nobody validated: a peer that lives for one call (the
// stateless responder to an INIT) never stays the owner of a token, even when the packet opened an
// association. Found by fuzz_sctp_transport: an INIT came out `associated`, the responder (a stack object)
// stayed in the routing table, and the association was later handed to it: a remote crash.
#include "transports/sctp_host.hpp"

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <vector>

#include "../fuzz/sctp_bytes.hpp"
#include "runtime/manual_runtime.hpp"
#include "sctp/packet.hpp"

namespace hoplink::transport {
namespace {

using fuzz::Bytes;

constexpr std::uint8_t kCookieAck = 11;

struct Recorder final : SctpHost::Peer {
  explicit Recorder(int& accepted) : accepted(accepted) {}
  void send_packet(std::span<const std::byte> packet) override {
    sent.emplace_back(packet.begin(), packet.end());
  }
  void accept(std::unique_ptr<sctp::Association>) override { ++accepted; }
  bool sent_chunk(std::uint8_t type) const {
    for (const auto& packet : sent) {
      if (sctp::contains_chunk(packet, type)) return true;
    }
    return false;
  }
  int& accepted;
  std::vector<Bytes> sent;
};

// A stranger's INIT, answered statelessly, and the COOKIE ECHO that completes it: a packet that opens an
// association (the listener accepts it at the end of the round).
Bytes cookie_echo_for(SctpHost& host, sctp::PeerToken stranger, std::uint16_t port) {
  const std::uint16_t listener = sctp::AssociationConfig{}.remote_port;
  int ignored = 0;
  Recorder responder(ignored);
  const Bytes init = fuzz::make_init(port, listener, 0x11223344);
  REQUIRE(host.receive_unvalidated(stranger, responder, SctpHost::PeerStays::never, true, std::nullopt, init,
                                   1500) == sctp::UnvalidatedOutcome::handled);
  REQUIRE(responder.sent.size() == 1);
  const auto ack = fuzz::parse_init_ack(responder.sent.front());
  REQUIRE(ack.has_value());
  Bytes packet(fuzz::kSctpCommonHeader);
  fuzz::store16(packet, 0, port);
  fuzz::store16(packet, 2, listener);
  fuzz::store32(packet, 4, ack->initiate_tag);
  const Bytes chunk = fuzz::cookie_echo_chunk(ack->cookie);
  packet.insert(packet.end(), chunk.begin(), chunk.end());
  fuzz::fill_checksum(packet);
  return packet;
}

TEST_CASE("sctp host: a peer for one call never owns the association its packet opened") {
  asio::io_context io;
  ManualRuntime runtime(io);
  SctpHost host(runtime, sctp::StackConfig{});
  REQUIRE(host.listen(sctp::AssociationConfig{}).ok());
  int accepted = 0;

  const sctp::PeerToken once{0x51 | sctp::Stack::kUnvalidatedTokenBit};
  const Bytes opening = cookie_echo_for(host, once, 40001);
  {
    Recorder temporary(accepted);
    CHECK(host.receive_unvalidated(once, temporary, SctpHost::PeerStays::never, true, std::nullopt, opening,
                                   1500) == sctp::UnvalidatedOutcome::handled);
    // The packet did open an association: usrsctp acknowledged the cookie.
    CHECK(temporary.sent_chunk(kCookieAck));
  }
  // `temporary` is gone. The round's end accepts the association and aborts it: its token was forgotten.
  runtime.end_round();
  runtime.poll();
  CHECK(accepted == 0);
  CHECK(host.association_count(once) == 0);
  CHECK(host.counters().associations_accepted == 0);

  // The control: a peer that stays gets the association.
  const sctp::PeerToken kept{0x52 | sctp::Stack::kUnvalidatedTokenBit};
  const Bytes completing = cookie_echo_for(host, kept, 40002);
  Recorder owner(accepted);
  CHECK(host.receive_unvalidated(kept, owner, SctpHost::PeerStays::if_associated, true, std::nullopt,
                                 completing, 1500) == sctp::UnvalidatedOutcome::associated);
  runtime.end_round();
  runtime.poll();
  CHECK(accepted == 1);
  CHECK(host.counters().associations_accepted == 1);
  host.remove_peer(kept);
}

}  // namespace
}  // namespace hoplink::transport
