// BBR and pacing behind usrsctp's SCTP_CC_EXTERNAL hooks (patch 0003).
#include "external_cc.hpp"

#include <usrsctp.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <type_traits>

namespace hoplink::sctp::detail {
namespace {

// SCTP common header (12) + DATA chunk header (16): what a DATA chunk carries less than the SCTP packet.
constexpr std::uint32_t kChunkOverhead = 12 + 16;

static_assert(std::is_trivially_copyable_v<cc::SentPacket>);
static_assert(sizeof(cc::SentPacket) <= USRSCTP_CC_CHUNK_WORDS * sizeof(std::uint64_t),
              "cc::SentPacket must fit the storage usrsctp keeps with each chunk");

ExternalCc* g_cc = nullptr;  // the hooks have no context argument (usrsctp's globals)

std::uint32_t clamp32(std::uint64_t v) {
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(v, std::numeric_limits<std::uint32_t>::max()));
}

}  // namespace

struct ExternalCc::Path {
  Path(const cc::BbrConfig& config, cc::Time now) : bbr(config, now), mss(config.mss) {}
  cc::Bbr bbr;
  cc::Pacer pacer;
  std::uint32_t mss;
  struct socket* so = nullptr;      // the association's socket while the application holds it
  std::uint64_t unpaced_bytes = 0;  // chunk bytes of the packet being sent, not yet charged to the pacer
  bool waiting = false;
  CcClock::time_point release{};
};

// The C hooks: each finds the process's ExternalCc and its path.
struct HookTable {
  using Path = ExternalCc::Path;
  static void* path_init(std::uint32_t mtu, std::uint32_t* cwnd) {
    if (g_cc == nullptr) return nullptr;
    cc::BbrConfig config;
    config.mss = std::max<std::uint32_t>(mtu > kChunkOverhead ? mtu - kChunkOverhead : 0, 500);
    config.initial_cwnd_packets = std::max<std::uint32_t>(g_cc->initial_cwnd_packets, 2);
    // Owned by usrsctp's path from here on, and given back to path_free.
    auto path = std::make_unique<Path>(config, g_cc->model_time(g_cc->now()));
    *cwnd = clamp32(path->bbr.cwnd());
    return path.release();
  }
  static void path_free(void* p) {
    std::unique_ptr<Path> path(static_cast<Path*>(p));
    if (g_cc != nullptr) g_cc->stop_waiting(*path);
  }
  static void chunk_sent(void* p, std::uint64_t* chunk, std::uint32_t bytes, std::uint32_t flight,
                         int retransmission) {
    auto& path = *static_cast<Path*>(p);
    const cc::SentPacket sent =
        path.bbr.on_packet_sent(g_cc->model_time(g_cc->now()), bytes, flight, retransmission != 0);
    std::memcpy(chunk, &sent, sizeof sent);
    path.unpaced_bytes += bytes;
  }
  static void packet_sent(void* p, std::uint32_t flight, int queue_empty, std::uint32_t* cwnd) {
    auto& path = *static_cast<Path*>(p);
    path.pacer.on_sent(g_cc->model_time(g_cc->now()), path.unpaced_bytes);
    path.unpaced_bytes = 0;
    if (queue_empty != 0 && flight < path.bbr.cwnd()) path.bbr.on_app_limited(flight);
    *cwnd = g_cc->gate(path, flight);
  }
  static void chunk_acked(void* p, const std::uint64_t* chunk, std::uint32_t /*bytes*/) {
    cc::SentPacket sent;
    std::memcpy(static_cast<void*>(&sent), chunk, sizeof sent);  // trivially copyable
    static_cast<Path*>(p)->bbr.on_packet_acked(g_cc->model_time(g_cc->now()), sent);
  }
  static void chunk_lost(void* p, const std::uint64_t* chunk, std::uint32_t /*bytes*/) {
    cc::SentPacket sent;
    std::memcpy(static_cast<void*>(&sent), chunk, sizeof sent);  // trivially copyable
    static_cast<Path*>(p)->bbr.on_packet_lost(g_cc->model_time(g_cc->now()), sent);
  }
  static void sack_done(void* p, std::uint32_t flight, std::uint32_t* cwnd) {
    auto& path = *static_cast<Path*>(p);
    path.bbr.on_ack_done(g_cc->model_time(g_cc->now()), flight);
    *cwnd = g_cc->gate(path, flight);
  }
  static void timeout(void* p, std::uint32_t flight, std::uint32_t* cwnd) {
    auto& path = *static_cast<Path*>(p);
    path.bbr.on_retransmission_timeout(g_cc->model_time(g_cc->now()), flight);
    *cwnd = g_cc->gate(path, flight);
  }
  static void output_ready(void* p, std::uint32_t flight, std::uint32_t* cwnd) {
    *cwnd = g_cc->gate(*static_cast<Path*>(p), flight);
  }
};

ExternalCc::ExternalCc(CcClock::time_point (*now)(void*), void* clock_context, std::uint32_t initial_cwnd)
    : initial_cwnd_packets(initial_cwnd),
      now_(now),
      clock_context_(clock_context),
      epoch_(now(clock_context)) {}

ExternalCc::~ExternalCc() {
  if (installed_) {
    usrsctp_set_cc_hooks(nullptr);
    g_cc = nullptr;
  }
}

void ExternalCc::install() {
  struct usrsctp_cc_hooks hooks {};
  hooks.path_init = &HookTable::path_init;
  hooks.path_free = &HookTable::path_free;
  hooks.chunk_sent = &HookTable::chunk_sent;
  hooks.packet_sent = &HookTable::packet_sent;
  hooks.chunk_acked = &HookTable::chunk_acked;
  hooks.chunk_lost = &HookTable::chunk_lost;
  hooks.sack_done = &HookTable::sack_done;
  hooks.timeout = &HookTable::timeout;
  hooks.output_ready = &HookTable::output_ready;
  g_cc = this;
  usrsctp_set_cc_hooks(&hooks);
  installed_ = true;
}

cc::Time ExternalCc::model_time(CcClock::time_point t) const {
  return std::chrono::duration_cast<cc::Time>(t - epoch_);
}

std::uint32_t ExternalCc::gate(Path& path, std::uint32_t flight) {
  const std::uint64_t model_cwnd = path.bbr.cwnd();
  path.pacer.set_rate(path.bbr.pacing_rate(), path.bbr.send_quantum(), path.mss);
  if (path.pacer.rate() == 0 || flight >= model_cwnd || path.so == nullptr) {
    // Unpaced, or the window itself holds the path back (an ACK will open it), or no socket is bound that a
    // release could restart (a closed socket whose association still delivers its last bytes: ACK-clocked).
    stop_waiting(path);
    return clamp32(model_cwnd);
  }
  const CcClock::time_point t = now();
  const std::uint64_t allowance = path.pacer.allowance(model_time(t));
  // usrsctp sends whole packets while flight < cwnd: credit for less than one packet is no credit yet.
  if (allowance >= path.mss) {
    stop_waiting(path);
    return clamp32(std::min<std::uint64_t>(model_cwnd, std::uint64_t{flight} + allowance));
  }
  const cc::Time release = path.pacer.next_release(model_time(t), path.mss);
  wait(path, epoch_ + std::chrono::duration_cast<CcClock::duration>(release));
  return flight;  // nothing more until the pacer has credit: usrsctp sends while flight < cwnd
}

void ExternalCc::wait(Path& path, CcClock::time_point when) {
  if (!path.waiting) {
    path.waiting = true;
    waiting_.push_back(&path);
  }
  path.release = when;
}

void ExternalCc::stop_waiting(Path& path) {
  if (!path.waiting) return;
  path.waiting = false;
  const auto it = std::find(waiting_.begin(), waiting_.end(), &path);
  if (it != waiting_.end()) {
    *it = waiting_.back();
    waiting_.pop_back();
  }
}

std::optional<CcClock::time_point> ExternalCc::next_release() const {
  std::optional<CcClock::time_point> earliest;
  for (const Path* path : waiting_) {
    if (path->so != nullptr && (!earliest || path->release < *earliest)) earliest = path->release;
  }
  return earliest;
}

std::size_t ExternalCc::release_due(CcClock::time_point t) {
  due_.clear();
  for (std::size_t i = 0; i < waiting_.size();) {
    Path& path = *waiting_[i];
    if (path.so == nullptr || path.release > t) {
      ++i;
      continue;
    }
    // Out of the list until its pacer holds it back again (a path with nothing left to send stays out).
    due_.push_back(path.so);
    path.waiting = false;
    waiting_[i] = waiting_.back();
    waiting_.pop_back();
  }
  // usrsctp_cc_output runs the hooks, which change waiting_ (and may free paths): only sockets are kept.
  for (struct socket* so : due_) usrsctp_cc_output(so);
  return due_.size();
}

void ExternalCc::bind(struct socket* so) {
  struct usrsctp_cc_info info {};
  if (g_cc == nullptr || usrsctp_get_cc_info(so, &info) != 0 || info.path == nullptr) return;
  static_cast<Path*>(info.path)->so = so;
}

void ExternalCc::unbind(struct socket* so) {
  struct usrsctp_cc_info info {};
  if (g_cc == nullptr || so == nullptr || usrsctp_get_cc_info(so, &info) != 0 || info.path == nullptr) return;
  static_cast<Path*>(info.path)->so = nullptr;
}

std::optional<cc::BbrStats> ExternalCc::stats(struct socket* so) {
  struct usrsctp_cc_info info {};
  if (g_cc == nullptr || so == nullptr || usrsctp_get_cc_info(so, &info) != 0 || info.path == nullptr) {
    return std::nullopt;
  }
  return static_cast<const Path*>(info.path)->bbr.stats();
}

}  // namespace hoplink::sctp::detail
