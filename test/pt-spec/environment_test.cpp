#include "pt/environment.hpp"

#include <catch2/catch.hpp>

using namespace hoplink;
using namespace hoplink::pt;
using Kind = EnvironmentError::Kind;

namespace {

Environment client_env() {
  return {{"TOR_PT_MANAGED_TRANSPORT_VER", "1"},
          {"TOR_PT_STATE_LOCATION", "/var/lib/tor/pt_state"},
          {"TOR_PT_CLIENT_TRANSPORTS", "sctp,dtls"}};
}

Environment server_env() {
  return {{"TOR_PT_MANAGED_TRANSPORT_VER", "1"},
          {"TOR_PT_STATE_LOCATION", "/var/lib/tor/pt_state"},
          {"TOR_PT_SERVER_TRANSPORTS", "sctp,dtls"},
          {"TOR_PT_SERVER_BINDADDR", "sctp-127.0.0.1:4000,dtls-[::1]:4001"},
          {"TOR_PT_ORPORT", "127.0.0.1:9001"},
          {"TOR_PT_EXTENDED_SERVER_PORT", "127.0.0.1:9002"},
          {"TOR_PT_AUTH_COOKIE_FILE", "/var/lib/tor/extended_orport_auth_cookie"}};
}

EnvironmentError error_of(const Environment& environment) {
  const auto result = parse_environment(environment);
  REQUIRE_FALSE(result.ok());
  return result.error();
}

void check_env_error(const Environment& environment, const std::string& fragment) {
  const auto error = error_of(environment);
  CHECK(error.kind == Kind::env);
  CHECK_THAT(error.message, Catch::Contains(fragment));
}

}  // namespace

TEST_CASE("a client environment parses") {
  auto environment = client_env();
  environment["TOR_PT_EXIT_ON_STDIN_CLOSE"] = "1";
  const auto result = parse_environment(environment);
  REQUIRE(result.ok());
  CHECK(result->state_location == "/var/lib/tor/pt_state");
  CHECK(result->exit_on_stdin_close);
  REQUIRE(result->client);
  CHECK(result->client->transports == std::vector<std::string>{"sctp", "dtls"});
  CHECK_FALSE(result->client->proxy);
  CHECK_FALSE(result->server);
  CHECK_FALSE(result->outbound_bind_v4);
  CHECK_FALSE(result->outbound_bind_v6);
}

TEST_CASE("a server environment parses every variable") {
  auto environment = server_env();
  environment["TOR_PT_SERVER_TRANSPORT_OPTIONS"] = "dtls:mtu=1200;sctp:crc=on";
  const auto result = parse_environment(environment);
  REQUIRE(result.ok());
  CHECK_FALSE(result->exit_on_stdin_close);
  CHECK_FALSE(result->client);
  REQUIRE(result->server);
  const auto& server = *result->server;
  CHECK(server.transports == std::vector<std::string>{"sctp", "dtls"});
  CHECK(server.options.at("dtls") == Args{{"mtu", "1200"}});
  CHECK(server.options.at("sctp") == Args{{"crc", "on"}});
  CHECK(server.bind_addresses.at("sctp") == *PeerAddress::parse("127.0.0.1:4000"));
  CHECK(server.bind_addresses.at("dtls") == *PeerAddress::parse("[::1]:4001"));
  CHECK(server.orport == PeerAddress::parse("127.0.0.1:9001"));
  CHECK(server.extended_orport == PeerAddress::parse("127.0.0.1:9002"));
  CHECK(server.auth_cookie_file == "/var/lib/tor/extended_orport_auth_cookie");
}

TEST_CASE("client and server together") {
  auto environment = server_env();
  environment["TOR_PT_CLIENT_TRANSPORTS"] = "*";
  const auto result = parse_environment(environment);
  REQUIRE(result.ok());
  REQUIRE(result->client);
  CHECK(result->client->transports == std::vector<std::string>{"*"});
  CHECK(result->server);
}

TEST_CASE("TOR_PT_MANAGED_TRANSPORT_VER") {
  auto environment = client_env();
  SECTION("a list containing 1 is accepted") {
    environment["TOR_PT_MANAGED_TRANSPORT_VER"] = "2,1,3";
    CHECK(parse_environment(environment).ok());
  }
  SECTION("a list without 1 is a version error") {
    environment["TOR_PT_MANAGED_TRANSPORT_VER"] = "2,10,11";
    const auto error = error_of(environment);
    CHECK(error.kind == Kind::version);
    CHECK(error.message == "no-version");
  }
  SECTION("empty is a version error") {
    environment["TOR_PT_MANAGED_TRANSPORT_VER"] = "";
    CHECK(error_of(environment).kind == Kind::version);
  }
  SECTION("missing is an env error") {
    environment.erase("TOR_PT_MANAGED_TRANSPORT_VER");
    check_env_error(environment, "TOR_PT_MANAGED_TRANSPORT_VER");
  }
}

TEST_CASE("TOR_PT_STATE_LOCATION is required") {
  auto environment = client_env();
  environment.erase("TOR_PT_STATE_LOCATION");
  check_env_error(environment, "TOR_PT_STATE_LOCATION");
  environment["TOR_PT_STATE_LOCATION"] = "";
  check_env_error(environment, "TOR_PT_STATE_LOCATION");
}

TEST_CASE("TOR_PT_EXIT_ON_STDIN_CLOSE") {
  auto environment = client_env();
  environment["TOR_PT_EXIT_ON_STDIN_CLOSE"] = "0";
  REQUIRE(parse_environment(environment).ok());
  CHECK_FALSE(parse_environment(environment)->exit_on_stdin_close);
  environment["TOR_PT_EXIT_ON_STDIN_CLOSE"] = "yes";
  check_env_error(environment, "TOR_PT_EXIT_ON_STDIN_CLOSE");
}

TEST_CASE("TOR_PT_OUTBOUND_BIND_ADDRESS_V4 and _V6") {
  auto environment = client_env();
  environment["TOR_PT_OUTBOUND_BIND_ADDRESS_V4"] = "203.0.113.4";
  environment["TOR_PT_OUTBOUND_BIND_ADDRESS_V6"] = "[2001:db8::4]";
  const auto result = parse_environment(environment);
  REQUIRE(result.ok());
  CHECK(result->outbound_bind_v4 == PeerAddress::parse("203.0.113.4:0"));
  CHECK(result->outbound_bind_v6 == PeerAddress::parse("[2001:db8::4]:0"));

  for (const char* bad : {"203.0.113.4:80", "[203.0.113.4]", "::1", "host"}) {
    auto copy = client_env();
    copy["TOR_PT_OUTBOUND_BIND_ADDRESS_V4"] = bad;
    check_env_error(copy, "TOR_PT_OUTBOUND_BIND_ADDRESS_V4");
  }
  for (const char* bad : {"::1", "[::1]:80", "[1.2.3.4]", "[::1"}) {
    auto copy = client_env();
    copy["TOR_PT_OUTBOUND_BIND_ADDRESS_V6"] = bad;
    check_env_error(copy, "TOR_PT_OUTBOUND_BIND_ADDRESS_V6");
  }
}

TEST_CASE("neither client nor server transports is an env error") {
  Environment environment{{"TOR_PT_MANAGED_TRANSPORT_VER", "1"}, {"TOR_PT_STATE_LOCATION", "/s"}};
  check_env_error(environment, "neither TOR_PT_CLIENT_TRANSPORTS nor TOR_PT_SERVER_TRANSPORTS");
}

TEST_CASE("malformed transport lists") {
  for (const char* bad : {"", "sctp,", "a-b", "sctp,,dtls", "9x"}) {
    auto client = client_env();
    client["TOR_PT_CLIENT_TRANSPORTS"] = bad;
    check_env_error(client, "TOR_PT_CLIENT_TRANSPORTS");
    auto server = server_env();
    server["TOR_PT_SERVER_TRANSPORTS"] = bad;
    server.erase("TOR_PT_SERVER_BINDADDR");
    check_env_error(server, "TOR_PT_SERVER_TRANSPORTS");
  }
}

TEST_CASE("TOR_PT_PROXY") {
  auto environment = client_env();
  auto proxy_of = [&](const char* uri) {
    environment["TOR_PT_PROXY"] = uri;
    const auto result = parse_environment(environment);
    REQUIRE(result.ok());
    REQUIRE(result->client->proxy);
    return *result->client->proxy;
  };
  SECTION("socks5 without credentials") {
    const auto proxy = proxy_of("socks5://127.0.0.1:1080");
    CHECK(proxy.scheme == ProxyUri::Scheme::socks5);
    CHECK(proxy.address == *PeerAddress::parse("127.0.0.1:1080"));
    CHECK(proxy.username.empty());
    CHECK(proxy.password.empty());
  }
  SECTION("socks5 with credentials, percent-encoded and with '@' in the password") {
    const auto proxy = proxy_of("socks5://us%3Aer:p@ss@[::1]:1080");
    CHECK(proxy.address == *PeerAddress::parse("[::1]:1080"));
    CHECK(proxy.username == "us:er");
    CHECK(proxy.password == "p@ss");
  }
  SECTION("socks4a") {
    const auto proxy = proxy_of("socks4a://10.0.0.1:9050");
    CHECK(proxy.scheme == ProxyUri::Scheme::socks4a);
    CHECK(proxy.address == *PeerAddress::parse("10.0.0.1:9050"));
  }
  SECTION("http, scheme in any case") {
    const auto proxy = proxy_of("HTTP://user:pw@10.0.0.2:3128");
    CHECK(proxy.scheme == ProxyUri::Scheme::http);
    CHECK(proxy.username == "user");
    CHECK(proxy.password == "pw");
  }
  SECTION("malformed proxies are proxy errors") {
    const std::string long_name(256, 'u');
    for (const std::string& bad : std::vector<std::string>{
             "", "socks5://", "ftp://1.2.3.4:21", "socks5://example.com:1080", "socks5://1.2.3.4",
             "socks5://1.2.3.4:0", "socks5://user@1.2.3.4:1080", "socks5://:pw@1.2.3.4:1080",
             "socks5://u:@1.2.3.4:1080", "socks5://" + long_name + ":pw@1.2.3.4:1080",
             "socks4a://u:p@1.2.3.4:1080", "http://:p@1.2.3.4:3128", "http://u%zz:p@1.2.3.4:3128",
             "http://u:p%4@1.2.3.4:3128", "socks5://1.2.3.4:1080/"}) {
      INFO(bad);
      environment["TOR_PT_PROXY"] = bad;
      const auto error = error_of(environment);
      CHECK(error.kind == Kind::proxy);
      CHECK_FALSE(error.message.empty());
    }
  }
}

TEST_CASE("server needs an ORPort or an Extended ORPort") {
  auto environment = server_env();
  environment.erase("TOR_PT_ORPORT");
  environment["TOR_PT_EXTENDED_SERVER_PORT"] = "";
  check_env_error(environment, "neither TOR_PT_ORPORT nor TOR_PT_EXTENDED_SERVER_PORT");

  SECTION("ORPort alone is enough, an empty extended port means none") {
    environment["TOR_PT_ORPORT"] = "127.0.0.1:9001";
    environment.erase("TOR_PT_AUTH_COOKIE_FILE");
    const auto result = parse_environment(environment);
    REQUIRE(result.ok());
    CHECK_FALSE(result->server->extended_orport);
    CHECK(result->server->orport);
  }
  SECTION("extended port alone is enough") {
    environment["TOR_PT_EXTENDED_SERVER_PORT"] = "[::1]:9002";
    const auto result = parse_environment(environment);
    REQUIRE(result.ok());
    CHECK_FALSE(result->server->orport);
    CHECK(result->server->extended_orport == PeerAddress::parse("[::1]:9002"));
  }
}

TEST_CASE("malformed ports") {
  for (const char* name : {"TOR_PT_ORPORT", "TOR_PT_EXTENDED_SERVER_PORT"}) {
    for (const char* bad : {"9001", "localhost:9001", "1.2.3.4:0", "1.2.3.4:70000"}) {
      auto environment = server_env();
      environment[name] = bad;
      check_env_error(environment, name);
    }
  }
}

TEST_CASE("the auth cookie file is required with an Extended ORPort") {
  auto environment = server_env();
  environment.erase("TOR_PT_AUTH_COOKIE_FILE");
  check_env_error(environment, "TOR_PT_AUTH_COOKIE_FILE");
  environment["TOR_PT_AUTH_COOKIE_FILE"] = "";
  check_env_error(environment, "TOR_PT_AUTH_COOKIE_FILE");
}

TEST_CASE("TOR_PT_SERVER_BINDADDR") {
  auto environment = server_env();
  SECTION("missing leaves the choice to the transport") {
    environment.erase("TOR_PT_SERVER_BINDADDR");
    const auto result = parse_environment(environment);
    REQUIRE(result.ok());
    CHECK(result->server->bind_addresses.empty());
  }
  SECTION("entries must name listed transports") {
    environment["TOR_PT_SERVER_BINDADDR"] = "sctp-127.0.0.1:4000,obfs4-127.0.0.1:4001";
    check_env_error(environment, "obfs4");
  }
  SECTION("'*' lists every transport") {
    environment["TOR_PT_SERVER_TRANSPORTS"] = "*";
    environment["TOR_PT_SERVER_BINDADDR"] = "anything-0.0.0.0:4000";
    const auto result = parse_environment(environment);
    REQUIRE(result.ok());
    CHECK(result->server->bind_addresses.at("anything") == *PeerAddress::parse("0.0.0.0:4000"));
  }
  SECTION("malformed entries") {
    for (const char* bad : {"sctp", "sctp-", "sctp-1.2.3.4", "-1.2.3.4:1", "sctp-1.2.3.4:1,",
                            "sctp-1.2.3.4:1,sctp-1.2.3.4:2", "sctp-host:1"}) {
      INFO(bad);
      environment["TOR_PT_SERVER_BINDADDR"] = bad;
      check_env_error(environment, "TOR_PT_SERVER_BINDADDR");
    }
  }
}

TEST_CASE("malformed TOR_PT_SERVER_TRANSPORT_OPTIONS") {
  auto environment = server_env();
  environment["TOR_PT_SERVER_TRANSPORT_OPTIONS"] = "sctp=1";
  check_env_error(environment, "TOR_PT_SERVER_TRANSPORT_OPTIONS");
}

TEST_CASE("a malformed client proxy is ignored for a server-only PT") {
  auto environment = server_env();
  environment["TOR_PT_PROXY"] = "garbage";
  CHECK(parse_environment(environment).ok());
}

TEST_CASE("environment_from copies KEY=VALUE entries") {
  char a[] = "TOR_PT_STATE_LOCATION=/x=y";
  char b[] = "NOEQUALS";
  char c[] = "EMPTY=";
  char d[] = "TOR_PT_STATE_LOCATION=/second";
  char* envp[] = {a, b, c, d, nullptr};
  const auto environment = environment_from(envp);
  CHECK(environment.size() == 2);
  CHECK(environment.at("TOR_PT_STATE_LOCATION") == "/x=y");
  CHECK(environment.at("EMPTY").empty());
  CHECK(environment_from(nullptr).empty());
}
