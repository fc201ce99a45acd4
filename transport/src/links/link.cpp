#include "links/link.hpp"

#include <algorithm>

#include "links/path_status.hpp"

namespace hoplink::transport {

Link::Link(LinkContext context, std::uint64_t id, tcp::socket socket,
           std::unique_ptr<sctp::Association> association, std::string description,
           std::vector<std::byte> to_peer_first)
    : context_(std::move(context)),
      id_(id),
      socket_(std::move(socket)),
      association_(std::move(association)),
      description_(std::move(description)),
      started_(context_.runtime.now()),
      to_peer_(std::max(kBufferBytes, to_peer_first.size())),
      from_peer_(kBufferBytes) {
  std::copy(to_peer_first.begin(), to_peer_first.end(), to_peer_.begin());
  to_peer_end_ = to_peer_first.size();
}

Link::~Link() = default;

void Link::start() {
  association_->set_events(*this);
  error_code ignored;
  socket_.set_option(tcp::no_delay(true), ignored);
  ++context_.registry.totals().opened;
  context_.log.info("link " + std::to_string(id_) + " open: " + description_);
  push_to_peer();
  pull_from_peer();
}

void Link::read_tcp() {
  if (reading_ || tcp_eof_ || finished_ || to_peer_begin_ < to_peer_end_) return;
  reading_ = true;
  socket_.async_read_some(asio::buffer(to_peer_.data(), to_peer_.size()),
                          lifetime_.guard([this](const error_code& ec, std::size_t bytes) {
                            reading_ = false;
                            if (finished_) return;
                            if (ec == asio::error::eof) {
                              tcp_eof_ = true;
                            } else if (ec) {
                              finish("tor connection error: " + ec.message());
                              return;
                            }
                            to_peer_begin_ = 0;
                            to_peer_end_ = bytes;
                            push_to_peer();
                          }));
}

void Link::push_to_peer() {
  if (finished_ || association_closed_) return;
  while (to_peer_begin_ < to_peer_end_) {
    const auto accepted =
        association_->send(std::span(to_peer_.data() + to_peer_begin_, to_peer_end_ - to_peer_begin_));
    if (accepted == 0) break;  // on_writable resumes
    to_peer_begin_ += accepted;
    bytes_to_peer_ += accepted;
  }
  context_.runtime.end_round_soon();
  if (to_peer_begin_ < to_peer_end_) return;
  if (tcp_eof_) {
    // Every byte tor sent is queued: the end-of-stream marker follows them. The peer's direction goes on.
    association_->finish_sending();
    return;
  }
  read_tcp();
}

void Link::pull_from_peer() {
  if (writing_ || finished_) return;
  if (!peer_eof_) {
    const auto received = association_->receive(from_peer_);
    if (received.bytes > 0) {
      writing_ = true;
      bytes_from_peer_ += received.bytes;
      // The read freed receive window: let usrsctp's window update leave soon.
      context_.runtime.end_round_soon();
      asio::async_write(
          socket_, asio::buffer(from_peer_.data(), received.bytes),
          lifetime_.guard([this](const error_code& ec, std::size_t bytes) { on_tcp_written(ec, bytes); }));
      return;
    }
    if (received.end_of_stream) {
      // Every byte before it was written (writes are one at a time): tor gets its FIN, and may go on sending.
      peer_eof_ = true;
      error_code ignored;
      socket_.shutdown(tcp::socket::shutdown_send, ignored);
    }
  }
  maybe_finish();
}

void Link::on_tcp_written(const error_code& ec, std::size_t) {
  writing_ = false;
  if (finished_) return;
  if (ec) {
    finish("tor connection error: " + ec.message());
    return;
  }
  pull_from_peer();
}

void Link::on_closed(sctp::CloseReason reason) {
  association_closed_ = true;
  close_reason_ = reason;
  if (reason != sctp::CloseReason::shutdown_complete) {
    finish(std::string("association closed: ") + std::string(sctp::to_string(reason)));
    return;
  }
  // The association reports shutdown_complete after end_of_stream was read, so the last write may be in
  // progress still.
  pull_from_peer();
}

void Link::maybe_finish() {
  if (!association_closed_ || writing_) return;
  // A peer without half-close ends both directions with an SCTP SHUTDOWN: what tor still had to send is cut.
  finish(tcp_eof_ ? "closed" : "peer ended both directions while tor was sending");
}

bool Link::orderly() const {
  return association_closed_ && close_reason_ == sctp::CloseReason::shutdown_complete && tcp_eof_ &&
         peer_eof_ && !writing_ && to_peer_begin_ == to_peer_end_;
}

void Link::finish(const std::string& why) {
  if (finished_) return;
  finished_ = true;
  const auto seconds = std::chrono::duration<double>(context_.runtime.now() - started_).count();
  auto& totals = context_.registry.totals();
  ++totals.closed;
  totals.bytes_to_peer += bytes_to_peer_;
  totals.bytes_from_peer += bytes_from_peer_;
  const bool orderly = this->orderly();
  finished_orderly_ = orderly;
  const auto path = path_stats();
  if (path) totals.closed_paths.add(*path);
  const auto summary = "link " + std::to_string(id_) + " " + description_ + " closed (" + why + ") after " +
                       std::to_string(static_cast<long long>(seconds)) + " s, " +
                       std::to_string(bytes_to_peer_) + " bytes to peer, " +
                       std::to_string(bytes_from_peer_) + " from peer";
  if (orderly) {
    context_.log.info(summary);
  } else {
    context_.log.notice(summary);
  }
  StatusFields fields{{"LINK", std::to_string(id_)},
                      {"EVENT", "closed"},
                      {"REASON", orderly ? "orderly" : why},
                      {"BYTES_TO_PEER", std::to_string(bytes_to_peer_)},
                      {"BYTES_FROM_PEER", std::to_string(bytes_from_peer_)},
                      {"SECONDS", std::to_string(static_cast<long long>(seconds))}};
  if (path) append_path_fields(fields, *path);
  context_.log.messages().status(context_.transport, fields);
  close_now();
  context_.registry.remove(id_);  // destroyed from the loop, after this call
}

std::optional<sctp::AssociationStats> Link::path_stats() const {
  if (!association_) return std::nullopt;
  return association_->stats();
}

void Link::close_now() {
  finished_ = true;
  error_code ignored;
  // SO_LINGER {1, 0}: close sends a reset, which tor reads as a connection error rather than a clean end.
  if (!finished_orderly_) socket_.set_option(asio::socket_base::linger(true, 0), ignored);
  socket_.close(ignored);
  if (association_) {
    // Not closed yet: destruction aborts it. Released here so that nothing refers to the stack later.
    association_.reset();
    context_.runtime.end_round_soon();
  }
}

}  // namespace hoplink::transport
