// TOR_PT_PROXY=socks5://: the client's datagrams go through a real SOCKS5 proxy's UDP relay (Dante's danted,
// Debian package dante-server), and the association is renewed when the proxy goes away and comes back.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <fstream>
#include <thread>

#include "bridge_pair.hpp"
#include "timeouts.hpp"

using namespace hoplink::itest;
using namespace std::chrono_literals;

namespace {

constexpr const char* kDanted = "/usr/sbin/danted";

// A danted on 127.0.0.1:port that relays UDP for loopback clients, with or without UDP ASSOCIATE allowed.
class Danted {
 public:
  Danted(const TempDir& dir, std::uint16_t port, bool allow_udp, const std::string& name)
      : dir_(dir), port_(port), allow_udp_(allow_udp), name_(name) {
    start();
  }

  void start() {
    if (::access(kDanted, X_OK) != 0) FAIL("danted is missing: ./run deps installs dante-server");
    const auto config = dir_ / (name_ + ".conf");
    std::ofstream out(config);
    out << "logoutput: stderr\n"
        << "internal: 127.0.0.1 port = " << port_ << "\n"
        << "external: 127.0.0.1\n"
        << "clientmethod: none\nsocksmethod: none\n"
        << "user.privileged: root\nuser.unprivileged: nobody\n"
        << "client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }\n";
    if (allow_udp_) {
      out << "socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 command: udpassociate }\n"
          << "socks pass { from: 0.0.0.0/0 to: 127.0.0.0/8 command: udpreply }\n";
    } else {
      out << "socks block { from: 0.0.0.0/0 to: 0.0.0.0/0 command: udpassociate }\n"
          << "socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 command: connect }\n";
    }
    out.close();
    // In a session of its own, so that stop() reaches the children that hold the associations.
    process_ = std::make_unique<Process>(Process::Options{"/usr/bin/setsid",
                                                          {kDanted, "-f", config.string(), "-N", "1"},
                                                          {},
                                                          dir_ / (name_ + ".stderr"),
                                                          name_});
    // Ready when it accepts connections.
    const auto deadline = deadline_in(10s);
    while (true) {
      try {
        tcp_connect(port_, deadline_in(1s));
        return;
      } catch (const std::runtime_error&) {
        if (Clock::now() >= deadline) FAIL("danted did not start:\n" << process_->describe());
        std::this_thread::sleep_for(50ms);
      }
    }
  }
  void stop() {
    ::kill(-process_->pid(), SIGTERM);
    process_->wait_exit(timeouts::kExit);
    process_.reset();
  }
  std::string url() const { return "socks5://127.0.0.1:" + std::to_string(port_); }
  std::string describe() const { return process_ ? process_->describe() : name_ + ": stopped"; }

 private:
  const TempDir& dir_;
  std::uint16_t port_;
  bool allow_udp_;
  std::string name_;
  std::unique_ptr<Process> process_;
};

std::uint16_t free_tcp_port() {
  Fd listener = tcp_listen();
  return local_port(listener.get());
}

std::size_t count_lines(const Process& p, const std::string& needle) {
  std::size_t n = 0;
  for (const auto& line : p.lines()) n += line.find(needle) != std::string::npos ? 1 : 0;
  return n;
}

void through_the_proxy(const std::string& transport) {
  TempDir proxy_dir;
  Danted danted(proxy_dir, free_tcp_port(), true, "danted");
  PairOptions options = over(transport);
  options.client_args = {"--connect-timeout", "4000"};
  options.client_env["TOR_PT_PROXY"] = danted.url();
  BridgePair pair(options);
  INFO(pair.describe() << danted.describe());

  const auto lines = pair.client_process().lines();
  const auto proxy_done = std::find(lines.begin(), lines.end(), "PROXY DONE");
  const auto methods_done = std::find(lines.begin(), lines.end(), "CMETHODS DONE");
  REQUIRE(proxy_done != lines.end());
  REQUIRE(methods_done != lines.end());
  CHECK(proxy_done < methods_done);
  CHECK(count_lines(pair.client_process(), "grants UDP ASSOCIATE") == 1);

  auto first = pair.link({.seed = 1, .up = 1 << 20, .down = 1 << 20}, timeouts::kSmallLink);
  INFO(first.describe());
  REQUIRE(first.ok());

  // The sctp client keeps its socket (and so its association) between links; a dtls client opens a socket,
  // and an association, per link.
  const bool socket_outlives_links = transport == "sctp";

  // Without the proxy nothing reaches the bridge: the association is gone, a new link fails.
  danted.stop();
  if (socket_outlives_links) {
    REQUIRE(pair.client_process().wait_for_line(
        [](const std::string& l) { return l.find("ended the UDP association") != std::string::npos; },
        timeouts::kLogLine));
  }
  auto during = pair.link({.seed = 2, .up = 1000, .down = 1000}, timeouts::kSmallLink);
  INFO(during.describe());
  CHECK_FALSE(during.ok());
  REQUIRE(during.socks);
  CHECK(during.socks->reply.has_value());
  CHECK(during.socks->reply != std::optional<std::uint8_t>(0));

  // The proxy comes back on the same port: hoplink associates again and links work again.
  danted.start();
  if (socket_outlives_links) {
    REQUIRE(pair.client_process().wait_for_line(
        [](const std::string& l) { return l.find("(renewed)") != std::string::npos; }, 40s,
        static_cast<std::size_t>(proxy_done - lines.begin()) + 1));
  }
  auto after = pair.link({.seed = 3, .up = 1 << 20, .down = 1 << 20}, timeouts::kSmallLink);
  INFO(after.describe());
  CHECK(after.ok());
  CHECK(stdout_protocol_problems(pair.client_process()) == "");
}

}  // namespace

TEST_CASE("TOR_PT_PROXY=socks5, sctp: PROXY DONE first, links through the UDP relay, renewed after an outage",
          "[proxy]") {
  through_the_proxy("sctp");
}

TEST_CASE("TOR_PT_PROXY=socks5, dtls: PROXY DONE first, links through the UDP relay, renewed after an outage",
          "[proxy]") {
  through_the_proxy("dtls");
}

TEST_CASE("TOR_PT_PROXY=socks5 to a proxy that refuses UDP ASSOCIATE: PROXY-ERROR says so, non-zero exit",
          "[proxy][errors]") {
  TempDir dir;
  Danted danted(dir, free_tcp_port(), false, "danted-no-udp");
  Env env = managed_env(dir / "state");
  env["TOR_PT_CLIENT_TRANSPORTS"] = "sctp";
  env["TOR_PT_PROXY"] = danted.url();
  auto p = spawn_hoplink(dir, "client", {}, env);
  auto line = p->wait_for_line_text(starts_with("PROXY-ERROR "), timeouts::kStartup);
  auto status = p->wait_exit(timeouts::kExit);
  INFO(p->describe() << danted.describe());
  REQUIRE(line);
  CHECK_THAT(*line, Catch::Contains("refused UDP ASSOCIATE"));
  REQUIRE(status);
  CHECK_FALSE((status->exited() && status->code == 0));
  for (const auto& l : p->lines()) CHECK_FALSE(l.starts_with("CMETHOD"));
}
