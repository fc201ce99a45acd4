#include "harness.hpp"

#include <catch2/catch.hpp>
#include <random>

namespace hoplink::dtls::test {

Bytes random_bytes(std::size_t size, std::uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes out(size);
  for (auto& b : out) b = static_cast<std::byte>(rng());
  return out;
}

const Identity& shared_identity() {
  static const Identity identity = [] {
    auto generated = Identity::generate();
    REQUIRE(generated.ok());
    return generated.value();
  }();
  return identity;
}

Pair::Pair(SessionConfig session_config, std::optional<std::string> fingerprint) : config(session_config) {
  ListenerConfig listener_config;
  listener_config.session = config;
  auto created = Listener::create(shared_identity(), listener_config, now);
  REQUIRE(created.ok());
  listener.emplace(std::move(created).value());
  auto c = DtlsSession::create_client(server_address, fingerprint.value_or(shared_identity().fingerprint()),
                                      config, client_callbacks(), now);
  REQUIRE(c.ok());
  client.emplace(std::move(c).value());
}

SessionCallbacks Pair::client_callbacks() {
  return {[this](std::span<const std::byte> d) {
            largest_datagram = std::max(largest_datagram, d.size());
            to_server.emplace_back(d.begin(), d.end());
          },
          [this](std::span<const std::byte> r) { client_records.emplace_back(r.begin(), r.end()); }};
}

SessionCallbacks Pair::server_callbacks() {
  return {[this](std::span<const std::byte> d) {
            largest_datagram = std::max(largest_datagram, d.size());
            to_client.emplace_back(d.begin(), d.end());
          },
          [this](std::span<const std::byte> r) { server_records.emplace_back(r.begin(), r.end()); }};
}

void Pair::deliver_to_server(const Bytes& datagram) {
  if (server) {
    server->receive_datagram(datagram, now);
    return;
  }
  ListenDecision decision = listener->receive(client_address, datagram, now);
  if (decision.kind == ListenDecision::Kind::reply) {
    ++hello_verify_requests;
    largest_datagram = std::max(largest_datagram, decision.reply.size());
    to_client.push_back(std::move(decision.reply));
  } else if (decision.kind == ListenDecision::Kind::accept) {
    auto accepted = DtlsSession::accept(std::move(decision.pending), server_callbacks(), now);
    REQUIRE(accepted.ok());
    server.emplace(std::move(accepted).value());
  }
}

void Pair::deliver_to_client(const Bytes& datagram) {
  client->receive_datagram(datagram, now);
}

void Pair::flush() {
  for (int guard = 0; guard < 10000 && (!to_server.empty() || !to_client.empty()); ++guard) {
    if (!to_server.empty()) {
      Bytes d = std::move(to_server.front());
      to_server.pop_front();
      if (keep(true, d)) deliver_to_server(d);
    }
    if (!to_client.empty()) {
      Bytes d = std::move(to_client.front());
      to_client.pop_front();
      if (keep(false, d)) deliver_to_client(d);
    }
  }
}

bool Pair::open() const {
  return client && server && client->state() == SessionState::open && server->state() == SessionState::open;
}

bool Pair::run_handshake(std::chrono::milliseconds limit) {
  const TimePoint end = now + limit;
  while (true) {
    flush();
    if (open()) return true;
    if (client->state() == SessionState::failed || (server && server->state() == SessionState::failed))
      return false;
    std::optional<TimePoint> next = client->next_deadline();
    if (server) {
      auto s = server->next_deadline();
      if (s && (!next || *s < *next)) next = s;
    }
    if (!next || *next > end) return false;
    now = std::max(now, *next);
    client->handle_timeout(now);
    if (server) server->handle_timeout(now);
  }
}

}  // namespace hoplink::dtls::test
