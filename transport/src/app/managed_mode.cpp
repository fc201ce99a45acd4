// Managed mode: tor launched us; the environment says what to do (pt-spec.txt).
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "app/app.hpp"
#include "app/bridge_line.hpp"
#include "app/modes.hpp"
#include "app/version.hpp"
#include "runtime/system_runtime.hpp"
#include "transports/transport_registry.hpp"

namespace hoplink::transport {

namespace {

// mkdir -p with mode 0700 for what it creates, as tor expects of TOR_PT_STATE_LOCATION.
Result<void, std::string> make_state_directory(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return fail("cannot create " + path + ": " + ec.message());
  if (::chmod(path.c_str(), 0700) != 0) return fail("cannot chmod " + path + ": " + std::strerror(errno));
  return {};
}

std::vector<std::string> expand(const std::vector<std::string>& requested) {
  std::vector<std::string> names;
  for (const auto& name : requested) {
    if (name == "*") {
      for (const auto& info : transports()) names.emplace_back(info.name);
    } else {
      names.push_back(name);
    }
  }
  return names;
}

void start_clients(App& app, const pt::ManagedEnvironment& environment, pt::Messages& messages) {
  app.set_outbound_bind(environment.outbound_bind_v4, environment.outbound_bind_v6);
  for (const auto& name : expand(environment.client->transports)) {
    if (find_transport(name) == nullptr) {
      messages.cmethod_error(name, "no such transport in hoplink");
      continue;
    }
    auto address = app.add_client(name, PeerAddress::v4({127, 0, 0, 1}, 0), std::nullopt);
    if (address.ok()) {
      messages.cmethod(name, address.value());
    } else {
      messages.cmethod_error(name, address.error());
    }
  }
  messages.cmethods_done();
}

void start_servers(App& app, const Options& options, const pt::ManagedEnvironment& environment,
                   pt::Messages& messages) {
  const auto& server = *environment.server;
  OrPortTarget target;
  if (server.extended_orport) {
    target = {*server.extended_orport, true, server.auth_cookie_file};
  } else {
    target = {*server.orport, false, {}};
  }
  std::vector<ServedTransport> served;
  for (const auto& name : expand(server.transports)) {
    if (find_transport(name) == nullptr) {
      messages.smethod_error(name, "no such transport in hoplink");
      continue;
    }
    LinkOptions link = options.link;
    if (auto found = server.options.find(name); found != server.options.end()) {
      try {
        apply_transport_options(link, found->second, options.datagrams);
      } catch (const OptionsError& e) {
        messages.smethod_error(name, std::string("bad TOR_PT_SERVER_TRANSPORT_OPTIONS: ") + e.what());
        continue;
      }
    }
    const auto found_bind = server.bind_addresses.find(name);
    const auto bind =
        found_bind != server.bind_addresses.end() ? found_bind->second : PeerAddress::v4({0, 0, 0, 0}, 0);
    auto address = app.add_server(name, bind, link, target);
    if (!address.ok()) {
      messages.smethod_error(name, address.error());
      continue;
    }
    auto args = app.smethod_args(name);
    messages.smethod(name, address.value(), args);
    served.push_back({name, address.value(), std::move(args)});
  }
  messages.smethods_done();
  if (served.empty()) return;
  auto written = write_bridge_line_file(environment.state_location, served);
  if (written.ok()) {
    for (const auto& one : served) {
      app.log().notice("bridge line written to " + written.value() + ": " + bridge_line(one));
    }
  } else {
    app.log().warning(written.error());
  }
}

}  // namespace

int run_managed(const Options& options, const pt::Environment& environment, pt::Messages& messages) {
  auto parsed = pt::parse_environment(environment);
  if (!parsed.ok()) {
    const auto& error = parsed.error();
    switch (error.kind) {
      case pt::EnvironmentError::Kind::version:
        messages.version_error();
        break;
      case pt::EnvironmentError::Kind::env:
        messages.env_error(error.message);
        break;
      case pt::EnvironmentError::Kind::proxy:
        messages.version();
        messages.proxy_error(error.message);
        break;
    }
    return 1;
  }
  const auto& env = parsed.value();
  messages.version();
  messages.status_version(kImplementation, kVersion);
  if (auto made = make_state_directory(env.state_location); !made.ok()) {
    messages.env_error(made.error());
    return 1;
  }
  if (env.client && env.client->proxy && env.client->proxy->scheme != pt::ProxyUri::Scheme::socks5) {
    // Every hoplink transport is datagrams over UDP: HTTP CONNECT and SOCKS4a carry only TCP.
    messages.proxy_error(
        "hoplink sends UDP datagrams, which an HTTP or SOCKS4a proxy cannot carry; use a SOCKS5 proxy that "
        "offers UDP ASSOCIATE");
    return 1;
  }
  asio::io_context io;
  SystemRuntime runtime(io);
  App app(options, messages, runtime);
  app.set_state_directory(env.state_location);
  if (env.client && env.client->proxy) {
    constexpr std::chrono::seconds kProxyTimeout{15};
    if (auto proxied = app.use_proxy(expand(env.client->transports), *env.client->proxy, kProxyTimeout);
        !proxied.ok()) {
      messages.proxy_error(proxied.error());
      return 1;
    }
    messages.proxy_done();
  }
  if (env.client) start_clients(app, env, messages);
  if (env.server) start_servers(app, options, env, messages);
  if (env.exit_on_stdin_close) app.exit_on_stdin_close();
  return app.run();
}

}  // namespace hoplink::transport
