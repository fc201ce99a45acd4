#include <string_view>

#include "fuzz_check.hpp"
#include "fuzz_harness.hpp"
#include "pt/environment.hpp"

namespace hoplink::fuzz {
namespace {

pt::Environment valid_environment() {
  return {{"TOR_PT_MANAGED_TRANSPORT_VER", "1"},
          {"TOR_PT_STATE_LOCATION", "/state"},
          {"TOR_PT_CLIENT_TRANSPORTS", "sctp"},
          {"TOR_PT_SERVER_TRANSPORTS", "sctp,dtls"},
          {"TOR_PT_SERVER_BINDADDR", "sctp-127.0.0.1:1,dtls-[::1]:2"},
          {"TOR_PT_ORPORT", "127.0.0.1:9001"},
          {"TOR_PT_EXTENDED_SERVER_PORT", "127.0.0.1:9002"},
          {"TOR_PT_AUTH_COOKIE_FILE", "/cookie"}};
}

bool listed(const std::vector<std::string>& transports, const std::string& name) {
  for (const auto& transport : transports) {
    if (transport == "*" || transport == name) return true;
  }
  return false;
}

void check_valid(const pt::ManagedEnvironment& managed) {
  FUZZ_CHECK(!managed.state_location.empty());
  FUZZ_CHECK(managed.client || managed.server);
  if (managed.outbound_bind_v4) FUZZ_CHECK(managed.outbound_bind_v4->family() == PeerAddress::Family::v4);
  if (managed.outbound_bind_v6) FUZZ_CHECK(managed.outbound_bind_v6->family() == PeerAddress::Family::v6);
  if (managed.client) {
    FUZZ_CHECK(!managed.client->transports.empty());
    for (const auto& name : managed.client->transports) {
      FUZZ_CHECK(name == "*" || pt::is_valid_transport_name(name));
    }
    if (managed.client->proxy) FUZZ_CHECK(managed.client->proxy->address.port() != 0);
  }
  if (managed.server) {
    const auto& server = *managed.server;
    FUZZ_CHECK(server.orport || server.extended_orport);
    if (server.extended_orport) FUZZ_CHECK(!server.auth_cookie_file.empty());
    for (const auto& [name, address] : server.bind_addresses) {
      FUZZ_CHECK(listed(server.transports, name));
      FUZZ_CHECK(address.family() != PeerAddress::Family::none);
    }
  }
}

}  // namespace

int fuzz_environment(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  pt::Environment environment;
  if (!text.empty()) {
    if ((data[0] & 1) != 0) environment = valid_environment();
    text.remove_prefix(1);
  }
  // Later lines override earlier ones, so the fuzzer can replace any variable of the valid base.
  while (!text.empty()) {
    const auto end = text.find('\n');
    const auto line = text.substr(0, end);
    const auto equals = line.find('=');
    if (equals != std::string_view::npos) {
      environment[std::string(line.substr(0, equals))] = std::string(line.substr(equals + 1));
    } else {
      environment.erase(std::string(line));  // a bare name unsets the variable
    }
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }

  const auto result = pt::parse_environment(environment);
  if (result.ok()) {
    check_valid(result.value());
  } else {
    FUZZ_CHECK(!result.error().message.empty());
  }
  return 0;
}

}  // namespace hoplink::fuzz
