// Managed-mode environments tor may hand over that hoplink must refuse, or partly refuse, with the exact
// PT error lines.
#include <catch2/catch.hpp>

#include "bridge_pair.hpp"
#include "timeouts.hpp"

using namespace hoplink::itest;
using namespace std::chrono_literals;

namespace {

// Runs hoplink with `env` and expects `error_prefix` on stdout, a non-zero exit, and no *METHODS DONE.
std::string expect_fatal(const TempDir& dir, const std::string& name, const Env& env,
                         const std::string& error_prefix) {
  auto p = spawn_hoplink(dir, name, {}, env);
  auto line = p->wait_for_line_text(starts_with(error_prefix), timeouts::kStartup);
  auto status = p->wait_exit(timeouts::kExit);
  INFO(p->describe());
  REQUIRE(line);
  REQUIRE(status);
  CHECK_FALSE((status->exited() && status->code == 0));
  for (const auto& l : p->lines()) {
    CHECK(l != "CMETHODS DONE");
    CHECK(l != "SMETHODS DONE");
  }
  CHECK(stdout_protocol_problems(*p) == "");
  return *line;
}

Env server_env(const TempDir& dir) {
  Env env = managed_env(dir / "state");
  env["TOR_PT_SERVER_TRANSPORTS"] = "sctp";
  env["TOR_PT_SERVER_BINDADDR"] = "sctp-127.0.0.1:0";
  env["TOR_PT_ORPORT"] = "127.0.0.1:9";
  env["TOR_PT_EXTENDED_SERVER_PORT"] = "";
  return env;
}

Env client_env(const TempDir& dir) {
  Env env = managed_env(dir / "state");
  env["TOR_PT_CLIENT_TRANSPORTS"] = "sctp";
  return env;
}

}  // namespace

TEST_CASE("TOR_PT_MANAGED_TRANSPORT_VER without 1: exactly 'VERSION-ERROR no-version', non-zero exit",
          "[managed][errors]") {
  TempDir dir;
  for (const char* version : {"2", "0,2", "10"}) {
    INFO("TOR_PT_MANAGED_TRANSPORT_VER=" << version);
    Env env = client_env(dir);
    env["TOR_PT_MANAGED_TRANSPORT_VER"] = version;
    CHECK(expect_fatal(dir, "version", env, "VERSION-ERROR") == "VERSION-ERROR no-version");
  }
  // A list that includes 1 is fine.
  Env env = client_env(dir);
  env["TOR_PT_MANAGED_TRANSPORT_VER"] = "2,1";
  auto p = spawn_hoplink(dir, "version-list", {}, env);
  INFO(p->describe());
  CHECK(p->wait_for_line(equals("CMETHODS DONE"), timeouts::kStartup).has_value());
  CHECK(p->lines().at(0) == "VERSION 1");
}

TEST_CASE("missing or malformed required variables: ENV-ERROR with a message, non-zero exit",
          "[managed][errors]") {
  TempDir dir;
  SECTION("client without TOR_PT_STATE_LOCATION") {
    Env env = client_env(dir);
    env.erase("TOR_PT_STATE_LOCATION");
    expect_fatal(dir, "no-state", env, "ENV-ERROR ");
  }
  SECTION("server without TOR_PT_STATE_LOCATION") {
    Env env = server_env(dir);
    env.erase("TOR_PT_STATE_LOCATION");
    expect_fatal(dir, "no-state", env, "ENV-ERROR ");
  }
  SECTION("neither client nor server transports") {
    expect_fatal(dir, "no-transports", managed_env(dir / "state"), "ENV-ERROR ");
  }
  SECTION("server without TOR_PT_ORPORT") {
    Env env = server_env(dir);
    env.erase("TOR_PT_ORPORT");
    expect_fatal(dir, "no-orport", env, "ENV-ERROR ");
  }
  SECTION("Extended ORPort without TOR_PT_AUTH_COOKIE_FILE") {
    Env env = server_env(dir);
    env["TOR_PT_EXTENDED_SERVER_PORT"] = "127.0.0.1:9";
    expect_fatal(dir, "no-cookie", env, "ENV-ERROR ");
  }
  for (const char* bad : {"sctp-127.0.0.1", "sctp-127.0.0.1:notaport", "sctp-127.0.0.1:70000",
                          "sctp-nonsense:1", "sctp127.0.0.1:1"}) {
    DYNAMIC_SECTION("TOR_PT_SERVER_BINDADDR=" << bad) {
      Env env = server_env(dir);
      env["TOR_PT_SERVER_BINDADDR"] = bad;
      expect_fatal(dir, "bad-bindaddr", env, "ENV-ERROR ");
    }
  }
}

TEST_CASE("an unknown client transport gets CMETHOD-ERROR, sctp is still offered and works",
          "[managed][errors]") {
  TempDir dir;
  FakeTor tor(FakeTorConfig{}, dir / "cookie");
  auto server = start_managed_server(dir, {.orport = tor.port(),
                                           .ext_orport = tor.port(),
                                           .cookie_file = dir / "cookie",
                                           .transports = "sctp",
                                           .bindaddr = "sctp-127.0.0.1:0",
                                           .extra_env = {},
                                           .args = {}});
  auto client =
      start_managed_client(dir, {.transports = "nosuchtransport,sctp", .extra_env = {}, .args = {}});
  INFO(client.process->describe());
  auto error_line = client.process->wait_for_line_text(starts_with("CMETHOD-ERROR "), 1ms);
  REQUIRE(error_line);
  auto error = parse_method_error("CMETHOD-ERROR", *error_line);
  REQUIRE(error);
  CHECK(error->name == "nosuchtransport");
  auto link = run_socks_link(client.method.address.port, server.method.address, server.method.args, tor,
                             {.seed = 1, .up = 10000, .down = 10000}, timeouts::kSmallLink);
  INFO(link.describe());
  CHECK(link.ok());
}

TEST_CASE("an unknown server transport gets SMETHOD-ERROR, sctp is still served and works",
          "[managed][errors]") {
  TempDir dir;
  FakeTor tor(FakeTorConfig{}, dir / "cookie");
  auto server = start_managed_server(dir, {.orport = tor.port(),
                                           .ext_orport = tor.port(),
                                           .cookie_file = dir / "cookie",
                                           .transports = "sctp,nosuchtransport",
                                           .bindaddr = "sctp-127.0.0.1:0,nosuchtransport-127.0.0.1:0",
                                           .extra_env = {},
                                           .args = {}});
  INFO(server.process->describe());
  auto error_line = server.process->wait_for_line_text(starts_with("SMETHOD-ERROR "), 1ms);
  REQUIRE(error_line);
  auto error = parse_method_error("SMETHOD-ERROR", *error_line);
  REQUIRE(error);
  CHECK(error->name == "nosuchtransport");
  auto client = start_managed_client(dir, {});
  auto link = run_socks_link(client.method.address.port, server.method.address, server.method.args, tor,
                             {.seed = 1, .up = 10000, .down = 10000}, timeouts::kSmallLink);
  INFO(link.describe());
  CHECK(link.ok());
}

TEST_CASE("TOR_PT_PROXY that cannot carry UDP, or does not answer: PROXY-ERROR and a non-zero exit",
          "[managed][errors][proxy]") {
  TempDir dir;
  Fd listener = tcp_listen();
  const auto closed_port = std::to_string(local_port(listener.get()));
  listener.reset();  // nothing listens there now
  struct Case {
    std::string proxy;
    std::string says;
  };
  for (const auto& [proxy, says] :
       {Case{"http://127.0.0.1:3128", "HTTP or SOCKS4a"}, Case{"socks4a://127.0.0.1:1080", "HTTP or SOCKS4a"},
        Case{"socks5://127.0.0.1:" + closed_port, "cannot connect to SOCKS5 proxy"},
        Case{"socks5://user:pass@127.0.0.1:" + closed_port, "cannot connect to SOCKS5 proxy"}}) {
    INFO("TOR_PT_PROXY=" << proxy);
    Env env = client_env(dir);
    env["TOR_PT_PROXY"] = proxy;
    const auto line = expect_fatal(dir, "proxy", env, "PROXY-ERROR ");
    CHECK_THAT(line, Catch::Contains(says));
  }
}

TEST_CASE(
    "ServerTransportOptions mtu that does not fit --dpdk-mtu gets SMETHOD-ERROR, as on the command line",
    "[managed][errors]") {
  // The check runs before the DPDK port is opened, so no port is needed: the port named here never is.
  TempDir dir;
  Env env = server_env(dir);
  env["TOR_PT_SERVER_TRANSPORT_OPTIONS"] = "sctp:mtu=1473";
  auto p = spawn_hoplink(
      dir, "dpdk-mtu",
      {"--io", "dpdk", "--dpdk-port", "net_null0", "--dpdk-address", "192.0.2.1/24", "--dpdk-mtu", "1500"},
      env);
  auto error_line = p->wait_for_line_text(starts_with("SMETHOD-ERROR "), timeouts::kStartup);
  INFO(p->describe());
  REQUIRE(error_line);
  auto error = parse_method_error("SMETHOD-ERROR", *error_line);
  REQUIRE(error);
  CHECK(error->name == "sctp");
  CHECK_THAT(error->message, Catch::Contains("--dpdk-mtu 1500") && Catch::Contains("at most 1472"));
  CHECK(p->wait_for_line_text([](const std::string& l) { return l == "SMETHODS DONE"; }, timeouts::kStartup));
  // The same on the command line: refused before anything starts.
  auto command_line = spawn_hoplink(dir, "dpdk-mtu-command-line",
                                    {"--io", "dpdk", "--dpdk-port", "net_null0", "--dpdk-address",
                                     "192.0.2.1/24", "--dpdk-mtu", "1500", "--mtu", "1473"},
                                    server_env(dir));
  auto status = command_line->wait_exit(timeouts::kExit);
  REQUIRE(status);
  CHECK((status->exited() && status->code == 2));
}
