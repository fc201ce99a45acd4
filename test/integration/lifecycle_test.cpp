// How hoplink ends: tor closes stdin and sends SIGTERM at the same moment; an operator sends SIGINT.
#include <signal.h>

#include <catch2/catch.hpp>
#include <optional>
#include <thread>

#include "bridge_pair.hpp"
#include "link.hpp"
#include "net.hpp"
#include "timeouts.hpp"

using namespace hoplink::itest;
using namespace std::chrono_literals;

namespace {

PairOptions echo_pair() {
  return pair_options(ext_tor(DataMode::echo));
}

void check_exits_promptly(Process& p, bool want_code_zero) {
  auto start = Clock::now();
  auto status = p.wait_exit(timeouts::kPromptExit);
  INFO(p.describe());
  REQUIRE(status.has_value());
  INFO("exited after " << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count()
                       << " ms: " << status->to_string());
  if (want_code_zero) CHECK((status->exited() && status->code == 0));
}

}  // namespace

TEST_CASE("TOR_PT_EXIT_ON_STDIN_CLOSE=1: stdin closing ends client and server within 2 s", "[lifecycle]") {
  BridgePair pair(echo_pair());
  SECTION("client") {
    pair.client_process().close_stdin();
    check_exits_promptly(pair.client_process(), false);
  }
  SECTION("server") {
    pair.server_process().close_stdin();
    check_exits_promptly(pair.server_process(), false);
  }
  SECTION("both, with a link open") {
    auto socks = socks5_connect(pair.socks_port(), pair.bridge(), pair.bridge_args(),
                                deadline_in(timeouts::kLinkSetup));
    REQUIRE(socks.connected());
    REQUIRE(duplex_pump(socks.fd.get(), {1, 1000}, {1, 1000}, deadline_in(timeouts::kSmallLink)).ok);
    pair.client_process().close_stdin();
    pair.server_process().close_stdin();
    check_exits_promptly(pair.client_process(), false);
    check_exits_promptly(pair.server_process(), false);
    // tor's side of the link sees it end.
    CHECK(recv_until_closed(socks.fd.get(), deadline_in(timeouts::kClose)).status == IoStatus::closed);
  }
}

TEST_CASE("without TOR_PT_EXIT_ON_STDIN_CLOSE, stdin closing does not end the client", "[lifecycle]") {
  TempDir dir;
  Env env = managed_env(dir / "state", false);
  env["TOR_PT_CLIENT_TRANSPORTS"] = "sctp";
  auto p = spawn_hoplink(dir, "client-nostdin", {}, env);
  REQUIRE(p->wait_for_line(equals("CMETHODS DONE"), timeouts::kStartup));
  p->close_stdin();
  CHECK_FALSE(p->wait_exit(1500ms).has_value());
  // Still serving SOCKS.
  auto method = p->wait_for_line_text(starts_with("CMETHOD sctp"), 1ms);
  REQUIRE(method);
  auto port = parse_cmethod(*method)->address.port;
  Fd fd = tcp_connect(port, deadline_in(timeouts::kLinkSetup));
  const std::uint8_t hello[] = {5, 1, 0};
  REQUIRE(send_all(fd.get(), hello, deadline_in(timeouts::kClose)) == IoStatus::ok);
  std::uint8_t choice[2];
  INFO(p->describe());
  REQUIRE(recv_exact(fd.get(), choice, deadline_in(timeouts::kClose)) == IoStatus::ok);
  CHECK(choice[0] == 5);
  CHECK(choice[1] == 0);
}

TEST_CASE("SIGTERM ends client and server within 2 s with exit code 0", "[lifecycle]") {
  BridgePair pair(echo_pair());
  SECTION("idle") {
    pair.client_process().send_signal(SIGTERM);
    pair.server_process().send_signal(SIGTERM);
    check_exits_promptly(pair.client_process(), true);
    check_exits_promptly(pair.server_process(), true);
  }
  SECTION("in the middle of a transfer") {
    auto socks = socks5_connect(pair.socks_port(), pair.bridge(), pair.bridge_args(),
                                deadline_in(timeouts::kLinkSetup));
    REQUIRE(socks.connected());
    REQUIRE(duplex_pump(socks.fd.get(), {1, 1000}, {1, 1000}, deadline_in(timeouts::kSmallLink)).ok);
    // Keep bytes in flight: the echo is not read, so every buffer on the path fills up.
    std::vector<std::uint8_t> junk(4 << 20, 0xab);
    send_all(socks.fd.get(), junk, deadline_in(500ms));
    pair.server_process().send_signal(SIGTERM);
    pair.client_process().send_signal(SIGTERM);
    check_exits_promptly(pair.server_process(), true);
    check_exits_promptly(pair.client_process(), true);
  }
}

TEST_CASE("SIGINT twice ends the process", "[lifecycle]") {
  TempDir dir;
  auto client = start_managed_client(dir, {.transports = "sctp", .extra_env = {}, .args = {}});
  client.process->send_signal(SIGINT);
  // The first SIGINT only stops accepting; with no link open, exiting right away is also fine.
  if (!client.process->wait_exit(300ms)) client.process->send_signal(SIGINT);
  auto status = client.process->wait_exit(timeouts::kPromptExit);
  INFO(client.process->describe());
  REQUIRE(status.has_value());
  CHECK(status->signal == 0);
}

TEST_CASE("the first SIGINT stops new links and lets the open one finish before exiting", "[lifecycle]") {
  BridgePair pair;
  INFO(pair.describe());
  std::optional<LinkResult> result;
  std::thread link([&] {
    result = run_socks_link(pair.socks_port(), pair.bridge(), {}, *pair.tor,
                            {.seed = 70, .up = 40'000'000, .down = 40'000'000}, timeouts::kBulk);
  });
  std::this_thread::sleep_for(300ms);  // the link is open and moving bytes
  pair.client_process().send_signal(SIGINT);
  // New links are refused (the SOCKS listener is closed) while the open one goes on.
  bool refused = false;
  const auto deadline = Clock::now() + 2s;
  while (!refused && Clock::now() < deadline) {
    try {
      tcp_connect(pair.socks_port(), deadline_in(200ms));
    } catch (const std::exception&) {
      refused = true;  // connection refused: the listener is gone
    }
    if (!refused) std::this_thread::sleep_for(20ms);
  }
  link.join();
  REQUIRE(result.has_value());
  INFO(result->describe());
  CHECK(refused);
  CHECK(result->ok());
  check_exits_promptly(pair.client_process(), true);
}
