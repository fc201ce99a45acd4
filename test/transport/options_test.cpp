#include "app/options.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include "options_test_support.hpp"
#include "transports/transport_registry.hpp"

using namespace hoplink;
using namespace hoplink::transport;

using test::parse;

TEST_CASE("no arguments means managed mode with the documented defaults") {
  const auto options = parse({});
  CHECK(options.mode == Mode::managed);
  CHECK(options.datagrams.backend == IoBackend::udp);
  CHECK(options.log_level == pt::Severity::notice);
  const Options defaults;
  CHECK(options.link.association.mtu == defaults.link.association.mtu);
  CHECK(options.stack.congestion_control == defaults.stack.congestion_control);
}

TEST_CASE("client mode takes --listen and --remote") {
  const auto options = parse({"client", "--listen", "127.0.0.1:9050", "--remote", "[::1]:4433"});
  CHECK(options.mode == Mode::client);
  REQUIRE(options.listen);
  CHECK(options.listen->to_string() == "127.0.0.1:9050");
  REQUIRE(options.remote);
  CHECK(options.remote->to_string() == "[::1]:4433");
}

TEST_CASE("server mode needs exactly one ORPort kind") {
  CHECK_THROWS_AS(parse({"server", "--listen", "127.0.0.1:1"}), OptionsError);
  CHECK_THROWS_AS(
      parse({"server", "--orport", "127.0.0.1:1", "--ext-orport", "127.0.0.1:2", "--auth-cookie", "x"}),
      OptionsError);
  CHECK_THROWS_AS(parse({"server", "--ext-orport", "127.0.0.1:2"}), OptionsError);
  const auto options = parse({"server", "--ext-orport", "127.0.0.1:2", "--auth-cookie", "/tmp/c"});
  CHECK(options.mode == Mode::server);
  CHECK(options.auth_cookie == "/tmp/c");
  CHECK_THROWS_AS(parse({"server", "--orport", "127.0.0.1:1", "--remote", "127.0.0.1:3"}), OptionsError);
  CHECK_THROWS_AS(parse({"client", "--orport", "127.0.0.1:1"}), OptionsError);
}

TEST_CASE("unmanaged options are refused in managed mode") {
  CHECK_THROWS_AS(parse({"--listen", "127.0.0.1:1"}), OptionsError);
}

TEST_CASE("every link and stack option reaches its setting") {
  const auto options = parse({"client",  "--mtu",
                              "1280",    "--send-buffer",
                              "65536",   "--receive-buffer",
                              "131072",  "--heartbeat-interval",
                              "1500",    "--dead-peer-timeout",
                              "9000",    "--connect-timeout",
                              "2500",    "--handshake-timeout",
                              "4000",    "--max-links",
                              "7",       "--cc",
                              "rfc2581", "--rto-min",
                              "150",     "--rto-max",
                              "3000",    "--rto-initial",
                              "700",     "--delayed-sack",
                              "40",      "--sack-frequency",
                              "4",       "--initial-cwnd",
                              "16",      "--max-burst",
                              "8",       "--log-level",
                              "debug",   "--status-interval",
                              "5",       "--udp-socket-buffer",
                              "1048576", "--io",
                              "udp"});
  CHECK(options.link.association.mtu == 1280);
  CHECK(options.link.association.send_buffer == 65536);
  CHECK(options.link.association.receive_buffer == 131072);
  CHECK(options.link.association.heartbeat_interval == std::chrono::milliseconds(1500));
  CHECK(options.link.association.dead_peer_timeout == std::chrono::milliseconds(9000));
  CHECK(options.link.connect_timeout == std::chrono::milliseconds(2500));
  CHECK(options.link.handshake_timeout == std::chrono::milliseconds(4000));
  CHECK(options.link.max_links == 7);
  CHECK(options.stack.congestion_control == sctp::CongestionControl::rfc2581);
  CHECK(options.stack.rto_min == std::chrono::milliseconds(150));
  CHECK(options.stack.rto_max == std::chrono::milliseconds(3000));
  CHECK(options.stack.rto_initial == std::chrono::milliseconds(700));
  CHECK(options.stack.delayed_sack == std::chrono::milliseconds(40));
  CHECK(options.stack.sack_frequency == 4);
  CHECK(options.stack.initial_cwnd_mtus == 16);
  CHECK(options.stack.max_burst == 8);
  CHECK(options.log_level == pt::Severity::debug);
  CHECK(options.status_interval == std::chrono::seconds(5));
  CHECK(options.datagrams.udp_socket_buffer == 1048576);
}

TEST_CASE("out-of-range and malformed values are refused with the option's name") {
  auto message_of = [](std::vector<std::string> words) {
    try {
      parse(std::move(words));
    } catch (const OptionsError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK_THAT(message_of({"--mtu", "100"}), Catch::Contains("--mtu"));
  CHECK_THAT(message_of({"--cc", "cubic"}), Catch::Contains("--cc"));
  CHECK_THAT(message_of({"--log-level", "loud"}), Catch::Contains("--log-level"));
  CHECK_THAT(message_of({"--io", "carrier-pigeon"}), Catch::Contains("--io"));
  CHECK_THAT(message_of({"client", "--listen", "localhost:80"}), Catch::Contains("--listen"));
  CHECK_THAT(message_of({"--rto-initial", "10", "--rto-min", "200"}), Catch::Contains("rto-initial"));
  CHECK_FALSE(message_of({"--no-such-option"}).empty());
  CHECK_FALSE(message_of({"--mtu", "many"}).empty());
}

TEST_CASE("a --config file gives the same options from a file, the command line first") {
  const std::string path = "hoplink_options_test.conf";
  {
    std::ofstream file(path);
    file << "mtu=1300\ncc=htcp\n# a comment\nsend-buffer=262144\n";
  }
  const auto options = parse({"--config", path, "--mtu", "1250"});
  std::remove(path.c_str());
  CHECK(options.link.association.mtu == 1250);
  CHECK(options.stack.congestion_control == sctp::CongestionControl::htcp);
  CHECK(options.link.association.send_buffer == 262144);
  CHECK_THROWS_AS(parse({"--config", "/nonexistent/hoplink.conf"}), OptionsError);
}

TEST_CASE("TOR_PT_SERVER_TRANSPORT_OPTIONS keys set the per-link options") {
  LinkOptions link;
  const DatagramOptions udp;
  apply_transport_options(link, {{"mtu", "1400"}, {"dead-peer-timeout", "12000"}}, udp);
  CHECK(link.association.mtu == 1400);
  CHECK(link.association.dead_peer_timeout == std::chrono::milliseconds(12000));
  CHECK_THROWS_AS(apply_transport_options(link, {{"cc", "htcp"}}, udp),
                  OptionsError);  // process-wide, not per link
  CHECK_THROWS_AS(apply_transport_options(link, {{"mtu", "5"}}, udp), OptionsError);
}

// Found by fuzz_transport_options: Boost.Program_options fills its messages in by replacing placeholders
// until none is left, and looped forever on a name or value that contained one.
TEST_CASE(
    "an option name or value that looks like one of Boost's message placeholders is refused, not hung on") {
  LinkOptions link;
  CHECK_THROWS_WITH(apply_transport_options(link, {{"mtu", "%value%"}}, DatagramOptions{}),
                    Catch::Contains("?value?"));
  // A name can no longer hold one: it is refused before Boost sees it.
  CHECK_THROWS_WITH(apply_transport_options(link, {{"x%original_token%", "1"}}, DatagramOptions{}),
                    Catch::Contains("a-z, 0-9"));
  CHECK_THROWS_AS(parse({"--mtu", "%canonical_option%"}), OptionsError);
}

// Found by fuzz_transport_options, twice: the pairs are written as lines of Boost's config-file syntax, so a
// line break, an '=' or a '#' inside a name or a value set an option nobody named.
TEST_CASE("a transport option whose name or value could end its line early is refused and sets nothing") {
  const DatagramOptions udp;
  for (const auto& [key, value, error] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"\r\r\n\rmtu", "1280", "a-z, 0-9"},
           {"x\nmtu", "1280", "a-z, 0-9"},
           {"mtu\r", "1280", "a-z, 0-9"},
           {"max-links=1#0t", "", "a-z, 0-9"},
           {" mtu", "1280", "a-z, 0-9"},
           {"mtu", "1400\nmax-links=1", "line break or '#'"},
           {"mtu", "1400#5", "line break or '#'"}}) {
    INFO("\"" << key << "\"=\"" << value << "\"");
    LinkOptions link;
    const LinkOptions before = link;
    CHECK_THROWS_WITH(apply_transport_options(link, {{key, value}}, udp), Catch::Contains(error));
    CHECK(link.association.mtu == before.association.mtu);
    CHECK(link.max_links == before.max_links);
  }
}

TEST_CASE("TOR_PT_SERVER_TRANSPORT_OPTIONS mtu must fit the DPDK port as the command line's must") {
  DatagramOptions dpdk;
  dpdk.backend = IoBackend::dpdk;
  dpdk.dpdk.mtu = 1300;
  LinkOptions link;
  apply_transport_options(link, {{"mtu", "1272"}}, dpdk);  // 1272 + 28 = 1300
  CHECK(link.association.mtu == 1272);
  try {
    apply_transport_options(link, {{"mtu", "1273"}}, dpdk);
    FAIL("mtu 1273 was accepted with --dpdk-mtu 1300");
  } catch (const OptionsError& e) {
    CHECK_THAT(e.what(), Catch::Contains("--dpdk-mtu 1300") && Catch::Contains("at most 1272"));
  }
  // The kernel's UDP socket has no such limit.
  apply_transport_options(link, {{"mtu", "9000"}}, DatagramOptions{});
  CHECK(link.association.mtu == 9000);
}

TEST_CASE("the help text names every option") {
  const auto text = help_text();
  for (const char* name : {"--help",
                           "--version",
                           "--config",
                           "--io",
                           "--udp-socket-buffer",
                           "--log-level",
                           "--status-interval",
                           "--transport",
                           "--listen",
                           "--remote",
                           "--orport",
                           "--ext-orport",
                           "--auth-cookie",
                           "--state-dir",
                           "--mtu",
                           "--send-buffer",
                           "--receive-buffer",
                           "--heartbeat-interval",
                           "--dead-peer-timeout",
                           "--connect-timeout",
                           "--handshake-timeout",
                           "--max-links",
                           "--max-peers",
                           "--cc",
                           "--rto-min",
                           "--rto-max",
                           "--rto-initial",
                           "--delayed-sack",
                           "--sack-frequency",
                           "--initial-cwnd",
                           "--max-burst"}) {
    INFO(name);
    CHECK(text.find(name) != std::string::npos);
  }
  CHECK(parse({"--help"}).help);
  CHECK(parse({"server", "--help"}).help);
}

TEST_CASE("the help text lists every transport of the registry") {
  const auto text = help_text();
  REQUIRE_FALSE(transports().empty());
  for (const auto& info : transports()) {
    INFO(info.name);
    CHECK(text.find("  " + std::string(info.name) + ": " + std::string(info.summary)) != std::string::npos);
  }
}

TEST_CASE("the max-peers option sets the transports' peer limit") {
  CHECK(parse({}).transports.max_peers == 65536);
  CHECK(parse({"--max-peers", "3"}).transports.max_peers == 3);
  CHECK_THROWS_AS(parse({"--max-peers", "0"}), OptionsError);
}
