#include "transport/hoplink.hpp"

#include <csignal>
#include <exception>
#include <iostream>

#include "app/modes.hpp"
#include "app/version.hpp"

namespace hoplink::transport {

int run_hoplink(int argc, char** argv, char** envp) {
  // A peer closing a TCP connection must give an error on that socket, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  pt::Messages messages(std::cout);
  Options options;
  try {
    options = parse_options(argc, argv);
  } catch (const OptionsError& e) {
    std::cerr << "hoplink: " << e.what() << "\nTry 'hoplink --help'.\n";
    return 2;
  }
  if (options.help) {
    std::cout << help_text();
    return 0;
  }
  if (options.version) {
    std::cout << kImplementation << ' ' << kVersion << '\n';
    return 0;
  }
  try {
    switch (options.mode) {
      case Mode::managed: {
        const auto environment = pt::environment_from(envp);
        if (!environment.contains("TOR_PT_MANAGED_TRANSPORT_VER")) {
          std::cerr << "hoplink: TOR_PT_MANAGED_TRANSPORT_VER is not set: tor launches hoplink in this mode "
                       "(see 'hoplink --help' for the client and server modes)\n";
        }
        return run_managed(options, environment, messages);
      }
      case Mode::client:
        return run_client(options, messages);
      case Mode::server:
        return run_server(options, messages);
    }
  } catch (const std::exception& e) {
    messages.log(pt::Severity::error, std::string("fatal: ") + e.what());
    std::cerr << "hoplink: " << e.what() << '\n';
    return 1;
  }
  return 1;
}

}  // namespace hoplink::transport
