// Bad input on the client's SOCKS port: each bad connection is closed, nothing else is disturbed.
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <random>
#include <thread>

#include "bridge_pair.hpp"
#include "proc_net.hpp"
#include "timeouts.hpp"

using namespace hoplink::itest;
using namespace std::chrono_literals;

namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

struct Garbage {
  std::string name;
  Bytes bytes;
  bool close_write = false;  // half-close after sending: the server sees EOF in mid-message
};

std::vector<Garbage> garbage_shapes() {
  const Bytes hello{5, 1, 0};
  const Bytes loopback_80{127, 0, 0, 1, 0, 80};
  std::mt19937 rng(1234);
  Bytes random(1024);
  for (auto& b : random) b = static_cast<std::uint8_t>(rng());
  std::string http = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  return {
      {"SOCKS4 CONNECT", {4, 1, 0, 80, 127, 0, 0, 1, 'u', 0}, false},
      {"greeting with zero methods", {5, 0}, false},
      {"greeting offering only GSSAPI", {5, 1, 1}, false},
      {"greeting cut short, then EOF", {5, 10, 0}, true},
      {"CONNECT with a domain name",
       concat(hello, Bytes{5, 1, 0, 3, 9, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't', 0, 80}), false},
      {"BIND", concat(hello, concat(Bytes{5, 2, 0, 1}, loopback_80)), false},
      {"UDP ASSOCIATE", concat(hello, concat(Bytes{5, 3, 0, 1}, loopback_80)), false},
      {"CONNECT with address type 7", concat(hello, concat(Bytes{5, 1, 0, 7}, loopback_80)), false},
      {"request with version 4 after a SOCKS5 greeting",
       concat(hello, concat(Bytes{4, 1, 0, 1}, loopback_80)), false},
      {"RFC 1929 with sub-negotiation version 2", {5, 1, 2, 2, 1, 'a', 1, 'b'}, false},
      {"CONNECT cut short, then EOF", concat(hello, Bytes{5, 1, 0, 1, 127, 0}), true},
      {"1 KiB of random bytes", random, false},
      {"an HTTP request", Bytes(http.begin(), http.end()), false},
  };
}

// Replies allowed before the close: a method choice (05 xx), maybe followed by a non-success reply.
bool reply_is_not_success(const Bytes& got) {
  if (got.size() >= 4 && got[0] == 5 && got[2] == 5) return got[3] != 0;
  return true;
}

}  // namespace

TEST_CASE("garbage on the SOCKS port closes that connection only, the process keeps serving",
          "[socks][errors]") {
  BridgePair pair(pair_options(ext_tor(DataMode::echo), {"--log-level", "debug"}));
  INFO(pair.describe());
  // A link that is open the whole time and must keep working.
  auto keeper =
      socks5_connect(pair.socks_port(), pair.bridge(), pair.bridge_args(), deadline_in(timeouts::kLinkSetup));
  INFO(keeper.describe());
  REQUIRE(keeper.connected());
  REQUIRE(duplex_pump(keeper.fd.get(), {11, 10000}, {11, 10000}, deadline_in(timeouts::kSmallLink)).ok);
  auto mark = pair.client_process().lines().size();

  for (const auto& g : garbage_shapes()) {
    INFO("garbage: " << g.name);
    Fd fd = tcp_connect(pair.socks_port(), deadline_in(timeouts::kLinkSetup));
    send_all(fd.get(), g.bytes, deadline_in(timeouts::kClose));  // the server may close before taking it all
    if (g.close_write) ::shutdown(fd.get(), SHUT_WR);
    auto drained = recv_until_closed(fd.get(), deadline_in(timeouts::kClose));
    CHECK(drained.status == IoStatus::closed);
    CHECK(reply_is_not_success(drained.bytes));
    REQUIRE(pair.client_process().running());
  }

  // The open link still carries bytes, and new links work.
  CHECK(duplex_pump(keeper.fd.get(), {12, 100000}, {12, 100000}, deadline_in(timeouts::kSmallLink)).ok);
  auto fresh =
      socks5_connect(pair.socks_port(), pair.bridge(), pair.bridge_args(), deadline_in(timeouts::kLinkSetup));
  INFO(fresh.describe());
  REQUIRE(fresh.connected());
  CHECK(duplex_pump(fresh.fd.get(), {13, 100000}, {13, 100000}, deadline_in(timeouts::kSmallLink)).ok);
  // Failures are visible to the operator (at debug level at least).
  CHECK(pair.client_process().wait_for_line(starts_with("LOG "), timeouts::kLogLine, mark).has_value());
  CHECK(stdout_protocol_problems(pair.client_process()) == "");
}

TEST_CASE("a SOCKS client that stalls mid-greeting does not hold up other links", "[socks][errors]") {
  BridgePair pair(pair_options(ext_tor(DataMode::echo)));
  INFO(pair.describe());
  Fd stalled = tcp_connect(pair.socks_port(), deadline_in(timeouts::kLinkSetup));
  const std::uint8_t half[] = {5};
  REQUIRE(send_all(stalled.get(), half, deadline_in(timeouts::kClose)) == IoStatus::ok);
  auto link =
      socks5_connect(pair.socks_port(), pair.bridge(), pair.bridge_args(), deadline_in(timeouts::kLinkSetup));
  INFO(link.describe());
  REQUIRE(link.connected());
  CHECK(duplex_pump(link.fd.get(), {3, 50000}, {3, 50000}, deadline_in(timeouts::kSmallLink)).ok);
}

TEST_CASE("bridge-line args over RFC 1929, longer than one 255-byte field, are accepted", "[socks]") {
  BridgePair pair;
  INFO(pair.describe());
  KeyValues args{{"cert", std::string(300, 'A')}, {"iat-mode", "0"}, {"odd;key", "va=lue\\"}};
  REQUIRE(encode_socks_args(args).size() > 255);
  auto r = run_socks_link(pair.socks_port(), pair.bridge(), args, *pair.tor,
                          {.seed = 1, .up = 10000, .down = 10000}, timeouts::kSmallLink);
  INFO(r.describe());
  CHECK(r.ok());
}

TEST_CASE("CONNECT to an IPv6 address nobody serves gets a failure reply, not a hang", "[socks][errors]") {
  TempDir dir;
  auto client = start_managed_client(
      dir, {.transports = "sctp", .extra_env = {}, .args = {"--connect-timeout", "2000"}});
  INFO(client.process->describe());
  Fd fd = tcp_connect(client.method.address.port, deadline_in(timeouts::kLinkSetup));
  Bytes request{5, 1, 0, 5, 1, 0, 4};
  for (int i = 0; i < 15; ++i) request.push_back(0);
  request.push_back(1);  // ::1
  request.push_back(0x30);
  request.push_back(0x39);  // port 12345
  REQUIRE(send_all(fd.get(), request, deadline_in(timeouts::kClose)) == IoStatus::ok);
  Bytes reply(12);
  auto status = recv_exact(fd.get(), reply, deadline_in(2000ms + 8s));
  INFO("reply bytes received: " << to_string(status));
  REQUIRE(status == IoStatus::ok);
  CHECK(reply[0] == 5);
  CHECK(reply[1] == 0);  // method choice
  CHECK(reply[2] == 5);
  CHECK(reply[3] != 0);  // REP: a failure
  CHECK(client.process->running());
}

TEST_CASE("SOCKS clients that give up mid-connect leave nothing behind", "[socks][errors]") {
  // A connect timeout far beyond the wait below: only dropping an attempt when tor hangs up passes.
  BridgePair pair(pair_options(FakeTorConfig{}, {"--connect-timeout", "60000"}));
  INFO(pair.describe());
  auto fds_before = open_fd_count(pair.client_process().pid());
  Fd swallower = udp_bind();
  for (int i = 0; i < 20; ++i) {
    Fd fd = tcp_connect(pair.socks_port(), deadline_in(timeouts::kLinkSetup));
    Bytes request{5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1};
    auto port = i % 2 ? pair.bridge().port : local_port(swallower.get());
    request.push_back(static_cast<std::uint8_t>(port >> 8));
    request.push_back(static_cast<std::uint8_t>(port));
    REQUIRE(send_all(fd.get(), request, deadline_in(timeouts::kClose)) == IoStatus::ok);
  }  // each closed right after CONNECT
  auto r = pair.link({.seed = 50, .up = 100000, .down = 100000}, timeouts::kSmallLink);
  INFO(r.describe());
  CHECK(r.ok());
  // Descriptors return to where they were within a couple of seconds, not at the connect timeout.
  auto deadline = deadline_in(2s);
  while (open_fd_count(pair.client_process().pid()) > fds_before + 2 && Clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  INFO("fds before " << fds_before << ", after " << open_fd_count(pair.client_process().pid()));
  CHECK(open_fd_count(pair.client_process().pid()) <= fds_before + 2);
  CHECK(pair.client_process().running());
}
