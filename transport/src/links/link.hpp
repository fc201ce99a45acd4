// A link: one tor TCP connection joined to one SCTP association, bytes relayed both ways.
//
// Backpressure both ways with bounded memory: at most one buffer of bytes per direction is held here; a
// full association send buffer stops reading from TCP, and a pending TCP write stops reading from the
// association, whose receive window then closes and slows the far end's writer.
//
// TCP's half-close end to end: tor's FIN ends the direction to the peer only (the association's
// finish_sending, after every byte), the peer's end_of_stream becomes a FIN to tor after every byte, and
// each direction keeps flowing until it ends too. The link ends in order when the association has shut
// down after both ends. A reset or error on tor's socket aborts the association at once; an association
// that ends any other way resets tor's connection, so that tor never takes a cut stream for a whole one.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "links/link_registry.hpp"
#include "runtime/asio.hpp"
#include "runtime/lifetime.hpp"
#include "runtime/logger.hpp"
#include "runtime/runtime.hpp"
#include "sctp/association.hpp"

namespace hoplink::transport {

struct LinkContext {
  Runtime& runtime;
  Logger& log;
  LinkRegistry& registry;
  std::string transport;
};

class Link final : public Closable, public sctp::AssociationEvents {
 public:
  // `to_peer_first`: bytes tor already sent (after SOCKS or Extended ORPort), sent before anything else.
  Link(LinkContext context, std::uint64_t id, tcp::socket socket,
       std::unique_ptr<sctp::Association> association, std::string description,
       std::vector<std::byte> to_peer_first);
  ~Link() override;

  // Takes over the association's events and starts relaying. The registry owns the link.
  void start();
  void close_now() override;
  std::optional<sctp::AssociationStats> path_stats() const override;

 private:
  // TCP -> association
  void read_tcp();
  void push_to_peer();
  // association -> TCP
  void pull_from_peer();
  void on_tcp_written(const error_code& ec, std::size_t bytes);

  void on_connected() override {}
  void on_readable() override { pull_from_peer(); }
  void on_writable() override { push_to_peer(); }
  void on_closed(sctp::CloseReason reason) override;

  void maybe_finish();
  // Ends the link: orderly when both directions ended and everything was delivered, otherwise an abort
  // that says `why` and resets tor's connection.
  void finish(const std::string& why);
  bool orderly() const;

  static constexpr std::size_t kBufferBytes = 64 * 1024;

  LinkContext context_;
  std::uint64_t id_;
  tcp::socket socket_;
  std::unique_ptr<sctp::Association> association_;
  std::string description_;
  TimePoint started_;

  std::vector<std::byte> to_peer_;  // read from TCP, not yet accepted by the association
  std::size_t to_peer_begin_ = 0;
  std::size_t to_peer_end_ = 0;
  std::vector<std::byte> from_peer_;  // read from the association, being written to TCP
  std::uint64_t bytes_to_peer_ = 0;
  std::uint64_t bytes_from_peer_ = 0;

  bool reading_ = false;
  bool writing_ = false;
  bool tcp_eof_ = false;   // tor closed its sending side
  bool peer_eof_ = false;  // the peer ended its direction and every byte was written to tor
  bool association_closed_ = false;
  bool finished_ = false;
  bool finished_orderly_ = false;  // tor's socket gets a FIN at close; a reset otherwise
  sctp::CloseReason close_reason_ = sctp::CloseReason::shutdown_complete;
  Lifetime lifetime_;  // tor's socket operations
};

}  // namespace hoplink::transport
