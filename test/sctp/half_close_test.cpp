// Half-close (finish_sending): one direction ends in-band while the other keeps flowing, both arrive whole,
// and the association shuts down by itself once both have ended.
#include <catch2/catch.hpp>
#include <random>

#include "harness.hpp"
#include "sctp/crc32c.hpp"
#include "sctp/packet.hpp"

using namespace std::chrono_literals;

namespace hoplink::sctp::test {
namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

// A pair whose two directions carry different patterns.
Pair open_seeded_pair(Harness& h, const AssociationConfig& config = {}) {
  Pair p = open_pair(h, config);
  p.client->send_seed = p.server->receive_seed = 11;
  p.server->send_seed = p.client->receive_seed = 12;
  return p;
}

// Drops `percent` of the packets both ways, reproducibly.
void lose(Harness& h, unsigned percent, std::uint32_t seed) {
  if (percent == 0) return;
  h.impair = [percent, rng = std::mt19937(seed)](bool, Packet&) mutable {
    return rng() % 100 < percent ? Verdict::drop : Verdict::deliver;
  };
}

void check_whole(const Endpoint& a, const Endpoint& b) {
  CHECK(a.closed == CloseReason::shutdown_complete);
  CHECK(b.closed == CloseReason::shutdown_complete);
  CHECK(a.end_of_stream);
  CHECK(b.end_of_stream);
  CHECK(a.received == b.to_send);
  CHECK(b.received == a.to_send);
  // end_of_stream came after the last byte, never before it.
  CHECK(a.received_at_end_of_stream == b.to_send);
  CHECK(b.received_at_end_of_stream == a.to_send);
  CHECK(a.content_ok);
  CHECK(b.content_ok);
}

TEST_CASE("half-close: the other direction keeps flowing after one side finishes", "[sctp][half_close]") {
  auto& h = Harness::instance();
  const bool client_first = GENERATE(true, false);
  const unsigned loss = GENERATE(0u, 3u);
  INFO((client_first ? "client" : "server") << " finishes first, " << loss << "% loss");
  Pair p = open_seeded_pair(h);
  lose(h, loss, 7);
  Endpoint& first = client_first ? *p.client : *p.server;
  Endpoint& second = client_first ? *p.server : *p.client;
  first.to_send = 1 * kMiB;
  first.finish_when_sent = true;
  second.to_send = 6 * kMiB;
  first.push();
  second.push();
  REQUIRE(h.run_until([&] { return second.end_of_stream; }, 120s));
  // The marker arrived while the second direction was still under way: the first side had not yet received
  // all of it. (Not `second.sent`, the bytes its send buffer took: a buffer grown large can take all 6 MiB
  // before the marker arrives, while they are still far from delivered.)
  INFO("the first side had received " << first.received << " bytes when its end reached the second side");
  CHECK(first.received < second.to_send);
  CHECK(second.received == first.to_send);
  CHECK_FALSE(first.closed);
  CHECK(p.client->association->state() == AssociationState::open);
  // send() refuses bytes after finish_sending: the direction has ended.
  CHECK(first.association->send(std::vector<std::byte>(10)) == 0);
  REQUIRE(h.run_until([&] { return second.sent == second.to_send; }, 300s));
  // Not finished yet: the association stays open for the second direction.
  h.run_until([] { return false; }, 200ms);
  CHECK_FALSE(first.closed);
  CHECK_FALSE(second.closed);
  second.finish_when_sent = true;
  second.push();
  REQUIRE(h.run_until([&] { return first.closed && second.closed; }, 120s));
  check_whole(first, second);
  CHECK(h.stack().association_count(h.client_peer()) == 0);
  CHECK(h.stack().association_count(h.server_peer()) == 0);
}

TEST_CASE("half-close: both sides finishing at once cross their SHUTDOWNs and lose nothing",
          "[sctp][half_close]") {
  auto& h = Harness::instance();
  const std::uint64_t size = GENERATE(as<std::uint64_t>{}, 0, 1, 100000, 3 * kMiB);
  const unsigned loss = GENERATE(0u, 3u);
  INFO(size << " bytes each way, " << loss << "% loss");
  Pair p = open_seeded_pair(h);
  lose(h, loss, 9);
  for (Endpoint* e : {p.client.get(), p.server}) {
    e->to_send = size;
    e->finish_when_sent = true;
  }
  p.client->push();
  p.server->push();
  REQUIRE(h.run_until([&] { return p.client->closed && p.server->closed; }, 300s));
  check_whole(*p.client, *p.server);
}

TEST_CASE("half-close: the marker waits for room when the send buffer is full", "[sctp][half_close]") {
  auto& h = Harness::instance();
  AssociationConfig config;
  config.send_buffer = 256 * 1024;
  config.max_window = 0;  // fixed buffers: the send buffer stays small
  Pair p = open_seeded_pair(h, config);
  // The server does not read: the client's buffer fills and stays full.
  p.server->reading = false;
  p.client->to_send = 8 * kMiB;
  p.client->push();
  h.run_until([] { return false; }, 500ms);
  p.client->push();
  REQUIRE(p.client->sent < p.client->to_send);  // the last send() was refused: no room for the marker
  p.client->to_send = p.client->sent;
  p.client->association->finish_sending();
  h.run_until([] { return false; }, 2s);
  CHECK_FALSE(p.server->end_of_stream);
  p.server->reading = true;
  p.server->drain();
  REQUIRE(h.run_until([&] { return p.server->end_of_stream; }, 60s));
  CHECK(p.server->received == p.client->to_send);
  p.server->finish_when_sent = true;
  p.server->push();
  REQUIRE(h.run_until([&] { return p.client->closed && p.server->closed; }, 60s));
  check_whole(*p.client, *p.server);
}

// A peer without half-close ends both directions with a SHUTDOWN after reading our marker.
TEST_CASE("half-close: a peer answering with an SCTP SHUTDOWN still ends in order", "[sctp][half_close]") {
  auto& h = Harness::instance();
  Pair p = open_seeded_pair(h);
  p.client->to_send = 2 * kMiB;
  p.client->finish_when_sent = true;
  p.server->to_send = 3 * kMiB;
  p.server->shutdown_when_sent = true;
  p.client->push();
  p.server->push();
  REQUIRE(h.run_until([&] { return p.client->closed && p.server->closed; }, 120s));
  check_whole(*p.client, *p.server);
}

// Rewrites the PPID of the first fragment of a message (DATA chunk with the B bit) in one packet to the
// end-of-stream marker's: the data that follows it on the stream comes after a marker.
bool forge_marker(Packet& packet) {
  bool changed = false;
  std::size_t at = kCommonHeaderBytes;
  while (at + 16 <= packet.size()) {
    const auto type = std::to_integer<unsigned>(packet[at]);
    const auto flags = std::to_integer<unsigned>(packet[at + 1]);
    const std::size_t length =
        (std::to_integer<std::size_t>(packet[at + 2]) << 8) | std::to_integer<std::size_t>(packet[at + 3]);
    if (length < 4) break;
    if (type == 0 && (flags & 0x02) != 0) {  // DATA, beginning of a message
      for (int i = 0; i < 4; ++i)
        packet[at + 12 + i] = static_cast<std::byte>(kEndOfStreamPpid >> (8 * (3 - i)));
      changed = true;
    }
    at += (length + 3) & ~std::size_t{3};
  }
  if (changed) sctp_fill_checksum(packet);
  return changed;
}

TEST_CASE("half-close: data after the peer's end-of-stream marker aborts the association",
          "[sctp][half_close]") {
  auto& h = Harness::instance();
  Pair p = open_seeded_pair(h);
  int data_packets = 0;
  bool forged = false;
  h.impair = [&](bool to_server, Packet& packet) {
    if (to_server && packet.size() > 1000 && ++data_packets >= 100 && !forged) forged = forge_marker(packet);
    return Verdict::deliver;
  };
  p.client->to_send = 2 * kMiB;
  p.client->push();
  REQUIRE(h.run_until([&] { return p.client->closed && p.server->closed; }, 30s));
  CHECK(forged);
  CHECK(*p.server->closed == CloseReason::protocol_violation);
  CHECK(*p.client->closed == CloseReason::peer_aborted);
  CHECK(p.server->received < p.client->to_send);
  CHECK(p.server->content_ok);
  CHECK(to_string(CloseReason::protocol_violation) == "protocol_violation");
}

// The SCTP teardown after both markers passed both ways: once a packet carrying `chunk_type` is seen, the
// network carries nothing more, either way.
constexpr std::uint8_t kChunkTypeShutdownAck = 8;
constexpr std::uint8_t kChunkTypeShutdownComplete = 14;

TEST_CASE("half-close: a teardown lost for good after both ends were acknowledged is still an orderly end",
          "[sctp][half_close]") {
  auto& h = Harness::instance();
  const std::uint8_t lost = GENERATE(kChunkTypeShutdownAck, kChunkTypeShutdownComplete);
  INFO("the network fails at the first packet with chunk type " << int{lost});
  AssociationConfig config;
  config.dead_peer_timeout = 5s;
  Pair p = open_seeded_pair(h, config);
  bool failed = false;
  h.impair = [&](bool, Packet& packet) {
    failed = failed || contains_chunk(packet, lost);
    return failed ? Verdict::drop : Verdict::deliver;
  };
  p.client->to_send = 200000;
  p.server->to_send = 300000;
  for (Endpoint* e : {p.client.get(), p.server}) {
    e->finish_when_sent = true;
    e->push();
  }
  REQUIRE(h.run_until([&] { return p.client->closed && p.server->closed; }, 120s));
  CHECK(failed);
  // Every byte of both directions was read and acknowledged before the teardown began: nothing was lost,
  // whether the side left waiting timed out or heard an ABORT.
  check_whole(*p.client, *p.server);
  CHECK(h.stack().association_count(h.client_peer()) == 0);
  CHECK(h.stack().association_count(h.server_peer()) == 0);
}

TEST_CASE("half-close: an end that was sent but never acknowledged is no orderly end", "[sctp][half_close]") {
  auto& h = Harness::instance();
  AssociationConfig config;
  config.dead_peer_timeout = 5s;
  Pair p = open_seeded_pair(h, config);
  // The server's direction ends first, and the client reads and acknowledges its marker.
  p.server->finish_when_sent = true;
  p.server->push();
  REQUIRE(h.run_until([&] { return p.client->end_of_stream; }, 5s));
  h.run_until([] { return false; }, 1s);
  // From now on nothing reaches the client: its bytes and its marker go out, no SACK comes back.
  h.impair = [](bool to_server, Packet&) { return to_server ? Verdict::deliver : Verdict::drop; };
  p.client->to_send = 1000;
  p.client->finish_when_sent = true;
  p.client->push();
  REQUIRE(h.run_until([&] { return p.client->closed && p.server->closed; }, 120s));
  // The server has the client's whole stream and its own was acknowledged: an orderly end, though its
  // SHUTDOWN never arrived.
  CHECK(p.server->end_of_stream);
  CHECK(p.server->received == p.client->to_send);
  CHECK(*p.server->closed == CloseReason::shutdown_complete);
  // The client cannot know that its last bytes arrived: sent is not acknowledged.
  CHECK(*p.client->closed == CloseReason::peer_unreachable);
}

}  // namespace
}  // namespace hoplink::sctp::test
