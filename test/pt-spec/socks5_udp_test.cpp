#include "pt/socks5_udp.hpp"

#include <catch2/catch.hpp>

#include "test_bytes.hpp"

using namespace hoplink;
using namespace hoplink::pt;
using namespace hoplink::pt::test;
using Status = Socks5UdpAssociate::Status;

namespace {

const PeerAddress kAnyV4 = PeerAddress::v4({0, 0, 0, 0}, 0);
// The UDP ASSOCIATE request for 0.0.0.0:0.
const auto kRequestAny = bytes({0x05, 0x03, 0x00, 0x01, 0, 0, 0, 0, 0, 0});
// Success, relay at 127.0.0.1:40000.
const auto kReplyV4 = bytes({0x05, 0x00, 0x00, 0x01, 127, 0, 0, 1, 0x9c, 0x40});

std::vector<std::byte> concat(std::initializer_list<std::vector<std::byte>> parts) {
  std::vector<std::byte> out;
  for (const auto& part : parts) append(out, part);
  return out;
}

}  // namespace

TEST_CASE("UDP ASSOCIATE without authentication, replies in one piece each") {
  Socks5UdpAssociate client("", "", kAnyV4);
  std::vector<std::byte> out;
  REQUIRE(client.start(out) == Status::need_more);
  CHECK(out == bytes({0x05, 0x01, 0x00}));
  out.clear();
  REQUIRE(client.receive(bytes({0x05, 0x00}), out) == Status::need_more);
  CHECK(out == kRequestAny);
  out.clear();
  REQUIRE(client.receive(kReplyV4, out) == Status::done);
  CHECK(out.empty());
  CHECK(client.relay() == *PeerAddress::parse("127.0.0.1:40000"));
}

TEST_CASE("UDP ASSOCIATE with username/password, byte at a time, IPv6 relay") {
  Socks5UdpAssociate client("alice", "s3cret", *PeerAddress::parse("10.0.0.2:5555"));
  std::vector<std::byte> out;
  client.start(out);
  CHECK(out == bytes({0x05, 0x01, 0x02}));
  out.clear();
  auto input =
      concat({bytes({0x05, 0x02}), bytes({0x01, 0x00}),
              bytes({0x05, 0x00, 0x00, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x12, 0x34})});
  Status status = Status::need_more;
  for (const auto byte : input) status = client.receive(std::span(&byte, 1), out);
  REQUIRE(status == Status::done);
  CHECK(out == concat({bytes({0x01, 5}), bytes_of("alice"), bytes({6}), bytes_of("s3cret"),
                       bytes({0x05, 0x03, 0x00, 0x01, 10, 0, 0, 2, 0x15, 0xb3})}));
  CHECK(client.relay() == *PeerAddress::parse("[::1]:4660"));
}

TEST_CASE("UDP ASSOCIATE failures say why") {
  std::vector<std::byte> out;
  SECTION("the proxy wants authentication we do not have") {
    Socks5UdpAssociate client("", "", kAnyV4);
    client.start(out);
    CHECK(client.receive(bytes({0x05, 0xff}), out) == Status::failed);
    CHECK_THAT(client.error(), Catch::Contains("requires authentication"));
  }
  SECTION("wrong password") {
    Socks5UdpAssociate client("u", "p", kAnyV4);
    client.start(out);
    CHECK(client.receive(bytes({0x05, 0x02, 0x01, 0x01}), out) == Status::failed);
    CHECK_THAT(client.error(), Catch::Contains("rejected the username/password"));
  }
  SECTION("the proxy does not do UDP") {
    Socks5UdpAssociate client("", "", kAnyV4);
    client.start(out);
    CHECK(client.receive(bytes({0x05, 0x00, 0x05, 0x07, 0x00, 0x01, 0, 0, 0, 0, 0, 0}), out) ==
          Status::failed);
    CHECK_THAT(client.error(), Catch::Contains("command not supported"));
  }
  SECTION("not SOCKS5 at all") {
    Socks5UdpAssociate client("", "", kAnyV4);
    client.start(out);
    CHECK(client.receive(bytes_of("HTTP/1.1 400 Bad Request\r\n"), out) == Status::failed);
  }
  SECTION("a method we did not offer") {
    Socks5UdpAssociate client("", "", kAnyV4);
    client.start(out);
    CHECK(client.receive(bytes({0x05, 0x02}), out) == Status::failed);
  }
  SECTION("relay given as a host name") {
    Socks5UdpAssociate client("", "", kAnyV4);
    client.start(out);
    auto reply = concat({bytes({0x05, 0x00, 0x05, 0x00, 0x00, 0x03, 4}), bytes_of("host"), bytes({0, 80})});
    CHECK(client.receive(reply, out) == Status::failed);
    CHECK_THAT(client.error(), Catch::Contains("host name"));
  }
  SECTION("bytes after the reply") {
    Socks5UdpAssociate client("", "", kAnyV4);
    client.start(out);
    CHECK(client.receive(concat({bytes({0x05, 0x00}), kReplyV4, bytes({0})}), out) == Status::failed);
  }
  SECTION("over-long credentials") {
    Socks5UdpAssociate client(std::string(256, 'u'), "p", kAnyV4);
    CHECK(client.start(out) == Status::failed);
    CHECK(out.empty());
  }
}

TEST_CASE("UDP request header round trip, IPv4 and IPv6") {
  for (const char* text : {"192.0.2.1:443", "[2001:db8::7]:65535"}) {
    const auto destination = *PeerAddress::parse(text);
    std::array<std::byte, 64> buffer{};
    const auto size = write_socks5_udp_header(destination, buffer);
    REQUIRE(size == socks5_udp_header_size(destination));
    buffer[size] = std::byte{0xab};
    const auto parsed = parse_socks5_udp_datagram(std::span(buffer.data(), size + 1));
    REQUIRE(parsed);
    CHECK(parsed->source == destination);
    REQUIRE(parsed->payload.size() == 1);
    CHECK(parsed->payload[0] == std::byte{0xab});
  }
  std::array<std::byte, 9> small{};
  CHECK(write_socks5_udp_header(*PeerAddress::parse("192.0.2.1:1"), small) == 0);
  CHECK(write_socks5_udp_header(PeerAddress{}, std::span<std::byte>()) == 0);
}

TEST_CASE("UDP datagrams the relay may send that are not for us") {
  // A relayed datagram from 192.0.2.1:443 carrying "x".
  CHECK(parse_socks5_udp_datagram(bytes({0, 0, 0, 1, 192, 0, 2, 1, 1, 0xbb, 'x'})));
  CHECK_FALSE(parse_socks5_udp_datagram(bytes({0, 0, 1, 1, 192, 0, 2, 1, 1, 0xbb, 'x'})));  // fragment
  CHECK_FALSE(parse_socks5_udp_datagram(bytes({0, 0, 0, 3, 1, 'h', 0, 80})));               // host name
  CHECK_FALSE(parse_socks5_udp_datagram(bytes({0, 0, 0, 9, 1, 2, 3, 4, 0, 80})));           // bad ATYP
  CHECK_FALSE(parse_socks5_udp_datagram(bytes({0, 0, 0, 1, 192, 0, 2})));                   // short
  CHECK_FALSE(parse_socks5_udp_datagram({}));
  // An empty payload is a valid (if useless) datagram.
  const auto empty = parse_socks5_udp_datagram(bytes({0, 0, 0, 1, 192, 0, 2, 1, 0, 1}));
  REQUIRE(empty);
  CHECK(empty->payload.empty());
}
