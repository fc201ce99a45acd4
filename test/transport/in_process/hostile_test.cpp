// Strangers on the bridge's UDP port, on simulated time: floods of handshakes from forged source addresses
// get answers no larger than what they sent, leave no state behind, and do not lock real clients out; the
// handshake rate limits bite and say so.
#include <catch2/catch.hpp>

#include "harness.hpp"
#include "sctp/crc32c.hpp"
#include "sctp/packet.hpp"
#include "transports/sctp_transport.hpp"

using namespace hoplink;
using namespace hoplink::transport;
using namespace hoplink::transport::in_process;

namespace {

// The i-th forged source: 127.x.y.z from 127.1.0.0 up, in as many /24s as there are 256-address blocks.
PeerAddress forged(std::size_t i) {
  return PeerAddress::v4({127, static_cast<std::uint8_t>(1 + i / 65536),
                          static_cast<std::uint8_t>(i / 256 % 256), static_cast<std::uint8_t>(i % 256)},
                         static_cast<std::uint16_t>(20000 + i % 20000));
}

bool is_forged(const PeerAddress& address) {
  return address.family() == PeerAddress::Family::v4 && address.address_bytes()[1] != 0;
}

// Counts what the network carries to and from the forged sources, and keeps the first datagram the real
// client sends to the bridge (its INIT, or its ClientHello): what a forger would replay.
struct FloodMeter {
  explicit FloodMeter(InProcess& p) {
    p.network.set_filter(
        [this, &p](const PeerAddress& from, const PeerAddress& to, std::span<const std::byte> b) {
          if (is_forged(from)) {
            bytes_in += b.size();
            ++datagrams_in;
          } else if (is_forged(to)) {
            bytes_out += b.size();
            ++datagrams_out;
          } else if (to == p.bridge && first_from_client.empty()) {
            first_from_client.assign(b.begin(), b.end());
          }
          return true;
        });
  }
  std::uint64_t bytes_in = 0, bytes_out = 0, datagrams_in = 0, datagrams_out = 0;
  std::vector<std::byte> first_from_client;
};

// `count` datagrams from as many forged sources, `per_tick` every 10 ms of simulated time (100 per tick is
// 10,000 a second). Between ticks the App runs, so that its receive queue never overflows.
void flood(InProcess& p, std::span<const std::byte> datagram, std::size_t count, std::size_t per_tick = 100,
           std::size_t first = 0) {
  for (std::size_t i = 0; i < count; ++i) {
    p.network.inject(forged(first + i), p.bridge, datagram);
    if ((i + 1) % per_tick == 0) p.run_for(10ms);
  }
  p.run_for(10ms);
}

// Opens a link and carries a few bytes each way: the proof that the bridge still serves real clients.
bool link_works(InProcess& p, Duration limit) {
  auto& client = p.connect();
  client.write(pattern(1000, 1));
  const std::size_t index = p.orport_connections().size();
  if (!p.run_until([&] { return p.orport_connections().size() > index; }, limit)) return false;
  auto& orport = *p.orport_connections()[index];
  orport.write(pattern(1000, 2));
  return p.run_until([&] { return client.received.size() == 1000 && orport.received.size() >= 1000; }, limit);
}

}  // namespace

TEST_CASE("in process sctp: 10000 forged INITs draw at most the bytes they carried and leave no peer") {
  InProcess p("sctp");
  FloodMeter meter(p);
  REQUIRE(link_works(p, 5s));
  REQUIRE(sctp::is_init_packet(meter.first_from_client));
  CHECK(meter.first_from_client.size() >= kMinInitBytes);  // the client padded its INIT
  const auto peers_before = p.status_number("PEERS");
  const auto answered_before = p.status_number("INITS_ANSWERED");  // the real client's INIT

  flood(p, meter.first_from_client, 10000);
  INFO("forged INITs: " << meter.datagrams_in << " datagrams, " << meter.bytes_in << " bytes; answers: "
                        << meter.datagrams_out << " datagrams, " << meter.bytes_out << " bytes");
  CHECK(meter.datagrams_in == 10000);
  CHECK(p.status_number("INITS_ANSWERED") - answered_before == 10000);  // every one answered
  CHECK(meter.datagrams_out == 10000);
  CHECK(meter.bytes_out <= meter.bytes_in);  // amplification <= 1
  CHECK(meter.bytes_out > meter.bytes_in / 10);
  CHECK(p.status_number("PEERS") == peers_before);  // no state for any forged address
  CHECK(p.status_number("REPLIES_OVER_BUDGET") == 0);
  CHECK(link_works(p, 2s));
}

TEST_CASE("in process sctp: an INIT shorter than the minimum gets no answer and no state") {
  InProcess p("sctp");
  FloodMeter meter(p);
  REQUIRE(link_works(p, 5s));
  // The client's INIT without its padding: what an older client, or a forger saving bytes, sends.
  std::vector<std::byte> init = meter.first_from_client;
  init.resize(sctp::strip_init_padding(init, true));
  REQUIRE(init.size() < kMinInitBytes);
  flood(p, init, 1000);
  CHECK(meter.datagrams_out == 0);
  CHECK(p.status_number("DROPPED_SHORT_INIT") == 1000);
  CHECK(p.lines_containing("must be padded to 512 bytes").size() == 1);  // logged once, then counted
}

TEST_CASE("in process sctp: an INIT padded with unknown parameters cannot grow the answer past itself") {
  InProcess p("sctp");
  FloodMeter meter(p);
  REQUIRE(link_works(p, 5s));
  // The client's INIT with its Padding Parameter renamed to another skip-me type (0x8006): the bridge does
  // not strip it, usrsctp copies the whole INIT into its state cookie, and the INIT ACK would be larger
  // than the INIT.
  std::vector<std::byte> init = meter.first_from_client;
  std::vector<std::byte> stripped = init;
  const std::size_t at = sctp::strip_init_padding(stripped, true);
  REQUIRE(at < init.size());
  REQUIRE(std::to_integer<unsigned>(init[at + 1]) == 0x05);
  init[at + 1] = std::byte{0x06};
  sctp::sctp_fill_checksum(init);
  flood(p, init, 100);
  CHECK(p.status_number("REPLIES_OVER_BUDGET") == 100);
  CHECK(meter.datagrams_out == 0);
  CHECK(p.status_number("PEERS") == 2);
}

TEST_CASE("in process sctp: forged COOKIE ECHOs create nothing and draw no answer") {
  InProcess p("sctp");
  std::vector<std::byte> cookie_echo;
  p.network.set_filter([&](const PeerAddress&, const PeerAddress& to, std::span<const std::byte> b) {
    if (to == p.bridge && cookie_echo.empty() && sctp::is_cookie_echo_packet(b))
      cookie_echo.assign(b.begin(), b.end());
    return true;
  });
  REQUIRE(link_works(p, 5s));
  REQUIRE_FALSE(cookie_echo.empty());
  const auto peers_before = p.status_number("PEERS");
  FloodMeter meter(p);
  // The real client's own cookie, replayed from other addresses: signed over the client's token, so it is
  // refused from anywhere else.
  flood(p, cookie_echo, 2000);
  CHECK(meter.datagrams_out == 0);
  CHECK(p.status_number("COOKIES_REFUSED") == 2000);
  CHECK(p.status_number("PEERS") == peers_before);
  CHECK(link_works(p, 2s));
}

TEST_CASE("in process sctp: a flood from more sources than any table holds does not lock a client out") {
  // 20000 sources: more than --max-peers (1000 here) and than the limiter's prefix slots (4096), 10000 INITs
  // a second (96 Mbit/s of padded INITs).
  InProcess p("sctp", [](Options& o) { o.transports.max_peers = 1000; });
  FloodMeter meter(p);
  REQUIRE(link_works(p, 5s));
  const auto init = meter.first_from_client;
  flood(p, init, 10000);  // one second of flood, then a client while the flood goes on
  auto& client = p.connect();
  client.write(pattern(1000, 3));
  const auto start = p.runtime.now();
  const std::size_t index = p.orport_connections().size();
  for (std::size_t i = 10000; i < 30000 && p.orport_connections().size() == index; i += 100) {
    flood(p, init, 100, 100, i);
  }
  REQUIRE(p.orport_connections().size() > index);
  const auto waited = p.runtime.now() - start;
  INFO("the link opened after " << std::chrono::duration<double>(waited).count() << " s of flood");
  CHECK(waited <= 2s);
  CHECK(p.status_number("PEERS") <= 3);
  CHECK(meter.bytes_out <= meter.bytes_in);
}

TEST_CASE("in process sctp: --answer-rate caps the answers to unvalidated addresses and says so") {
  InProcess p("sctp", [](Options& o) { o.transports.limits.answers_per_second = 1000; });
  FloodMeter meter(p);
  REQUIRE(link_works(p, 5s));
  flood(p, meter.first_from_client, 3000);  // 0.3 s at 10000 a second: 1000 (the burst) + about 300
  CHECK(meter.datagrams_out >= 1200);
  CHECK(meter.datagrams_out <= 1400);
  CHECK(p.status_number("ANSWERS_LIMITED") == 3000 - meter.datagrams_out);
  CHECK(p.lines_containing("handshake rate limits refused").size() == 1);  // at most one line per 10 s
}

TEST_CASE("in process sctp: new links over the per-prefix rate are refused and counted") {
  InProcess p("sctp", [](Options& o) {
    o.transports.limits.handshakes_per_prefix_second = 3;
    o.link.connect_timeout = std::chrono::milliseconds(3000);
  });
  // Ten links at once from 127.0.0.1: three fit in the prefix's second, the others are aborted.
  std::vector<TcpPeer*> clients;
  for (int i = 0; i < 10; ++i) clients.push_back(&p.connect());
  p.run_for(500ms);
  CHECK(p.orport_connections().size() == 3);
  CHECK(p.status_number("HANDSHAKES_PREFIX_LIMITED") == 7);
  CHECK(p.status_number("HANDSHAKES_LIMITED") == 0);
  CHECK(p.lines_containing("over the per-prefix rate").size() == 1);  // at most one line per 10 s
}

TEST_CASE(
    "in process dtls: 10000 forged ClientHellos draw at most the bytes they carried and leave no state") {
  InProcess p("dtls");
  FloodMeter meter(p);
  REQUIRE(link_works(p, 5s));
  REQUIRE_FALSE(meter.first_from_client.empty());
  const auto peers_before = p.status_number("PEERS");
  flood(p, meter.first_from_client, 10000);
  INFO("forged ClientHellos: " << meter.bytes_in << " bytes; answers: " << meter.datagrams_out
                               << " datagrams, " << meter.bytes_out << " bytes");
  CHECK(meter.datagrams_out == 10000);  // a HelloVerifyRequest each
  CHECK(meter.bytes_out <= meter.bytes_in);
  CHECK(p.status_number("PEERS") == peers_before);
  CHECK(p.status_number("DTLS_HALF_OPEN") == 0);
  CHECK(link_works(p, 2s));
}

TEST_CASE("in process sctp: new links over the overall rate are refused and counted") {
  InProcess p("sctp", [](Options& o) {
    o.transports.limits.handshakes_per_second = 4;
    o.transports.limits.handshakes_per_prefix_second = 0;
  });
  for (int i = 0; i < 10; ++i) p.connect();
  p.run_for(500ms);
  CHECK(p.orport_connections().size() == 4);
  CHECK(p.status_number("HANDSHAKES_LIMITED") == 6);
  CHECK(p.status_number("HANDSHAKES_PREFIX_LIMITED") == 0);
}

TEST_CASE("in process dtls: handshakes over the per-prefix rate wait for the client's retransmission") {
  // DTLS ignores the ClientHello that is over the rate; the client sends it again (1 s, 2 s, ...), so every
  // link opens, the later ones a few seconds late, and no signature is spent on the refused ones.
  InProcess p("dtls", [](Options& o) { o.transports.limits.handshakes_per_prefix_second = 2; });
  for (int i = 0; i < 5; ++i) p.connect();
  p.run_for(500ms);
  CHECK(p.orport_connections().size() == 2);
  CHECK(p.status_number("HANDSHAKES_PREFIX_LIMITED") == 3);
  CHECK(p.run_until([&] { return p.orport_connections().size() == 5; }, 10s));
  CHECK(p.lines_containing("over the per-prefix rate").size() == 1);
}
