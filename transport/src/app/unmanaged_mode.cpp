// The client and server modes without tor: for operators testing a path, and for benchmarks.
#include "app/app.hpp"
#include "app/bridge_line.hpp"
#include "app/modes.hpp"
#include "runtime/system_runtime.hpp"

namespace hoplink::transport {

int run_client(const Options& options, pt::Messages& messages) {
  asio::io_context io;
  SystemRuntime runtime(io);
  App app(options, messages, runtime);
  const auto listen = options.listen.value_or(PeerAddress::v4({127, 0, 0, 1}, 0));
  pt::Args remote_args;
  if (!options.fingerprint.empty()) remote_args.emplace_back("fp", options.fingerprint);
  auto address = app.add_client(options.transport, listen, options.remote, std::move(remote_args));
  if (!address.ok()) {
    messages.cmethod_error(options.transport, address.error());
    messages.cmethods_done();
    return 1;
  }
  messages.cmethod(options.transport, address.value());
  messages.cmethods_done();
  return app.run();
}

int run_server(const Options& options, pt::Messages& messages) {
  asio::io_context io;
  SystemRuntime runtime(io);
  App app(options, messages, runtime);
  app.set_state_directory(options.state_dir);
  OrPortTarget target;
  if (options.ext_orport) {
    target = {*options.ext_orport, true, options.auth_cookie};
  } else {
    target = {*options.orport, false, {}};
  }
  const auto bind = options.listen.value_or(PeerAddress::v4({0, 0, 0, 0}, 0));
  auto address = app.add_server(options.transport, bind, options.link, target);
  if (!address.ok()) {
    messages.smethod_error(options.transport, address.error());
    messages.smethods_done();
    return 1;
  }
  const auto args = app.smethod_args(options.transport);
  messages.smethod(options.transport, address.value(), args);
  messages.smethods_done();
  if (!options.state_dir.empty()) {
    auto written = write_bridge_line_file(options.state_dir, {{options.transport, address.value(), args}});
    if (!written.ok()) app.log().warning(written.error());
  }
  return app.run();
}

}  // namespace hoplink::transport
