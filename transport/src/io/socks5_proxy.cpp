#include "io/socks5_proxy.hpp"

#include <algorithm>

#include "links/tcp_endpoint.hpp"

namespace hoplink::transport {

namespace {

constexpr std::chrono::milliseconds kMaxBackoff{30000};
constexpr std::chrono::milliseconds kHandshakeTimeout{10000};
constexpr std::size_t kMaxHeader = 22;
constexpr std::size_t kMaxWaiting = 64;

}  // namespace

ProxyAssociation::ProxyAssociation(Runtime& runtime, ClientProxy& proxy, PeerAddress udp_local)
    : runtime_(runtime), proxy_(proxy), udp_local_(udp_local), socket_(runtime.io()), timer_(runtime) {}

ProxyAssociation::~ProxyAssociation() {
  error_code ignored;
  socket_.close(ignored);
}

void ProxyAssociation::start(std::function<void()> on_ready) {
  on_ready_ = std::move(on_ready);
  renew_ = true;
  associate();
}

Result<void, std::string> ProxyAssociation::associate_blocking(std::chrono::milliseconds timeout) {
  last_error_.reset();
  associate();
  runtime_.run_until([this] { return relay_ || last_error_; }, runtime_.now() + timeout);
  if (relay_) return {};
  return fail(last_error_.value_or("no answer from SOCKS5 proxy " + proxy_.uri.address.to_string() +
                                   " within " + std::to_string(timeout.count()) + " ms"));
}

void ProxyAssociation::associate() {
  relay_.reset();
  error_code ignored;
  socket_.close(ignored);
  // The request names the address the datagrams will come from when the socket is bound to a specific one,
  // and all zeros otherwise (RFC 1928: the client does not know it yet).
  const auto client = udp_local_.is_unspecified() ? PeerAddress::v4({0, 0, 0, 0}, 0) : udp_local_;
  handshake_ = std::make_unique<pt::Socks5UdpAssociate>(proxy_.uri.username, proxy_.uri.password, client);
  timer_.arm_after(kHandshakeTimeout, [this] {
    if (!relay_)
      on_failed("no UDP ASSOCIATE reply within " + std::to_string(kHandshakeTimeout.count()) + " ms");
  });
  socket_.async_connect(to_tcp_endpoint(proxy_.uri.address),
                        lifetime_.guard([this](const error_code& ec) { on_connected(ec); }));
}

void ProxyAssociation::on_connected(const error_code& ec) {
  if (ec == asio::error::operation_aborted) return;
  if (ec) {
    on_failed("cannot connect to SOCKS5 proxy " + proxy_.uri.address.to_string() + ": " + ec.message());
    return;
  }
  out_.clear();
  if (handshake_->start(out_) == pt::Socks5UdpAssociate::Status::failed) {
    on_failed(handshake_->error());
    return;
  }
  send_then_read();
}

void ProxyAssociation::send_then_read() {
  asio::async_write(socket_, asio::buffer(out_), lifetime_.guard([this](const error_code& ec, std::size_t) {
    if (ec == asio::error::operation_aborted) return;
    if (ec) {
      on_failed("SOCKS5 proxy " + proxy_.uri.address.to_string() + ": " + ec.message());
      return;
    }
    read_reply();
  }));
}

void ProxyAssociation::read_reply() {
  socket_.async_read_some(asio::buffer(in_), lifetime_.guard([this](const error_code& ec, std::size_t bytes) {
    if (ec == asio::error::operation_aborted) return;
    if (ec) {
      on_failed("SOCKS5 proxy " + proxy_.uri.address.to_string() +
                " closed the connection during UDP ASSOCIATE");
      return;
    }
    out_.clear();
    const auto status = handshake_->receive(std::span(in_.data(), bytes), out_);
    if (status == pt::Socks5UdpAssociate::Status::failed) {
      on_failed(handshake_->error());
    } else if (status == pt::Socks5UdpAssociate::Status::done) {
      on_associated();
    } else if (out_.empty()) {
      read_reply();
    } else {
      send_then_read();
    }
  }));
}

void ProxyAssociation::on_associated() {
  timer_.cancel();
  auto relay = handshake_->relay();
  // An unspecified address means "the proxy's own": the one the control connection reached.
  if (relay.is_unspecified()) relay = proxy_.uri.address.with_port(relay.port());
  relay_ = relay;
  backoff_ = std::chrono::milliseconds(500);
  ++proxy_.counters.associations;
  // A renewal after an outage is news for the operator; a new socket's first association is not.
  proxy_.log.log(ever_associated_ ? pt::Severity::notice : pt::Severity::info,
                 "SOCKS5 proxy " + proxy_.uri.address.to_string() + ": UDP relay at " + relay.to_string() +
                     " for " + udp_local_.to_string() + (ever_associated_ ? " (renewed)" : ""));
  ever_associated_ = true;
  watch_control_connection();
  if (on_ready_) on_ready_();
}

void ProxyAssociation::watch_control_connection() {
  // The proxy sends nothing more on the control connection; its end is the end of the association.
  socket_.async_read_some(asio::buffer(in_), lifetime_.guard([this](const error_code& ec, std::size_t) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      watch_control_connection();
      return;
    }
    relay_.reset();
    proxy_.log.warning("SOCKS5 proxy " + proxy_.uri.address.to_string() +
                       " ended the UDP association; links through it stall until it is renewed");
    retry_later();
  }));
}

void ProxyAssociation::on_failed(const std::string& why) {
  timer_.cancel();
  error_code ignored;
  socket_.close(ignored);
  ++proxy_.counters.association_failures;
  last_error_ = why;
  proxy_.log.warning(why);
  retry_later();
}

void ProxyAssociation::retry_later() {
  if (!renew_) return;
  timer_.arm_after(backoff_, [this] { associate(); });
  backoff_ = std::min(backoff_ * 2, kMaxBackoff);
}

Socks5UdpIo::Socks5UdpIo(Runtime& runtime, ClientProxy& proxy, std::unique_ptr<dio::DatagramIo> inner,
                         std::function<void()> on_ready)
    : inner_(std::move(inner)),
      association_(runtime, proxy, inner_->local_address()),
      scratch_(inner_->max_payload()) {
  association_.start(std::move(on_ready));
}

std::size_t Socks5UdpIo::max_payload() const {
  return inner_->max_payload() - kMaxHeader;
}

Result<std::size_t, dio::IoError> Socks5UdpIo::receive_burst(std::span<dio::ReceivedDatagram> out) {
  auto received = inner_->receive_burst(out);
  if (!received.ok()) return received;
  auto& counters = association_.counters();
  const auto& relay = association_.relay();
  std::size_t kept = 0;
  for (std::size_t i = 0; i < received.value(); ++i) {
    if (!relay || out[i].from != *relay) {
      ++counters.dropped_not_from_relay;
      continue;
    }
    const auto parsed = pt::parse_socks5_udp_datagram(out[i].payload);
    if (!parsed) {
      ++counters.dropped_malformed;
      continue;
    }
    out[kept++] = {parsed->source, parsed->payload};
  }
  return kept;
}

bool Socks5UdpIo::wrap_and_enqueue(const PeerAddress& relay, const PeerAddress& to,
                                   std::span<const std::byte> payload) {
  const std::size_t header = pt::write_socks5_udp_header(to, scratch_);
  if (header == 0 || header + payload.size() > scratch_.size()) {
    ++association_.counters().dropped_too_big;
    return false;
  }
  std::copy(payload.begin(), payload.end(), scratch_.begin() + static_cast<std::ptrdiff_t>(header));
  return inner_->enqueue(relay, std::span<const std::byte>(scratch_.data(), header + payload.size()));
}

void Socks5UdpIo::release_waiting() {
  const auto& relay = association_.relay();
  if (!relay || waiting_.empty()) return;
  std::size_t sent = 0;
  while (sent < waiting_.size() && inner_->pending_tx() < inner_->tx_capacity()) {
    wrap_and_enqueue(*relay, waiting_[sent].to, waiting_[sent].payload);
    ++sent;
  }
  waiting_.erase(waiting_.begin(), waiting_.begin() + static_cast<std::ptrdiff_t>(sent));
  if (waiting_.empty()) waiting_.shrink_to_fit();
}

bool Socks5UdpIo::enqueue(const PeerAddress& to, std::span<const std::byte> payload) {
  const auto& relay = association_.relay();
  const bool first_association_pending = !relay && !association_.ever_associated();
  if (!relay || !waiting_.empty()) {
    // Before the first association, keep the first flights (an INIT, a ClientHello) rather than make them
    // wait for a retransmission timer; later outages drop like any loss.
    if ((first_association_pending || !waiting_.empty()) && waiting_.size() < kMaxWaiting) {
      waiting_.push_back({to, std::vector<std::byte>(payload.begin(), payload.end())});
      release_waiting();
      return true;
    }
    ++association_.counters().dropped_no_relay;
    return false;
  }
  return wrap_and_enqueue(*relay, to, payload);
}

Result<std::size_t, dio::IoError> Socks5UdpIo::flush() {
  release_waiting();
  auto sent = inner_->flush();
  release_waiting();
  return sent;
}

}  // namespace hoplink::transport
