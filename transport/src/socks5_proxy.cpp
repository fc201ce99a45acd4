#include "socks5_proxy.hpp"

#include <algorithm>

#include "tcp_endpoint.hpp"

namespace hoplink::transport {

namespace {

constexpr std::chrono::milliseconds kMaxBackoff{30000};
constexpr std::chrono::milliseconds kHandshakeTimeout{10000};
constexpr std::size_t kMaxHeader = 22;

}  // namespace

ProxyAssociation::ProxyAssociation(asio::io_context& io, Logger& log, pt::ProxyUri proxy,
                                   PeerAddress udp_local)
    : io_(io), log_(log), proxy_(std::move(proxy)), udp_local_(udp_local), socket_(io), timer_(io) {}

ProxyAssociation::~ProxyAssociation() {
  *alive_ = false;
  error_code ignored;
  socket_.close(ignored);
  timer_.cancel();
}

Result<void, std::string> ProxyAssociation::associate_blocking(std::chrono::milliseconds timeout) {
  last_error_.reset();
  associate();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!relay_ && !last_error_ && std::chrono::steady_clock::now() < deadline) {
    io_.run_one_until(deadline);
  }
  // run_one_until() may have found the loop out of work; App::run() needs it ready again.
  if (io_.stopped()) io_.restart();
  if (relay_) return {};
  std::string why = last_error_.value_or("no answer from " + proxy_.address.to_string() + " within " +
                                         std::to_string(timeout.count()) + " ms");
  // No renewal after a start-up failure: the caller reports PROXY-ERROR and exits.
  *alive_ = false;
  alive_ = std::make_shared<bool>(true);
  error_code ignored;
  socket_.close(ignored);
  timer_.cancel();
  return fail(std::move(why));
}

void ProxyAssociation::associate() {
  relay_.reset();
  error_code ignored;
  socket_.close(ignored);
  // The address the datagrams come from: the control connection's local IP is not known before it connects,
  // so the request names the UDP socket's own address when it is specific, and all zeros otherwise (RFC 1928
  // allows that when the client does not know it).
  const bool specific = !udp_local_.is_unspecified();
  const auto client = specific ? udp_local_ : PeerAddress::v4({0, 0, 0, 0}, 0);
  handshake_ = std::make_unique<pt::Socks5UdpAssociate>(proxy_.username, proxy_.password, client);
  timer_.expires_after(kHandshakeTimeout);
  timer_.async_wait([this, alive = alive_](const error_code& ec) {
    if (!*alive || ec) return;
    if (!relay_)
      on_failed("no UDP ASSOCIATE reply within " + std::to_string(kHandshakeTimeout.count()) + " ms");
  });
  socket_.async_connect(to_tcp_endpoint(proxy_.address), [this, alive = alive_](const error_code& ec) {
    if (*alive) on_connected(ec);
  });
}

void ProxyAssociation::on_connected(const error_code& ec) {
  if (ec == asio::error::operation_aborted) return;
  if (ec) {
    on_failed("cannot connect to SOCKS5 proxy " + proxy_.address.to_string() + ": " + ec.message());
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
  asio::async_write(socket_, asio::buffer(out_), [this, alive = alive_](const error_code& ec, std::size_t) {
    if (!*alive || ec == asio::error::operation_aborted) return;
    if (ec) {
      on_failed("SOCKS5 proxy " + proxy_.address.to_string() + ": " + ec.message());
      return;
    }
    read_reply();
  });
}

void ProxyAssociation::read_reply() {
  socket_.async_read_some(asio::buffer(in_), [this, alive = alive_](const error_code& ec, std::size_t bytes) {
    if (!*alive || ec == asio::error::operation_aborted) return;
    if (ec) {
      on_failed("SOCKS5 proxy " + proxy_.address.to_string() + " closed the connection during UDP ASSOCIATE");
      return;
    }
    out_.clear();
    const auto status = handshake_->receive(std::span(in_.data(), bytes), out_);
    if (status == pt::Socks5UdpAssociate::Status::failed) {
      on_failed(handshake_->error());
      return;
    }
    if (status == pt::Socks5UdpAssociate::Status::done) {
      on_associated();
      return;
    }
    if (out_.empty()) {
      read_reply();
    } else {
      send_then_read();
    }
  });
}

void ProxyAssociation::on_associated() {
  timer_.cancel();
  auto relay = handshake_->relay();
  if (relay.is_unspecified()) {
    // "Use the proxy's own address": the one the control connection reached.
    relay = proxy_.address.with_port(relay.port());
  }
  relay_ = relay;
  backoff_ = std::chrono::milliseconds(1000);
  ++counters_.associations;
  log_.notice("SOCKS5 proxy " + proxy_.address.to_string() + ": UDP relay at " + relay.to_string());
  watch_control_connection();
}

void ProxyAssociation::watch_control_connection() {
  // The proxy sends nothing more on the control connection; its end is the end of the association.
  socket_.async_read_some(asio::buffer(in_), [this, alive = alive_](const error_code& ec, std::size_t) {
    if (!*alive || ec == asio::error::operation_aborted) return;
    if (!ec) {
      watch_control_connection();
      return;
    }
    relay_.reset();
    log_.warning("SOCKS5 proxy " + proxy_.address.to_string() +
                 " ended the UDP association; links through it stall until it is renewed");
    retry_later();
  });
}

void ProxyAssociation::on_failed(const std::string& why) {
  timer_.cancel();
  error_code ignored;
  socket_.close(ignored);
  ++counters_.association_failures;
  last_error_ = why;
  log_.warning(why);
  retry_later();
}

void ProxyAssociation::retry_later() {
  timer_.expires_after(backoff_);
  backoff_ = std::min(backoff_ * 2, kMaxBackoff);
  timer_.async_wait([this, alive = alive_](const error_code& ec) {
    if (*alive && !ec) associate();
  });
}

namespace {

class Socks5UdpIo final : public dio::DatagramIo {
 public:
  Socks5UdpIo(std::unique_ptr<dio::DatagramIo> inner, ProxyAssociation& association)
      : inner_(std::move(inner)), association_(association), scratch_(inner_->max_payload()) {}

  Result<std::size_t, dio::IoError> receive_burst(std::span<dio::ReceivedDatagram> out) override {
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

  bool enqueue(const PeerAddress& to, std::span<const std::byte> payload) override {
    const auto& relay = association_.relay();
    if (!relay) {
      ++association_.counters().dropped_no_relay;
      return false;
    }
    const std::size_t header = pt::write_socks5_udp_header(to, scratch_);
    if (header == 0 || header + payload.size() > scratch_.size()) {
      ++association_.counters().dropped_too_big;
      return false;
    }
    std::copy(payload.begin(), payload.end(), scratch_.begin() + static_cast<std::ptrdiff_t>(header));
    return inner_->enqueue(*relay, std::span<const std::byte>(scratch_.data(), header + payload.size()));
  }

  Result<std::size_t, dio::IoError> flush() override { return inner_->flush(); }
  std::size_t pending_tx() const override { return inner_->pending_tx(); }
  std::size_t tx_capacity() const override { return inner_->tx_capacity(); }
  std::size_t max_payload() const override { return inner_->max_payload() - kMaxHeader; }
  int readiness_fd() const override { return inner_->readiness_fd(); }
  PeerAddress local_address() const override { return inner_->local_address(); }
  const dio::IoCounters& counters() const override { return inner_->counters(); }
  std::string_view backend_name() const override { return "udp+socks5"; }
  int last_errno() const override { return inner_->last_errno(); }

 private:
  std::unique_ptr<dio::DatagramIo> inner_;
  ProxyAssociation& association_;
  std::vector<std::byte> scratch_;  // one datagram with its header: the copy the inner socket copies again
};

}  // namespace

std::unique_ptr<dio::DatagramIo> make_socks5_udp_io(std::unique_ptr<dio::DatagramIo> inner,
                                                    ProxyAssociation& association) {
  return std::make_unique<Socks5UdpIo>(std::move(inner), association);
}

}  // namespace hoplink::transport
