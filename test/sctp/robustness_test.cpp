// Corruption, garbage, loss and backpressure.
#include <algorithm>
#include <catch2/catch.hpp>
#include <optional>
#include <random>

#include "harness.hpp"
#include "sctp/crc32c.hpp"
#include "usrsctp_library.hpp"

using namespace std::chrono_literals;

namespace hoplink::sctp::test {
namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

TEST_CASE("a corrupted packet is dropped and counted, and the link still works", "[sctp][robust]") {
  auto& h = Harness::instance();
  h.reset();
  int corrupted = 0;
  h.impair = [&](bool to_server, Packet& p) {
    // Flip one bit in every 50th data-carrying packet to the server.
    static int n = 0;
    if (to_server && p.size() > 100 && ++n % 50 == 0) {
      p[p.size() / 2] ^= std::byte{0x10};
      ++corrupted;
    }
    return Verdict::deliver;
  };
  const auto before = h.stack().counters().dropped_bad_checksum;
  auto client = h.connect();
  client->to_send = 2 * kMiB;
  REQUIRE(h.run_until([&] { return h.accepted.size() == 1 && h.accepted[0]->received == 2 * kMiB; }, 30s));
  CHECK(h.accepted[0]->content_ok);
  CHECK(corrupted > 0);
  CHECK(h.stack().counters().dropped_bad_checksum - before == static_cast<std::uint64_t>(corrupted));
}

TEST_CASE("garbage packets of random lengths never crash", "[sctp][robust]") {
  auto& h = Harness::instance();
  h.reset();
  auto client = h.connect();
  REQUIRE(h.run_until([&] { return client->connected && h.accepted.size() == 1; }, 5s));
  std::mt19937 rng(1234);
  const auto before = h.stack().counters();
  int valid_checksum = 0;
  for (int i = 0; i < 20000; ++i) {
    Packet p(rng() % 1500);
    for (auto& b : p) b = static_cast<std::byte>(rng());
    if (p.size() >= 12 && i % 2 == 0) {
      // Aim at the live association's ports with a random tag and chunks, and a valid checksum, so that
      // usrsctp's parser sees it.
      p[0] = std::byte{0x13};
      p[1] = std::byte{0x88};  // source port 5000
      sctp_fill_checksum(p);
      ++valid_checksum;
    }
    const PeerToken from =
        (i % 3 == 0) ? h.server_peer() : (i % 3 == 1 ? h.client_peer() : PeerToken{999999});
    h.stack().receive_packet(from, p);
    if (i % 100 == 0) h.pump();
  }
  const auto after = h.stack().counters();
  CHECK(after.dropped_unknown_peer > before.dropped_unknown_peer);
  CHECK(after.dropped_malformed > before.dropped_malformed);
  CHECK(after.dropped_bad_checksum > before.dropped_bad_checksum);
  CHECK(valid_checksum > 0);
  // The link survives (or, if a random packet happened to abort it, the stack still accepts new ones).
  if (!client->closed) {
    client->to_send = 1 * kMiB;
    client->push();
    REQUIRE(h.run_until([&] { return h.accepted[0]->received == 1 * kMiB || client->closed; }, 10s));
  }
  auto fresh = h.connect();
  REQUIRE(h.run_until([&] { return fresh->connected; }, 5s));
}

TEST_CASE("5% random loss still delivers 5 MB intact", "[sctp][robust]") {
  auto& h = Harness::instance();
  h.reset();
  std::mt19937 rng(42);
  h.impair = [&](bool, Packet&) { return rng() % 100 < 5 ? Verdict::drop : Verdict::deliver; };
  h.configure_accepted = [](Endpoint& e) {
    e.to_send = 5 * kMiB;
    e.send_seed = 4;
  };
  auto client = h.connect();
  client->to_send = 5 * kMiB;
  client->receive_seed = 4;
  REQUIRE(h.run_until(
      [&] {
        if (h.accepted.size() != 1) return false;
        h.accepted[0]->push();
        return h.accepted[0]->received == 5 * kMiB && client->received == 5 * kMiB;
      },
      600s, 5ms));
  CHECK(h.accepted[0]->content_ok);
  CHECK(client->content_ok);
  CHECK(h.dropped > 0);
}

TEST_CASE("bursts of 300 lost packets towards the receiver do not kill the association", "[sctp][robust]") {
  // Three bursts, each of up to 300 consecutive data packets lost within 50 ms (a queue on the path
  // overflowing), while 4 MB are sent. (The integration test of the same name, through a real UDP relay,
  // is the one that catches usrsctp's per-chunk retransmission limit.)
  auto& h = Harness::instance();
  h.reset();
  int data_packets = 0;
  int dropped = 0;
  int bursts = 0;
  int burst_left = 0;
  Clock::time_point burst_start;
  h.impair = [&](bool to_server, Packet& p) {
    if (!to_server || p.size() < 1000) return Verdict::deliver;
    if (++data_packets % 1000 == 200 && bursts < 3) {
      ++bursts;
      burst_left = 300;
      burst_start = h.now();
    }
    if (burst_left > 0 && h.now() - burst_start < 50ms) {
      --burst_left;
      ++dropped;
      return Verdict::drop;
    }
    burst_left = 0;
    return Verdict::deliver;
  };
  auto client = h.connect();
  client->to_send = 4 * kMiB;
  // usrsctp reads the harness's fake clock (patch 0002), so retransmission ages and timers agree.
  const bool done =
      h.run_until([&] { return h.accepted.size() == 1 && h.accepted[0]->received == 4 * kMiB; }, 20s);
  INFO("sent " << client->sent << " received " << (h.accepted.empty() ? 0 : h.accepted[0]->received)
               << " dropped " << dropped << " in " << bursts << " bursts, client closed "
               << (client->closed ? std::string(to_string(*client->closed)) : std::string("no")));
  REQUIRE(done);
  CHECK(bursts == 3);
  // Everything sent during 50 ms: a paced sender (bbr) puts ~60 packets there, an unpaced one its window.
  CHECK(dropped > 3 * 40);
  CHECK_FALSE(client->closed.has_value());
  CHECK(h.accepted[0]->content_ok);
}

TEST_CASE("backpressure: a reader that stops reading stops the writer, resuming completes",
          "[sctp][robust]") {
  auto& h = Harness::instance();
  h.reset();
  h.configure_accepted = [](Endpoint& e) { e.reading = false; };
  AssociationConfig config;
  auto client = h.connect(config);
  client->to_send = 20 * kMiB;
  REQUIRE(h.run_until([&] { return h.accepted.size() == 1; }, 5s));
  // The writer stops once both buffers are full; window probes may still move a few chunks before that.
  std::uint64_t stalled_at = client->sent;
  for (int i = 0; i < 10; ++i) {
    h.run_until([] { return false; }, 2s);
    if (client->sent == stalled_at) break;
    stalled_at = client->sent;
  }
  h.run_until([] { return false; }, 2s);
  CHECK(client->sent == stalled_at);
  CHECK(client->zero_sends > 0);
  // Bounded by the sender's buffer plus the receiver's window (plus one message of slack).
  CHECK(stalled_at <= config.send_buffer + AssociationConfig{}.receive_buffer + 128 * 1024);
  CHECK(client->association->buffered_amount() <= config.send_buffer);
  CHECK(client->association->buffered_amount() > 0);
  auto& server = *h.accepted[0];
  server.reading = true;
  server.drain();
  REQUIRE(h.run_until([&] { return server.received == 20 * kMiB; }, 60s));
  CHECK(server.content_ok);
  CHECK(client->writable_calls > 0);
}

// usrsctp 0.9.5.0 walked the parameters of an INIT for an existing association by their length fields alone,
// and a length of 0 kept it on the same parameter for ever: one packet from any peer with an association hung
// the process (found by fuzz_sctp_transport; usrsctp patch 0009).
TEST_CASE("an INIT for an open association with a parameter of length 0 is refused and the association lives",
          "[sctp][robust]") {
  auto& h = Harness::instance();
  Pair p = open_pair(h);
  std::optional<std::uint16_t> client_port;
  h.impair = [&](bool to_server, Packet& packet) {
    if (to_server && packet.size() >= 12)
      client_port =
          static_cast<std::uint16_t>(std::to_integer<int>(packet[0]) << 8 | std::to_integer<int>(packet[1]));
    return Verdict::deliver;
  };
  p.client->to_send = 1000;
  p.client->push();
  REQUIRE(h.run_until([&] { return p.server->received == 1000; }, 2s));
  REQUIRE(client_port.has_value());
  h.impair = nullptr;

  // Common header (the client's ports, tag 0 as an INIT's), an INIT chunk of 24 bytes: its fixed part (tag,
  // a_rwnd, streams, TSN all valid) and a Supported Address Types parameter whose length field is 0.
  Packet init(12 + 24);
  const auto put16 = [&init](std::size_t at, std::uint16_t v) {
    init[at] = std::byte(v >> 8);
    init[at + 1] = std::byte(v & 0xff);
  };
  put16(0, *client_port);
  put16(2, AssociationConfig{}.remote_port);
  init[12] = std::byte{1};
  put16(14, 24);
  put16(16, 0x0102);  // initiate tag 0x01020304
  put16(18, 0x0304);
  put16(20, 1);  // a_rwnd 65536
  put16(24, 1);  // outbound streams
  put16(26, 1);  // inbound streams
  put16(30, 1);  // initial TSN
  put16(32, 0x000c);
  put16(34, 0);
  sctp_fill_checksum(init);
  const auto before = h.stack().counters().packets_in;
  h.stack().receive_packet(h.server_peer(), init);  // returned at all: no endless loop
  h.stack().dispatch_events();
  CHECK(h.stack().counters().packets_in == before + 1);
  // The ABORT usrsctp answers with carries the INIT's tag, which the client does not know: both ends go on.
  p.client->to_send += 100'000;
  p.client->push();
  REQUIRE(h.run_until([&] { return p.server->received == 101'000; }, 5s));
  CHECK_FALSE(p.client->closed.has_value());
  CHECK_FALSE(p.server->closed.has_value());
  CHECK(p.server->content_ok);
}

TEST_CASE("checksums match what usrsctp writes with offload off", "[sctp][robust][crc32c]") {
  auto& h = Harness::instance();
  h.reset();
  const PeerToken client_side = h.stack().register_peer(false);
  const PeerToken server_side = h.stack().register_peer(false);
  h.add_route(client_side, server_side);
  int checked = 0;
  bool all_valid = true;
  bool all_same = true;
  h.impair = [&](bool, Packet& p) {
    // usrsctp filled the checksum (offload off, and we leave non-CRC peers alone): ours must agree.
    if (!sctp_checksum_valid(p)) all_valid = false;
    Packet ours = p;
    sctp_fill_checksum(ours);
    if (ours != p) all_same = false;
    ++checked;
    return Verdict::deliver;
  };
  detail::library_set_crc32c_offload(false);
  auto client = h.connect({}, client_side);
  client->to_send = 256 * 1024;
  const bool done =
      h.run_until([&] { return h.accepted.size() == 1 && h.accepted[0]->received == 256 * 1024; }, 10s);
  detail::library_set_crc32c_offload(true);
  REQUIRE(done);
  CHECK(checked > 10);
  CHECK(all_valid);
  CHECK(all_same);
  client.reset();
  h.reset();
  h.stack().unregister_peer(client_side);
  h.stack().unregister_peer(server_side);
}

TEST_CASE("a peer's own accepted-association settings override the listener's (a smaller MTU)",
          "[sctp][robust][mtu]") {
  // Two transports share the one Stack and its listener: the dtls transport's peers need packets small enough
  // for a DTLS record, whatever MTU the sctp transport's listener was configured with.
  auto& h = Harness::instance();
  h.reset();
  AssociationConfig small;
  small.mtu = 700;
  const PeerToken client_side = h.stack().register_peer(false);
  const PeerToken server_side = h.stack().register_peer(false, small);
  h.add_route(client_side, server_side);
  std::size_t largest_to_client = 0;
  h.impair = [&](bool to_server, Packet& p) {
    if (!to_server) largest_to_client = std::max(largest_to_client, p.size());
    return Verdict::deliver;
  };
  h.configure_accepted = [](Endpoint& e) { e.to_send = 512 * 1024; };
  auto client = h.connect({}, client_side);
  REQUIRE(h.run_until([&] { return h.accepted.size() == 1; }, 5s));
  h.accepted[0]->push();  // accepted associations are open at once: nothing else starts their sending
  REQUIRE(h.run_until([&] { return client->received == 512 * 1024; }, 10s));
  CHECK(client->content_ok);
  CHECK(largest_to_client > 600);
  CHECK(largest_to_client <= small.mtu);
  client.reset();
  h.reset();
  h.stack().unregister_peer(client_side);
  h.stack().unregister_peer(server_side);
}

}  // namespace
}  // namespace hoplink::sctp::test
