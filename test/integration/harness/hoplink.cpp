#include "hoplink.hpp"

#include <cstdlib>
#include <stdexcept>

#include "timeouts.hpp"

#ifndef HOPLINK_BINARY
#define HOPLINK_BINARY "hoplink"
#endif

namespace hoplink::itest {
namespace {

// Waits for `done` ("CMETHODS DONE"/"SMETHODS DONE") and the method line for `name` before it.
Running wait_for_method(std::unique_ptr<Process> process, const std::string& done, bool client,
                        std::filesystem::path state_dir, const std::string& name) {
  auto fail = [&](const std::string& why) -> Running {
    throw std::runtime_error(why + "\n" + process->describe());
  };
  if (!process->wait_for_line(equals(done), timeouts::kStartup)) {
    process->wait_exit(std::chrono::milliseconds(200));
    return fail("no '" + done + "' line");
  }
  for (const auto& line : process->lines()) {
    auto method = client ? parse_cmethod(line) : parse_smethod(line);
    if (method && method->name == name) return Running{std::move(process), *method, std::move(state_dir)};
  }
  return fail(std::string("no ") + (client ? "CMETHOD" : "SMETHOD") + " line for " + name);
}

// The method a test waits for: the first transport of a comma-separated list that hoplink has (tests list
// unknown names on purpose, to see them refused), else the first.
std::string first_transport(const std::string& transports) {
  std::string_view rest = transports;
  while (!rest.empty()) {
    const auto name = rest.substr(0, rest.find(','));
    if (name == "sctp" || name == "dtls") return std::string(name);
    rest.remove_prefix(std::min(rest.size(), name.size() + 1));
  }
  return transports.substr(0, transports.find(','));
}

}  // namespace

std::filesystem::path hoplink_binary() {
  if (const char* env = std::getenv("HOPLINK_BINARY")) return env;
  return HOPLINK_BINARY;
}

std::unique_ptr<Process> spawn_hoplink(const TempDir& dir, const std::string& name,
                                       std::vector<std::string> args, Env env) {
  // Sanitizer builds need their options passed through.
  for (const char* keep : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"}) {
    if (const char* v = std::getenv(keep); v && !env.contains(keep)) env[keep] = v;
  }
  return std::make_unique<Process>(Process::Options{.program = hoplink_binary(),
                                                    .args = std::move(args),
                                                    .env = std::move(env),
                                                    .stderr_path = dir / (name + ".stderr"),
                                                    .name = "hoplink " + name});
}

Env managed_env(const std::filesystem::path& state_dir, bool exit_on_stdin_close) {
  Env env{{"TOR_PT_MANAGED_TRANSPORT_VER", "1"}, {"TOR_PT_STATE_LOCATION", state_dir.string()}};
  if (exit_on_stdin_close) env["TOR_PT_EXIT_ON_STDIN_CLOSE"] = "1";
  return env;
}

Running start_managed_client(const TempDir& dir, const ManagedClientOptions& options,
                             const std::string& name) {
  auto state = dir / (name + "-state");
  Env env = managed_env(state);
  env["TOR_PT_CLIENT_TRANSPORTS"] = options.transports;
  for (const auto& [k, v] : options.extra_env) env[k] = v;
  return wait_for_method(spawn_hoplink(dir, name, options.args, env), "CMETHODS DONE", true, state,
                         first_transport(options.transports));
}

Running start_managed_server(const TempDir& dir, const ManagedServerOptions& options,
                             const std::string& name) {
  auto state = dir / (name + "-state");
  Env env = managed_env(state);
  env["TOR_PT_SERVER_TRANSPORTS"] = options.transports;
  env["TOR_PT_SERVER_BINDADDR"] = options.bindaddr;
  env["TOR_PT_ORPORT"] = "127.0.0.1:" + std::to_string(options.orport);
  env["TOR_PT_EXTENDED_SERVER_PORT"] =
      options.ext_orport ? "127.0.0.1:" + std::to_string(*options.ext_orport) : "";
  if (!options.cookie_file.empty()) env["TOR_PT_AUTH_COOKIE_FILE"] = options.cookie_file.string();
  for (const auto& [k, v] : options.extra_env) env[k] = v;
  return wait_for_method(spawn_hoplink(dir, name, options.args, env), "SMETHODS DONE", false, state,
                         first_transport(options.transports));
}

Running start_unmanaged(const TempDir& dir, const std::string& role, std::vector<std::string> args,
                        const std::string& name) {
  std::string transport = "sctp";
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--transport") transport = args[i + 1];
  }
  args.insert(args.begin(), role);
  bool client = role == "client";
  return wait_for_method(spawn_hoplink(dir, name, std::move(args), {}),
                         client ? "CMETHODS DONE" : "SMETHODS DONE", client, {}, transport);
}

std::string stdout_protocol_problems(const Process& process) {
  std::string problems;
  for (const auto& line : process.lines()) {
    std::string why;
    if (!is_well_formed_pt_line(line, &why)) problems += "'" + line + "': " + why + "\n";
  }
  std::string tail;
  if (process.stdout_closed(&tail) && !tail.empty()) problems += "unterminated last line '" + tail + "'\n";
  return problems;
}

}  // namespace hoplink::itest
