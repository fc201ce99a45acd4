#include "links/server_session.hpp"

#include <algorithm>
#include <fstream>

#include "links/tcp_endpoint.hpp"

namespace hoplink::transport {

namespace {

Result<pt::AuthCookie, std::string> read_cookie(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return fail("cannot read the auth cookie file " + path);
  // The file is 64 bytes; one more byte is read so that a longer file is seen as malformed.
  std::vector<char> contents(65);
  file.read(contents.data(), static_cast<std::streamsize>(contents.size()));
  contents.resize(static_cast<std::size_t>(file.gcount()));
  auto cookie = pt::parse_auth_cookie(std::as_bytes(std::span(contents)));
  if (!cookie.ok()) return fail(path + ": " + cookie.error());
  return cookie.value();
}

}  // namespace

ServerSession::ServerSession(ServerContext& context, std::uint64_t id,
                             std::unique_ptr<sctp::Association> association, const PeerAddress& from)
    : PendingLink(context.link, id, tcp::socket(context.link.runtime.io()), std::move(association)),
      context_(context),
      from_(from),
      in_(4096) {}

void ServerSession::start() {
  association_->set_events(*this);
  timer_.arm_after(context_.options.handshake_timeout, [this] {
    if (finished_) return;
    fail("tor's ORPort did not complete the handshake in time");
  });
  socket_.async_connect(to_tcp_endpoint(context_.orport), lifetime_.guard([this](const error_code& ec) {
    if (finished_) return;
    if (ec) {
      fail("cannot connect to tor at " + context_.orport.to_string() + ": " + ec.message());
      return;
    }
    on_tcp_connected();
  }));
}

void ServerSession::on_tcp_connected() {
  if (!context_.extended) {
    become_link({});
    return;
  }
  auto cookie = read_cookie(context_.auth_cookie_file);
  if (!cookie.ok()) {
    fail(cookie.error());
    return;
  }
  ext_or_ = std::make_unique<pt::ExtOrClient>(cookie.value(), pt::random_nonce(), from_.to_string(),
                                              context_.link.transport);
  read_ext_or();
}

void ServerSession::read_ext_or() {
  socket_.async_read_some(asio::buffer(in_), lifetime_.guard([this](const error_code& ec, std::size_t bytes) {
    if (finished_) return;
    if (ec) {
      fail("Extended ORPort closed during the handshake: " + ec.message());
      return;
    }
    out_.clear();
    const auto status = ext_or_->receive(std::span(in_.data(), bytes), out_);
    switch (status) {
      case pt::ExtOrClient::Status::need_more:
        write_then_read();
        return;
      case pt::ExtOrClient::Status::ready: {
        // OKAY arrives after our last message, so nothing is left to write.
        std::vector<std::byte> leftover(ext_or_->leftover().begin(), ext_or_->leftover().end());
        become_link(std::move(leftover));
        return;
      }
      case pt::ExtOrClient::Status::denied:
        fail("tor's Extended ORPort denied the link: " + ext_or_->error());
        return;
      case pt::ExtOrClient::Status::failed:
        fail("Extended ORPort handshake failed: " + ext_or_->error());
        return;
    }
  }));
}

void ServerSession::write_then_read() {
  if (out_.empty()) {
    read_ext_or();
    return;
  }
  asio::async_write(socket_, asio::buffer(out_), lifetime_.guard([this](const error_code& ec, std::size_t) {
    if (finished_) return;
    if (ec) {
      fail("Extended ORPort write failed: " + ec.message());
      return;
    }
    read_ext_or();
  }));
}

void ServerSession::on_closed(sctp::CloseReason reason) {
  if (finished_) return;
  context_.link.log.info("link from " + from_.to_string() + " closed by the peer before it reached tor (" +
                         std::string(sctp::to_string(reason)) + ")");
  close_now();
}

void ServerSession::fail(const std::string& why) {
  if (finished_) return;
  ++context_.link.registry.totals().refused;
  context_.link.log.warning("link from " + from_.to_string() + " dropped: " + why);
  close_now();
}

void ServerSession::become_link(std::vector<std::byte> leftover) {
  hand_over("from " + from_.to_string(), std::move(leftover));
}

}  // namespace hoplink::transport
