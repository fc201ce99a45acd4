#include "links/client_session.hpp"

namespace hoplink::transport {

namespace {

pt::Socks5Reply reply_for(sctp::CloseReason reason) {
  switch (reason) {
    case sctp::CloseReason::peer_aborted:
    case sctp::CloseReason::lower_layer_closed:  // the bridge closed the DTLS session
      return pt::Socks5Reply::connection_refused;
    case sctp::CloseReason::connect_failed:
    case sctp::CloseReason::peer_unreachable:
      return pt::Socks5Reply::host_unreachable;
    case sctp::CloseReason::shutdown_complete:
    case sctp::CloseReason::local_abort:
    case sctp::CloseReason::protocol_violation:
      break;
  }
  return pt::Socks5Reply::general_failure;
}

}  // namespace

ClientSession::ClientSession(ClientContext& context, std::uint64_t id, tcp::socket socket)
    : PendingLink(context.link, id, std::move(socket), nullptr), context_(context), in_(1024) {}

void ClientSession::start() {
  if (context_.fixed_remote) {
    connect(*context_.fixed_remote, context_.fixed_args);
    return;
  }
  // tor speaks at once; a silent client is dropped.
  timer_.arm_after(context_.options.handshake_timeout, [this] {
    if (finished_ || association_ || replying_) return;
    context_.link.log.info("SOCKS connection " + std::to_string(id_) + ": no request in time");
    close_now();
  });
  read_socks();
}

void ClientSession::read_socks() {
  socket_.async_read_some(asio::buffer(in_), lifetime_.guard([this](const error_code& ec, std::size_t bytes) {
    if (finished_) return;
    if (ec) {
      close_now();
      return;
    }
    on_socks_bytes(bytes);
  }));
}

void ClientSession::on_socks_bytes(std::size_t bytes) {
  out_.clear();
  const auto status = socks_.receive(std::span(in_.data(), bytes), out_);
  auto after_write = [this, status](const error_code& ec, std::size_t) {
    if (finished_) return;
    if (ec || status == pt::Socks5Server::Status::failed) {
      close_now();
      return;
    }
    if (status == pt::Socks5Server::Status::need_more) {
      read_socks();
    } else {
      connect(socks_.request().target, socks_.request().args);
    }
  };
  if (status == pt::Socks5Server::Status::failed) {
    ++context_.link.registry.totals().refused;
    context_.link.log.warning("SOCKS connection " + std::to_string(id_) + " refused: " + socks_.error());
  }
  if (out_.empty()) {
    after_write({}, 0);
  } else {
    asio::async_write(socket_, asio::buffer(out_), lifetime_.guard(std::move(after_write)));
  }
}

void ClientSession::connect(const PeerAddress& bridge, const pt::Args& args) {
  bridge_ = bridge;
  auto association = context_.transport.connect({bridge, args, context_.options.association, *this,
                                                 lifetime_.guard([this](const ConnectFailure& failure) {
                                                   reply_and_close(failure.reply, failure.message);
                                                 })});
  if (!association.ok()) {
    reply_and_close(association.error().reply, association.error().message);
    return;
  }
  association_ = std::move(association).value();
  watch_tor_while_connecting();
  timer_.arm_after(context_.options.connect_timeout, [this] {
    if (finished_) return;
    reply_and_close(pt::Socks5Reply::ttl_expired,
                    "no answer within " + std::to_string(context_.options.connect_timeout.count()) + " ms");
  });
}

void ClientSession::watch_tor_while_connecting() {
  // tor may give up first: its EOF ends the attempt now rather than at the connect timeout. Nothing is
  // consumed here: bytes tor sends early stay in the socket for the link.
  socket_.async_wait(tcp::socket::wait_read, lifetime_.guard([this](const error_code& ec) {
    if (ec || finished_ || replying_) return;
    std::byte probe{};
    error_code peek_error;
    const auto peeked = socket_.receive(asio::buffer(&probe, 1), tcp::socket::message_peek, peek_error);
    if (peek_error || peeked == 0) {
      context_.link.log.info("tor closed SOCKS connection " + std::to_string(id_) + " while connecting to " +
                             bridge_.to_string());
      close_now();
    }
  }));
}

void ClientSession::on_connected() {
  if (finished_) return;
  timer_.cancel();
  error_code ignored;
  socket_.cancel(ignored);  // the EOF watch: the link reads from here on
  if (context_.fixed_remote) {
    become_link();
    return;
  }
  const auto reply = pt::socks5_reply(pt::Socks5Reply::succeeded);
  out_.assign(reply.begin(), reply.end());
  asio::async_write(socket_, asio::buffer(out_), lifetime_.guard([this](const error_code& ec, std::size_t) {
    if (finished_) return;
    if (ec) {
      close_now();
      return;
    }
    become_link();
  }));
}

void ClientSession::on_closed(sctp::CloseReason reason) {
  if (finished_) return;
  association_.reset();
  reply_and_close(reply_for(reason), std::string("association ") + std::string(sctp::to_string(reason)));
}

void ClientSession::reply_and_close(pt::Socks5Reply reply, const std::string& why) {
  if (finished_ || replying_) return;
  replying_ = true;
  ++context_.link.registry.totals().refused;
  context_.link.log.warning("link to bridge " + bridge_.to_string() + " failed: " + why);
  if (association_) {
    association_.reset();
    context_.link.runtime.end_round_soon();
  }
  timer_.cancel();
  if (context_.fixed_remote) {
    close_now();
    return;
  }
  const auto bytes = pt::socks5_reply(reply);
  out_.assign(bytes.begin(), bytes.end());
  asio::async_write(socket_, asio::buffer(out_),
                    lifetime_.guard([this](const error_code&, std::size_t) { close_now(); }));
}

void ClientSession::become_link() {
  hand_over("to bridge " + bridge_.to_string(),
            std::vector<std::byte>(socks_.leftover().begin(), socks_.leftover().end()));
}

}  // namespace hoplink::transport
