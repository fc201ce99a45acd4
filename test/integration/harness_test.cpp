// Self-tests of the harness: if these fail, the other integration results mean nothing.
#include <signal.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <thread>

#include "byte_stream.hpp"
#include "ext_or_auth.hpp"
#include "fake_tor.hpp"
#include "process.hpp"
#include "pt_lines.hpp"
#include "sctp_packet.hpp"
#include "temp_dir.hpp"
#include "timeouts.hpp"

using namespace hoplink::itest;
using namespace std::chrono_literals;

namespace {

std::string hex(const Bytes32& b) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (auto x : b) {
    out.push_back(digits[x >> 4]);
    out.push_back(digits[x & 15]);
  }
  return out;
}

// The PT side of SAFE_COOKIE, just enough to drive FakeTor.
bool ext_or_client(int fd, const Bytes32& cookie, bool check_server_hash) {
  auto deadline = deadline_in(5s);
  std::uint8_t types[2];
  if (recv_exact(fd, types, deadline) != IoStatus::ok || types[0] != 1 || types[1] != 0) return false;
  Bytes32 cn = random_bytes32();
  std::uint8_t hello[33] = {1};
  std::memcpy(hello + 1, cn.data(), 32);
  send_all(fd, hello, deadline);
  Bytes32 sh{}, sn{};
  if (recv_exact(fd, sh, deadline) != IoStatus::ok || recv_exact(fd, sn, deadline) != IoStatus::ok)
    return false;
  if (check_server_hash && sh != ext_or_server_hash(cookie, cn, sn)) return false;
  send_all(fd, ext_or_client_hash(cookie, cn, sn), deadline);
  std::uint8_t status = 0;
  if (recv_exact(fd, std::span(&status, 1), deadline) != IoStatus::ok || status != 1) return false;
  const std::uint8_t cmds[] = {0,   1,   0,   14, '1', '2', '7', '.', '0', '.', '0', '.', '1', ':', '4',
                               '2', '4', '2', 0,  2,   0,   4,   's', 'c', 't', 'p', 0,   0,   0,   0};
  send_all(fd, cmds, deadline);
  std::uint8_t reply[4];
  return recv_exact(fd, reply, deadline) == IoStatus::ok && reply[0] == 0x10 && reply[1] == 0;
}

}  // namespace

TEST_CASE("harness: SAFE_COOKIE hashes match the spec's test vector", "[harness]") {
  Bytes32 zero{};
  CHECK(hex(ext_or_server_hash(zero, zero, zero)) ==
        "9e221919982a84f75faf60ef926949796268c97833e06960ff265369a90fd6d8");
  CHECK(hex(ext_or_client_hash(zero, zero, zero)) ==
        "0f368b1bee24aabc54a9114ce06c070f3ed99d0d368f599ccc6dfdc8bf457a62");
}

TEST_CASE("harness: PT line parsers accept what tor accepts and reject the rest", "[harness]") {
  auto c = parse_cmethod("CMETHOD sctp socks5 127.0.0.1:1080");
  REQUIRE(c);
  CHECK(c->name == "sctp");
  CHECK(c->address == Endpoint{"127.0.0.1", 1080});
  auto s = parse_smethod(R"(SMETHOD sctp 127.0.0.1:5000 ARGS:cert=a\,b,iat-mode=0)");
  REQUIRE(s);
  CHECK(s->args == KeyValues{{"cert", "a,b"}, {"iat-mode", "0"}});
  auto log = parse_log(R"(LOG SEVERITY=notice MESSAGE="link \"1\" up\n")");
  REQUIRE(log);
  CHECK(log->message == "link \"1\" up\n");
  auto st = parse_status(R"(STATUS TRANSPORT=sctp CONNECT=Success ADDRESS="127.0.0.1:5")");
  REQUIRE(st);
  CHECK(st->at("ADDRESS") == "127.0.0.1:5");

  for (const char* good :
       {"VERSION 1", "CMETHODS DONE", "SMETHODS DONE", "PROXY DONE", "ENV-ERROR no TOR_PT_STATE_LOCATION",
        "CMETHOD-ERROR foo unknown transport", "STATUS TYPE=version IMPLEMENTATION=hoplink VERSION=0.1.0",
        "LOG SEVERITY=debug MESSAGE=\"x\"", "SMETHOD sctp 127.0.0.1:9"}) {
    INFO(good);
    CHECK(is_well_formed_pt_line(good));
  }
  for (const char* bad :
       {"", "VERSION 2x", "hello", "CMETHOD sctp socks5 localhost:1", "CMETHOD 9x socks5 127.0.0.1:1",
        "SMETHOD sctp 127.0.0.1:0x", "LOG SEVERITY=loud MESSAGE=\"x\"", "LOG SEVERITY=info MESSAGE=x",
        "LOG SEVERITY=info MESSAGE=\"unterminated", "STATUS", "STATUS foo", "ENV-ERROR", "CMETHOD-ERROR foo",
        "VERSION 1\r"}) {
    INFO(bad);
    CHECK_FALSE(is_well_formed_pt_line(bad));
  }
}

TEST_CASE("harness: duplex pump moves and checks two streams, and notices corruption", "[harness]") {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
  Fd a(sv[0]), b(sv[1]);
  PumpResult other;
  std::thread t([&] { other = duplex_pump(b.get(), {7, 3'000'001}, {8, 2'000'003}, deadline_in(30s)); });
  auto mine = duplex_pump(a.get(), {8, 2'000'003}, {7, 3'000'001}, deadline_in(30s));
  t.join();
  CHECK(mine.ok);
  CHECK(other.ok);
  CHECK(mine.received == 3'000'001);

  // A stream with a different seed is caught at the first differing byte.
  std::thread u([&] { other = duplex_pump(b.get(), {9, 1000}, {0, 0}, deadline_in(30s)); });
  auto wrong = duplex_pump(a.get(), {0, 0}, {10, 1000}, deadline_in(30s));
  u.join();
  CHECK_FALSE(wrong.ok);
  REQUIRE(wrong.mismatch_at);
  CHECK(*wrong.mismatch_at < 8);

  std::uint8_t x[5], y[5];
  fill_stream(3, 11, x);
  std::uint8_t whole[16];
  fill_stream(3, 0, whole);
  std::memcpy(y, whole + 11, 5);
  CHECK(std::memcmp(x, y, 5) == 0);
}

TEST_CASE("harness: fake tor authenticates a correct PT, records its commands and pumps", "[harness]") {
  TempDir dir;
  FakeTor tor(FakeTorConfig{}, dir / "cookie");
  REQUIRE(std::filesystem::file_size(dir / "cookie") == 64);
  std::ifstream in(dir / "cookie", std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(in)), {});
  Bytes32 cookie;
  std::memcpy(cookie.data(), raw.data() + 32, 32);

  Fd fd = tcp_connect(tor.port(), deadline_in(5s));
  REQUIRE(ext_or_client(fd.get(), cookie, true));
  auto header = PumpHeader{42, 100000, 200000}.serialize();
  REQUIRE(send_all(fd.get(), header, deadline_in(5s)) == IoStatus::ok);
  auto r = duplex_pump(fd.get(), {42, 100000}, {down_seed(42), 200000}, deadline_in(30s));
  CHECK(r.ok);
  auto rec = tor.wait_for_pump(42, 10s);
  REQUIRE(rec);
  REQUIRE(rec->pump);
  CHECK(rec->pump->ok);
  CHECK(rec->client_hash_ok);
  CHECK(rec->useraddr == "127.0.0.1:4242");
  CHECK(rec->transport == "sctp");
  fd.reset();
  CHECK(tor.wait_until([](const auto& all) { return all.at(0).eof_after_data; }, 10s));

  SECTION("a forged server hash is caught by a checking client") {
    tor.set_auth_mode(AuthMode::forged_server_hash);
    Fd fd2 = tcp_connect(tor.port(), deadline_in(5s));
    CHECK_FALSE(ext_or_client(fd2.get(), cookie, true));
    fd2.reset();
    CHECK(tor.wait_until(
        [](const auto& all) { return all.size() == 2 && all[1].bytes_after_forged_hash == 0u; }, 10s));
  }
  SECTION("a client with the wrong cookie is refused") {
    Fd fd2 = tcp_connect(tor.port(), deadline_in(5s));
    CHECK_FALSE(ext_or_client(fd2.get(), Bytes32{}, false));
    CHECK(tor.wait_until([](const auto& all) { return all.size() == 2 && all[1].finished; }, 10s));
    CHECK_FALSE(tor.records()[1].client_hash_ok);
  }
}

TEST_CASE("harness: process runs with the given env, collects lines, reports exit", "[harness]") {
  TempDir dir;
  Process p({.program = "/bin/sh",
             .args = {"-c", "echo \"A=$A\"; echo err >&2; read x; echo got $x; exit 7"},
             .env = {{"A", "1"}},
             .stderr_path = dir / "sh.stderr",
             .name = "sh"});
  CHECK(p.wait_for_line_text(starts_with("A="), 5s) == "A=1");
  CHECK(p.running());
  p.close_stdin();
  CHECK(p.wait_for_line(equals("got"), 5s));
  auto status = p.wait_exit(5s);
  REQUIRE(status);
  CHECK(status->code == 7);
  CHECK(p.stderr_text() == "err\n");

  Process q({.program = "/bin/sh",
             .args = {"-c", "exec sleep 30"},
             .env = {},
             .stderr_path = dir / "q",
             .name = "q"});
  CHECK_FALSE(q.wait_exit(100ms));
  q.send_signal(SIGTERM);
  auto killed = q.wait_exit(5s);
  REQUIRE(killed);
  CHECK(killed->signal == SIGTERM);

  CHECK_THROWS(
      Process({.program = dir / "missing", .args = {}, .env = {}, .stderr_path = dir / "m", .name = "m"}));
}

TEST_CASE("harness: CRC32c and SCTP framing", "[harness]") {
  std::string check = "123456789";
  CHECK(crc32c(std::span(reinterpret_cast<const std::uint8_t*>(check.data()), check.size())) == 0xe3069283u);
  auto bytes = sctp_packet(1, 2, 0, {sctp_init_chunk(9)});
  auto p = parse_sctp_packet(bytes);
  REQUIRE(p);
  CHECK(p->crc_ok);
  CHECK(p->dst_port == 2);
  REQUIRE(p->chunks.size() == 1);
  CHECK(p->chunks[0].type == kSctpInit);
  CHECK(p->chunks[0].value.size() == 16);
  auto bad = parse_sctp_packet(sctp_packet(1, 2, 0, {sctp_init_chunk(9)}, true));
  REQUIRE(bad);
  CHECK_FALSE(bad->crc_ok);
}
