// The bridge's UDP port faces the Internet; the client faces bridges that may be gone. Neither may hang or
// die on what arrives (or does not).
#include <catch2/catch.hpp>
#include <random>

#include "bridge_pair.hpp"
#include "dtls_record.hpp"
#include "sctp_packet.hpp"
#include "timeouts.hpp"

using namespace hoplink::itest;
using namespace std::chrono_literals;

namespace {

using Bytes = std::vector<std::uint8_t>;

std::vector<std::pair<std::string, Bytes>> garbage_datagrams(std::uint16_t bridge_port) {
  std::mt19937 rng(99);
  auto random_bytes = [&](std::size_t n) {
    Bytes b(n);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    return b;
  };
  std::vector<std::pair<std::string, Bytes>> out{
      {"empty datagram", {}},
      {"1 byte", {0x01}},
      {"11 bytes: a truncated common header", Bytes(11, 0x42)},
      {"common header only, bad CRC", sctp_packet(5000, 5000, 0, {}, true)},
      {"common header only, good CRC", sctp_packet(5000, 5000, 0, {})},
      {"INIT with a bad CRC", sctp_packet(5000, 5000, 0, {sctp_init_chunk(0x1234)}, true)},
      {"INIT with a bad CRC to the UDP port number",
       sctp_packet(bridge_port, bridge_port, 0, {sctp_init_chunk(7)}, true)},
      {"DATA for no association, good CRC",
       sctp_packet(5000, 5000, 0xdeadbeef, {{kSctpData, 3, random_bytes(40)}})},
      {"ABORT for no association, good CRC", sctp_packet(5000, 5000, 0xdeadbeef, {{kSctpAbort, 0, {}}})},
      {"COOKIE ECHO with a forged cookie, good CRC",
       sctp_packet(5000, 5000, 0x1111, {{kSctpCookieEcho, 0, random_bytes(200)}})},
  };
  // Chunk lengths that lie: 0 (a parser that trusts it loops forever) and past the end of the packet.
  auto zero_len = sctp_packet(5000, 5000, 0, {{kSctpData, 0, random_bytes(16)}});
  zero_len[14] = zero_len[15] = 0;
  out.emplace_back("chunk length 0", zero_len);
  auto long_len = sctp_packet(5000, 5000, 0, {{kSctpInit, 0, random_bytes(16)}});
  long_len[14] = 0x40;
  out.emplace_back("chunk length past the end", long_len);
  for (std::size_t n : {12u, 100u, 1200u, 9000u, 65000u})
    out.emplace_back(std::to_string(n) + " random bytes", random_bytes(n));
  // DTLS-shaped: record headers that promise a ClientHello, application data or an alert, with lengths that
  // lie and bodies that are noise.
  auto record = [&](std::uint8_t type, std::uint16_t epoch, std::size_t claimed, std::size_t actual) {
    Bytes b{
        type, 0xfe, 0xfd, static_cast<std::uint8_t>(epoch >> 8),   static_cast<std::uint8_t>(epoch),  0, 0, 0,
        0,    0,    1,    static_cast<std::uint8_t>(claimed >> 8), static_cast<std::uint8_t>(claimed)};
    auto body = random_bytes(actual);
    if (type == kDtlsHandshake && !body.empty()) body[0] = kDtlsClientHello;
    b.insert(b.end(), body.begin(), body.end());
    return b;
  };
  out.emplace_back("DTLS ClientHello header only", record(kDtlsHandshake, 0, 0, 0));
  out.emplace_back("DTLS ClientHello, noise body", record(kDtlsHandshake, 0, 180, 180));
  out.emplace_back("DTLS ClientHello, length past the end", record(kDtlsHandshake, 0, 4000, 100));
  out.emplace_back("DTLS application data at epoch 1", record(23, 1, 1100, 1100));
  out.emplace_back("DTLS alert at epoch 0", record(21, 0, 2, 2));
  out.emplace_back("DTLS change_cipher_spec", record(20, 0, 1, 1));
  return out;
}

void garbage_does_not_stop_the_bridge(const std::string& transport) {
  BridgePair pair(over(transport));
  INFO(pair.describe());
  auto shapes = garbage_datagrams(pair.bridge().port);
  for (int sender = 0; sender < 3; ++sender) {  // several source addresses, each a new "peer"
    Fd udp = udp_bind();
    for (const auto& [name, bytes] : shapes) send_datagram(udp.get(), pair.bridge(), bytes);
  }
  // A burst from one more source.
  Fd burst = udp_bind();
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    Bytes b(rng() % 1400);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    send_datagram(burst.get(), pair.bridge(), b);
  }
  REQUIRE(pair.server_process().running());
  auto result = pair.link({.seed = 1, .up = 1'000'000, .down = 1'000'000}, timeouts::kSmallLink);
  INFO(result.describe());
  CHECK(result.ok());
  CHECK(pair.server_process().running());
  CHECK(stdout_protocol_problems(pair.server_process()) == "");
}

}  // namespace

TEST_CASE("garbage datagrams at the bridge's UDP port do not stop it serving", "[bridge][errors]") {
  garbage_does_not_stop_the_bridge("sctp");
}

TEST_CASE("dtls: garbage datagrams at the bridge's UDP port do not stop it serving",
          "[bridge][errors][dtls]") {
  garbage_does_not_stop_the_bridge("dtls");
}

TEST_CASE("garbage datagrams from a stranger while a link is up do not disturb that link",
          "[bridge][errors]") {
  // Garbage carries no valid verification tag for the link's association, so the link must not notice.
  auto transport = GENERATE(as<std::string>{}, "sctp", "dtls");
  INFO("transport " << transport);
  BridgePair pair(pair_options(ext_tor(DataMode::echo), {}, {}, transport));
  INFO(pair.describe());
  auto socks =
      socks5_connect(pair.socks_port(), pair.bridge(), pair.bridge_args(), deadline_in(timeouts::kLinkSetup));
  REQUIRE(socks.connected());
  REQUIRE(duplex_pump(socks.fd.get(), {1, 10000}, {1, 10000}, deadline_in(timeouts::kSmallLink)).ok);
  Fd udp = udp_bind();
  for (const auto& [name, bytes] : garbage_datagrams(pair.bridge().port))
    send_datagram(udp.get(), pair.bridge(), bytes);
  CHECK(duplex_pump(socks.fd.get(), {2, 10000}, {2, 10000}, deadline_in(timeouts::kSmallLink)).ok);
  CHECK(pair.server_process().running());
}

TEST_CASE("a valid SCTP INIT from a stranger is answered with INIT-ACK or ABORT", "[bridge][wire]") {
  BridgePair pair;
  INFO(pair.describe());
  Fd udp = udp_bind();
  constexpr std::uint32_t kTag = 0x600df00d;
  // Unpadded, it gets no answer at all: a bridge answers a new address with no more bytes than it sent.
  send_datagram(udp.get(), pair.bridge(), sctp_packet(4242, 5000, 0, {sctp_init_chunk(kTag)}));
  CHECK_FALSE(recv_datagram(udp.get(), deadline_in(1s)));
  // The bridge's SCTP port is internal; whatever it is, RFC 9260 answers an INIT with INIT-ACK (port
  // served) or ABORT (port not served), either with our initiate tag as verification tag.
  const auto init = sctp_packet(4242, 5000, 0, {sctp_init_chunk(kTag, 512)});
  REQUIRE(init.size() == 512);
  send_datagram(udp.get(), pair.bridge(), init);
  Endpoint from;
  auto reply = recv_datagram(udp.get(), deadline_in(5s), &from);
  REQUIRE(reply);
  CHECK(reply->size() <= init.size());
  CHECK(from == pair.bridge());
  auto packet = parse_sctp_packet(*reply);
  REQUIRE(packet);
  CHECK(packet->crc_ok);
  CHECK(packet->vtag == kTag);
  REQUIRE_FALSE(packet->chunks.empty());
  CHECK((packet->chunks[0].type == kSctpInitAck || packet->chunks[0].type == kSctpAbort));
  CHECK(pair.server_process().running());
}

TEST_CASE("a bridge that does not answer: SOCKS failure within the connect timeout", "[client][errors]") {
  TempDir dir;
  auto client = start_managed_client(
      dir, {.transports = "sctp", .extra_env = {}, .args = {"--connect-timeout", "3000"}});
  INFO(client.process->describe());
  constexpr auto kBound = 3000ms + 7000ms;  // the timeout plus slack for a loaded machine

  SECTION("nobody listens on the UDP port") {
    std::uint16_t port;
    {
      Fd probe = udp_bind();
      port = local_port(probe.get());
    }
    auto socks = socks5_connect(client.method.address.port, {"127.0.0.1", port}, {}, deadline_in(30s));
    INFO(socks.describe());
    REQUIRE(socks.reply.has_value());
    CHECK(*socks.reply != kSocksSucceeded);
    CHECK(socks.elapsed < kBound);
  }
  SECTION("a socket swallows every datagram") {
    Fd swallower = udp_bind();
    Endpoint target{"127.0.0.1", local_port(swallower.get())};
    auto socks = socks5_connect(client.method.address.port, target, {}, deadline_in(30s));
    INFO(socks.describe());
    REQUIRE(socks.reply.has_value());
    CHECK(*socks.reply == kSocksTtlExpired);
    CHECK(socks.elapsed < kBound);
    // What the client sent is SCTP in UDP (RFC 6951): an INIT with a correct CRC32c.
    auto first = recv_datagram(swallower.get(), deadline_in(1s));
    REQUIRE(first);
    auto packet = parse_sctp_packet(*first);
    REQUIRE(packet);
    CHECK(packet->crc_ok);
    CHECK(packet->vtag == 0u);
    REQUIRE_FALSE(packet->chunks.empty());
    CHECK(packet->chunks[0].type == kSctpInit);
  }
  CHECK(client.process->running());
}
