#include "pt/environment.hpp"


#include "proxy_uri.hpp"

namespace hoplink::pt {
namespace {

using Error = EnvironmentError;

Failure<Error> env_error(std::string message) {
  return fail(Error{Error::Kind::env, std::move(message)});
}

std::optional<std::string_view> lookup(const Environment& environment, std::string_view name) {
  const auto it = environment.find(name);
  if (it == environment.end()) return std::nullopt;
  return std::string_view(it->second);
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> pieces;
  while (true) {
    const auto at = text.find(separator);
    pieces.push_back(text.substr(0, at));
    if (at == std::string_view::npos) break;
    text.remove_prefix(at + 1);
  }
  return pieces;
}

// A comma list of transport names; "*" means "every transport you have".
std::optional<std::vector<std::string>> parse_transport_list(std::string_view text) {
  std::vector<std::string> names;
  for (const auto name : split(text, ',')) {
    if (name != "*" && !is_valid_transport_name(name)) return std::nullopt;
    names.emplace_back(name);
  }
  return names;
}

// TOR_PT_OUTBOUND_BIND_ADDRESS_V4 is "1.2.3.4", _V6 is "[::1]": address literals without a port.
std::optional<PeerAddress> parse_bind_host(std::string_view text, PeerAddress::Family family) {
  const bool bracketed = text.size() >= 2 && text.front() == '[' && text.back() == ']';
  if (bracketed != (family == PeerAddress::Family::v6)) return std::nullopt;
  auto address = PeerAddress::parse(std::string(text) + ":0");
  if (!address || address->family() != family) return std::nullopt;
  return address;
}

Result<ClientEnvironment, Error> parse_client(const Environment& environment, std::string_view transports) {
  ClientEnvironment client;
  auto names = parse_transport_list(transports);
  if (!names) return env_error("malformed TOR_PT_CLIENT_TRANSPORTS");
  client.transports = std::move(*names);
  if (const auto proxy = lookup(environment, "TOR_PT_PROXY")) {
    auto uri = detail::parse_proxy_uri(*proxy);
    if (!uri) return fail(Error{Error::Kind::proxy, uri.error()});
    client.proxy = std::move(uri.value());
  }
  return client;
}

bool lists(const std::vector<std::string>& transports, std::string_view name) {
  for (const auto& transport : transports) {
    if (transport == "*" || transport == name) return true;
  }
  return false;
}

// "name-ip:port,name-ip:port": transport names cannot hold '-', so the first '-' ends the name.
Result<std::map<std::string, PeerAddress>, Error> parse_bindaddr(std::string_view text,
                                                                 const std::vector<std::string>& transports) {
  std::map<std::string, PeerAddress> addresses;
  for (const auto item : split(text, ',')) {
    const auto dash = item.find('-');
    if (dash == std::string_view::npos) return env_error("malformed TOR_PT_SERVER_BINDADDR entry");
    const std::string name(item.substr(0, dash));
    if (!is_valid_transport_name(name))
      return env_error("malformed transport name in TOR_PT_SERVER_BINDADDR");
    if (!lists(transports, name)) {
      return env_error("TOR_PT_SERVER_BINDADDR names " + name + ", not in TOR_PT_SERVER_TRANSPORTS");
    }
    const auto address = PeerAddress::parse(item.substr(dash + 1));
    if (!address) return env_error("malformed address for " + name + " in TOR_PT_SERVER_BINDADDR");
    if (!addresses.emplace(name, *address).second) {
      return env_error("TOR_PT_SERVER_BINDADDR names " + name + " twice");
    }
  }
  return addresses;
}

// Optional ip:port; set but empty counts as unset (tor leaves TOR_PT_EXTENDED_SERVER_PORT empty this way).
Result<std::optional<PeerAddress>, Error> parse_optional_address(const Environment& environment,
                                                                 std::string_view name) {
  const auto text = lookup(environment, name);
  if (!text || text->empty()) return std::optional<PeerAddress>{};
  const auto address = PeerAddress::parse(*text);
  if (!address || address->port() == 0) return env_error("malformed " + std::string(name));
  return std::optional<PeerAddress>(*address);
}

Result<ServerEnvironment, Error> parse_server(const Environment& environment, std::string_view transports) {
  ServerEnvironment server;
  auto names = parse_transport_list(transports);
  if (!names) return env_error("malformed TOR_PT_SERVER_TRANSPORTS");
  server.transports = std::move(*names);

  if (const auto text = lookup(environment, "TOR_PT_SERVER_TRANSPORT_OPTIONS")) {
    auto options = parse_server_transport_options(*text);
    if (!options) return env_error("malformed TOR_PT_SERVER_TRANSPORT_OPTIONS");
    server.options = std::move(*options);
  }
  if (const auto text = lookup(environment, "TOR_PT_SERVER_BINDADDR"); text && !text->empty()) {
    auto addresses = parse_bindaddr(*text, server.transports);
    if (!addresses) return fail(addresses.error());
    server.bind_addresses = std::move(addresses.value());
  }

  auto orport = parse_optional_address(environment, "TOR_PT_ORPORT");
  if (!orport) return fail(orport.error());
  server.orport = *orport;
  auto extended = parse_optional_address(environment, "TOR_PT_EXTENDED_SERVER_PORT");
  if (!extended) return fail(extended.error());
  server.extended_orport = *extended;
  if (!server.orport && !server.extended_orport) {
    return env_error("neither TOR_PT_ORPORT nor TOR_PT_EXTENDED_SERVER_PORT is set");
  }

  if (const auto cookie = lookup(environment, "TOR_PT_AUTH_COOKIE_FILE")) server.auth_cookie_file = *cookie;
  if (server.extended_orport && server.auth_cookie_file.empty()) {
    return env_error("TOR_PT_EXTENDED_SERVER_PORT is set but TOR_PT_AUTH_COOKIE_FILE is not");
  }
  return server;
}

}  // namespace

Environment environment_from(char** envp) {
  Environment environment;
  if (envp == nullptr) return environment;
  for (char** entry = envp; *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const auto equals = text.find('=');
    if (equals == std::string_view::npos) continue;
    // First one wins, as getenv() would find it.
    environment.emplace(std::string(text.substr(0, equals)), std::string(text.substr(equals + 1)));
  }
  return environment;
}

Result<ManagedEnvironment, EnvironmentError> parse_environment(const Environment& environment) {
  ManagedEnvironment managed;

  const auto versions = lookup(environment, "TOR_PT_MANAGED_TRANSPORT_VER");
  if (!versions) return env_error("TOR_PT_MANAGED_TRANSPORT_VER is not set");
  bool speaks_1 = false;
  for (const auto version : split(*versions, ',')) speaks_1 = speaks_1 || version == "1";
  if (!speaks_1) return fail(Error{Error::Kind::version, "no-version"});

  const auto state = lookup(environment, "TOR_PT_STATE_LOCATION");
  if (!state || state->empty()) return env_error("TOR_PT_STATE_LOCATION is not set");
  managed.state_location = *state;

  if (const auto exit = lookup(environment, "TOR_PT_EXIT_ON_STDIN_CLOSE")) {
    if (*exit != "0" && *exit != "1" && !exit->empty())
      return env_error("malformed TOR_PT_EXIT_ON_STDIN_CLOSE");
    managed.exit_on_stdin_close = *exit == "1";
  }

  if (const auto v4 = lookup(environment, "TOR_PT_OUTBOUND_BIND_ADDRESS_V4"); v4 && !v4->empty()) {
    managed.outbound_bind_v4 = parse_bind_host(*v4, PeerAddress::Family::v4);
    if (!managed.outbound_bind_v4) return env_error("malformed TOR_PT_OUTBOUND_BIND_ADDRESS_V4");
  }
  if (const auto v6 = lookup(environment, "TOR_PT_OUTBOUND_BIND_ADDRESS_V6"); v6 && !v6->empty()) {
    managed.outbound_bind_v6 = parse_bind_host(*v6, PeerAddress::Family::v6);
    if (!managed.outbound_bind_v6) return env_error("malformed TOR_PT_OUTBOUND_BIND_ADDRESS_V6");
  }

  const auto client_transports = lookup(environment, "TOR_PT_CLIENT_TRANSPORTS");
  const auto server_transports = lookup(environment, "TOR_PT_SERVER_TRANSPORTS");
  if (!client_transports && !server_transports) {
    return env_error("neither TOR_PT_CLIENT_TRANSPORTS nor TOR_PT_SERVER_TRANSPORTS is set");
  }
  if (client_transports) {
    auto client = parse_client(environment, *client_transports);
    if (!client) return fail(client.error());
    managed.client = std::move(client.value());
  }
  if (server_transports) {
    auto server = parse_server(environment, *server_transports);
    if (!server) return fail(server.error());
    managed.server = std::move(server.value());
  }
  return managed;
}

}  // namespace hoplink::pt
