#include "pt/socks5_server.hpp"

#include <catch2/catch.hpp>

#include "test_bytes.hpp"

using namespace hoplink;
using namespace hoplink::pt;
using namespace hoplink::pt::test;
using Status = Socks5Server::Status;

namespace {

const auto kGreetingNoAuth = bytes({0x05, 0x01, 0x00});
const auto kGreetingWithAuth = bytes({0x05, 0x02, 0x00, 0x02});
const auto kConnectV4 = bytes({0x05, 0x01, 0x00, 0x01, 192, 0, 2, 7, 0x01, 0xbb});

std::vector<std::byte> auth(std::string_view uname, std::string_view passwd) {
  auto out = bytes({0x01, static_cast<int>(uname.size())});
  append(out, bytes_of(uname));
  out.push_back(static_cast<std::byte>(passwd.size()));
  append(out, bytes_of(passwd));
  return out;
}

std::vector<std::byte> concat(std::initializer_list<std::vector<std::byte>> parts) {
  std::vector<std::byte> out;
  for (const auto& part : parts) append(out, part);
  return out;
}

// Feeds one byte per call; returns everything the server wrote.
std::vector<std::byte> feed_bytewise(Socks5Server& server, std::span<const std::byte> in) {
  std::vector<std::byte> out;
  for (const auto byte : in) server.receive(std::span(&byte, 1), out);
  return out;
}

}  // namespace

TEST_CASE("no-auth CONNECT to IPv4 in one piece") {
  Socks5Server server;
  std::vector<std::byte> out;
  CHECK(server.receive(concat({kGreetingNoAuth, kConnectV4}), out) == Status::request_ready);
  CHECK(out == bytes({0x05, 0x00}));
  CHECK(server.request().target == *PeerAddress::parse("192.0.2.7:443"));
  CHECK(server.request().args.empty());
  CHECK(server.leftover().empty());
  CHECK(server.status() == Status::request_ready);
}

TEST_CASE("username/password is preferred and carries args, byte-at-a-time") {
  Socks5Server server;
  const auto input =
      concat({kGreetingWithAuth, auth("cert=abc;iat=0", std::string_view("\0", 1)), kConnectV4});
  const auto out = feed_bytewise(server, input);
  REQUIRE(server.status() == Status::request_ready);
  CHECK(out == bytes({0x05, 0x02, 0x01, 0x00}));
  CHECK(server.request().args == Args{{"cert", "abc"}, {"iat", "0"}});
  CHECK(server.request().target == *PeerAddress::parse("192.0.2.7:443"));
}

TEST_CASE("need_more until the request is complete, and replies come as soon as each step completes") {
  Socks5Server server;
  std::vector<std::byte> out;
  CHECK(server.receive(bytes({0x05, 0x02, 0x02}), out) == Status::need_more);
  CHECK(out.empty());
  CHECK(server.receive(bytes({0x00}), out) == Status::need_more);
  CHECK(out == bytes({0x05, 0x02}));
  const auto credentials = auth("a=b", std::string_view("\0", 1));
  CHECK(server.receive(std::span(credentials).first(credentials.size() - 1), out) == Status::need_more);
  CHECK(out.size() == 2);
  CHECK(server.receive(std::span(credentials).last(1), out) == Status::need_more);
  CHECK(out == bytes({0x05, 0x02, 0x01, 0x00}));
  CHECK(server.receive(std::span(kConnectV4).first(9), out) == Status::need_more);
  CHECK(server.receive(std::span(kConnectV4).last(1), out) == Status::request_ready);
}

TEST_CASE("args split over UNAME 255 + PASSWD 255") {
  std::string text = "k=";
  text += std::string(508, 'x');
  REQUIRE(text.size() == 510);
  Socks5Server server;
  std::vector<std::byte> out;
  const auto input = concat({kGreetingWithAuth, auth(text.substr(0, 255), text.substr(255)), kConnectV4});
  CHECK(server.receive(input, out) == Status::request_ready);
  REQUIRE(server.request().args.size() == 1);
  CHECK(server.request().args[0].second == std::string(508, 'x'));
}

TEST_CASE("a lone NUL password means empty, a NUL in a longer password is malformed") {
  {
    Socks5Server server;
    std::vector<std::byte> out;
    const auto input = concat({kGreetingWithAuth, auth("k=v", std::string_view("\0", 1)), kConnectV4});
    REQUIRE(server.receive(input, out) == Status::request_ready);
    CHECK(server.request().args == Args{{"k", "v"}});
  }
  {
    Socks5Server server;
    std::vector<std::byte> out;
    const auto input = concat({kGreetingWithAuth, auth("k=v", std::string_view("\0\0", 2)), kConnectV4});
    CHECK(server.receive(input, out) == Status::failed);
    CHECK(out == bytes({0x05, 0x02, 0x01, 0x01}));
  }
  {
    // A password that is not a lone NUL is simply the tail of the args.
    Socks5Server server;
    std::vector<std::byte> out;
    const auto input = concat({kGreetingWithAuth, auth("k=v;x", "=y"), kConnectV4});
    REQUIRE(server.receive(input, out) == Status::request_ready);
    CHECK(server.request().args == Args{{"k", "v"}, {"x", "y"}});
  }
}

TEST_CASE("escaped args survive SOCKS") {
  const Args args{{"k;=", "v\\;"}, {"b", "2"}};
  const auto text = format_socks_args(args);
  Socks5Server server;
  std::vector<std::byte> out;
  REQUIRE(server.receive(concat({kGreetingWithAuth, auth(text, std::string_view("\0", 1)), kConnectV4}),
                         out) == Status::request_ready);
  CHECK(server.request().args == args);
}

TEST_CASE("IPv6 target") {
  Socks5Server server;
  std::vector<std::byte> out;
  const auto request = bytes(
      {0x05, 0x01, 0x00, 0x04, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x23, 0x28});
  feed_bytewise(server, concat({kGreetingNoAuth, request}));
  REQUIRE(server.status() == Status::request_ready);
  CHECK(server.request().target == *PeerAddress::parse("[2001:db8::1]:9000"));
}

TEST_CASE("bytes after the request are leftover, including later calls") {
  Socks5Server server;
  std::vector<std::byte> out;
  CHECK(server.receive(concat({kGreetingNoAuth, kConnectV4, bytes_of("link")}), out) ==
        Status::request_ready);
  CHECK(std::vector<std::byte>(server.leftover().begin(), server.leftover().end()) == bytes_of("link"));
  CHECK(server.receive(bytes_of(" bytes"), out) == Status::request_ready);
  CHECK(std::vector<std::byte>(server.leftover().begin(), server.leftover().end()) == bytes_of("link bytes"));
  CHECK(out == bytes({0x05, 0x00}));
}

TEST_CASE("failure replies") {
  Socks5Server server;
  std::vector<std::byte> out;

  SECTION("no acceptable method") {
    CHECK(server.receive(bytes({0x05, 0x02, 0x01, 0x03}), out) == Status::failed);
    CHECK(out == bytes({0x05, 0xff}));
  }
  SECTION("zero methods") {
    CHECK(server.receive(bytes({0x05, 0x00}), out) == Status::failed);
    CHECK(out == bytes({0x05, 0xff}));
  }
  SECTION("SOCKS4 greeting fails on its first byte, silently") {
    CHECK(server.receive(bytes({0x04}), out) == Status::failed);
    CHECK(out.empty());
  }
  SECTION("wrong auth version") {
    CHECK(server.receive(concat({kGreetingWithAuth, bytes({0x05})}), out) == Status::failed);
    CHECK(out == bytes({0x05, 0x02, 0x01, 0x01}));
  }
  SECTION("malformed args") {
    CHECK(server.receive(concat({kGreetingWithAuth, auth("novalue", std::string_view("\0", 1))}), out) ==
          Status::failed);
    CHECK(out == bytes({0x05, 0x02, 0x01, 0x01}));
    CHECK_THAT(server.error(), Catch::Contains("malformed"));
  }
  SECTION("wrong request version") {
    CHECK(server.receive(concat({kGreetingNoAuth, bytes({0x04})}), out) == Status::failed);
    CHECK(out == concat({bytes({0x05, 0x00}), bytes({0x05, 0x01, 0, 0x01, 0, 0, 0, 0, 0, 0})}));
  }
  SECTION("BIND and UDP ASSOCIATE are not supported") {
    const int command = GENERATE(0x02, 0x03, 0x00, 0xff);
    CHECK(server.receive(concat({kGreetingNoAuth, bytes({0x05, command})}), out) == Status::failed);
    CHECK(out == concat({bytes({0x05, 0x00}), bytes({0x05, 0x07, 0, 0x01, 0, 0, 0, 0, 0, 0})}));
  }
  SECTION("domain names are refused") {
    CHECK(server.receive(concat({kGreetingNoAuth, bytes({0x05, 0x01, 0x00, 0x03, 0x0b})}), out) ==
          Status::failed);
    CHECK(out == concat({bytes({0x05, 0x00}), bytes({0x05, 0x08, 0, 0x01, 0, 0, 0, 0, 0, 0})}));
    CHECK_THAT(server.error(), Catch::Contains("domain"));
  }
  SECTION("unknown address types") {
    CHECK(server.receive(concat({kGreetingNoAuth, bytes({0x05, 0x01, 0x00, 0x02})}), out) == Status::failed);
    CHECK(out == concat({bytes({0x05, 0x00}), bytes({0x05, 0x08, 0, 0x01, 0, 0, 0, 0, 0, 0})}));
  }
  REQUIRE(server.status() == Status::failed);
  CHECK_FALSE(server.error().empty());
  // A failed server ignores everything after.
  const auto before = out.size();
  CHECK(server.receive(concat({kGreetingNoAuth, kConnectV4}), out) == Status::failed);
  CHECK(out.size() == before);
}

TEST_CASE("socks5_reply is 05 REP 00 01 0000 00 00") {
  const auto success = socks5_reply(Socks5Reply::succeeded);
  CHECK(std::vector<std::byte>(success.begin(), success.end()) ==
        bytes({0x05, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0}));
  const auto reply = socks5_reply(Socks5Reply::ttl_expired);
  CHECK(std::vector<std::byte>(reply.begin(), reply.end()) ==
        bytes({0x05, 0x06, 0x00, 0x01, 0, 0, 0, 0, 0, 0}));
  CHECK(socks5_reply(Socks5Reply::connection_refused)[1] == std::byte{0x05});
  CHECK(socks5_reply(Socks5Reply::host_unreachable)[1] == std::byte{0x04});
  CHECK(socks5_reply(Socks5Reply::general_failure)[1] == std::byte{0x01});
}
