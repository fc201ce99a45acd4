// The dtls transport as tor and the network see it: the bridge's certificate and fp=, the client's pinning,
// the stateless cookie exchange (no state and no amplification before a valid cookie), the bound on
// half-open handshakes and their timeout, and both transports served by one process.
#include <signal.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

#include "bridge_pair.hpp"
#include "dtls_record.hpp"
#include "timeouts.hpp"

using namespace hoplink::itest;
using namespace std::chrono_literals;

namespace {

const std::regex kFingerprint("[0-9a-f]{64}");

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

unsigned mode_of(const std::filesystem::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 0777) : 0;
}

std::string other_fingerprint(const std::string& fp) {
  std::string other = fp;
  other[0] = other[0] == '0' ? '1' : '0';
  return other;
}

// A real ClientHello as the hoplink client sends it: the first datagram it sends to a socket that never
// answers.
Bytes capture_client_hello(const TempDir& dir) {
  auto client = start_managed_client(
      dir, {.transports = "dtls", .extra_env = {}, .args = {"--connect-timeout", "1000"}}, "hello-client");
  Fd swallower = udp_bind();
  Endpoint target{"127.0.0.1", local_port(swallower.get())};
  auto socks = socks5_connect(client.method.address.port, target, {{"fp", std::string(64, 'a')}},
                              deadline_in(timeouts::kLinkSetup));
  auto hello = recv_datagram(swallower.get(), deadline_in(5s));
  if (!hello) throw std::runtime_error("the dtls client sent nothing\n" + client.process->describe());
  return *hello;
}

// Everything that arrives on `fd` until nothing has come for `quiet`.
std::vector<Bytes> receive_all(int fd, std::chrono::milliseconds quiet) {
  std::vector<Bytes> out;
  while (auto d = recv_datagram(fd, deadline_in(quiet))) out.push_back(std::move(*d));
  return out;
}

bool has_handshake(const std::vector<Bytes>& datagrams, std::uint8_t type) {
  for (const auto& d : datagrams) {
    auto records = parse_dtls_records(d);
    if (!records) continue;
    for (const auto& r : *records) {
      if (r.handshake_type == type) return true;
    }
  }
  return false;
}

// The cookie exchange by hand from `fd`: ClientHello, HelloVerifyRequest, ClientHello with the cookie.
// Returns what the bridge sent after the second ClientHello.
std::vector<Bytes> hello_with_cookie(int fd, const Endpoint& bridge, const Bytes& hello) {
  send_datagram(fd, bridge, hello);
  auto verify = recv_datagram(fd, deadline_in(5s));
  if (!verify) return {};
  auto cookie = hello_verify_cookie(*verify);
  if (!cookie) return {};
  auto second = client_hello_with_cookie(hello, *cookie);
  if (!second) return {};
  send_datagram(fd, bridge, *second);
  std::vector<Bytes> out;
  while (auto d = recv_datagram(fd, deadline_in(700ms))) {
    out.push_back(std::move(*d));
    if (has_handshake(out, kDtlsServerHello)) break;
  }
  return out;
}

// The value of STATUS field `key` for transport dtls in the latest STATUS line that has it.
std::optional<std::uint64_t> latest_status(const Process& p, const std::string& key) {
  std::optional<std::uint64_t> value;
  for (const auto& line : p.lines()) {
    auto kv = parse_status(line);
    if (!kv || !kv->contains(key) || kv->contains("LINK") || kv->at("TRANSPORT") != "dtls") continue;
    value = std::stoull(kv->at(key));
  }
  return value;
}

bool wait_for_status(const Process& p, const std::string& key, std::uint64_t at_least,
                     std::chrono::milliseconds timeout) {
  auto deadline = deadline_in(timeout);
  while (Clock::now() < deadline) {
    auto v = latest_status(p, key);
    if (v && *v >= at_least) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

// After the error a test provoked, the pair still carries a real link.
void still_serves(const BridgePair& pair, std::uint64_t seed) {
  auto ok = pair.link({.seed = seed, .up = 100000, .down = 100000}, timeouts::kSmallLink);
  INFO(ok.describe());
  CHECK(ok.ok());
}

}  // namespace

TEST_CASE("dtls: the bridge makes its certificate once (files 0600), publishes fp= and keeps it",
          "[dtls][identity]") {
  TempDir dir;
  auto tor = std::make_unique<FakeTor>(FakeTorConfig{.extended = false}, dir / "cookie");
  ManagedServerOptions s;
  s.orport = tor->port();
  s.transports = "dtls";
  s.bindaddr = "dtls-127.0.0.1:0";
  auto first = start_managed_server(dir, s);
  INFO(first.process->describe());
  REQUIRE(first.method.args.contains("fp"));
  const auto fp = first.method.args.at("fp");
  CHECK(std::regex_match(fp, kFingerprint));
  CHECK(mode_of(first.state_dir / "hoplink_dtls_key.pem") == 0600);
  CHECK(mode_of(first.state_dir / "hoplink_dtls_cert.pem") == 0600);
  // The file is written after SMETHODS DONE; its LOG line says when.
  REQUIRE(first.process->wait_for_line(
      [](const std::string& l) { return l.find("bridge line written") != std::string::npos; },
      timeouts::kLogLine));
  const auto bridge_lines = read_text(first.state_dir / "hoplink_bridgeline.txt");
  INFO(bridge_lines);
  CHECK(bridge_lines.find("Bridge dtls 127.0.0.1:" + std::to_string(first.method.address.port) +
                          " <FINGERPRINT> fp=" + fp + "\n") != std::string::npos);
  CHECK(stdout_protocol_problems(*first.process) == "");
  first.process->send_signal(SIGTERM);
  REQUIRE(first.process->wait_exit(timeouts::kExit));

  auto second = start_managed_server(dir, s);
  INFO(second.process->describe());
  CHECK(second.method.args.at("fp") == fp);
}

TEST_CASE("dtls: a bridge line without fp= is refused with a SOCKS failure and a LOG line that says why",
          "[dtls][client][errors]") {
  BridgePair pair(over("dtls"));
  INFO(pair.describe());
  auto mark = pair.client_process().lines().size();
  auto socks = socks5_connect(pair.socks_port(), pair.bridge(), {}, deadline_in(timeouts::kLinkSetup));
  INFO(socks.describe());
  REQUIRE(socks.reply.has_value());
  CHECK(*socks.reply == kSocksGeneralFailure);
  auto log = pair.client_process().wait_for_line_text(
      [](const std::string& line) {
        return line.starts_with("LOG ") && line.find("fp=") != std::string::npos;
      },
      timeouts::kLogLine, mark);
  REQUIRE(log);
  CHECK(log->find("SEVERITY=warning") != std::string::npos);
  CHECK(log->find("no fp=") != std::string::npos);
  // Nothing reached the bridge's tor, and the bridge still serves a proper bridge line.
  CHECK(pair.tor->records().empty());
  still_serves(pair, 3);
}

TEST_CASE(
    "dtls: a certificate that does not match fp= fails the link with a LOG line naming both and the right "
    "fp= still works",
    "[dtls][client][errors]") {
  BridgePair pair(over("dtls"));
  INFO(pair.describe());
  const auto good = pair.bridge_args().at("fp");
  const auto wrong = other_fingerprint(good);
  auto mark = pair.client_process().lines().size();
  auto socks =
      socks5_connect(pair.socks_port(), pair.bridge(), {{"fp", wrong}}, deadline_in(timeouts::kLinkSetup));
  INFO(socks.describe());
  REQUIRE(socks.reply.has_value());
  CHECK(*socks.reply != kSocksSucceeded);
  auto log = pair.client_process().wait_for_line_text(
      [](const std::string& line) {
        return line.starts_with("LOG ") && line.find("does not match") != std::string::npos;
      },
      timeouts::kLogLine, mark);
  REQUIRE(log);
  CHECK(log->find("SEVERITY=warning") != std::string::npos);
  CHECK(log->find(good) != std::string::npos);   // what the bridge presented
  CHECK(log->find(wrong) != std::string::npos);  // what the bridge line expected
  CHECK(pair.tor->records().empty());
  // The failed session does not poison the next link to the same address.
  still_serves(pair, 4);
}

TEST_CASE("dtls: before a valid cookie the bridge never sends an address more bytes than it received",
          "[dtls][bridge][cookie]") {
  BridgePair pair(pair_options(ext_tor(DataMode::pump), {}, {"--status-interval", "1"}, "dtls"));
  INFO(pair.describe());
  const Bytes hello = capture_client_hello(pair.dir);
  auto records = parse_dtls_records(hello);
  REQUIRE(records);
  REQUIRE(records->size() == 1);
  CHECK(records->front().handshake_type == kDtlsClientHello);
  CHECK(client_hello_version(hello) == 0xfefd);

  std::mt19937 rng(5);
  std::vector<Fd> sources;
  std::map<int, std::size_t> sent;
  auto send = [&](int fd, const Bytes& bytes) {
    send_datagram(fd, pair.bridge(), bytes);
    sent[fd] += bytes.size();
  };
  for (int i = 0; i < 4; ++i) sources.push_back(udp_bind());
  // Source 0: plain ClientHellos, repeated. Source 1: truncated ones and noise. Source 2: a made-up cookie.
  // Source 3: a cookie that was issued to source 0.
  for (int i = 0; i < 5; ++i) send(sources[0].get(), hello);
  auto cookie_for_0 = recv_datagram(sources[0].get(), deadline_in(5s));
  REQUIRE(cookie_for_0);
  sent[sources[0].get()] += 0;
  auto stolen = hello_verify_cookie(*cookie_for_0);
  REQUIRE(stolen);
  for (std::size_t cut : {std::size_t{14}, std::size_t{30}, std::size_t{60}, hello.size() - 1})
    send(sources[1].get(), Bytes(hello.begin(), hello.begin() + static_cast<long>(cut)));
  Bytes noise(900);
  for (auto& b : noise) b = static_cast<std::uint8_t>(rng());
  send(sources[1].get(), noise);
  Bytes made_up(32);
  for (auto& b : made_up) b = static_cast<std::uint8_t>(rng());
  send(sources[2].get(), *client_hello_with_cookie(hello, made_up));
  send(sources[3].get(), *client_hello_with_cookie(hello, *stolen));

  std::map<int, std::size_t> received;
  received[sources[0].get()] = cookie_for_0->size();
  std::vector<Bytes> all_replies{*cookie_for_0};
  for (auto& fd : sources) {
    for (auto& d : receive_all(fd.get(), 1000ms)) {
      received[fd.get()] += d.size();
      all_replies.push_back(std::move(d));
    }
  }
  for (auto& fd : sources) {
    INFO("source " << fd.get() << ": sent " << sent[fd.get()] << " B, received " << received[fd.get()]
                   << " B");
    CHECK(received[fd.get()] <= sent[fd.get()]);
  }
  CHECK(has_handshake(all_replies, kDtlsHelloVerifyRequest));
  CHECK_FALSE(has_handshake(all_replies, kDtlsServerHello));
  for (const auto& reply : all_replies) {
    auto r = parse_dtls_records(reply);
    REQUIRE(r);
    for (const auto& one : *r) CHECK(one.handshake_type == kDtlsHelloVerifyRequest);
  }
  // No session was created for any of them, and the counters say what happened.
  REQUIRE(wait_for_status(pair.server_process(), "DTLS_COOKIES_SENT", 5, timeouts::kLogLine));
  CHECK(latest_status(pair.server_process(), "DTLS_HANDSHAKES_STARTED") == 0u);
  CHECK(latest_status(pair.server_process(), "PEERS") == 0u);

  // Control: with its own cookie an address gets the server's flight, larger than its ClientHello.
  Fd proven = udp_bind();
  auto flight = hello_with_cookie(proven.get(), pair.bridge(), hello);
  CHECK(has_handshake(flight, kDtlsServerHello));
  CHECK(pair.server_process().running());
}

TEST_CASE(
    "dtls: a bridge that does not answer: SOCKS failure within the connect timeout after a DTLS 1.2 "
    "ClientHello",
    "[dtls][client][errors]") {
  TempDir dir;
  auto client = start_managed_client(
      dir, {.transports = "dtls", .extra_env = {}, .args = {"--connect-timeout", "3000"}});
  INFO(client.process->describe());
  constexpr auto kBound = 3000ms + 7000ms;
  Fd swallower = udp_bind();
  Endpoint target{"127.0.0.1", local_port(swallower.get())};
  auto socks =
      socks5_connect(client.method.address.port, target, {{"fp", std::string(64, 'b')}}, deadline_in(30s));
  INFO(socks.describe());
  REQUIRE(socks.reply.has_value());
  CHECK(*socks.reply != kSocksSucceeded);
  CHECK(socks.elapsed < kBound);
  auto first = recv_datagram(swallower.get(), deadline_in(1s));
  REQUIRE(first);
  auto records = parse_dtls_records(*first);
  REQUIRE(records);
  REQUIRE_FALSE(records->empty());
  CHECK(records->front().handshake_type == kDtlsClientHello);
  CHECK(client_hello_version(*first) == 0xfefd);
  CHECK(client.process->running());
}

TEST_CASE("sctp and dtls served by one hoplink at once, each on its own port", "[dtls][managed]") {
  TempDir dir;
  auto tor = std::make_unique<FakeTor>(FakeTorConfig{.extended = false}, dir / "cookie");
  ManagedServerOptions s;
  s.orport = tor->port();
  s.transports = "sctp,dtls";
  s.bindaddr = "sctp-127.0.0.1:0,dtls-127.0.0.1:0";
  auto server = start_managed_server(dir, s);
  INFO(server.process->describe());
  std::optional<MethodLine> dtls;
  for (const auto& line : server.process->lines()) {
    if (auto m = parse_smethod(line); m && m->name == "dtls") dtls = m;
  }
  REQUIRE(dtls);
  CHECK(dtls->address.port != server.method.address.port);
  CHECK(server.method.args.empty());  // sctp has no arguments
  REQUIRE(server.process->wait_for_line(
      [](const std::string& l) {
        return l.find("bridge line written") != std::string::npos && l.find("dtls") != std::string::npos;
      },
      timeouts::kLogLine));
  const auto bridge_lines = read_text(server.state_dir / "hoplink_bridgeline.txt");
  CHECK(bridge_lines.find("Bridge sctp ") != std::string::npos);
  CHECK(bridge_lines.find("Bridge dtls ") != std::string::npos);
  auto client = start_managed_client(dir, {.transports = "sctp,dtls", .extra_env = {}, .args = {}});
  std::optional<MethodLine> dtls_socks;
  for (const auto& line : client.process->lines()) {
    if (auto m = parse_cmethod(line); m && m->name == "dtls") dtls_socks = m;
  }
  REQUIRE(dtls_socks);
  auto over_sctp = run_socks_link(client.method.address.port, server.method.address, {}, *tor,
                                  {.seed = 1, .up = 200000, .down = 200000}, timeouts::kSmallLink);
  INFO(over_sctp.describe());
  CHECK(over_sctp.ok());
  auto over_dtls = run_socks_link(dtls_socks->address.port, dtls->address, dtls->args, *tor,
                                  {.seed = 2, .up = 200000, .down = 200000}, timeouts::kSmallLink);
  INFO(over_dtls.describe());
  CHECK(over_dtls.ok());
}
