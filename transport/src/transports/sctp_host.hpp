// The process's one sctp::Stack, driven by the event loop: its timer, the routing of packets between
// peer tokens and their owners, and the "settle" step that runs after every round of work.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "runtime/asio.hpp"
#include "common/result.hpp"
#include "sctp/stack.hpp"

namespace hoplink::transport {

class SctpHost {
 public:
  // The owner of one peer token: where its packets go, and who takes the associations it opens to us.
  class Peer {
   public:
    virtual void send_packet(std::span<const std::byte> packet) = 0;
    virtual void accept(std::unique_ptr<sctp::Association> association) = 0;

   protected:
    ~Peer() = default;
  };

  // Throws std::runtime_error when usrsctp cannot be initialised (start-up).
  SctpHost(asio::io_context& io, const sctp::StackConfig& config);
  ~SctpHost();

  // `accepted`: settings of associations this peer opens to us, when not the listener's (sctp::Stack).
  sctp::PeerToken add_peer(Peer& peer, bool crc32c,
                           std::optional<sctp::AssociationConfig> accepted = std::nullopt);
  void remove_peer(sctp::PeerToken token);
  std::size_t association_count(sctp::PeerToken token) const { return stack_->association_count(token); }

  // Starts accepting associations from every peer (once; later calls do nothing).
  Result<void, std::string> listen(const sctp::AssociationConfig& config);
  Result<std::unique_ptr<sctp::Association>, std::string> connect(sctp::PeerToken peer,
                                                                  const sctp::AssociationConfig& config,
                                                                  sctp::AssociationEvents& events);
  bool receive(sctp::PeerToken from, std::span<const std::byte> packet);

  // Run after queued work: SCTP events are dispatched, then every flusher sends its datagrams. settle_soon()
  // coalesces many requests of one loop iteration into one settle (and so one sendmmsg per socket).
  void settle();
  void settle_soon();
  // Returns an id for remove_flusher (a socket that closes before the host must unregister).
  std::uint64_t add_flusher(std::function<void()> flush);
  void remove_flusher(std::uint64_t id);

  const sctp::StackCounters& counters() const { return stack_->counters(); }

 private:
  void arm_timer();
  // Congestion control bbr: a microsecond timer for the next association its pacer holds back (usrsctp's
  // own timers tick every 10 ms, far too coarse: 200 Mbit/s is a packet every 48 us).
  void arm_pacing_timer();

  asio::io_context& io_;
  asio::steady_timer timer_;
  asio::steady_timer pacing_timer_;
  std::chrono::steady_clock::time_point pacing_deadline_{};
  bool pacing_armed_ = false;
  std::unique_ptr<sctp::Stack> stack_;
  std::unordered_map<std::uint32_t, Peer*> peers_;
  std::map<std::uint64_t, std::function<void()>> flushers_;
  std::uint64_t next_flusher_ = 0;
  bool listening_ = false;
  bool timer_armed_ = false;
  bool settle_posted_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace hoplink::transport
