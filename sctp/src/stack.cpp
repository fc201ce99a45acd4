// Stack: peers, the usrsctp library instance, packets in and out, timers, connect and listen.
#include "sctp/stack.hpp"

#include <arpa/inet.h>
#include <usrsctp.h>

#include <cerrno>
#include <cstring>

#include "external_cc.hpp"
#include "internal.hpp"
#include "sctp/crc32c.hpp"
#include "sctp/packet.hpp"
#include "socket_options.hpp"
#include "usrsctp_library.hpp"

namespace hoplink::sctp {
namespace {

void* token_address(std::uint32_t token) {
  return reinterpret_cast<void*>(static_cast<std::uintptr_t>(token));
}

std::uint16_t read_port(std::span<const std::byte> packet, std::size_t offset) {
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(packet[offset]) << 8) |
                                    std::to_integer<unsigned>(packet[offset + 1]));
}

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

// The first local address of a bound socket: its port (host order).
std::optional<std::uint16_t> bound_port(struct socket* so) {
  struct sockaddr* addrs = nullptr;
  const int n = usrsctp_getladdrs(so, 0, &addrs);
  std::optional<std::uint16_t> port;
  if (n > 0 && addrs != nullptr && addrs->sa_family == AF_CONN) {
    port = ntohs(reinterpret_cast<struct sockaddr_conn*>(addrs)->sconn_port);
  }
  if (addrs != nullptr) usrsctp_freeladdrs(addrs);
  return port;
}

}  // namespace

// ---- Stack::Impl -----------------------------------------------------------------------------------------

Stack::Impl::~Impl() {
  for (auto& slot : slots) {
    if (!slot.in_use) continue;
    if (slot.association != nullptr) {
      slot.association->detach();
    } else if (slot.so != nullptr) {
      usrsctp_set_upcall(slot.so, nullptr, nullptr);
      usrsctp_close(slot.so);
    }
    slot = Slot{};
  }
  if (!owns_library) return;  // create() failed: another Stack owns usrsctp
  for (const auto& [token, peer] : peers) usrsctp_deregister_address(token_address(token));
  peers.clear();
  detail::library_stop();
}

std::uint32_t Stack::Impl::allocate_slot(struct socket* so, Association::Impl* association, bool listener) {
  std::uint32_t id;
  if (!free_slots.empty()) {
    id = free_slots.back();
    free_slots.pop_back();
  } else {
    id = static_cast<std::uint32_t>(slots.size());
    slots.emplace_back();
  }
  Slot& s = slots[id];
  s.so = so;
  s.association = association;
  s.in_use = true;
  s.listener = listener;
  s.dirty = false;
  return id;
}

void Stack::Impl::free_slot(std::uint32_t id) {
  Slot& s = slots[id];
  const std::uint32_t generation = s.generation + 1;
  s = Slot{};
  s.generation = generation;
  free_slots.push_back(id);
}

void Stack::Impl::mark(std::uint32_t id) {
  if (id >= slots.size() || !slots[id].in_use || slots[id].dirty) return;
  slots[id].dirty = true;
  dirty.push_back(id);
}

bool Stack::Impl::alive(std::uint32_t id, std::uint32_t generation) const {
  return id < slots.size() && slots[id].in_use && slots[id].generation == generation;
}

std::uint64_t Stack::Impl::port_key(std::uint32_t token, std::uint16_t local_port,
                                    std::uint16_t remote_port) {
  return (static_cast<std::uint64_t>(token) << 32) | (static_cast<std::uint64_t>(local_port) << 16) |
         remote_port;
}

void Stack::Impl::on_output(std::uint32_t token, std::byte* packet, std::size_t length) {
  const auto it = peers.find(token);
  if (it == peers.end()) return;  // forgotten peer: nowhere to send
  std::span<std::byte> bytes(packet, length);
  Peer& peer = it->second;
  if (peer.reply_budget) {
    if (length > *peer.reply_budget) {
      ++counters.replies_over_budget;
      return;  // usrsctp retransmits or forgets it, as for a lost packet
    }
    *peer.reply_budget -= length;
    if (contains_chunk(bytes, kChunkTypeCookieAck)) peer.cookie_acknowledged = true;
  }
  if (peer.crc32c) sctp_fill_checksum(bytes);
  ++counters.packets_out;
  if (sink) sink(PeerToken{token}, bytes);
}

void Stack::Impl::association_ended(Association::Impl& a) {
  ++counters.associations_closed;
  if (live_associations > 0) --live_associations;
  if (a.port_key) {
    const auto it = slot_by_ports.find(*a.port_key);
    if (it != slot_by_ports.end() && it->second == a.slot) slot_by_ports.erase(it);
    a.port_key.reset();
  }
  const auto it = peers.find(a.peer.value);
  if (it == peers.end()) return;
  if (it->second.associations > 0) --it->second.associations;
  if (it->second.associations == 0 && it->second.unregister_pending) forget_peer(a.peer.value);
}

void Stack::Impl::forget_peer(std::uint32_t token) {
  usrsctp_deregister_address(token_address(token));
  peers.erase(token);
}

Result<struct socket*, std::string> Stack::Impl::open_bound_socket(const AssociationConfig& config,
                                                                   std::uint16_t port, void* address) {
  struct socket* so = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, nullptr, nullptr, 0, nullptr);
  if (so == nullptr) return fail(errno_text("usrsctp_socket"));
  std::string error;
  if (!detail::apply_socket_options(so, this->config, config, error)) {
    usrsctp_close(so);
    return fail(std::move(error));
  }
  struct sockaddr_conn local {};
  local.sconn_family = AF_CONN;
  local.sconn_port = htons(port);
  local.sconn_addr = address;
  if (usrsctp_bind(so, reinterpret_cast<struct sockaddr*>(&local), sizeof local) != 0) {
    error = errno_text("usrsctp_bind");
    usrsctp_close(so);
    return fail(std::move(error));
  }
  return so;
}

Result<std::unique_ptr<Association>, std::string> Stack::Impl::connect(PeerToken peer,
                                                                       const AssociationConfig& config,
                                                                       AssociationEvents& events) {
  const auto peer_it = peers.find(peer.value);
  if (peer_it == peers.end() || peer_it->second.unregister_pending) return fail(std::string("unknown peer"));
  auto opened = open_bound_socket(config, config.local_port, token_address(peer.value));
  if (!opened.ok()) return fail(opened.error());
  struct socket* so = opened.value();
  std::string error;
  const std::optional<std::uint16_t> local_port = bound_port(so);

  auto impl = std::make_unique<Association::Impl>();
  impl->stack = this;
  impl->so = so;
  impl->peer = peer;
  impl->config = config;
  impl->events = &events;
  impl->state = AssociationState::connecting;
  impl->last_heard = now;
  impl->start_tuning(now);
  watch(*impl);
  impl->slot = allocate_slot(so, impl.get(), false);
  usrsctp_set_upcall(so, detail::library_upcall(),
                     reinterpret_cast<void*>(static_cast<std::uintptr_t>(impl->slot)));

  struct sockaddr_conn remote {};
  remote.sconn_family = AF_CONN;
  remote.sconn_port = htons(config.remote_port);
  remote.sconn_addr = token_address(peer.value);
  if (usrsctp_connect(so, reinterpret_cast<struct sockaddr*>(&remote), sizeof remote) != 0 &&
      errno != EINPROGRESS) {
    error = errno_text("usrsctp_connect");
    usrsctp_set_upcall(so, nullptr, nullptr);
    usrsctp_close(so);
    impl->so = nullptr;
    free_slot(impl->slot);
    impl->stack = nullptr;
    return fail(std::move(error));
  }
  detail::ExternalCc::bind(so);
  if (local_port) {
    impl->port_key = port_key(peer.value, *local_port, config.remote_port);
    slot_by_ports[*impl->port_key] = impl->slot;
  }
  ++peer_it->second.associations;
  ++live_associations;
  ++counters.associations_opened;
  mark(impl->slot);
  return std::make_unique<Association>(std::move(impl));
}

Result<void, std::string> Stack::Impl::listen(const AssociationConfig& config, AcceptHandler handler) {
  if (listener_slot) return fail(std::string("this Stack already listens"));
  // A null address binds every registered peer token; the port is the listener's, config.remote_port.
  auto opened = open_bound_socket(config, config.remote_port, nullptr);
  if (!opened.ok()) return fail(opened.error());
  struct socket* so = opened.value();
  std::string error;
  if (usrsctp_listen(so, 1024) != 0) {
    error = errno_text("usrsctp_listen");
    usrsctp_close(so);
    return fail(std::move(error));
  }
  const std::uint32_t id = allocate_slot(so, nullptr, true);
  usrsctp_set_upcall(so, detail::library_upcall(), reinterpret_cast<void*>(static_cast<std::uintptr_t>(id)));
  listener_slot = id;
  listener_config = config;
  on_accept = std::move(handler);
  mark(id);
  return {};
}

bool Stack::Impl::receive_packet(PeerToken from, std::span<const std::byte> packet) {
  const auto it = peers.find(from.value);
  if (it == peers.end()) {
    ++counters.dropped_unknown_peer;
    return false;
  }
  if (packet.size() < kCommonHeaderBytes) {
    ++counters.dropped_malformed;
    return false;
  }
  if (it->second.crc32c && !sctp_checksum_valid(packet)) {
    ++counters.dropped_bad_checksum;
    return false;
  }
  ++counters.packets_in;
  // Incoming: source port = the peer's, destination port = ours.
  const auto key = port_key(from.value, read_port(packet, 2), read_port(packet, 0));
  if (const auto found = slot_by_ports.find(key); found != slot_by_ports.end()) {
    if (Association::Impl* a = slots[found->second].association) a->last_heard = now;
  }
  usrsctp_conninput(token_address(from.value), packet.data(), packet.size(), 0);
  return true;
}

void Stack::Impl::handle_timers(Clock::time_point t) {
  if (!clock_started) {
    clock_started = true;
    last_timer_call = t;
    now = t;
    for (auto& slot : slots) {
      if (slot.in_use && slot.association != nullptr) slot.association->last_heard = t;
    }
    return;
  }
  if (t > last_timer_call) {
    const Clock::duration elapsed = t - last_timer_call + timer_remainder;
    const auto whole = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed);
    timer_remainder = elapsed - whole;
    last_timer_call = t;
    now = t;
    if (whole.count() > 0) {
      usrsctp_handle_timers(static_cast<std::uint32_t>(std::min<long long>(whole.count(), 0x7fffffff)));
    }
  }
  check_dead_peers();
  tune_buffers();
}

// ---- Stack -----------------------------------------------------------------------------------------------

Stack::Stack(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Stack::~Stack() = default;

Result<std::unique_ptr<Stack>, std::string> Stack::create(const StackConfig& config, PacketSink sink) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->sink = std::move(sink);
  detail::LibraryCallbacks callbacks;
  callbacks.context = impl.get();
  callbacks.output = [](void* context, std::uint32_t token, std::byte* packet, std::size_t length) {
    static_cast<Impl*>(context)->on_output(token, packet, length);
  };
  callbacks.upcall = [](void* context, std::uint32_t slot) { static_cast<Impl*>(context)->mark(slot); };
  std::string error;
  if (!detail::library_start(config, callbacks, error)) {
    return fail(std::move(error));
  }
  impl->owns_library = true;
  return std::unique_ptr<Stack>(new Stack(std::move(impl)));
}

PeerToken Stack::register_peer(bool crc32c, std::optional<AssociationConfig> accepted) {
  std::uint32_t token = impl_->next_token;
  while (token == 0 || (token & kUnvalidatedTokenBit) != 0 || impl_->peers.contains(token)) {
    token = (token + 1) & ~kUnvalidatedTokenBit;
  }
  impl_->next_token = token + 1;
  impl_->peers[token] = Impl::Peer{crc32c, 0, false, std::move(accepted), std::nullopt, false};
  usrsctp_register_address(token_address(token));
  return PeerToken{token};
}

void Stack::unregister_peer(PeerToken peer) {
  const auto it = impl_->peers.find(peer.value);
  if (it == impl_->peers.end()) return;
  if (it->second.associations == 0) {
    impl_->forget_peer(peer.value);
  } else {
    it->second.unregister_pending = true;
  }
}

std::size_t Stack::abort_associations(PeerToken peer) {
  const auto it = impl_->peers.find(peer.value);
  if (it == impl_->peers.end() || it->second.associations == 0) return 0;
  std::size_t aborted = 0;
  // finish() only marks the slot and updates the peer's count; the slots themselves stay until dispatch.
  for (auto& slot : impl_->slots) {
    if (!slot.in_use || slot.association == nullptr || slot.association->peer != peer ||
        slot.association->close_reason)
      continue;
    slot.association->finish(CloseReason::lower_layer_closed, true);
    ++aborted;
  }
  return aborted;
}

std::size_t Stack::association_count(PeerToken peer) const {
  const auto it = impl_->peers.find(peer.value);
  return it == impl_->peers.end() ? 0 : it->second.associations;
}

Result<std::unique_ptr<Association>, std::string> Stack::connect(PeerToken peer,
                                                                 const AssociationConfig& config,
                                                                 AssociationEvents& events) {
  return impl_->connect(peer, config, events);
}

Result<void, std::string> Stack::listen(const AssociationConfig& config, AcceptHandler on_accept) {
  return impl_->listen(config, std::move(on_accept));
}

bool Stack::receive_packet(PeerToken from, std::span<const std::byte> packet) {
  return impl_->receive_packet(from, packet);
}

UnvalidatedOutcome Stack::receive_unvalidated(PeerToken token, bool crc32c,
                                              std::optional<AssociationConfig> accepted,
                                              std::span<const std::byte> packet, std::size_t reply_budget) {
  if ((token.value & kUnvalidatedTokenBit) == 0 || impl_->peers.contains(token.value)) {
    ++impl_->counters.dropped_unknown_peer;
    return UnvalidatedOutcome::dropped;
  }
  // Registered for the length of the call only: usrsctp's listener answers on the token's address.
  Impl::Peer& peer = impl_->peers[token.value] =
      Impl::Peer{crc32c, 0, false, std::move(accepted), std::nullopt, false};
  peer.reply_budget = reply_budget;
  usrsctp_register_address(token_address(token.value));
  const bool taken = impl_->receive_packet(token, packet);
  const bool answered = *peer.reply_budget < reply_budget;
  // usrsctp sends COOKIE ACK only once the cookie's signature, lifetime and token checked out.
  if (taken && peer.cookie_acknowledged) {
    peer.reply_budget.reset();
    peer.cookie_acknowledged = false;
    ++impl_->counters.unvalidated_associated;
    return UnvalidatedOutcome::associated;
  }
  if (answered) ++impl_->counters.unvalidated_answered;
  impl_->forget_peer(token.value);
  return taken ? UnvalidatedOutcome::handled : UnvalidatedOutcome::dropped;
}

void Stack::handle_timers(std::chrono::steady_clock::time_point now) {
  impl_->handle_timers(now);
}

std::optional<std::chrono::steady_clock::time_point> Stack::next_pacing_release() const {
  const detail::ExternalCc* cc = detail::library_external_cc();
  return cc != nullptr ? cc->next_release() : std::nullopt;
}

void Stack::release_paced(std::chrono::steady_clock::time_point now) {
  if (detail::ExternalCc* cc = detail::library_external_cc()) cc->release_due(now);
}

std::optional<Clock::time_point> Stack::Impl::next_timer_deadline() const {
  if (!clock_started) return Clock::time_point{};  // due now: the first handle_timers() starts the clock
  std::optional<Clock::time_point> due = watchdog_due;
  const auto earliest = [&due](Clock::time_point t) {
    if (!due || t < *due) due = t;
  };
  std::uint32_t milliseconds = 0;
  // usrsctp's time stands at last_timer_call less what handle_timers() has not handed it yet.
  if (usrsctp_next_timer(&milliseconds) != 0)
    earliest(last_timer_call - timer_remainder + std::chrono::milliseconds(milliseconds));
  if (!tuning.empty()) earliest(last_tuning_round + kTuneInterval);
  return due;
}

std::optional<std::chrono::steady_clock::time_point> Stack::next_timer_deadline() const {
  return impl_->next_timer_deadline();
}

bool Stack::has_associations() const {
  return impl_->live_associations > 0;
}

void Stack::dispatch_events() {
  impl_->dispatch_events();
}

const StackCounters& Stack::counters() const {
  return impl_->counters;
}

}  // namespace hoplink::sctp
