#include "pt/ext_or_client.hpp"

#include <catch2/catch.hpp>
#include <optional>

#include "test_bytes.hpp"

using namespace hoplink::pt;
using namespace hoplink::pt::test;
using Status = ExtOrClient::Status;

namespace {

constexpr std::string_view kServerHashVector =
    "9e221919982a84f75faf60ef926949796268c97833e06960ff265369a90fd6d8";
constexpr std::string_view kClientHashVector =
    "0f368b1bee24aabc54a9114ce06c070f3ed99d0d368f599ccc6dfdc8bf457a62";

template <std::size_t N>
std::array<std::byte, N> filled(int value) {
  std::array<std::byte, N> out;
  out.fill(static_cast<std::byte>(value));
  return out;
}

// The tor side of the exchange, written from the spec independently of ExtOrClient.
struct FakeTor {
  AuthCookie cookie = filled<32>(0x5a);
  Nonce server_nonce = filled<32>(0xa5);

  static std::vector<std::byte> auth_types() { return bytes({0x01, 0x00}); }

  // Given the PT's "01 || ClientNonce", the server hash and nonce.
  std::vector<std::byte> challenge(std::span<const std::byte> pt_hello) const {
    REQUIRE(pt_hello.size() == 33);
    REQUIRE(pt_hello[0] == std::byte{0x01});
    Nonce client_nonce;
    std::copy(pt_hello.begin() + 1, pt_hello.end(), client_nonce.begin());
    std::vector<std::byte> out;
    append(out, ext_or_server_hash(cookie, client_nonce, server_nonce));
    append(out, server_nonce);
    return out;
  }

  bool client_hash_ok(std::span<const std::byte> client_nonce, std::span<const std::byte> hash) const {
    Nonce nonce;
    std::copy(client_nonce.begin(), client_nonce.end(), nonce.begin());
    const auto expected = ext_or_client_hash(cookie, nonce, server_nonce);
    return std::equal(expected.begin(), expected.end(), hash.begin(), hash.end());
  }
};

struct Command {
  std::uint16_t command;
  std::string body;
};

// Parses "u16 cmd, u16 len, body" commands from the PT's output.
std::vector<Command> parse_commands(std::span<const std::byte> in) {
  std::vector<Command> commands;
  while (!in.empty()) {
    REQUIRE(in.size() >= 4);
    const auto cmd =
        static_cast<std::uint16_t>(std::to_integer<int>(in[0]) << 8 | std::to_integer<int>(in[1]));
    const auto len = static_cast<std::size_t>(std::to_integer<int>(in[2]) << 8 | std::to_integer<int>(in[3]));
    REQUIRE(in.size() >= 4 + len);
    std::string body;
    for (const auto byte : in.subspan(4, len)) body.push_back(static_cast<char>(byte));
    commands.push_back({cmd, body});
    in = in.subspan(4 + len);
  }
  return commands;
}

// Runs the exchange up to and including the authentication status; returns the PT's output after
// the client hash (the commands, if any).
struct Exchange {
  FakeTor tor;
  Nonce client_nonce = filled<32>(0x11);
  ExtOrClient client{tor.cookie, client_nonce, "203.0.113.9:51000", "sctp"};
  std::vector<std::byte> out;

  Status authenticate(int status_byte = 0x01) {
    CHECK(client.receive(FakeTor::auth_types(), out) == Status::need_more);
    const auto challenge = tor.challenge(out);
    CHECK(std::equal(out.begin() + 1, out.end(), client_nonce.begin(), client_nonce.end()));
    out.clear();
    CHECK(client.receive(challenge, out) == Status::need_more);
    REQUIRE(out.size() == 32);
    CHECK(tor.client_hash_ok(client_nonce, out));
    out.clear();
    return client.receive(bytes({status_byte}), out);
  }
};

}  // namespace

TEST_CASE("HMAC test vectors from the spec") {
  const AuthCookie cookie{};
  const Nonce zero{};
  CHECK(to_hex(ext_or_server_hash(cookie, zero, zero)) == kServerHashVector);
  CHECK(to_hex(ext_or_client_hash(cookie, zero, zero)) == kClientHashVector);
}

TEST_CASE("the all-zero test vector through ExtOrClient, then the commands and OKAY") {
  ExtOrClient client{AuthCookie{}, Nonce{}, "1.2.3.4:5678", "sctp"};
  std::vector<std::byte> out;
  CHECK(client.receive(bytes({0x01, 0x00}), out) == Status::need_more);
  auto hello = bytes({0x01});
  append(hello, Nonce{});
  CHECK(out == hello);
  out.clear();

  auto challenge = from_hex(kServerHashVector);
  append(challenge, Nonce{});
  CHECK(client.receive(challenge, out) == Status::need_more);
  CHECK(to_hex(out) == kClientHashVector);
  out.clear();

  CHECK(client.receive(bytes({0x01}), out) == Status::need_more);
  CHECK(to_hex(out) ==
        "0001000c312e322e332e343a35363738"  // USERADDR "1.2.3.4:5678"
        "000200047363747000000000");        // TRANSPORT "sctp", DONE
  out.clear();
  CHECK(client.receive(bytes({0x10, 0x00, 0x00, 0x00}), out) == Status::ready);
  CHECK(out.empty());
  CHECK(client.leftover().empty());
}

TEST_CASE("full exchange with a tor that checks the client hash") {
  Exchange exchange;
  REQUIRE(exchange.authenticate() == Status::need_more);
  const auto commands = parse_commands(exchange.out);
  REQUIRE(commands.size() == 3);
  CHECK(commands[0].command == 0x0001);
  CHECK(commands[0].body == "203.0.113.9:51000");
  CHECK(commands[1].command == 0x0002);
  CHECK(commands[1].body == "sctp");
  CHECK(commands[2].command == 0x0000);
  CHECK(commands[2].body.empty());
  exchange.out.clear();

  SECTION("OKAY, and link bytes after it are leftover") {
    auto reply = bytes({0x10, 0x00, 0x00, 0x00});
    append(reply, bytes_of("tor link"));
    CHECK(exchange.client.receive(reply, exchange.out) == Status::ready);
    CHECK(exchange.out.empty());
    CHECK(std::vector<std::byte>(exchange.client.leftover().begin(), exchange.client.leftover().end()) ==
          bytes_of("tor link"));
    CHECK(exchange.client.receive(bytes_of(" bytes"), exchange.out) == Status::ready);
    CHECK(std::vector<std::byte>(exchange.client.leftover().begin(), exchange.client.leftover().end()) ==
          bytes_of("tor link bytes"));
  }
  SECTION("OKAY with a body, byte at a time") {
    const auto reply = bytes({0x10, 0x00, 0x00, 0x02, 0xaa, 0xbb, 0xcc});
    for (std::size_t i = 0; i + 1 < reply.size() - 1; ++i) {
      CHECK(exchange.client.receive(std::span(reply).subspan(i, 1), exchange.out) == Status::need_more);
    }
    CHECK(exchange.client.receive(std::span(reply).subspan(reply.size() - 2), exchange.out) == Status::ready);
    CHECK(std::vector<std::byte>(exchange.client.leftover().begin(), exchange.client.leftover().end()) ==
          bytes({0xcc}));
  }
  SECTION("DENY") {
    CHECK(exchange.client.receive(bytes({0x10, 0x01, 0x00, 0x00}), exchange.out) == Status::denied);
    CHECK(exchange.client.status() == Status::denied);
    CHECK_THAT(exchange.client.error(), Catch::Contains("DENY"));
  }
  SECTION("any other reply command") {
    CHECK(exchange.client.receive(bytes({0x00, 0x01, 0x00, 0x00}), exchange.out) == Status::failed);
    CHECK_FALSE(exchange.client.error().empty());
  }
  CHECK(exchange.out.empty());
}

TEST_CASE("the whole of tor's side byte at a time") {
  FakeTor tor;
  const Nonce client_nonce = filled<32>(0x42);
  ExtOrClient client{tor.cookie, client_nonce, "[::1]:5678", "dtls"};
  std::vector<std::byte> out;
  std::vector<std::byte> from_tor = FakeTor::auth_types();
  auto hello = bytes({0x01});
  append(hello, client_nonce);
  append(from_tor, tor.challenge(hello));
  append(from_tor, bytes({0x01, 0x10, 0x00, 0x00, 0x00, 0x7f}));
  // Every byte up to the last of OKAY is "need more"; the last one arrives together with a link byte.
  for (std::size_t i = 0; i + 2 < from_tor.size(); ++i) {
    REQUIRE(client.receive(std::span(from_tor).subspan(i, 1), out) == Status::need_more);
  }
  CHECK(client.receive(std::span(from_tor).last(2), out) == Status::ready);
  // Nothing of the commands goes out before the status byte, so the output is exactly the three messages.
  REQUIRE(out.size() == 33 + 32 + 4 + 10 + 4 + 4 + 4);
  const auto commands = parse_commands(std::span(out).subspan(65));
  REQUIRE(commands.size() == 3);
  CHECK(commands[0].body == "[::1]:5678");
  CHECK(commands[1].body == "dtls");
  CHECK(std::vector<std::byte>(client.leftover().begin(), client.leftover().end()) == bytes({0x7f}));
}

TEST_CASE("a forged server hash fails and sends nothing further") {
  FakeTor tor;
  ExtOrClient client{tor.cookie, filled<32>(0x11), "1.2.3.4:1", "sctp"};
  std::vector<std::byte> out;
  REQUIRE(client.receive(FakeTor::auth_types(), out) == Status::need_more);
  auto challenge = tor.challenge(out);
  SECTION("one flipped bit in the hash") {
    challenge[31] ^= std::byte{0x01};
  }
  SECTION("a hash made with another cookie") {
    FakeTor impostor;
    impostor.cookie = filled<32>(0x00);
    challenge = impostor.challenge(out);
  }
  out.clear();
  CHECK(client.receive(challenge, out) == Status::failed);
  CHECK(client.error() == "forged server hash");
  CHECK(out.empty());
  CHECK(client.receive(bytes({0x01, 0x10, 0x00, 0x00, 0x00}), out) == Status::failed);
  CHECK(out.empty());
}

TEST_CASE("tor refuses the authentication") {
  Exchange exchange;
  CHECK(exchange.authenticate(0x00) == Status::denied);
  CHECK(exchange.out.empty());
}

TEST_CASE("an unknown authentication status fails") {
  Exchange exchange;
  CHECK(exchange.authenticate(0x02) == Status::failed);
  CHECK(exchange.out.empty());
}

TEST_CASE("auth type lists") {
  ExtOrClient client{AuthCookie{}, Nonce{}, "1.2.3.4:1", "sctp"};
  std::vector<std::byte> out;
  SECTION("SAFE_COOKIE among others is chosen") {
    CHECK(client.receive(bytes({0x03, 0x01, 0x02, 0x00}), out) == Status::need_more);
    CHECK(out.size() == 33);
    CHECK(out[0] == std::byte{0x01});
  }
  SECTION("without SAFE_COOKIE") {
    CHECK(client.receive(bytes({0x02, 0x03, 0x00}), out) == Status::failed);
    CHECK(out.empty());
    CHECK_THAT(client.error(), Catch::Contains("SAFE_COOKIE"));
  }
  SECTION("empty list") {
    CHECK(client.receive(bytes({0x00}), out) == Status::failed);
    CHECK(out.empty());
  }
  SECTION("a terminator past 255 types is too late, in one piece or not") {
    std::vector<std::byte> long_list(300, std::byte{0x01});
    long_list.back() = std::byte{0x00};
    CHECK(client.receive(long_list, out) == Status::failed);
    CHECK(out.empty());
  }
  SECTION("a list that never ends") {
    std::vector<std::byte> endless(256, std::byte{0x01});
    CHECK(client.receive(std::span(endless).first(255), out) == Status::need_more);
    CHECK(client.receive(std::span(endless).last(1), out) == Status::failed);
    CHECK(out.empty());
  }
}

TEST_CASE("empty USERADDR and TRANSPORT are left out") {
  FakeTor tor;
  const Nonce client_nonce = filled<32>(0x01);
  ExtOrClient client{tor.cookie, client_nonce, "", ""};
  std::vector<std::byte> out;
  REQUIRE(client.receive(FakeTor::auth_types(), out) == Status::need_more);
  const auto challenge = tor.challenge(out);
  out.clear();
  REQUIRE(client.receive(challenge, out) == Status::need_more);
  out.clear();
  REQUIRE(client.receive(bytes({0x01}), out) == Status::need_more);
  CHECK(out == bytes({0x00, 0x00, 0x00, 0x00}));
}

TEST_CASE("parse_auth_cookie") {
  const std::string header = "! Extended ORPort Auth Cookie !\x0a";
  REQUIRE(header.size() == 32);
  auto file = bytes_of(header);
  append(file, filled<32>(0x7e));
  const auto cookie = parse_auth_cookie(file);
  REQUIRE(cookie.ok());
  CHECK(*cookie == filled<32>(0x7e));

  CHECK_FALSE(parse_auth_cookie(std::span(file).first(63)).ok());
  auto longer = file;
  longer.push_back(std::byte{0});
  CHECK_FALSE(parse_auth_cookie(longer).ok());
  CHECK_THAT(parse_auth_cookie(longer).error(), Catch::Contains("65"));
  auto wrong = file;
  wrong[2] = std::byte{'e'};
  CHECK_THAT(parse_auth_cookie(wrong).error(), Catch::Contains("header"));
  CHECK_FALSE(parse_auth_cookie({}).ok());
}

TEST_CASE("random_nonce differs between calls") {
  const auto a = random_nonce();
  const auto b = random_nonce();
  CHECK(a != b);
  CHECK(a != Nonce{});
}
