#include "harness.hpp"

#include <catch2/catch.hpp>

namespace hoplink::sctp::test {

std::byte pattern_byte(std::uint32_t seed, std::uint64_t offset) {
  std::uint64_t x = (offset / 8) * 0x9E3779B97F4A7C15ull + seed * 0xD1B54A32D192ED03ull;
  x ^= x >> 29;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 32;
  return static_cast<std::byte>(x >> (8 * (offset % 8)));
}

void Endpoint::on_connected() {
  connected = true;
  push();
}

void Endpoint::on_readable() {
  if (readable_hook) {
    readable_hook(*this);
    return;
  }
  if (reading) drain();
}

void Endpoint::on_writable() {
  ++writable_calls;
  push();
}

void Endpoint::on_closed(CloseReason reason) {
  closed = reason;
  if (closed_hook) closed_hook(*this, reason);
}

void Endpoint::push() {
  std::vector<std::byte> buffer(128 * 1024);
  while (association && sent < to_send) {
    const std::size_t length =
        static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), to_send - sent));
    for (std::size_t i = 0; i < length; ++i) buffer[i] = pattern_byte(send_seed, sent + i);
    const std::size_t accepted = association->send(std::span(buffer.data(), length));
    sent += accepted;
    if (accepted == 0) ++zero_sends;
    if (accepted < length) break;
  }
  if (association && sent == to_send && (shutdown_when_sent || finish_when_sent) && !shutdown_called) {
    shutdown_called = true;
    if (shutdown_when_sent) {
      association->shutdown();
    } else {
      association->finish_sending();
    }
  }
}

void Endpoint::drain() {
  std::vector<std::byte> buffer(64 * 1024);
  while (association) {
    const ReceiveResult r = association->receive(buffer);
    for (std::size_t i = 0; i < r.bytes && content_ok; ++i) {
      if (buffer[i] != pattern_byte(receive_seed, received + i)) content_ok = false;
    }
    received += r.bytes;
    if (r.end_of_stream && !end_of_stream) {
      end_of_stream = true;
      received_at_end_of_stream = received;
    }
    if (r.bytes == 0) break;
  }
}

Harness& Harness::instance() {
  static Harness harness;
  return harness;
}

Harness::Harness() : now_(Clock::time_point{} + std::chrono::hours(1)) {
  // usrsctp reads the fake clock too (RTT samples, retransmission ages, BBR), so that time is one.
  StackConfig config;
  config.clock = [this] { return now_; };
  auto created = Stack::create(
      config, [this](PeerToken to, std::span<const std::byte> packet) { on_packet(to, packet); });
  if (!created) FAIL("Stack::create: " << created.error());
  stack_ = std::move(created.value());
  client_peer_ = stack_->register_peer(true);
  server_peer_ = stack_->register_peer(true);
  routes_.emplace_back(client_peer_, server_peer_);
  auto listening = stack_->listen(AssociationConfig{}, [this](std::unique_ptr<Association> association) {
    auto endpoint = std::make_unique<Endpoint>();
    endpoint->association = std::move(association);
    endpoint->connected = true;
    if (configure_accepted) configure_accepted(*endpoint);
    endpoint->association->set_events(*endpoint);
    accepted.push_back(std::move(endpoint));
  });
  if (!listening) FAIL("listen: " << listening.error());
  stack_->handle_timers(now_);
}

void Harness::add_route(PeerToken client, PeerToken server) {
  routes_.emplace_back(client, server);
}

void Harness::reset() {
  // Abort whatever a previous test left and let the packets settle before clearing hooks.
  accepted.clear();
  configure_accepted = nullptr;
  impair = [](bool, Packet&) { return Verdict::drop; };
  for (int i = 0; i < 20; ++i) pump(std::chrono::milliseconds(10));
  queue_.clear();
  impair = nullptr;
  delivered = 0;
  dropped = 0;
}

void Harness::on_packet(PeerToken to, std::span<const std::byte> packet) {
  for (const auto& [client, server] : routes_) {
    if (to == client) {
      queue_.push_back(Queued{server, true, Packet(packet.begin(), packet.end())});
      return;
    }
    if (to == server) {
      queue_.push_back(Queued{client, false, Packet(packet.begin(), packet.end())});
      return;
    }
  }
}

std::unique_ptr<Endpoint> Harness::connect(const AssociationConfig& config, PeerToken peer) {
  auto endpoint = std::make_unique<Endpoint>();
  auto result = stack_->connect(peer.value != 0 ? peer : client_peer_, config, *endpoint);
  REQUIRE(result.ok());
  endpoint->association = std::move(result.value());
  return endpoint;
}

void Harness::pump(std::chrono::milliseconds step) {
  for (int batch = 0; batch < 64 && !queue_.empty(); ++batch) {
    std::deque<Queued> current;
    current.swap(queue_);
    for (auto& q : current) {
      if (impair && impair(q.to_server, q.packet) == Verdict::drop) {
        ++dropped;
        continue;
      }
      ++delivered;
      stack_->receive_packet(q.from, q.packet);
    }
    stack_->dispatch_events();
  }
  now_ += step;
  stack_->handle_timers(now_);
  // Pacing (bbr) releases, at the step's granularity: the paths whose release time has come.
  stack_->release_paced(now_);
  stack_->dispatch_events();
}

bool Harness::run_until(const std::function<bool()>& done, std::chrono::milliseconds fake_limit,
                        std::chrono::milliseconds step) {
  const Clock::time_point end = now_ + fake_limit;
  while (!done()) {
    if (now_ >= end) return false;
    pump(step);
  }
  return true;
}

Pair open_pair(Harness& h, const AssociationConfig& config) {
  h.reset();
  Pair p;
  p.client = h.connect(config);
  REQUIRE(
      h.run_until([&] { return p.client->connected && h.accepted.size() == 1; }, std::chrono::seconds(5)));
  p.server = h.accepted[0].get();
  return p;
}

}  // namespace hoplink::sctp::test
