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
    : PendingLink(context.link, id, tcp::socket(context.link.io), std::move(association)),
      context_(context),
      from_(from),
      in_(4096) {}

void ServerSession::start() {
  association_->set_events(*this);
  timer_.expires_after(context_.options.handshake_timeout);
  timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (ec || self->finished_) return;
    self->fail("tor's ORPort did not complete the handshake in time");
  });
  socket_.async_connect(to_tcp_endpoint(context_.orport), [self = shared_from_this()](const error_code& ec) {
    if (self->finished_) return;
    if (ec) {
      self->fail("cannot connect to tor at " + self->context_.orport.to_string() + ": " + ec.message());
      return;
    }
    self->on_tcp_connected();
  });
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
  socket_.async_read_some(asio::buffer(in_), [self = shared_from_this()](const error_code& ec,
                                                                         std::size_t bytes) {
    if (self->finished_) return;
    if (ec) {
      self->fail("Extended ORPort closed during the handshake: " + ec.message());
      return;
    }
    self->out_.clear();
    const auto status = self->ext_or_->receive(std::span(self->in_.data(), bytes), self->out_);
    switch (status) {
      case pt::ExtOrClient::Status::need_more:
        self->write_then_read();
        return;
      case pt::ExtOrClient::Status::ready: {
        // OKAY arrives after our last message, so nothing is left to write.
        std::vector<std::byte> leftover(self->ext_or_->leftover().begin(), self->ext_or_->leftover().end());
        self->become_link(std::move(leftover));
        return;
      }
      case pt::ExtOrClient::Status::denied:
        self->fail("tor's Extended ORPort denied the link: " + self->ext_or_->error());
        return;
      case pt::ExtOrClient::Status::failed:
        self->fail("Extended ORPort handshake failed: " + self->ext_or_->error());
        return;
    }
  });
}

void ServerSession::write_then_read() {
  if (out_.empty()) {
    read_ext_or();
    return;
  }
  asio::async_write(socket_, asio::buffer(out_),
                    [self = shared_from_this()](const error_code& ec, std::size_t) {
                      if (self->finished_) return;
                      if (ec) {
                        self->fail("Extended ORPort write failed: " + ec.message());
                        return;
                      }
                      self->read_ext_or();
                    });
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
