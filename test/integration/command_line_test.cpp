// The command line an operator types: --help, --version, and what a mistake gets.
#include <catch2/catch.hpp>
#include <regex>

#include "hoplink.hpp"
#include "timeouts.hpp"

using namespace hoplink::itest;
using namespace std::chrono_literals;

namespace {

struct Run {
  ExitStatus status;
  std::string out;  // stdout lines joined with '\n'
  std::string err;
};

Run run_to_exit(const TempDir& dir, std::vector<std::string> args) {
  auto p = spawn_hoplink(dir, "cli", std::move(args), {});
  auto status = p->wait_exit(timeouts::kExit);
  INFO(p->describe());
  REQUIRE(status);
  // The reader thread may still be collecting the last lines: wait for the pipe to close.
  p->wait_for_line([](const std::string&) { return false; }, timeouts::kExit);
  Run run{*status, "", p->stderr_text()};
  for (const auto& l : p->lines()) run.out += l + "\n";
  return run;
}

}  // namespace

TEST_CASE("hoplink --help lists every option and exits 0", "[cli]") {
  TempDir dir;
  auto run = run_to_exit(dir, {"--help"});
  INFO(run.out << run.err);
  CHECK(run.status.exited());
  CHECK(run.status.code == 0);
  for (const char* option : {"--listen", "--remote", "--orport", "--ext-orport", "--auth-cookie", "--mtu",
                             "--cc", "--connect-timeout", "--dead-peer-timeout", "--heartbeat-interval",
                             "--log-level", "--help", "--version", "--transport", "--state-dir", "--fp",
                             "--dtls-handshake-timeout", "--dtls-max-half-open"}) {
    INFO(option);
    CHECK(run.out.find(option) != std::string::npos);
  }
}

TEST_CASE("hoplink --version prints the version the STATUS line reports and exits 0", "[cli]") {
  TempDir dir;
  auto run = run_to_exit(dir, {"--version"});
  INFO(run.out << run.err);
  CHECK(run.status.code == 0);
  std::smatch m;
  REQUIRE(std::regex_search(run.out, m, std::regex(R"(\d+\.\d+\.\d+)")));
  auto client = start_managed_client(dir, {});
  auto status = client.process->wait_for_line_text(starts_with("STATUS TYPE=version "), 1ms);
  REQUIRE(status);
  CHECK(parse_status(*status)->at("VERSION") == m.str());
}

TEST_CASE("an unknown option or a bad value exits non-zero with a message", "[cli]") {
  TempDir dir;
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"--no-such-option"},
           {"client", "--listen", "127.0.0.1:0", "--no-such-option"},
           {"client", "--listen", "not-an-address"},
           {"client", "--listen", "127.0.0.1:0", "--mtu", "10"},
           {"client", "--listen", "127.0.0.1:0", "--cc", "nosuchcc"},
           {"client", "--listen", "127.0.0.1:0", "--log-level", "loud"},
           {"server", "--listen", "127.0.0.1:0"},  // neither --orport nor --ext-orport
           {"client", "--transport", "nosuchtransport"},
           {"server", "--transport", "dtls", "--orport", "127.0.0.1:9", "--fp", "00"},  // a client option
           {"--fp", "00"},  // managed: from the bridge line
           {"client", "--dtls-handshake-timeout", "10"},
           {"client", "--dtls-max-half-open", "0"},
           // The state directory must exist: the dtls certificate is never written somewhere unexpected.
           {"server", "--transport", "dtls", "--orport", "127.0.0.1:9", "--state-dir",
            "/nonexistent/hoplink"},
           {"nosuchmode"},
       }) {
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    INFO("hoplink " << joined);
    auto run = run_to_exit(dir, args);
    INFO("stdout: " << run.out << "stderr: " << run.err);
    CHECK_FALSE((run.status.exited() && run.status.code == 0));
    CHECK(run.status.exited());  // an error exit, not a crash
    CHECK(run.err.size() + run.out.size() > 0);
  }
}
