// What tor sees when it launches hoplink: the stdout negotiation, the addresses it reports, the state
// directory and bridge line file, and the LOG/STATUS lines that follow.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <thread>

#include "bridge_pair.hpp"
#include "proc_net.hpp"
#include "timeouts.hpp"

using namespace hoplink::itest;
using namespace std::chrono_literals;

namespace {

std::size_t index_of(const std::vector<std::string>& lines,
                     const std::function<bool(const std::string&)>& pred) {
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (pred(lines[i])) return i;
  }
  return lines.size();
}

// The start-up lines both roles share: VERSION 1 first, STATUS TYPE=version before *METHODS DONE.
void check_negotiation(const Process& p, const std::string& done) {
  auto lines = p.lines();
  INFO(p.describe());
  REQUIRE_FALSE(lines.empty());
  CHECK(lines[0] == "VERSION 1");
  auto version = index_of(lines, starts_with("STATUS TYPE=version "));
  auto done_at = index_of(lines, equals(done));
  REQUIRE(version < lines.size());
  CHECK(version < done_at);
  auto kv = parse_status(lines[version]);
  REQUIRE(kv);
  CHECK(kv->at("IMPLEMENTATION") == "hoplink");
  CHECK(std::regex_match(kv->at("VERSION"), std::regex(R"(\d+\.\d+\.\d+)")));
  CHECK(stdout_protocol_problems(p) == "");
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("managed client: VERSION, STATUS version, CMETHOD sctp socks5 on loopback, CMETHODS DONE",
          "[managed][startup]") {
  TempDir dir;
  auto client = start_managed_client(dir, {});
  check_negotiation(*client.process, "CMETHODS DONE");
  CHECK(client.method.protocol == "socks5");
  CHECK(client.method.address.ip == "127.0.0.1");
  // The SOCKS port is listening.
  Fd fd = tcp_connect(client.method.address.port, deadline_in(timeouts::kLinkSetup));
  CHECK(fd);
  // The state directory exists, private.
  struct stat st {};
  REQUIRE(::stat(client.state_dir.c_str(), &st) == 0);
  CHECK(S_ISDIR(st.st_mode));
  CHECK((st.st_mode & 0777) == 0700);
}

TEST_CASE("managed server: SMETHOD sctp on the UDP port it really holds, bridge line file written",
          "[managed][startup]") {
  BridgePair pair;
  auto& server = pair.server_process();
  check_negotiation(server, "SMETHODS DONE");
  const auto& method = pair.server.method;
  CHECK(method.address.ip == "127.0.0.1");
  auto udp = udp_ports_of(server.pid());
  INFO("SMETHOD port " << method.address.port);
  CHECK(udp.contains(method.address.port));

  auto path = pair.server.state_dir / "hoplink_bridgeline.txt";
  REQUIRE(std::filesystem::exists(path));
  std::istringstream text(read_file(path));
  INFO("hoplink_bridgeline.txt:\n" << read_file(path));
  std::string line;
  int bridge_lines = 0;
  while (std::getline(text, line)) {
    if (line.empty() || line.starts_with("#")) continue;
    std::istringstream words(line);
    std::vector<std::string> w{std::istream_iterator<std::string>(words), {}};
    INFO("line: " << line);
    REQUIRE(w.size() >= 4);
    CHECK(w[0] == "Bridge");
    CHECK(w[1] == "sctp");
    auto colon = w[2].rfind(':');
    REQUIRE(colon != std::string::npos);
    CHECK((w[2].substr(0, colon) == "127.0.0.1" || w[2].substr(0, colon) == "<IP ADDRESS>"));
    CHECK(w[2].substr(colon + 1) == std::to_string(method.address.port));
    CHECK(std::regex_match(w[3], std::regex("<FINGERPRINT>|[0-9A-Fa-f]{40}")));
    KeyValues args;
    for (std::size_t i = 4; i < w.size(); ++i) {
      auto eq = w[i].find('=');
      REQUIRE(eq != std::string::npos);
      CHECK(eq > 0);
      args[w[i].substr(0, eq)] = w[i].substr(eq + 1);
    }
    CHECK(args == method.args);
    ++bridge_lines;
  }
  CHECK(bridge_lines == 1);
}

TEST_CASE("managed server binds exactly the port in TOR_PT_SERVER_BINDADDR", "[managed][startup]") {
  TempDir dir;
  std::uint16_t port;
  {
    Fd probe = udp_bind();
    port = local_port(probe.get());
  }
  FakeTor tor(FakeTorConfig{}, dir / "cookie");
  auto server = start_managed_server(dir, {.orport = tor.port(),
                                           .ext_orport = tor.port(),
                                           .cookie_file = dir / "cookie",
                                           .transports = "sctp",
                                           .bindaddr = "sctp-127.0.0.1:" + std::to_string(port),
                                           .extra_env = {},
                                           .args = {}});
  CHECK(server.method.address == Endpoint{"127.0.0.1", port});
  CHECK(udp_ports_of(server.process->pid()).contains(port));
}

TEST_CASE("STATUS lines with the link counters follow a link", "[managed][status]") {
  // --status-interval 0: a STATUS line whenever a link closes (as --help documents).
  BridgePair pair(pair_options(FakeTorConfig{}, {"--status-interval", "0"}, {"--status-interval", "0"}));
  auto client_mark = pair.client_process().lines().size();
  auto server_mark = pair.server_process().lines().size();
  auto result = pair.link({.seed = 3, .up = 123456, .down = 654321}, timeouts::kSmallLink);
  INFO(result.describe());
  INFO(pair.describe());
  REQUIRE(result.ok());
  for (auto [process, mark] :
       {std::pair{&pair.client_process(), client_mark}, {&pair.server_process(), server_mark}}) {
    auto status =
        process->wait_for_line_text(starts_with("STATUS TRANSPORT=sctp "), timeouts::kLogLine, mark);
    INFO(process->name());
    REQUIRE(status);
    auto kv = parse_status(*status);
    REQUIRE(kv);
    std::size_t numeric = 0;
    for (const auto& [k, v] : *kv) {
      if (!v.empty() && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
        ++numeric;
    }
    CHECK(numeric > 0);
  }
  CHECK(stdout_protocol_problems(pair.client_process()) == "");
  CHECK(stdout_protocol_problems(pair.server_process()) == "");
}

TEST_CASE("LOG lines at debug level are well formed and appear for a link", "[managed][log]") {
  BridgePair pair(pair_options(FakeTorConfig{}, {"--log-level", "debug"}, {"--log-level", "debug"}));
  auto result = pair.link({.seed = 4, .up = 1000, .down = 1000}, timeouts::kSmallLink);
  INFO(result.describe());
  INFO(pair.describe());
  REQUIRE(result.ok());
  for (Process* p : {&pair.client_process(), &pair.server_process()}) {
    INFO(p->name());
    CHECK(p->wait_for_line(starts_with("LOG "), timeouts::kLogLine).has_value());
    CHECK(stdout_protocol_problems(*p) == "");
  }
}

TEST_CASE("a managed client asked for one transport prints STATUS lines for that one only",
          "[managed][status]") {
  for (const std::string asked : {"sctp", "dtls"}) {
    INFO("TOR_PT_CLIENT_TRANSPORTS=" << asked);
    TempDir dir;
    auto client = start_managed_client(dir, {.transports = asked, .extra_env = {}, .args = {}});
    // SIGTERM ends hoplink with the STATUS line of totals of every transport it runs.
    client.process->send_signal(SIGTERM);
    REQUIRE(client.process->wait_exit(timeouts::kPromptExit).has_value());
    // Every line it wrote, read: the reader thread may still be at it when the process is gone.
    const auto until = deadline_in(timeouts::kExit);
    while (!client.process->stdout_closed() && Clock::now() < until) std::this_thread::sleep_for(10ms);
    INFO(client.process->describe());
    std::size_t asked_lines = 0;
    for (const auto& line : client.process->lines()) {
      const auto kv = parse_status(line);
      if (!kv || !kv->contains("TRANSPORT")) continue;
      INFO(line);
      CHECK(kv->at("TRANSPORT") == asked);
      if (kv->at("TRANSPORT") == asked && kv->contains("LINKS")) ++asked_lines;
    }
    CHECK(asked_lines == 1);
  }
}
