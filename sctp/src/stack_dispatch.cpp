// Stack::Impl::dispatch_events and what it drives: accepting, per-association callbacks, the dead-peer
// watchdog. Everything here runs outside usrsctp calls; callbacks may destroy associations at any point.
#include <arpa/inet.h>
#include <usrsctp.h>

#include "external_cc.hpp"
#include "internal.hpp"
#include "socket_options.hpp"
#include "usrsctp_library.hpp"

namespace hoplink::sctp {

void Stack::Impl::dispatch_events() {
  // Each round handles the slots marked so far; callbacks may mark more (or the same ones again).
  // Bounded so that an application that keeps re-arming itself cannot hang the loop.
  constexpr int kMaxRounds = 64;
  std::vector<std::uint32_t> round;
  for (int i = 0; i < kMaxRounds && !dirty.empty(); ++i) {
    round.swap(dirty);
    dirty.clear();
    for (const std::uint32_t id : round) {
      if (id >= slots.size() || !slots[id].in_use) continue;
      slots[id].dirty = false;
      if (slots[id].listener) {
        accept_pending();
      } else {
        run_association(id);
      }
    }
    round.clear();
  }
}

void Stack::Impl::accept_pending() {
  if (!listener_slot) return;
  for (;;) {
    struct socket* listener = slots[*listener_slot].so;
    struct sockaddr_conn from {};
    socklen_t from_len = sizeof from;
    struct socket* so = usrsctp_accept(listener, reinterpret_cast<struct sockaddr*>(&from), &from_len);
    if (so == nullptr) return;  // EWOULDBLOCK: nothing more to accept
    const auto token = static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(from.sconn_addr));
    const auto peer_it = peers.find(token);
    std::string error;
    AssociationConfig accepted = listener_config;
    if (peer_it != peers.end() && peer_it->second.accepted) {
      accepted = *peer_it->second.accepted;
      accepted.remote_port = listener_config.remote_port;
    }
    if (from.sconn_family != AF_CONN || peer_it == peers.end() ||
        !detail::apply_socket_options(so, config, accepted, error)) {
      detail::set_abortive_close(so);
      usrsctp_close(so);
      continue;
    }
    auto impl = std::make_unique<Association::Impl>();
    impl->stack = this;
    impl->so = so;
    impl->peer = PeerToken{token};
    impl->config = accepted;
    impl->state = AssociationState::open;
    impl->last_heard = now;
    impl->start_tuning(now);
    watch(*impl);
    impl->slot = allocate_slot(so, impl.get(), false);
    impl->port_key = port_key(token, listener_config.remote_port, ntohs(from.sconn_port));
    slot_by_ports[*impl->port_key] = impl->slot;
    usrsctp_set_upcall(so, detail::library_upcall(),
                       reinterpret_cast<void*>(static_cast<std::uintptr_t>(impl->slot)));
    detail::ExternalCc::bind(so);
    ++peer_it->second.associations;
    ++live_associations;
    ++counters.associations_accepted;
    // Data and notifications may already be queued on the new socket.
    mark(impl->slot);
    if (on_accept) {
      on_accept(std::make_unique<Association>(std::move(impl)));
    }
    // Dropping `impl` (no handler) aborts it. The handler may have destroyed the listener's Stack state only
    // through Association calls, never the listener itself.
    if (!listener_slot) return;
  }
}

void Stack::Impl::run_association(std::uint32_t id) {
  const std::uint32_t generation = slots[id].generation;
  Association::Impl* a = slots[id].association;
  if (a == nullptr) return;
  const int socket_events = a->refresh();
  if (a->events == nullptr) return;  // accepted and not claimed yet

  if (a->connected_pending) {
    a->connected_pending = false;
    a->events->on_connected();
    if (!alive(id, generation)) return;
  }
  if (a->readable(socket_events)) {
    a->events->on_readable();
    if (!alive(id, generation)) return;
  }
  if (a->writable_wanted && !a->send_blocked &&
      (a->state == AssociationState::open || a->state == AssociationState::shutting_down) &&
      (socket_events & SCTP_EVENT_WRITE) != 0) {
    a->writable_wanted = false;
    a->events->on_writable();
    if (!alive(id, generation)) return;
  }
  // An orderly end is reported once the application has read everything (end_of_stream); after on_closed
  // there is nothing left to read.
  if (a->close_reason && !a->close_reported &&
      (*a->close_reason != CloseReason::shutdown_complete || a->eos_delivered)) {
    a->close_reported = true;
    a->events->on_closed(*a->close_reason);
  }
}

void Stack::Impl::watch(const Association::Impl& a) {
  const Clock::time_point due = a.last_heard + a.config.dead_peer_timeout;
  if (!watchdog_due || due < *watchdog_due) watchdog_due = due;
}

// Runs when watchdog_due has come, not on every tick: a walk of every slot, so it finds the next due time
// too.
void Stack::Impl::check_dead_peers() {
  if (!watchdog_due || now < *watchdog_due) return;
  watchdog_due.reset();
  for (std::uint32_t id = 0; id < slots.size(); ++id) {
    Association::Impl* a = slots[id].association;
    if (!slots[id].in_use || a == nullptr || a->so == nullptr || a->close_reason || a->graceful_end) continue;
    if (a->last_heard == Clock::time_point{}) a->last_heard = now;
    if (now - a->last_heard < a->config.dead_peer_timeout) {
      watch(*a);
      continue;
    }
    const bool connecting = a->state == AssociationState::connecting;
    a->finish(connecting ? CloseReason::connect_failed : CloseReason::peer_unreachable, true);
  }
}

}  // namespace hoplink::sctp
