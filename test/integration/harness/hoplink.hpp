// Launching the hoplink binary as tor does (managed mode: PT environment, stdout protocol) or as an
// operator does (unmanaged: command line), and waiting until it reports its listening address.
// start_* functions throw std::runtime_error with hoplink's stdout and stderr when start-up fails.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net.hpp"
#include "process.hpp"
#include "pt_lines.hpp"
#include "temp_dir.hpp"

namespace hoplink::itest {

// The binary under test: $HOPLINK_BINARY if set, else the path CMake compiled in.
std::filesystem::path hoplink_binary();

// Spawns hoplink with `args` and exactly `env`; stderr goes to dir/<name>.stderr.
std::unique_ptr<Process> spawn_hoplink(const TempDir& dir, const std::string& name,
                                       std::vector<std::string> args, Env env);

// The variables every managed launch has. exit_on_stdin_close as tor sets it (also keeps a crashed test
// from leaving hoplink running).
Env managed_env(const std::filesystem::path& state_dir, bool exit_on_stdin_close = true);

// `transports` is what tor would list; the test waits for the method line of the first one.
struct ManagedClientOptions {
  std::string transports = "sctp";
  Env extra_env;                  // added to / overriding managed_env
  std::vector<std::string> args;  // command-line options, e.g. a connect timeout
};

struct ManagedServerOptions {
  std::uint16_t orport = 0;                 // TOR_PT_ORPORT
  std::optional<std::uint16_t> ext_orport;  // TOR_PT_EXTENDED_SERVER_PORT; nullopt: set but empty
  std::filesystem::path cookie_file;        // TOR_PT_AUTH_COOKIE_FILE
  std::string transports = "sctp";
  std::string bindaddr = "sctp-127.0.0.1:0";
  Env extra_env;
  std::vector<std::string> args;
};

struct Running {
  std::unique_ptr<Process> process;
  MethodLine method;  // the CMETHOD / SMETHOD line of the first transport asked for
  std::filesystem::path state_dir;
};

Running start_managed_client(const TempDir& dir, const ManagedClientOptions& options,
                             const std::string& name = "client");
Running start_managed_server(const TempDir& dir, const ManagedServerOptions& options,
                             const std::string& name = "server");
// Unmanaged mode: `hoplink client|server args...`; waits for its CMETHOD/SMETHOD and *METHODS DONE.
Running start_unmanaged(const TempDir& dir, const std::string& role, std::vector<std::string> args,
                        const std::string& name);

// Empty if every stdout line so far is a well-formed PT line, else the offending lines and why.
std::string stdout_protocol_problems(const Process& process);

}  // namespace hoplink::itest
