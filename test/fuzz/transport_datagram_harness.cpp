// The whole datagram input of a serving transport, as the bridge sees it: fuzzed datagrams from a few
// source addresses through an in-process memory network into a transport built by the registry, on a
// ManualRuntime (simulated time, so every timer runs and a run is the same every time).
//
// The world outlives the inputs (one usrsctp stack per process), so every input must start from the same
// state, the canonical one: the transport keeps no state for any stranger, holds no association, and stands
// just after a tick of its idle-peer sweep; for dtls the honest client's session is open, its peer on the
// bridge used in this sweep period. The world reaches that state before the first input and returns to it
// after each, so an input replayed alone (a crash reproducer, the corpus replay test) runs as it ran in the
// campaign; only what is random anyway differs (keys, cookies, sequence numbers, the absolute time). Keeping
// the honest session across inputs spares each input a full DTLS handshake, the bulk of its cost. For the
// same reason the honest client stays alive through the input's waits, as a real client's SCTP heartbeats
// keep its peer alive, unless the input tells it to fall silent for a wait (kFallSilent); a long one makes
// the bridge forget it.
#include <array>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "accepted_association.hpp"
#include "dpdk_io/memory_network.hpp"
#include "dtls/session.hpp"
#include "dtls_bytes.hpp"
#include "fuzz_check.hpp"
#include "fuzz_harness.hpp"
#include "io/datagram_io_factory.hpp"
#include "runtime/idle_reaper.hpp"
#include "runtime/logger.hpp"
#include "runtime/manual_runtime.hpp"
#include "sctp_bytes.hpp"
#include "transports/sctp_host.hpp"
#include "transports/transport_registry.hpp"

namespace hoplink::fuzz {
namespace {

using namespace std::chrono_literals;
using transport::Duration;

constexpr std::size_t kMaxDatagrams = 16;   // per input: deep enough for a handshake and a few packets
constexpr std::size_t kMaxDatagram = 2048;  // bytes; a datagram's length field is taken modulo this + 1
constexpr std::size_t kMaxAccepted = 8;     // older accepted associations are dropped (aborted)
constexpr std::size_t kEchoBytes = 256;     // an accepted association sends back this much per read
constexpr std::array<Duration, 8> kWaits{0ms, 1ms, 5ms, 20ms, 200ms, 1s, 5s, 40s};
// After each input the transport's idle-peer sweep runs until it has forgotten every stranger (3 sweeps, 20
// to 30 s; a stranger's DTLS handshake ends by its 10 s timeout within 2); more means state that never goes.
constexpr int kMaxSweeps = 7;

// Control byte of each datagram.
constexpr std::uint8_t kSourceMask = 0x03;
constexpr std::uint8_t kFixChecksum = 0x20;    // sctp: a valid CRC32c; dtls: the cookie spliced in
constexpr std::uint8_t kOnAssociation = 0x40;  // ports and tag of the source's last INIT-ACK
constexpr std::uint8_t kCookieEcho = 0x80;     // and a COOKIE-ECHO with its cookie first
constexpr std::uint8_t kFixUps = kFixChecksum | kOnAssociation | kCookieEcho;
// dtls, an honest source's datagram with this fix-up alone (it has no checksum to fix): the honest client
// shows no sign of life during the wait that follows, so a long wait makes the bridge forget it. A handshake
// to replace it costs more than the rest of an input, so this takes one choice of the fuzzer's rather than
// every long wait, or every control byte of 0xff.
constexpr std::uint8_t kFallSilent = kFixChecksum;

// One remote address the fuzzer sends from, and what it learnt from the bridge's answers.
struct Source {
  PeerAddress address;
  std::unique_ptr<dio::DatagramIo> io;
  std::optional<InitAck> init_ack;           // from the last INIT-ACK (in UDP, or inside the DTLS session)
  std::vector<std::byte> hello_cookie;       // dtls: from the last HelloVerifyRequest
  std::optional<dtls::DtlsSession> session;  // dtls, the last source: a real client session
};

struct Served {
  std::unique_ptr<transport::DatagramTransport> transport;
  PeerAddress address;  // where the sources send
  bool dtls = false;
  transport::TimePoint served_at;  // the idle-peer sweep runs every IdleReaper::kPeriod from here
};

// Built once per process and never destroyed: usrsctp is process-global (one Stack per process), and
// building a transport (a dtls identity) costs far more than an input.
class World {
 public:
  static World& instance() {
    static World* world = new World();
    return *world;
  }

  void run(std::string_view transport, const std::uint8_t* data, std::size_t size);

 private:
  World();
  Served& served(std::string_view name);
  void send(Served& served, Source& source, std::uint8_t control, std::span<const std::byte> payload);
  void steer(Source& source, std::uint8_t control, Bytes& packet) const;
  bool open_session(Served& served, Source& source);
  void keep_alive(Served& served);
  void wait(Served& served, Duration duration, bool honest_silent);
  transport::TimePoint next_sweep(const Served& served) const;
  bool quiet(const Served& served) const;
  void settle();
  void drain(Served& served);
  void flush(Source& source);
  void prune();
  void reset(Served& served);
  static std::uint64_t field(const transport::StatusFields& fields, std::string_view key);

  boost::asio::io_context io_;
  transport::ManualRuntime runtime_{io_};
  dio::MemoryNetwork network_;
  std::ostream discard_{nullptr};  // LOG and STATUS lines: formatted, then dropped
  pt::Messages messages_{discard_};
  transport::Logger log_{messages_, pt::Severity::debug};
  transport::DatagramOptions datagram_options_;
  transport::TransportOptions transport_options_;
  std::optional<transport::DatagramIoFactory> factory_;
  std::optional<transport::SctpHost> host_;
  std::map<std::string, Served, std::less<>> served_;
  std::array<Source, 4> sources_;
  AcceptedList accepted_;
};

World::World()
    : network_([this] {
        dio::MemoryNetworkConfig config;
        config.clock = [this] { return runtime_.now(); };
        return config;
      }()) {
  datagram_options_.backend = transport::IoBackend::memory;
  datagram_options_.memory = &network_;
  factory_.emplace(runtime_, datagram_options_, log_);
  // One Stack per process: a harness that made its own (sctp_packet) cannot share a process with this one.
  try {
    host_.emplace(runtime_, sctp::StackConfig{});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "transport harness: %s (run one fuzz target per process)\n", e.what());
    FUZZ_CHECK(!"the SCTP stack could not be created");
  }
  const std::array<PeerAddress, 4> addresses{
      PeerAddress::v4({198, 51, 100, 1}, 40001), PeerAddress::v4({198, 51, 100, 1}, 40002),
      PeerAddress::v4({198, 51, 100, 2}, 40001), PeerAddress::v4({203, 0, 113, 9}, 5353)};
  for (std::size_t i = 0; i < sources_.size(); ++i) {
    sources_[i].address = addresses[i];
    auto opened = network_.open(addresses[i]);
    FUZZ_CHECK(opened.ok());
    sources_[i].io = std::move(opened).value();
  }
}

Served& World::served(std::string_view name) {
  if (auto found = served_.find(name); found != served_.end()) return found->second;
  const auto* info = transport::find_transport(name);
  FUZZ_CHECK(info != nullptr);
  Served entry;
  entry.dtls = name == "dtls";
  entry.transport =
      info->make(transport::TransportContext{runtime_, *host_, *factory_, log_, transport_options_, {}});
  const auto port = static_cast<std::uint16_t>(4443 + served_.size());
  entry.served_at = runtime_.now();
  auto bound = entry.transport->serve(
      PeerAddress::v4({0, 0, 0, 0}, port), sctp::AssociationConfig{},
      [this](std::unique_ptr<sctp::Association> association, const PeerAddress&) {
        accepted_.push_back(std::make_unique<AcceptedAssociation>(std::move(association), kEchoBytes));
      });
  FUZZ_CHECK(bound.ok());
  // The network delivers to the endpoint bound to 0.0.0.0:port whatever is sent to any address at that port.
  entry.address = PeerAddress::v4({192, 0, 2, 1}, port);
  runtime_.poll();
  Served& served = served_.emplace(std::string(name), std::move(entry)).first->second;
  reset(served);  // the first input, too, starts from the canonical state
  return served;
}

void World::flush(Source& source) {
  if (source.io->pending_tx() > 0) FUZZ_CHECK(source.io->flush().ok());
}

// Whatever the bridge sent: remembered where it lets the fuzzer go further (an INIT-ACK's tag and cookie, a
// HelloVerifyRequest's cookie), fed to the client session of the source that has one.
void World::drain(Served& served) {
  std::array<dio::ReceivedDatagram, 16> burst;
  for (auto& source : sources_) {
    while (true) {
      auto received = source.io->receive_burst(burst);
      FUZZ_CHECK(received.ok());
      if (received.value() == 0) break;
      for (std::size_t i = 0; i < received.value(); ++i) {
        const auto payload = burst[i].payload;
        if (source.session) {
          source.session->receive_datagram(payload, runtime_.now());
        } else if (served.dtls) {
          if (auto cookie = hello_verify_cookie(Bytes(payload.begin(), payload.end())))
            source.hello_cookie = std::move(*cookie);
        } else if (auto ack = parse_init_ack(payload)) {
          source.init_ack = std::move(ack);
        }
      }
    }
    flush(source);  // what the client session answered
  }
}

// Runs the bridge until nothing is ready, the sources' answers included.
void World::settle() {
  for (int round = 0; round < 8; ++round) {
    runtime_.poll();
    bool pending = false;
    for (auto& source : sources_) pending = pending || source.io->pending_tx() > 0;
    for (auto& [name, served] : served_) drain(served);
    for (auto& source : sources_) pending = pending || source.io->pending_tx() > 0;
    if (!pending) break;
  }
  prune();
}

void World::prune() {
  prune_accepted(accepted_, kMaxAccepted);
}

// The fix-ups that carry a fuzzed SCTP packet onto the association the source is opening or has opened.
void World::steer(Source& source, std::uint8_t control, Bytes& packet) const {
  if ((control & (kOnAssociation | kCookieEcho)) == 0 || !source.init_ack) return;
  if (packet.size() < kSctpCommonHeader) packet.resize(kSctpCommonHeader);
  store16(packet, 0, source.init_ack->destination_port);
  store16(packet, 2, source.init_ack->source_port);
  store32(packet, 4, source.init_ack->initiate_tag);
  if ((control & kCookieEcho) != 0 && !source.init_ack->cookie.empty()) {
    const Bytes chunk = cookie_echo_chunk(source.init_ack->cookie);
    packet.insert(packet.begin() + kSctpCommonHeader, chunk.begin(), chunk.end());
  }
}

// The last source is a real DTLS client pinned to the bridge's certificate: the fuzzed packets it sends
// are SCTP inside the session, as a hoplink client's are.
bool World::open_session(Served& served, Source& source) {
  // Opened by reset(); one the input lost is not replaced before the next input.
  if (source.session) return source.session->state() == dtls::SessionState::open;
  const auto fingerprint = pt::find_arg(served.transport->smethod_args(), "fp");
  FUZZ_CHECK(fingerprint.has_value());
  auto created = dtls::DtlsSession::create_client(served.address, *fingerprint, dtls::SessionConfig{},
                                                  {[&source, &served](std::span<const std::byte> datagram) {
                                                     source.io->enqueue(served.address, datagram);
                                                   },
                                                   [&source](std::span<const std::byte> record) {
                                                     if (auto ack = parse_init_ack(record))
                                                       source.init_ack = std::move(ack);
                                                   }},
                                                  runtime_.now());
  FUZZ_CHECK(created.ok());
  source.session.emplace(std::move(created).value());
  flush(source);
  for (int round = 0; round < 10 && source.session->state() == dtls::SessionState::handshaking; ++round) {
    settle();
  }
  // The bridge must complete a handshake with an honest client whatever came before in this input, unless
  // the fuzzer filled its half-open table from the other sources.
  return source.session->state() == dtls::SessionState::open;
}

void World::send(Served& served, Source& source, std::uint8_t control, std::span<const std::byte> payload) {
  Bytes datagram(payload.begin(), payload.end());
  const bool in_session = served.dtls && &source == &sources_.back();
  if (in_session) {
    if (!open_session(served, source)) return;
    steer(source, control, datagram);
    (void)source.session->send(datagram);  // oversized records are refused, as the client's would be
  } else if (served.dtls) {
    if ((control & kFixChecksum) != 0 && !source.hello_cookie.empty()) {
      if (auto spliced = with_cookie(datagram, source.hello_cookie)) datagram = std::move(*spliced);
    }
    source.io->enqueue(served.address, datagram);
  } else {
    steer(source, control, datagram);
    if ((control & kFixUps) != 0) fill_checksum(datagram);
    source.io->enqueue(served.address, datagram);
  }
  flush(source);
  settle();
}

std::uint64_t World::field(const transport::StatusFields& fields, std::string_view key) {
  for (const auto& [name, value] : fields) {
    if (name == key) return std::stoull(value);
  }
  FUZZ_CHECK(!"no such STATUS field");
  return 0;
}

// The honest client's bridge peer counts as used in the current sweep period: the bridge reads any datagram
// from its address as a sign of life, and drops one byte as no DTLS record at all (the session is unchanged).
void World::keep_alive(Served& served) {
  Source& honest = sources_.back();
  if (!served.dtls || !honest.session) return;
  const std::array<std::byte, 1> nothing{};
  honest.io->enqueue(served.address, nothing);
  flush(honest);
  settle();
}

// Lets simulated time pass. Unless it has fallen silent, the honest client shows a sign of life after each
// tick of the bridge's idle-peer sweep on the way, so the bridge keeps its peer however long the wait.
void World::wait(Served& served, Duration duration, bool honest_silent) {
  const transport::TimePoint until = runtime_.now() + duration;
  if (served.dtls && !honest_silent) {
    for (auto sweep = next_sweep(served); sweep <= until; sweep = next_sweep(served)) {
      runtime_.advance_to(sweep);
      keep_alive(served);
    }
  }
  runtime_.advance_to(until);
}

// The first tick of the transport's idle-peer sweep after now (its timer fires exactly on time here).
transport::TimePoint World::next_sweep(const Served& served) const {
  const auto period = std::chrono::duration_cast<Duration>(transport::IdleReaper::kPeriod);
  return served.served_at + ((runtime_.now() - served.served_at) / period + 1) * period;
}

// No state for anyone but the honest client (whose peer and session are kept while open).
bool World::quiet(const Served& served) const {
  const Source& honest = sources_.back();
  const std::uint64_t kept = served.dtls && honest.session ? 1 : 0;
  // Formatted once: all of the transport's STATUS fields cost more than the rest of this check.
  const auto fields = served.transport->status_fields();
  return field(fields, "PEERS") == kept && (!served.dtls || field(fields, "DTLS_HALF_OPEN") == 0);
}

// Back to the canonical state (top of file). What the bridge accepted goes (aborted); then time jumps from
// sweep to sweep (the timers on the way run: handshake timeouts, retransmissions, SCTP's ticks while an
// association is closing) until the strangers are forgotten, and at least to the next sweep, so that the next
// input starts at the same point of the sweep's period. Nothing may stay behind: libFuzzer runs millions of
// inputs.
void World::reset(Served& served) {
  accepted_.clear();
  settle();
  for (auto& source : sources_) {
    source.init_ack.reset();
    source.hello_cookie.clear();
  }
  // A session the input ended (the bridge forgot an idle client) is replaced once its peer is gone.
  Source& honest = sources_.back();
  if (honest.session && honest.session->state() != dtls::SessionState::open) honest.session.reset();
  int sweeps = 0;
  do {
    FUZZ_CHECK(++sweeps <= kMaxSweeps);
    keep_alive(served);
    runtime_.advance_to(next_sweep(served));
    settle();
    if (honest.session) FUZZ_CHECK(honest.session->state() == dtls::SessionState::open);
  } while (!quiet(served));
  // The bridge must complete a handshake with an honest client whenever no stranger holds state.
  if (served.dtls && !honest.session) FUZZ_CHECK(open_session(served, honest));
  keep_alive(served);  // used in this sweep period, as a session just opened is
  FUZZ_CHECK(accepted_.empty());
  FUZZ_CHECK(quiet(served));
}

// Input: records of a control byte (bits 0-1: the source; bits 2-4: the simulated time that passes after
// the datagram; bits 5-7: the fix-ups above, and kFallSilent), a 16-bit big-endian length, then that many
// bytes.
void World::run(std::string_view name, const std::uint8_t* data, std::size_t size) {
  Served& target = served(name);
  const auto no_endpoint = network_.counters().dropped_no_endpoint;
  std::size_t offset = 0;
  for (std::size_t count = 0; count < kMaxDatagrams && offset + 3 <= size; ++count) {
    const std::uint8_t control = data[offset];
    const std::size_t length = std::min<std::size_t>(
        (data[offset + 1] << 8 | data[offset + 2]) % (kMaxDatagram + 1), size - offset - 3);
    const auto payload = std::as_bytes(std::span(data + offset + 3, length));
    offset += 3 + length;
    Source& source = sources_[control & kSourceMask];
    const bool honest_silent = &source == &sources_.back() && (control & kFixUps) == kFallSilent;
    send(target, source, control, payload);
    wait(target, kWaits[control >> 2 & 7], honest_silent);
    for (auto& source : sources_) {
      if (source.session) source.session->handle_timeout(runtime_.now());
    }
    settle();
  }
  // The bridge answers only addresses that sent to it: nothing it sent found no endpoint.
  FUZZ_CHECK(network_.counters().dropped_no_endpoint == no_endpoint);
  reset(target);
}

}  // namespace

int fuzz_sctp_transport(const std::uint8_t* data, std::size_t size) {
  World::instance().run("sctp", data, size);
  return 0;
}

int fuzz_dtls_transport(const std::uint8_t* data, std::size_t size) {
  World::instance().run("dtls", data, size);
  return 0;
}

}  // namespace hoplink::fuzz
